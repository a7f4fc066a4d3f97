/// Namespaces and fixed URIs of SAML 2.0.
public enum SAMLNames {
    public static let assertion = "urn:oasis:names:tc:SAML:2.0:assertion"
    public static let protocol_ = "urn:oasis:names:tc:SAML:2.0:protocol"
    public static let metadata = "urn:oasis:names:tc:SAML:2.0:metadata"
    public static let success = "urn:oasis:names:tc:SAML:2.0:status:Success"
    public static let bearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    public static let redirectBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    public static let postBinding = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    public static let entityFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
    public static let emailFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    public static let persistentFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    public static let unspecifiedFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
}

/// Why a SAML message was refused: a stable code (for logs, tests and the API) and one readable reason.
public struct SAMLRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let reason: String
    public init(_ code: String, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    public var description: String { reason }
}
