internal import COpenSSL
import Foundation

/// Why a key or certificate could not be read.
package struct KeyError: Error, Sendable, Equatable, CustomStringConvertible {
    package let reason: String
    package var description: String { reason }
}

/// The signature schemes XML-DSig and the SAML redirect binding use. ECDSA signatures travel as raw
/// `r || s` (XML-DSig 1.1), which is converted to and from DER for OpenSSL here.
package enum SignatureScheme: Sendable, Equatable {
    case rsaPKCS1(Digest)
    /// RSASSA-PSS with MGF1 over the same digest and a salt as long as the digest (JOSE's PS256/384/512).
    case rsaPSS(Digest)
    case ecdsa(Digest)

    package var digest: Digest {
        switch self {
        case .rsaPKCS1(let d), .rsaPSS(let d), .ecdsa(let d): return d
        }
    }
}

/// A public key (RSA or EC) from a certificate or PEM. OpenSSL keys are immutable once loaded and each
/// verification uses its own context, so sharing one across threads is safe.
package final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    /// A key from DER `SubjectPublicKeyInfo` (what a JWK is turned into). RSA below 2048 bits is refused.
    package convenience init(spki der: [UInt8]) throws(KeyError) {
        guard !der.isEmpty, der.count < 16 * 1024 else { throw KeyError(reason: "public key has an impossible size") }
        let key: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PUBKEY(nil, &p, b.count)
        }
        ERR_clear_error()
        guard let key else { throw KeyError(reason: "not a public key") }
        self.init(owning: key)
        guard isRSA || isEC else { throw KeyError(reason: "public key must be RSA or EC") }
        if isRSA && bits < Certificate.defaultMinRSABits { throw KeyError(reason: "RSA key shorter than 2048 bits") }
    }

    /// The EC curve's OpenSSL name (`prime256v1` for P-256), nil for RSA.
    package var curveName: String? {
        guard isEC else { return nil }
        var buf = [CChar](repeating: 0, count: 64)
        var len = 0
        guard EVP_PKEY_get_utf8_string_param(pkey, "group", &buf, buf.count, &len) == 1 else {
            ERR_clear_error()
            return nil
        }
        return String(decoding: buf.prefix(len).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    package var isRSA: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_RSA() }
    package var isEC: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_EC() }
    package var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// True when `signature` over `message` verifies with this key under `scheme`. A scheme that does not
    /// match the key type is simply false.
    package func verify(_ signature: [UInt8], over message: [UInt8], scheme: SignatureScheme) -> Bool {
        var sig = signature
        switch scheme {
        case .rsaPKCS1, .rsaPSS: guard isRSA else { return false }
        case .ecdsa:
            guard isEC, let der = ECDSARaw.toDER(signature) else { return false }
            sig = der
        }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, scheme.digest.md, nil, pkey) == 1 else { return false }
        if case .rsaPSS = scheme {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
            else {
                ERR_clear_error()
                return false
            }
        }
        let rc = sig.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                EVP_DigestVerify(ctx, s.baseAddress, s.count, m.baseAddress, m.count)
            }
        }
        ERR_clear_error()
        return rc == 1
    }
}

/// A private key for signing (the SP's AuthnRequest key, test fixtures).
package final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer

    package init(pem: String) throws(KeyError) {
        let bytes = Array(pem.utf8)
        let key: OpaquePointer? = bytes.withUnsafeBytes { b in
            guard let bio = BIO_new_mem_buf(b.baseAddress, Int32(b.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        ERR_clear_error()
        guard let key else { throw KeyError(reason: "not a PEM private key") }
        pkey = key
    }

    deinit { EVP_PKEY_free(pkey) }

    /// A new P-256 key as PKCS #8 PEM (the gateway's app-assertion keys: ES256).
    package static func generateP256PEM() throws(KeyError) -> String {
        guard let key = gh_EVP_EC_gen_P256() else {
            ERR_clear_error()
            throw KeyError(reason: "cannot generate a P-256 key")
        }
        defer { EVP_PKEY_free(key) }
        guard let bio = BIO_new(BIO_s_mem()) else { throw KeyError(reason: "out of memory") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1 else {
            ERR_clear_error()
            throw KeyError(reason: "cannot write the key")
        }
        let pending = Int(BIO_ctrl_pending(bio))
        var out = [UInt8](repeating: 0, count: pending)
        guard BIO_read(bio, &out, Int32(pending)) == Int32(pending) else {
            throw KeyError(reason: "cannot read the key")
        }
        return String(decoding: out, as: UTF8.self)
    }

    package var isEC: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_EC() }

    /// `pss`: RSASSA-PSS (salt as long as the digest) instead of PKCS #1 v1.5, for RSA keys.
    package func sign(_ message: [UInt8], digest: Digest, pss: Bool = false) throws(KeyError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw KeyError(reason: "out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, digest.md, nil, pkey) == 1 else {
            throw KeyError(reason: "cannot sign with this key")
        }
        if pss {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw KeyError(reason: "cannot sign with PSS") }
        }
        var len = 0
        let ok1 = message.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &len, $0.baseAddress, $0.count) }
        guard ok1 == 1 else { throw KeyError(reason: "signing failed") }
        var out = [UInt8](repeating: 0, count: len)
        let ok2 = out.withUnsafeMutableBufferPointer { o in
            message.withUnsafeBufferPointer { EVP_DigestSign(ctx, o.baseAddress, &len, $0.baseAddress, $0.count) }
        }
        guard ok2 == 1 else { throw KeyError(reason: "signing failed") }
        out = Array(out.prefix(len))
        if isEC {
            let size = (Int(EVP_PKEY_get_bits(pkey)) + 7) / 8
            guard let raw = ECDSARaw.fromDER(out, fieldSize: size) else { throw KeyError(reason: "signing failed") }
            return raw
        }
        return out
    }
}

