import Foundation
import GatehouseCore
import TenantDomain

/// What the gateway asks a region after a verified SAML login: let this account in to this org.
public struct SSOSignInRequest: Codable, Sendable {
    public var orgID: String
    public var accountID: String
    public var email: String
    public var firstName: String
    public var lastName: String
    /// Values for user variables mapped from the IdP's attributes (applied on JIT provisioning).
    public var userVariables: [String: String]
    /// JIT provisioning: when set, a person with no membership and no invite becomes a member with this role.
    public var jitRole: String?

    public init(
        orgID: String, accountID: String, email: String, firstName: String, lastName: String,
        userVariables: [String: String], jitRole: String?
    ) {
        self.orgID = orgID
        self.accountID = accountID
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.userVariables = userVariables
        self.jitRole = jitRole
    }
}

public struct SSOSignInResult: Codable, Sendable, Equatable {
    /// `member` (already one), `invite_accepted` (a pending invite for the email was accepted), `provisioned` (JIT).
    public let outcome: String
    public let orgName: String
    public let startingPage: StartingPage

    package init(outcome: String, orgName: String, startingPage: StartingPage) {
        self.outcome = outcome
        self.orgName = orgName
        self.startingPage = startingPage
    }
}

/// The caller's standing in one org, for gateway-side features that need a permission (SSO settings).
public struct OrgStanding: Codable, Sendable, Equatable {
    public let orgID: String
    public let orgName: String
    public let permissions: [String]
    /// Roles this caller may let sign-in through the org's IdP assign (`Rules.jitRole`: grant ceiling, never
    /// owner-level): the JIT default role must be one of them when the caller saves it.
    public let jitAssignableRoles: [String]

    package init(orgID: String, orgName: String, permissions: [String], jitAssignableRoles: [String]) {
        self.orgID = orgID
        self.orgName = orgName
        self.permissions = permissions
        self.jitAssignableRoles = jitAssignableRoles
    }
}
