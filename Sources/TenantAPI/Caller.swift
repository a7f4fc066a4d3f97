import GatehouseCore
import TenantDomain

/// Who is calling the region, as established by the gateway (a verified session or API key). The region
/// trusts only this value; how it arrives (in-process, or a gateway-signed header) is the provider's business.
package struct Caller: Sendable, Hashable {
    package let accountID: String
    package let email: String
    package let displayName: String
    /// Set for platform operators bound to one region.
    package let regionAdminOf: Region?
    /// How the caller proved who they are; `Rules.reach` decides from it which orgs it opens (rule 9, and an
    /// org's IdP vouching for that org only).
    package let authMethod: AuthMethod
    /// For API keys: the one org the key belongs to; every other org is unknown to it.
    package let scopeOrg: String?
    /// For app-scoped API keys: the one app; the key acts with read access to the org and nothing else.
    package let scopeApp: String?

    package init(
        accountID: String, email: String, displayName: String = "", regionAdminOf: Region? = nil,
        authMethod: AuthMethod = .password, scopeOrg: String? = nil, scopeApp: String? = nil
    ) {
        self.accountID = accountID
        self.email = email
        self.displayName = displayName
        // Region-admin rights attach only to an authentication that proves the account itself.
        self.regionAdminOf = authMethod.provesAccount ? regionAdminOf : nil
        self.authMethod = authMethod
        self.scopeOrg = scopeOrg ?? authMethod.ssoOrg
        self.scopeApp = scopeApp
    }

    /// How this caller is named in invitations and their mail: the display name made safe (no line breaks or
    /// control characters, at most 100 characters), else the email.
    package var inviterName: String {
        let n = PersonName.sanitized(displayName)
        return n.isEmpty ? email : n
    }

    /// Whether this caller may act on the whole account (password, sessions, every org's memberships).
    package var mayActAccountWide: Bool { authMethod.provesAccount && scopeOrg == nil }
}

extension Caller: Codable {
    enum CodingKeys: String, CodingKey {
        case accountID = "a"
        case email = "e"
        case displayName = "n"
        case regionAdminOf = "r"
        case authMethod = "m"
        case scopeOrg = "o"
        case scopeApp = "p"
    }

    /// Decoded through the initializer, so a forwarded caller obeys the same invariants as a local one.
    package init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            accountID: try c.decode(String.self, forKey: .accountID), email: try c.decode(String.self, forKey: .email),
            displayName: try c.decode(String.self, forKey: .displayName),
            regionAdminOf: try c.decodeIfPresent(Region.self, forKey: .regionAdminOf),
            authMethod: try c.decode(AuthMethod.self, forKey: .authMethod),
            scopeOrg: try c.decodeIfPresent(String.self, forKey: .scopeOrg),
            scopeApp: try c.decodeIfPresent(String.self, forKey: .scopeApp))
    }
}
