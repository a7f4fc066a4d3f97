import Crypto
import Foundation
import GatehouseCore
import XML

/// XML Encryption as SAML IdPs use it for `saml:EncryptedAssertion` (ADFS, Entra ID, Shibboleth, SimpleSAMLphp):
/// the assertion encrypted with a fresh AES key (CBC or GCM), that key encrypted to the SP's RSA key with OAEP.
package enum XMLEnc {
    package static let ns = "http://www.w3.org/2001/04/xmlenc#"
    package static let ns11 = "http://www.w3.org/2009/xmlenc11#"
    package static let elementType = ns + "Element"

    /// Key transport: RSA-OAEP only. `rsa-1_5` is refused outright (its padding oracle is the classic attack).
    package static let rsaOAEPMGF1P = ns + "rsa-oaep-mgf1p"
    package static let rsaOAEP = ns11 + "rsa-oaep"

    /// Data encryption: URI → (mode, key length in bytes).
    static let dataMethods: [String: (AES.Mode, Int)] = [
        ns + "aes128-cbc": (.cbc, 16), ns + "aes192-cbc": (.cbc, 24), ns + "aes256-cbc": (.cbc, 32),
        ns11 + "aes128-gcm": (.gcm, 16), ns11 + "aes192-gcm": (.gcm, 24), ns11 + "aes256-gcm": (.gcm, 32),
    ]

    /// OAEP digests (`ds:DigestMethod` inside the EncryptionMethod; SHA-1 when absent).
    static let oaepDigests: [String: Digest] = [
        DSig.ns + "sha1": .sha1, ns + "sha256": .sha256, ns + "sha512": .sha512,
        "http://www.w3.org/2001/04/xmldsig-more#sha384": .sha384,
    ]

    /// MGF1 hashes (`xenc11:MGF`, only with `xenc11#rsa-oaep`; MGF1 with SHA-1 when absent).
    static let mgfs: [String: Digest] = [
        ns11 + "mgf1sha1": .sha1, ns11 + "mgf1sha256": .sha256, ns11 + "mgf1sha384": .sha384,
        ns11 + "mgf1sha512": .sha512,
    ]

    /// What SP metadata advertises under its encryption key, strongest first.
    package static let advertised = [
        ns11 + "aes256-gcm", ns11 + "aes128-gcm", ns + "aes256-cbc", ns + "aes128-cbc",
        rsaOAEPMGF1P, rsaOAEP,
    ]
}

