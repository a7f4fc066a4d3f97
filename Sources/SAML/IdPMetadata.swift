import Crypto
import Foundation
import XML

/// An identity provider as an org configures it: from its metadata XML or by fields.
package struct IdPDescriptor: Sendable, Equatable, Codable {
    package var entityID: String
    package var ssoURL: String
    /// HTTP-Redirect, or HTTP-POST when the IdP offers only that for sign-in requests.
    package var ssoBinding: String
    /// Base64 DER signing certificates; two at once during a rotation.
    package var certificates: [String]
    /// Single Logout: where LogoutRequests go (and LogoutResponses, unless `sloResponseURL` says otherwise), and
    /// in which binding. nil: the IdP does not do single logout; signing out ends the Gatehouse session only.
    package var sloURL: String?
    package var sloResponseURL: String?
    package var sloBinding: String?

    package init(
        entityID: String, ssoURL: String, ssoBinding: String = SAMLNames.redirectBinding, certificates: [String],
        sloURL: String? = nil, sloResponseURL: String? = nil, sloBinding: String? = nil
    ) {
        self.entityID = entityID
        self.ssoURL = ssoURL
        self.ssoBinding = ssoBinding
        self.certificates = certificates
        self.sloURL = sloURL
        self.sloResponseURL = sloResponseURL
        self.sloBinding = sloBinding
    }

    static func isHTTPURL(_ s: String) -> Bool {
        guard s.utf8.count <= 2048, let url = URL(string: s), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host != nil
        else { return false }
        return true
    }
    static let bindings = [SAMLNames.redirectBinding, SAMLNames.postBinding]

    package static let maxCertificates = 4

    /// Checks every field; certificates are parsed (PEM or base64 DER) and normalised to base64 DER.
    package func validated(minRSABits: Int = Certificate.defaultMinRSABits) throws(SAMLRefusal) -> IdPDescriptor {
        let entity = entityID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !entity.isEmpty, entity.utf8.count <= 1024 else {
            throw SAMLRefusal("invalid_idp", "the IdP entity id is missing or too long")
        }
        guard Self.isHTTPURL(ssoURL) else {
            throw SAMLRefusal("invalid_idp", "the IdP sign-in URL must be an http(s) URL")
        }
        guard Self.bindings.contains(ssoBinding) else {
            throw SAMLRefusal("invalid_idp", "the IdP must accept HTTP-Redirect or HTTP-POST for sign-in requests")
        }
        for u in [sloURL, sloResponseURL].compactMap({ $0 }) where !Self.isHTTPURL(u) {
            throw SAMLRefusal("invalid_idp", "the IdP logout URL must be an http(s) URL")
        }
        if sloURL != nil, !Self.bindings.contains(sloBinding ?? SAMLNames.redirectBinding) {
            throw SAMLRefusal("invalid_idp", "the IdP logout binding must be HTTP-Redirect or HTTP-POST")
        }
        guard !certificates.isEmpty, certificates.count <= Self.maxCertificates else {
            throw SAMLRefusal("invalid_idp", "give 1 to \(Self.maxCertificates) IdP signing certificates")
        }
        var normalized: [String] = []
        for c in certificates {
            do { normalized.append(try Certificate(text: c, minRSABits: minRSABits).base64) } catch {
                throw SAMLRefusal("invalid_certificate", "IdP certificate: \(error.reason)")
            }
        }
        return IdPDescriptor(
            entityID: entity, ssoURL: ssoURL, ssoBinding: ssoBinding, certificates: normalized, sloURL: sloURL,
            sloResponseURL: sloResponseURL, sloBinding: sloURL == nil ? nil : (sloBinding ?? SAMLNames.redirectBinding))
    }

    package func parsedCertificates(minRSABits: Int = Certificate.defaultMinRSABits) -> [Certificate] {
        certificates.compactMap { try? Certificate(text: $0, minRSABits: minRSABits) }
    }
}

/// Reads IdP metadata (`md:EntityDescriptor`, or an `md:EntitiesDescriptor` holding exactly one IdP): entity
/// id, the HTTP-Redirect SingleSignOnService, and every signing certificate. Parsed with the hardened parser.
package enum IdPMetadata {
    package static func parse(
        _ xml: [UInt8], minRSABits: Int = Certificate.defaultMinRSABits
    ) throws(SAMLRefusal) -> IdPDescriptor {
        let doc: XMLDocument
        do {
            doc = try XMLDocument(parsing: xml, limits: XMLLimits(maxBytes: 512 * 1024, maxDepth: 32, maxNodes: 20_000))
        } catch {
            throw SAMLRefusal("invalid_metadata", "the metadata is not acceptable XML: \(error.reason)")
        }
        guard let root = doc.root else { throw SAMLRefusal("invalid_metadata", "empty metadata") }
        var entities: [XMLElement] = []
        if root.isNamed("EntityDescriptor", in: SAMLNames.metadata) {
            entities = [root]
        } else if root.isNamed("EntitiesDescriptor", in: SAMLNames.metadata) {
            entities = root.descendants("EntityDescriptor", in: SAMLNames.metadata).filter {
                !$0.children("IDPSSODescriptor", in: SAMLNames.metadata).isEmpty
            }
        } else {
            throw SAMLRefusal("invalid_metadata", "the metadata root is not md:EntityDescriptor")
        }
        guard entities.count == 1, let entity = entities.first else {
            throw SAMLRefusal(
                "invalid_metadata",
                entities.isEmpty
                    ? "the metadata describes no identity provider"
                    : "the metadata describes several identity providers; upload one")
        }
        guard let entityID = entity.attribute("entityID") else {
            throw SAMLRefusal("invalid_metadata", "the metadata has no entityID")
        }
        guard let idp = entity.firstChild("IDPSSODescriptor", in: SAMLNames.metadata) else {
            throw SAMLRefusal("invalid_metadata", "the metadata has no IDPSSODescriptor (is this an SP's metadata?)")
        }
        // Per service the HTTP-Redirect endpoint, else the HTTP-POST one.
        func endpoint(_ name: String) -> XMLElement? {
            let all = idp.children(name, in: SAMLNames.metadata)
            return all.first { $0.attribute("Binding") == SAMLNames.redirectBinding }
                ?? all.first { $0.attribute("Binding") == SAMLNames.postBinding }
        }
        guard let sso = endpoint("SingleSignOnService"), let location = sso.attribute("Location"),
            let binding = sso.attribute("Binding")
        else {
            throw SAMLRefusal("invalid_metadata", "the IdP offers no HTTP-Redirect or HTTP-POST SingleSignOnService")
        }
        let slo = endpoint("SingleLogoutService")
        var certs: [String] = []
        for kd in idp.children("KeyDescriptor", in: SAMLNames.metadata)
        where kd.attribute("use") == nil || kd.attribute("use") == "signing" {
            for c in kd.descendants("X509Certificate", in: DSig.ns) {
                let text = c.text.filter { !$0.isWhitespace }
                if !certs.contains(text) { certs.append(text) }
            }
        }
        guard !certs.isEmpty else { throw SAMLRefusal("invalid_metadata", "the metadata has no signing certificate") }
        return try IdPDescriptor(
            entityID: entityID, ssoURL: location, ssoBinding: binding, certificates: certs,
            sloURL: slo?.attribute("Location"), sloResponseURL: slo?.attribute("ResponseLocation"),
            sloBinding: slo?.attribute("Binding")
        ).validated(minRSABits: minRSABits)
    }
}