/// An X.509 certificate, read from PEM or base64 DER. Only its public key is used: trust comes from the
/// certificate being configured, not from its chain or dates (as every SAML SP does for IdP certificates).
package final class Certificate: @unchecked Sendable {
    package let der: [UInt8]
    package let publicKey: PublicKey

    /// The RSA floor every certificate meets unless an org lowers it for a legacy IdP (never below 1024).
    package static let defaultMinRSABits = 2048
    package static let lowestMinRSABits = 1024

    package init(der: [UInt8], minRSABits: Int = Certificate.defaultMinRSABits) throws(KeyError) {
        guard !der.isEmpty, der.count < 64 * 1024 else { throw KeyError(reason: "certificate has an impossible size") }
        self.der = der
        let x509: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_X509(nil, &p, b.count)
        }
        guard let x509 else {
            ERR_clear_error()
            throw KeyError(reason: "not an X.509 certificate")
        }
        defer { X509_free(x509) }
        guard let key = X509_get_pubkey(x509) else {
            ERR_clear_error()
            throw KeyError(reason: "certificate has no usable public key")
        }
        publicKey = PublicKey(owning: key)
        guard publicKey.isRSA || publicKey.isEC else { throw KeyError(reason: "certificate key must be RSA or EC") }
        let floor = max(minRSABits, Self.lowestMinRSABits)
        if publicKey.isRSA && publicKey.bits < floor {
            throw KeyError(reason: "RSA certificate key shorter than \(floor) bits")
        }
    }

    /// PEM (one `CERTIFICATE` block) or bare base64 DER, as IdP metadata and admin forms carry it.
    package convenience init(text: String, minRSABits: Int = Certificate.defaultMinRSABits) throws(KeyError) {
        var body = text
        if let begin = text.range(of: "-----BEGIN CERTIFICATE-----") {
            guard let end = text.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<text.endIndex) else {
                throw KeyError(reason: "PEM certificate has no END line")
            }
            body = String(text[begin.upperBound..<end.lowerBound])
        }
        let compact = body.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else { throw KeyError(reason: "certificate is not valid base64") }
        try self.init(der: Array(data), minRSABits: minRSABits)
    }

    /// The SHA-256 fingerprint as upper-case colon-separated hex, as IdP consoles show it.
    package var sha256Fingerprint: String {
        Digest.sha256.hash(der).map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    package var base64: String { Data(der).base64EncodedString() }
}

/// A key's public members as a JWK writes them (RFC 7518 §6): RSA `n`, `e`; EC P-256 `x`, `y` (32 bytes each).
func jwkParameters(_ pkey: OpaquePointer) -> [String: [UInt8]]? {
    func bn(_ name: String, pad: Int = 0) -> [UInt8]? {
        var b: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &b) == 1, let b else {
            ERR_clear_error()
            return nil
        }
        defer { BN_free(b) }
        let size = max(pad, (Int(BN_num_bits(b)) + 7) / 8)
        var out = [UInt8](repeating: 0, count: size)
        guard BN_bn2binpad(b, &out, Int32(size)) == Int32(size) else { return nil }
        return out
    }
    switch EVP_PKEY_get_base_id(pkey) {
    case gh_EVP_PKEY_RSA():
        guard let n = bn("n"), let e = bn("e") else { return nil }
        return ["n": n, "e": e]
    case gh_EVP_PKEY_EC():
        guard let x = bn("qx", pad: 32), let y = bn("qy", pad: 32), x.count == 32, y.count == 32 else { return nil }
        return ["x": x, "y": y]
    default:
        return nil
    }
}

extension PublicKey {
    /// This key's JWK members (see `jwkParameters`), nil for other key types and curves.
    package var jwkParameters: [String: [UInt8]]? { Crypto.jwkParameters(pkey) }
}

extension PrivateKey {
    /// The public half's JWK members, for publishing the key (a test provider's JWKS, the gateway's own).
    package var jwkParameters: [String: [UInt8]]? { Crypto.jwkParameters(pkey) }
}

/// Conversion between XML-DSig's raw ECDSA signatures (`r || s`, each the field size) and DER.
enum ECDSARaw {
    static func toDER(_ raw: [UInt8]) -> [UInt8]? {
        guard raw.count >= 2, raw.count % 2 == 0, raw.count <= 132 else { return nil }
        let half = raw.count / 2
        guard let sig = ECDSA_SIG_new() else { return nil }
        defer { ECDSA_SIG_free(sig) }
        let r = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32(half), nil) }
        let s = raw.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + half, Int32(half), nil) }
        guard let r, let s, ECDSA_SIG_set0(sig, r, s) == 1 else { return nil }
        var out: UnsafeMutablePointer<UInt8>?
        let len = i2d_ECDSA_SIG(sig, &out)
        guard len > 0, let out else { return nil }
        defer { gh_OPENSSL_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: Int(len)))
    }

    static func fromDER(_ der: [UInt8], fieldSize: Int) -> [UInt8]? {
        let sig: OpaquePointer? = der.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_ECDSA_SIG(nil, &p, b.count)
        }
        guard let sig else { return nil }
        defer { ECDSA_SIG_free(sig) }
        var out = [UInt8](repeating: 0, count: fieldSize * 2)
        let ok = out.withUnsafeMutableBufferPointer { o -> Bool in
            BN_bn2binpad(ECDSA_SIG_get0_r(sig), o.baseAddress, Int32(fieldSize)) == Int32(fieldSize)
                && BN_bn2binpad(ECDSA_SIG_get0_s(sig), o.baseAddress! + fieldSize, Int32(fieldSize)) == Int32(fieldSize)
        }
        return ok ? out : nil
    }
}
