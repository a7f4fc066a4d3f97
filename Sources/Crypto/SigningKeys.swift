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
    case ecdsa(Digest)

    package var digest: Digest {
        switch self {
        case .rsaPKCS1(let d), .ecdsa(let d): return d
        }
    }
}

/// A public key (RSA or EC) from a certificate or PEM. OpenSSL keys are immutable once loaded and each
/// verification uses its own context, so sharing one across threads is safe.
package final class PublicKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    package var isRSA: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_RSA() }
    package var isEC: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_EC() }
    package var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// True when `signature` over `message` verifies with this key under `scheme`. A scheme that does not
    /// match the key type is simply false.
    package func verify(_ signature: [UInt8], over message: [UInt8], scheme: SignatureScheme) -> Bool {
        var sig = signature
        switch scheme {
        case .rsaPKCS1: guard isRSA else { return false }
        case .ecdsa:
            guard isEC, let der = ECDSARaw.toDER(signature) else { return false }
            sig = der
        }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, scheme.digest.md, nil, pkey) == 1 else { return false }
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

    package var isEC: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_EC() }

    package func sign(_ message: [UInt8], digest: Digest) throws(KeyError) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw KeyError(reason: "out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, digest.md, nil, pkey) == 1 else {
            throw KeyError(reason: "cannot sign with this key")
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