/// Turns an `EncryptedAssertion` into the assertion it carries, parsed in the namespace context of the element it
/// came from. It only decrypts: the caller validates the result exactly like a plain assertion (its signature, or
/// the signed Response the ciphertext came in).
///
/// Every failure — an unknown algorithm, no key that opens it, bad padding, a bad GCM tag, plaintext that is not
/// one assertion — is the same refusal, so the answer never tells a sender which part of a forged ciphertext
/// was wrong (the CBC attacks on XML Encryption need exactly that distinction).
package enum EncryptedAssertionDecryptor {
    package static let failed = SAMLRefusal("decryption_failed", "the encrypted assertion could not be decrypted")
    static let maxKeys = 4

    package static func decrypt(
        _ encrypted: XMLElement, keys: [PrivateKey], limits: XMLLimits
    ) throws(SAMLRefusal) -> (document: XMLDocument, assertion: XMLElement) {
        guard !keys.isEmpty else {
            throw SAMLRefusal(
                "encrypted_assertion",
                "the assertion is encrypted but no SP decryption key is configured (saml.spKeyFile)")
        }
        // Shape: one EncryptedData; EncryptedKeys inside its KeyInfo or beside it (SAML core 2.3.4), a few at most.
        let data = encrypted.children("EncryptedData", in: XMLEnc.ns)
        guard data.count == 1, let encData = data.first,
            encData.attribute("Type") == nil || encData.attribute("Type") == XMLEnc.elementType,
            let method = encData.firstChild("EncryptionMethod", in: XMLEnc.ns)?.attribute("Algorithm"),
            let (mode, keyLength) = XMLEnc.dataMethods[method],
            let cipherText = cipherValue(encData)
        else { throw failed }
        let encryptedKeys =
            (encData.firstChild("KeyInfo", in: DSig.ns)?.children("EncryptedKey", in: XMLEnc.ns) ?? [])
            + encrypted.children("EncryptedKey", in: XMLEnc.ns)
        guard !encryptedKeys.isEmpty, encryptedKeys.count <= maxKeys else { throw failed }

        var plaintext: [UInt8]?
        search: for ek in encryptedKeys {
            guard let transport = transport(ek), let wrapped = cipherValue(ek) else { continue }
            for key in keys {
                guard let contentKey = try? key.decryptOAEP(wrapped, digest: transport.digest, mgf1: transport.mgf1),
                    contentKey.count == keyLength
                else { continue }
                if let p = try? AES.decrypt(cipherText, key: contentKey, mode: mode) {
                    plaintext = p
                    break search
                }
            }
        }
        guard let plaintext, plaintext.count <= limits.maxBytes else { throw failed }

        // The plaintext is an element, parsed with the namespaces in scope where the ciphertext stood.
        var open: HTML = "<gatehouse-decrypted"
        var declared: Set<String> = []
        for ns in encrypted.inScopeNamespaces where declared.insert(ns.prefix ?? "").inserted {
            if let prefix = ns.prefix {
                open += " xmlns:\(prefix)=\"\(ns.uri)\""
            } else {
                open += " xmlns=\"\(ns.uri)\""
            }
        }
        let wrapped = Array((open.text + ">").utf8) + plaintext + Array("</gatehouse-decrypted>".utf8)
        let doc: XMLDocument
        do { doc = try XMLDocument(parsing: wrapped, limits: limits) } catch { throw failed }
        guard let wrapper = doc.root, wrapper.children.count == 1, let assertion = wrapper.children.first,
            assertion.isNamed("Assertion", in: SAMLNames.assertion), !wrapper.containsCommentOrPI
        else { throw failed }
        return (doc, assertion)
    }

    private static func cipherValue(_ e: XMLElement) -> [UInt8]? {
        guard let cd = e.firstChild("CipherData", in: XMLEnc.ns), cd.children.count == 1,
            let cv = cd.firstChild("CipherValue", in: XMLEnc.ns), cv.children.isEmpty
        else { return nil }
        let compact = Array(cv.text.utf8).filter { !($0 == 32 || $0 == 10 || $0 == 13 || $0 == 9) }
        guard compact.count <= 2 * SAMLResponseValidator.maxResponseBytes else { return nil }
        return Data(base64Encoded: Data(compact)).map { Array($0) }
    }

    private static func transport(_ ek: XMLElement) -> (digest: Digest, mgf1: Digest)? {
        guard let m = ek.firstChild("EncryptionMethod", in: XMLEnc.ns), let alg = m.attribute("Algorithm"),
            alg == XMLEnc.rsaOAEPMGF1P || alg == XMLEnc.rsaOAEP,
            m.children("OAEPparams", in: XMLEnc.ns).isEmpty
        else { return nil }
        var digest = Digest.sha1
        if let d = m.firstChild("DigestMethod", in: DSig.ns) {
            guard let uri = d.attribute("Algorithm"), let known = XMLEnc.oaepDigests[uri] else { return nil }
            digest = known
        }
        var mgf1 = Digest.sha1
        if let g = m.firstChild("MGF", in: XMLEnc.ns11) {
            guard alg == XMLEnc.rsaOAEP, let uri = g.attribute("Algorithm"), let known = XMLEnc.mgfs[uri] else {
                return nil
            }
            mgf1 = known
        }
        return (digest, mgf1)
    }
}
