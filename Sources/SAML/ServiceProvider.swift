import Compression
import Crypto
import Foundation
import GatehouseCore

/// One org's Service Provider identity: its entity id and ACS URL (stable URLs under the gateway's public
/// base), its metadata, and the AuthnRequests it sends.
package struct ServiceProvider: Sendable {
    package let entityID: String
    package let acsURL: String
    package let metadataURL: String
    /// Where a browser starts an SP-initiated sign-in for this org.
    package let loginURL: String
    /// Signs AuthnRequests (HTTP-Redirect query signature) when set.
    package let signingKey: PrivateKey?
    package let signingCertificate: Certificate?

    package init(baseURL: String, orgID: String, signingKey: PrivateKey? = nil, signingCertificate: Certificate? = nil)
    {
        let base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        entityID = "\(base)/sso/\(orgID)/metadata"
        metadataURL = entityID
        acsURL = "\(base)/sso/\(orgID)/acs"
        loginURL = "\(base)/sso/\(orgID)/login"
        self.signingKey = signingKey
        self.signingCertificate = signingCertificate
    }

    /// Built as escape-by-default markup (`HTML` escapes what XML needs escaped too: `&#39;` is valid XML).
    package func metadataXML() -> String {
        let signing: HTML =
            signingCertificate.map {
                """
                <md:KeyDescriptor use="signing"><ds:KeyInfo \
                xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data>\
                <ds:X509Certificate>\($0.base64)</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
                """
            } ?? ""
        let xml: HTML = """
            <?xml version="1.0" encoding="UTF-8"?>
            <md:EntityDescriptor xmlns:md="\(SAMLNames.metadata)" entityID="\(entityID)">
            <md:SPSSODescriptor AuthnRequestsSigned="\(signingKey != nil ? "true" : "false")" \
            WantAssertionsSigned="true" protocolSupportEnumeration="\(SAMLNames.protocol_)">
            \(signing)<md:NameIDFormat>\(SAMLNames.emailFormat)</md:NameIDFormat>
            <md:NameIDFormat>\(SAMLNames.persistentFormat)</md:NameIDFormat>
            <md:NameIDFormat>\(SAMLNames.unspecifiedFormat)</md:NameIDFormat>
            <md:AssertionConsumerService Binding="\(SAMLNames.postBinding)" Location="\(acsURL)" index="0" \
            isDefault="true"/>
            </md:SPSSODescriptor>
            </md:EntityDescriptor>

            """
        return xml.text
    }

    /// A new AuthnRequest ID: `_` + 160 random bits in hex (an NCName).
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

    /// The IdP URL to redirect the browser to (HTTP-Redirect binding: DEFLATE, base64, URL-encoding, then the
    /// optional query signature over `SAMLRequest=…&RelayState=…&SigAlg=…`).
    package func redirectURL(
        idpSSOURL: String, requestID: String, relayState: String?, now: Date
    ) throws(SAMLRefusal) -> String {
        let xml = authnRequestXML(id: requestID, destination: idpSSOURL, now: now)
        let encoded = Data(RawDeflate.deflate(Array(xml.utf8))).base64EncodedString()
        var query = "SAMLRequest=" + Self.urlEncode(encoded)
        if let relayState, !relayState.isEmpty { query += "&RelayState=" + Self.urlEncode(relayState) }
        if let signingKey {
            let alg =
                signingKey.isEC
                ? "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
                : "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
            query += "&SigAlg=" + Self.urlEncode(alg)
            let signature: [UInt8]
            do { signature = try signingKey.sign(Array(query.utf8), digest: .sha256) } catch {
                throw SAMLRefusal("signing_failed", "could not sign the request")
            }
            query += "&Signature=" + Self.urlEncode(Data(signature).base64EncodedString())
        }
        return idpSSOURL + (idpSSOURL.contains("?") ? "&" : "?") + query
    }

    static func urlEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
