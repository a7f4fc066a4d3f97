import Crypto
import Foundation
import XML

/// An identity provider as an org configures it: from its metadata XML or by fields.
package struct IdPDescriptor: Sendable, Equatable, Codable {
    package var entityID: String
    package var ssoURL: String
    package var ssoBinding: String
    /// Base64 DER signing certificates; two at once during a rotation.
    package var certificates: [String]

    package init(
        entityID: String, ssoURL: String, ssoBinding: String = SAMLNames.redirectBinding, certificates: [String]
    ) {
        self.entityID = entityID
        self.ssoURL = ssoURL
        self.ssoBinding = ssoBinding
        self.certificates = certificates
    }

    package static let maxCertificates = 4

    /// Checks every field; certificates are parsed (PEM or base64 DER) and normalised to base64 DER.
    package func validated() throws(SAMLRefusal) -> IdPDescriptor {
        let entity = entityID.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !entity.isEmpty, entity.utf8.count <= 1024 else {
            throw SAMLRefusal("invalid_idp", "the IdP entity id is missing or too long")
        }
        guard let url = URL(string: ssoURL), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host != nil,
            ssoURL.utf8.count <= 2048
        else {
            throw SAMLRefusal("invalid_idp", "the IdP sign-in URL must be an http(s) URL")
        }
        guard ssoBinding == SAMLNames.redirectBinding else {
            throw SAMLRefusal("invalid_idp", "the IdP must accept the HTTP-Redirect binding for sign-in requests")
        }
        guard !certificates.isEmpty, certificates.count <= Self.maxCertificates else {
            throw SAMLRefusal("invalid_idp", "give 1 to \(Self.maxCertificates) IdP signing certificates")
        }
        var normalized: [String] = []
        for c in certificates {
            do { normalized.append(try Certificate(text: c).base64) } catch {
                throw SAMLRefusal("invalid_certificate", "IdP certificate: \(error.reason)")
            }
        }
        return IdPDescriptor(entityID: entity, ssoURL: ssoURL, ssoBinding: ssoBinding, certificates: normalized)
    }

    package func parsedCertificates() -> [Certificate] { certificates.compactMap { try? Certificate(text: $0) } }
}

/// Reads IdP metadata (`md:EntityDescriptor`, or an `md:EntitiesDescriptor` holding exactly one IdP): entity
/// id, the HTTP-Redirect SingleSignOnService, and every signing certificate. Parsed with the hardened parser.
package enum IdPMetadata {
    package static func parse(_ xml: [UInt8]) throws(SAMLRefusal) -> IdPDescriptor {
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
        guard
            let sso = idp.children("SingleSignOnService", in: SAMLNames.metadata).first(where: {
                $0.attribute("Binding") == SAMLNames.redirectBinding
            }),
            let location = sso.attribute("Location")
        else {
            throw SAMLRefusal("invalid_metadata", "the IdP offers no HTTP-Redirect SingleSignOnService")
        }
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
            entityID: entityID, ssoURL: location, ssoBinding: SAMLNames.redirectBinding, certificates: certs
        ).validated()
    }
}
