internal import CLibXML2
import Crypto
import Foundation

/// Why a signature was not accepted: a stable code and one readable reason.
package struct SignatureRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package let code: String
    package let reason: String
    package init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    package var description: String { reason }
}

/// The algorithm identifiers XML-DSig uses, and the subset we accept.
package enum DSig {
    package static let ns = "http://www.w3.org/2000/09/xmldsig#"
    package static let envelopedTransform = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

    package static let signatureMethods: [String: (SignatureScheme, Bool)] = [
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": (.rsaPKCS1(.sha256), false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": (.rsaPKCS1(.sha384), false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": (.rsaPKCS1(.sha512), false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": (.ecdsa(.sha256), false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": (.ecdsa(.sha384), false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": (.ecdsa(.sha512), false),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1": (.rsaPKCS1(.sha1), true),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": (.ecdsa(.sha1), true),
    ]

    static let digestMethods: [String: Digest] = [
        "http://www.w3.org/2001/04/xmlenc#sha256": .sha256,
        "http://www.w3.org/2001/04/xmldsig-more#sha384": .sha384,
        "http://www.w3.org/2001/04/xmlenc#sha512": .sha512,
        "http://www.w3.org/2000/09/xmldsig#sha1": .sha1,
    ]

    package static func signatureMethodURI(_ scheme: SignatureScheme) -> String {
        signatureMethods.first { $0.value.0 == scheme }?.key ?? ""
    }

    package static func digestMethodURI(_ digest: Digest) -> String {
        digestMethods.first { $0.value == digest }?.key ?? ""
    }

    static let c14nMethods: [String: Bool] = [
        ExclusiveC14N.algorithm: false, ExclusiveC14N.algorithmWithComments: true,
    ]
}

/// Enveloped XML signatures: verification against pinned keys only, and signing.
///
/// Verification accepts exactly one shape: a `ds:Signature` that is a child of the element it signs, one
/// `Reference` whose URI is `#` + that element's ID, transforms limited to enveloped-signature and exclusive
/// C14N, allowed digest and signature algorithms. A key or certificate inside the message is never used.
/// It returns the element that was signed, so callers consume that node and nothing else.
package enum XMLSignature {
    package static func verify(
        _ signature: XMLElement, keys: [PublicKey], allowSHA1: Bool
    ) throws(SignatureRefusal) -> XMLElement {
        guard signature.isNamed("Signature", in: DSig.ns) else {
            throw SignatureRefusal("signature_malformed", "not a ds:Signature element")
        }
        guard let signed = signature.parent else {
            throw SignatureRefusal("signature_malformed", "the signature is not inside the element it signs")
        }
        let parts = signature.children
        guard parts.count >= 2, parts[0].isNamed("SignedInfo", in: DSig.ns),
            parts[1].isNamed("SignatureValue", in: DSig.ns)
        else {
            throw SignatureRefusal(
                "signature_malformed", "ds:Signature must start with ds:SignedInfo and ds:SignatureValue")
        }
        for extra in parts.dropFirst(2) where !extra.isNamed("KeyInfo", in: DSig.ns) {
            throw SignatureRefusal("signature_malformed", "ds:Signature may not contain ds:\(extra.localName)")
        }
        let signedInfo = parts[0]
        let info = signedInfo.children
        guard info.count == 3, info[0].isNamed("CanonicalizationMethod", in: DSig.ns),
            info[1].isNamed("SignatureMethod", in: DSig.ns),
            info[2].isNamed("Reference", in: DSig.ns)
        else {
            throw SignatureRefusal(
                "signature_malformed",
                "ds:SignedInfo must hold CanonicalizationMethod, SignatureMethod and exactly one Reference")
        }
        guard let c14nURI = info[0].attribute("Algorithm"), let c14nComments = DSig.c14nMethods[c14nURI] else {
            throw SignatureRefusal(
                "algorithm_refused",
                "canonicalization \(info[0].attribute("Algorithm") ?? "(none)") is not exclusive C14N")
        }
        guard let methodURI = info[1].attribute("Algorithm"), let (scheme, isSHA1) = DSig.signatureMethods[methodURI]
        else {
            throw SignatureRefusal(
                "algorithm_refused", "signature algorithm \(info[1].attribute("Algorithm") ?? "(none)") is not accepted"
            )
        }
        if isSHA1 && !allowSHA1 {
            throw SignatureRefusal("sha1_refused", "SHA-1 signatures are not allowed for this identity provider")
        }

        // The reference: "#" + the ID of the signature's parent, an ID that occurs once in the document.
        let reference = info[2]
        guard let uri = reference.attribute("URI"), uri.hasPrefix("#"), uri.count > 1 else {
            throw SignatureRefusal("reference_refused", "the Reference must point at an element by ID (URI=\"#…\")")
        }
        let id = String(uri.dropFirst())
        let matches = signature.owner.elements(withID: id)
        guard matches.count == 1 else {
            throw SignatureRefusal(
                "reference_refused",
                matches.isEmpty
                    ? "the signed ID \(id) is not in the document" : "the signed ID \(id) occurs more than once")
        }
        guard matches[0] == signed, XMLDocument.idAttributeNames.contains(where: { signed.attribute($0) == id }) else {
            throw SignatureRefusal("reference_refused", "the signature does not sign the element that contains it")
        }
        let refParts = reference.children
        var index = 0
        var inclusive: [String] = []
        var sawEnveloped = false
        var sawC14N = false
        if index < refParts.count, refParts[index].isNamed("Transforms", in: DSig.ns) {
            let transforms = refParts[index].children
            guard !transforms.isEmpty, transforms.count <= 2 else {
                throw SignatureRefusal("transform_refused", "unexpected number of transforms")
            }
            for t in transforms {
                guard t.isNamed("Transform", in: DSig.ns), let alg = t.attribute("Algorithm") else {
                    throw SignatureRefusal("transform_refused", "malformed ds:Transform")
                }
                if alg == DSig.envelopedTransform, !sawEnveloped, !sawC14N {
                    sawEnveloped = true
                } else if DSig.c14nMethods[alg] != nil, !sawC14N {
                    // A same-document reference drops comments whatever the algorithm says (XML-DSig 4.3.3.3).
                    sawC14N = true
                    inclusive = try prefixList(t)
                } else {
                    throw SignatureRefusal("transform_refused", "transform \(alg) is not accepted")
                }
            }
            index += 1
        }
        guard sawEnveloped, sawC14N else {
            throw SignatureRefusal(
                "transform_refused", "the Reference must use the enveloped-signature and exclusive C14N transforms")
        }
        guard index + 2 == refParts.count, refParts[index].isNamed("DigestMethod", in: DSig.ns),
            refParts[index + 1].isNamed("DigestValue", in: DSig.ns)
        else {
            throw SignatureRefusal("signature_malformed", "ds:Reference must end with DigestMethod and DigestValue")
        }
        guard let digestURI = refParts[index].attribute("Algorithm"), let digest = DSig.digestMethods[digestURI] else {
            throw SignatureRefusal(
                "algorithm_refused",
                "digest algorithm \(refParts[index].attribute("Algorithm") ?? "(none)") is not accepted")
        }
        if digest == .sha1 && !allowSHA1 {
            throw SignatureRefusal("sha1_refused", "SHA-1 digests are not allowed for this identity provider")
        }
        guard let expected = base64(refParts[index + 1]), expected.count == digest.byteCount else {
            throw SignatureRefusal("signature_malformed", "DigestValue is not valid base64 of the right length")
        }
        guard let sigBytes = base64(parts[1]), !sigBytes.isEmpty else {
            throw SignatureRefusal("signature_malformed", "SignatureValue is not valid base64")
        }

        // Signature over SignedInfo first (cheap to refuse a stranger's key), then the digest of the element.
        let infoBytes: [UInt8]
        let infoPrefixes = try prefixList(info[0])
        do {
            infoBytes = try ExclusiveC14N.canonicalize(
                signedInfo, withComments: c14nComments, inclusivePrefixes: infoPrefixes)
        } catch {
            throw SignatureRefusal("signature_malformed", "SignedInfo cannot be canonicalized")
        }
        guard !keys.isEmpty else { throw SignatureRefusal("no_key", "no signing certificate is configured") }
        guard keys.contains(where: { $0.verify(sigBytes, over: infoBytes, scheme: scheme) }) else {
            throw SignatureRefusal("signature_invalid", "the signature was not made by a configured certificate")
        }
        let body: [UInt8]
        do {
            body = try ExclusiveC14N.canonicalize(
                signed, excluding: signature, withComments: false, inclusivePrefixes: inclusive)
        } catch {
            throw SignatureRefusal("signature_malformed", "the signed element cannot be canonicalized")
        }
        guard ConstantTime.equals(digest.hash(body), expected) else {
            throw SignatureRefusal("digest_mismatch", "the signed content was changed after signing (digest mismatch)")
        }
        return signed
    }

    static func prefixList(_ transform: XMLElement) throws(SignatureRefusal) -> [String] {
        let lists = transform.children
        guard lists.count <= 1 else { throw SignatureRefusal("transform_refused", "unexpected content in a transform") }
        guard let list = lists.first else { return [] }
        guard list.isNamed("InclusiveNamespaces", in: ExclusiveC14N.algorithm) else {
            throw SignatureRefusal("transform_refused", "unexpected \(list.localName) in a transform")
        }
        return (list.attribute("PrefixList") ?? "").split(whereSeparator: {
            $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r"
        }).map(String.init)
    }

    static func base64(_ e: XMLElement) -> [UInt8]? {
        guard e.children.isEmpty else { return nil }
        let compact = Array(e.text.utf8).filter { !($0 == 32 || $0 == 10 || $0 == 13 || $0 == 9) }
        return Data(base64Encoded: Data(compact)).map { Array($0) }
    }

    // MARK: - Signing

    /// Signs `element` with an enveloped signature placed right after `after` (or as its first child):
    /// exclusive C14N, the scheme's digest, and the certificate in KeyInfo when given.
    package static func sign(
        _ element: XMLElement, key: PrivateKey, scheme: SignatureScheme, certificate: Certificate?, after: XMLElement?
    ) throws(SignatureRefusal) {
        guard let id = element.attribute("ID") ?? element.attribute("Id") else {
            throw SignatureRefusal("signature_malformed", "the element to sign has no ID")
        }
        let digest = scheme.digest
        let body: [UInt8]
        do { body = try ExclusiveC14N.canonicalize(element) } catch {
            throw SignatureRefusal("signature_malformed", "cannot canonicalize")
        }
        let doc = element.owner.doc
        guard let sig = xmlNewDocNode(doc, nil, "Signature", nil), let ns = xmlNewNs(sig, DSig.ns, "ds") else {
            throw SignatureRefusal("signature_malformed", "out of memory")
        }
        xmlSetNs(sig, ns)
        let info = xmlNewChild(sig, ns, "SignedInfo", nil)
        xmlSetProp(xmlNewChild(info, ns, "CanonicalizationMethod", nil), "Algorithm", ExclusiveC14N.algorithm)
        xmlSetProp(xmlNewChild(info, ns, "SignatureMethod", nil), "Algorithm", DSig.signatureMethodURI(scheme))
        let ref = xmlNewChild(info, ns, "Reference", nil)
        xmlSetProp(ref, "URI", "#" + id)
        let transforms = xmlNewChild(ref, ns, "Transforms", nil)
        xmlSetProp(xmlNewChild(transforms, ns, "Transform", nil), "Algorithm", DSig.envelopedTransform)
        xmlSetProp(xmlNewChild(transforms, ns, "Transform", nil), "Algorithm", ExclusiveC14N.algorithm)
        xmlSetProp(xmlNewChild(ref, ns, "DigestMethod", nil), "Algorithm", DSig.digestMethodURI(digest))
        xmlNewTextChild(ref, ns, "DigestValue", Data(digest.hash(body)).base64EncodedString())
        let value = xmlNewChild(sig, ns, "SignatureValue", nil)
        if let certificate {
            let keyInfo = xmlNewChild(sig, ns, "KeyInfo", nil)
            let data = xmlNewChild(keyInfo, ns, "X509Data", nil)
            xmlNewTextChild(data, ns, "X509Certificate", certificate.base64)
        }
        if let after {
            xmlAddNextSibling(after.node, sig)
        } else if let first = element.node.pointee.children {
            xmlAddPrevSibling(first, sig)
        } else {
            xmlAddChild(element.node, sig)
        }
        guard let infoNode = info else { throw SignatureRefusal("signature_malformed", "out of memory") }
        let signedInfo = XMLElement(infoNode, owner: element.owner)
        do {
            let bytes = try ExclusiveC14N.canonicalize(signedInfo)
            let s = try key.sign(bytes, digest: digest)
            xmlNodeSetContent(value, Data(s).base64EncodedString())
        } catch {
            throw SignatureRefusal("signature_malformed", "signing failed: \(error)")
        }
    }
}

extension XMLDocument {
    /// The document as UTF-8 XML (for signed fixtures and outgoing messages).
    package func serialized() -> [UInt8] {
        var mem: UnsafeMutablePointer<UInt8>?
        var size: Int32 = 0
        xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8")
        guard let mem else { return [] }
        defer { gh_xmlFree(mem) }
        return Array(UnsafeBufferPointer(start: mem, count: Int(size)))
    }
}
