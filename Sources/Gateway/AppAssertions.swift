import Crypto
import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain

/// The identity the gateway asserts to an app behind it: a short-lived JWT (ES256, RFC 7519/7518) in
/// `X-Gatehouse-Assertion`, whose keys are published at `/.well-known/jwks.json`.
///
/// Why a signature and not plain headers: an upstream reachable by another path (or a header that slipped past a
/// proxy) must not be able to believe a forged identity; the JWT names the app it is for (`aud`), lives 60 s, and
/// verifies with a public key only. Keys are P-256 PEM files in `<keys>/app-assertion/`, named so the newest sorts
/// last: the newest signs, the two newest are published (rotation: `gatehouse admin rotate-app-key` adds one;
/// upstreams that cache the key set keep verifying while both are published; delete the oldest file after).
package final class AppAssertions: Sendable {
    struct Key: Sendable {
        let kid: String
        let key: PrivateKey
        let jwk: [String: String]
    }

    let keys: [Key]
    package let lifetime: Int

    /// Loads the keys in `directory`, creating the first when there is none; `nil` directory: one key in memory
    /// (tests).
    package init(directory: String?, lifetime: Int = 60) throws {
        self.lifetime = lifetime
        var pems: [(String, String)] = []
        if let directory {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            var names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pem") }
            if names.isEmpty {
                _ = try Self.addKey(directory: directory)
                names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pem") }
            }
            for n in names.sorted().suffix(2) {
                pems.append((String(n.dropLast(4)), try String(contentsOfFile: directory + "/" + n, encoding: .utf8)))
            }
        } else {
            pems = [("mem-" + IDs.random(SecureRandom.bytes(8), length: 8), try PrivateKey.generateP256PEM())]
        }
        keys = try pems.map { kid, pem in
            let key = try PrivateKey(pem: pem)
            guard key.isEC, let p = key.jwkParameters, let x = p["x"], let y = p["y"] else {
                throw GatehouseError.internalError(detail: "app-assertion key \(kid) is not a P-256 key")
            }
            return Key(
                kid: kid, key: key,
                jwk: [
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid, "x": Base64URL.encode(x),
                    "y": Base64URL.encode(y),
                ])
        }
    }

    /// Writes a new key (the next to sign); its name sorts after every earlier one. Returns its id.
    @discardableResult
    package static func addKey(directory: String) throws -> String {
        let stamp = String(Int(Date().timeIntervalSince1970))
        let kid =
            String(repeating: "0", count: max(0, 12 - stamp.count)) + stamp + "-"
            + IDs.random(SecureRandom.bytes(6), length: 6)
        let pem = try PrivateKey.generateP256PEM()
        let path = directory + "/" + kid + ".pem"
        guard
            FileManager.default.createFile(
                atPath: path, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o600])
        else { throw GatehouseError.internalError(detail: "cannot write \(path)") }
        return kid
    }

    /// `{"keys": [...]}`, newest first.
    package var jwks: [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("keys")
        w.beginArray()
        for k in keys.reversed() {
            w.beginObject()
            for name in k.jwk.keys.sorted() {
                w.key(name)
                w.string(k.jwk[name] ?? "")
            }
            w.endObject()
        }
        w.endArray()
        w.endObject()
        return w.bytes
    }

    /// The JWT for `identity` entering `app`: `iss` the gateway, `aud` the app's slug, `sub` the account, 60 s.
    /// `actor` (view as, RFC 8693 `act`) names an admin looking through the member's eyes, read-only.
    package func sign(
        _ id: AppIdentity, app: AppEntryAnswer, issuer: String, now: Date, actor: (id: String, email: String)? = nil
    ) throws -> String {
        guard let k = keys.last else { throw GatehouseError.internalError(detail: "no app-assertion key") }
        let iat = Int(now.timeIntervalSince1970)
        var h = JSONWriter()
        h.beginObject()
        h.field("alg", "ES256")
        h.field("kid", k.kid)
        h.field("typ", "JWT")
        h.endObject()
        var c = JSONWriter()
        c.beginObject()
        if let actor {
            c.key("act")
            c.beginObject()
            c.field("email", actor.email)
            c.field("sub", actor.id)
            c.endObject()
        }
        if let agency = id.agency { c.field("agency", agency) }
        c.field("app", app.appID)
        c.field("app_role", id.appRole.rawValue)
        c.field("aud", app.slug)
        c.field("email", id.email)
        c.field("exp", iat + lifetime)
        c.field("iat", iat)
        c.field("iss", issuer)
        c.field("jti", IDs.random(SecureRandom.bytes(12), length: 16))
        c.field("name", id.name)
        c.field("nbf", iat - 5)
        c.field("org", id.orgID)
        if actor != nil { c.field("read_only", true) }
        c.field("region", id.region)
        c.field("roles", id.roles)
        c.field("sub", id.accountID)
        c.key("vars")
        c.map(id.userVariables)
        c.endObject()
        let input = Base64URL.encode(h.bytes) + "." + Base64URL.encode(c.bytes)
        let sig = try k.key.sign(Array(input.utf8), digest: .sha256)
        return input + "." + Base64URL.encode(sig)
    }
}
