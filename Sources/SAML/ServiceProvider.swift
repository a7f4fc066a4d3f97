import Compression
import Crypto
import Foundation
import GatehouseCore
import XML

/// One org's Service Provider identity: its entity id, ACS and SLO URLs (stable URLs under the gateway's public
/// base), its metadata, and the messages it sends (AuthnRequests, LogoutRequests, LogoutResponses).
package struct ServiceProvider: Sendable {
    package let entityID: String
    package let acsURL: String
    package let sloURL: String
    package let metadataURL: String
    /// Where a browser starts an SP-initiated sign-in for this org.
    package let loginURL: String
    /// The SP key: signs logout messages always, AuthnRequests when the org asks (`signAuthnRequests`), and opens
    /// encrypted assertions (with `previousKey` during a rotation).
    package let key: PrivateKey?
    package let certificate: Certificate?
    package let previousKey: PrivateKey?
    package let signAuthnRequests: Bool

    package init(
        baseURL: String, orgID: String, key: PrivateKey? = nil, certificate: Certificate? = nil,
        previousKey: PrivateKey? = nil, signAuthnRequests: Bool = false
    ) {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        entityID = "\(base)/sso/\(orgID)/metadata"
        metadataURL = entityID
        acsURL = "\(base)/sso/\(orgID)/acs"
        sloURL = "\(base)/sso/\(orgID)/slo"
        loginURL = "\(base)/sso/\(orgID)/login"
        self.key = key
        self.certificate = certificate
        self.previousKey = previousKey
        self.signAuthnRequests = signAuthnRequests && key != nil
    }

    /// The key that signs AuthnRequests, when the org asks for signed requests.
    package var signingKey: PrivateKey? { signAuthnRequests ? key : nil }
    /// Keys that may open an EncryptedAssertion: the current SP key, then the one being rotated out.
    package var decryptionKeys: [PrivateKey] { [key, previousKey].compactMap { $0 }.filter(\.isRSA) }

    /// Built as escape-by-default markup (`HTML` escapes what XML needs escaped too: `&#39;` is valid XML).
    package func metadataXML() -> String {
        func keyInfo(_ c: Certificate) -> HTML {
            """
            <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>\
            <ds:X509Certificate>\(c.base64)</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
            """
        }
        var keys: HTML = ""
        if let certificate {
            keys += "<md:KeyDescriptor use=\"signing\">\(keyInfo(certificate))</md:KeyDescriptor>\n"
            if certificate.publicKey.isRSA {
                keys += "<md:KeyDescriptor use=\"encryption\">\(keyInfo(certificate))"
                for m in XMLEnc.advertised { keys += "<md:EncryptionMethod Algorithm=\"\(m)\"/>" }
                keys += "</md:KeyDescriptor>\n"
            }
        }
        let xml: HTML = """
            <?xml version="1.0" encoding="UTF-8"?>
            <md:EntityDescriptor xmlns:md="\(SAMLNames.metadata)" entityID="\(entityID)">
            <md:SPSSODescriptor AuthnRequestsSigned="\(signAuthnRequests ? "true" : "false")" \
            WantAssertionsSigned="true" protocolSupportEnumeration="\(SAMLNames.protocol_)">
            \(keys)<md:SingleLogoutService Binding="\(SAMLNames.redirectBinding)" Location="\(sloURL)"/>
            <md:SingleLogoutService Binding="\(SAMLNames.postBinding)" Location="\(sloURL)"/>
            <md:NameIDFormat>\(SAMLNames.emailFormat)</md:NameIDFormat>
            <md:NameIDFormat>\(SAMLNames.persistentFormat)</md:NameIDFormat>
            <md:NameIDFormat>\(SAMLNames.unspecifiedFormat)</md:NameIDFormat>
            <md:AssertionConsumerService Binding="\(SAMLNames.postBinding)" Location="\(acsURL)" index="0" \
            isDefault="true"/>
            </md:SPSSODescriptor>
            </md:EntityDescriptor>

            """
        return xml.text
    }

    /// A new message ID: `_` + 160 random bits in hex (an NCName).
    package static func newRequestID() -> String { "_" + SecureRandom.bytes(20).hexString }

    package func authnRequestXML(id: String, destination: String, now: Date) -> String {
        let xml: HTML = """
            <samlp:AuthnRequest xmlns:samlp="\(SAMLNames.protocol_)" xmlns:saml="\(SAMLNames.assertion)" ID="\(id)" Version="2.0" \
            IssueInstant="\(SAMLTime.format(now))" Destination="\(destination)" \
            AssertionConsumerServiceURL="\(acsURL)" ProtocolBinding="\(SAMLNames.postBinding)">\
            <saml:Issuer>\(entityID)</saml:Issuer>\
            <samlp:NameIDPolicy Format="\(SAMLNames.unspecifiedFormat)" AllowCreate="true"/></samlp:AuthnRequest>
            """
        return xml.text
    }

    /// The subject a session came from, as a LogoutRequest names it.
    package struct Subject: Sendable, Equatable, Codable {
        package var nameID: String
        package var format: String?
        package var sessionIndex: String?
        package init(nameID: String, format: String?, sessionIndex: String?) {
            self.nameID = nameID
            self.format = format
            self.sessionIndex = sessionIndex
        }
    }

    package func logoutRequestXML(id: String, destination: String, subject: Subject, now: Date) -> String {
        let format: HTML = subject.format.map { " Format=\"\($0)\"" } ?? ""
        let index: HTML = subject.sessionIndex.map { "<samlp:SessionIndex>\($0)</samlp:SessionIndex>" } ?? ""
        let xml: HTML = """
            <samlp:LogoutRequest xmlns:samlp="\(SAMLNames.protocol_)" xmlns:saml="\(SAMLNames.assertion)" ID="\(id)" \
            Version="2.0" IssueInstant="\(SAMLTime.format(now))" Destination="\(destination)" \
            NotOnOrAfter="\(SAMLTime.format(now.addingTimeInterval(300)))"><saml:Issuer>\(entityID)</saml:Issuer>\
            <saml:NameID\(format)>\(subject.nameID)</saml:NameID>\(index)</samlp:LogoutRequest>
            """
        return xml.text
    }

    package func logoutResponseXML(
        id: String, inResponseTo: String, destination: String, status: String = SAMLNames.success, now: Date
    ) -> String {
        let xml: HTML = """
            <samlp:LogoutResponse xmlns:samlp="\(SAMLNames.protocol_)" xmlns:saml="\(SAMLNames.assertion)" ID="\(id)" \
            Version="2.0" IssueInstant="\(SAMLTime.format(now))" Destination="\(destination)" \
            InResponseTo="\(inResponseTo)"><saml:Issuer>\(entityID)</saml:Issuer>\
            <samlp:Status><samlp:StatusCode Value="\(status)"/></samlp:Status></samlp:LogoutResponse>
            """
        return xml.text
    }

    /// The IdP URL to redirect the browser to (HTTP-Redirect binding: DEFLATE, base64, URL-encoding, then the
    /// optional query signature over `SAMLRequest=…&RelayState=…&SigAlg=…`).
    package func redirectURL(
        idpSSOURL: String, requestID: String, relayState: String?, now: Date
    ) throws(SAMLRefusal) -> String {
        try Self.redirect(
            to: idpSSOURL, parameter: "SAMLRequest",
            xml: authnRequestXML(id: requestID, destination: idpSSOURL, now: now),
            relayState: relayState, key: signingKey)
    }

    /// Any message over HTTP-Redirect: `parameter` is `SAMLRequest` or `SAMLResponse`; signed when `key` is set.
    package static func redirect(
        to endpoint: String, parameter: String, xml: String, relayState: String?, key: PrivateKey?
    ) throws(SAMLRefusal) -> String {
        let encoded = Data(RawDeflate.deflate(Array(xml.utf8))).base64EncodedString()
        var query = parameter + "=" + urlEncode(encoded)
        if let relayState, !relayState.isEmpty { query += "&RelayState=" + urlEncode(relayState) }
        if let key {
            query += "&SigAlg=" + urlEncode(DSig.signatureMethodURI(key.isEC ? .ecdsa(.sha256) : .rsaPKCS1(.sha256)))
            let signature: [UInt8]
            do { signature = try key.sign(Array(query.utf8), digest: .sha256) } catch {
                throw SAMLRefusal("signing_failed", "could not sign the message")
            }
            query += "&Signature=" + urlEncode(Data(signature).base64EncodedString())
        }
        return endpoint + (endpoint.contains("?") ? "&" : "?") + query
    }

    /// Any message over HTTP-POST: the base64 form value, the XML signed with an enveloped signature (after its
    /// Issuer, as the schema wants) when `key` is set.
    package static func postValue(
        xml: String, key: PrivateKey?, certificate: Certificate?
    ) throws(SAMLRefusal) -> String {
        guard let key else { return Data(xml.utf8).base64EncodedString() }
        do {
            let doc = try XMLDocument(parsing: Array(xml.utf8))
            guard let root = doc.root else { throw SAMLRefusal("signing_failed", "could not sign the message") }
            try XMLSignature.sign(
                root, key: key, scheme: key.isEC ? .ecdsa(.sha256) : .rsaPKCS1(.sha256), certificate: certificate,
                after: root.firstChild("Issuer", in: SAMLNames.assertion))
            return Data(doc.serialized()).base64EncodedString()
        } catch let r as SAMLRefusal {
            throw r
        } catch {
            throw SAMLRefusal("signing_failed", "could not sign the message")
        }
    }

    static func urlEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
