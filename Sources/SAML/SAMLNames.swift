/// Namespaces and fixed URIs of SAML 2.0.
package enum SAMLNames {
    package static let assertion = "urn:oasis:names:tc:SAML:2.0:assertion"
    package static let protocol_ = "urn:oasis:names:tc:SAML:2.0:protocol"
    package static let metadata = "urn:oasis:names:tc:SAML:2.0:metadata"
    package static let success = "urn:oasis:names:tc:SAML:2.0:status:Success"
    package static let bearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    package static let redirectBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    package static let postBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    package static let entityFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
    package static let emailFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    package static let persistentFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    package static let unspecifiedFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
}

/// Why a SAML message was refused: a stable code (for logs, tests and the API) and one readable reason.
package struct SAMLRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package let code: String
    package let reason: String
    package init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    package var description: String { reason }
}
