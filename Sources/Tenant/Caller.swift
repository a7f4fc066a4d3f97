import GatehouseCore
import TenantDomain
import Web

/// Who is calling the region, as established by the gateway (a verified session or API key). The region
/// trusts only this value; how it arrives (in-process, or a gateway-signed header) is the provider's business.
public struct Caller: Sendable, Equatable {
    public let accountID: String
    public let email: String
    public let displayName: String
    /// Set for platform operators bound to one region.
    public let regionAdminOf: Region?
    /// How the caller proved who they are: `password`, `saml:<org>`, `oidc:<provider>`, `apikey`, `bootstrap`.
    /// An SSO-only membership answers only to `saml:<that org>` (rule 9).
    public let authMethod: String
    /// For API keys: the one org the key belongs to; every other org is unknown to it.
    public let scopeOrg: String?

    public init(accountID: String, email: String, displayName: String = "", regionAdminOf: Region? = nil,
                authMethod: String = "password", scopeOrg: String? = nil) {
        self.accountID = accountID
        self.email = email
        self.displayName = displayName
        self.regionAdminOf = regionAdminOf
        self.authMethod = authMethod
        self.scopeOrg = scopeOrg
    }
}

/// Establishes the caller for a request, or throws 401.
public typealias CallerProvider = @Sendable (RequestContext) async throws -> Caller

/// A `CallerProvider` for tests and tools that reads `X-Test-Caller: <account>|<email>|<name>|<region-admin>`.
/// - Warning: it trusts the header; never install it on a network-facing server.
public enum UnverifiedTestCaller {
    public static let header = "X-Test-Caller"

    public static let provider: CallerProvider = { ctx in
        guard let raw = ctx.request.headers[header] else { throw GatehouseError.unauthenticated() }
        let p = raw.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard p.count >= 2, !p[0].isEmpty else { throw GatehouseError.unauthenticated() }
        return Caller(accountID: p[0], email: p[1], displayName: p.count > 2 ? p[2] : "",
                      regionAdminOf: p.count > 3 ? Region(rawValue: p[3]) : nil, authMethod: p.count > 4 && !p[4].isEmpty ? p[4] : "password")
    }

    public static func value(_ c: Caller) -> String {
        "\(c.accountID)|\(c.email)|\(c.displayName)|\(c.regionAdminOf?.rawValue ?? "")|\(c.authMethod)"
    }
}

extension Caller: Codable {
    enum CodingKeys: String, CodingKey {
        case accountID = "a", email = "e", displayName = "n", regionAdminOf = "r", authMethod = "m", scopeOrg = "o"
    }
}
