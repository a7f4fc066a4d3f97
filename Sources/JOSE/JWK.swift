import Crypto
import Foundation
import GatehouseCore

/// A provider's public signing key from its JWKS: RSA (`n`, `e`, at least 2048 bits) or EC on P-256 (`x`, `y`).
/// Keys marked for encryption (`use: enc`) or for another algorithm (`alg`) are skipped by the set; private
/// members (`d`, `p`, …) make the whole key unusable (a provider publishing private keys is broken).
package struct JWK: Sendable {
    package enum KeyType: String, Sendable {
        case rsa = "RSA"
        case ec = "EC"
    }

    package let keyID: String?
    package let type: KeyType
    /// The `alg` the key is limited to, when it says.
    package let algorithm: String?
    package let publicKey: PublicKey

    package init(_ object: [String: JSONValue]) throws(JOSERefusal) {
        guard let kty = object["kty"]?.string, let type = KeyType(rawValue: kty) else { throw .badKeySet }
        for privateMember in ["d", "p", "q", "dp", "dq", "qi", "k"] where object[privateMember] != nil {
            throw .badKeySet
        }
        func bytes(_ name: String, max: Int) throws(JOSERefusal) -> [UInt8] {
            guard let s = object[name]?.string, s.utf8.count <= max, let d = Base64URL.decode(s), !d.isEmpty else {
                throw .badKeySet
            }
            return Array(d)
        }
        let spki: [UInt8]
        switch type {
        case .rsa:
            spki = DER.rsaPublicKey(n: try bytes("n", max: 1400), e: try bytes("e", max: 16))
        case .ec:
            guard object["crv"]?.string == "P-256" else { throw .badKeySet }
            let x = try bytes("x", max: 64)
            let y = try bytes("y", max: 64)
            guard x.count == 32, y.count == 32 else { throw .badKeySet }
            spki = DER.p256PublicKey(x: x, y: y)
        }
        do { publicKey = try PublicKey(spki: spki) } catch { throw .badKeySet }
        if type == .ec && publicKey.curveName != "prime256v1" { throw .badKeySet }
        self.type = type
        keyID = object["kid"]?.string
        algorithm = object["alg"]?.string
    }

    /// Whether this key may verify a token of `alg`: the key type must be the algorithm's, and a key that names
    /// its algorithm is used for that one only.
    func fits(_ alg: JWSAlgorithm) -> Bool {
        if let algorithm, algorithm != alg.rawValue { return false }
        switch alg {
        case .rs256, .ps256: return type == .rsa
        case .es256: return type == .ec
        }
    }
}

/// A provider's published keys (`jwks_uri`). Unusable entries (unknown types, encryption keys, other curves)
/// are skipped, as RFC 7517 asks; a document with no usable signing key at all is refused.
package struct JWKSet: Sendable {
    /// A JWKS is a few kilobytes; Google's is under 2 KB.
    package static let maxSize = 64 * 1024
    package let keys: [JWK]

    package init(json: [UInt8]) throws(JOSERefusal) {
        guard json.count <= Self.maxSize, case .object(let doc)? = try? JSONValue.parse(json),
            case .array(let entries)? = doc["keys"], entries.count <= 100
        else { throw .badKeySet }
        var keys: [JWK] = []
        for case .object(let o) in entries where o["use"]?.string != "enc" {
            if let k = try? JWK(o) { keys.append(k) }
        }
        guard !keys.isEmpty else { throw .badKeySet }
        self.keys = keys
    }

    /// The key for a token: by `kid` when the token names one; without a `kid`, the one key that fits the
    /// algorithm (several candidates are refused rather than tried in turn).
    package func key(for jws: CompactJWS) throws(JOSERefusal) -> JWK {
        if let kid = jws.keyID {
            guard let k = keys.first(where: { $0.keyID == kid }) else { throw .unknownKey }
            return k
        }
        let fitting = keys.filter { $0.fits(jws.algorithm) }
        guard fitting.count == 1 else { throw .unknownKey }
        return fitting[0]
    }
}
