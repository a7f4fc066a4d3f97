import Foundation
import GatehouseCore
import TenantDomain

/// What the gateway asks a region after a verified SAML login: let this account in to this org.
package struct SSOSignInRequest: Codable, Sendable {
    package var orgID: String
    package var accountID: String
    package var email: String
    package var firstName: String
    package var lastName: String
    /// Values for user variables mapped from the IdP's attributes (applied on JIT provisioning).
    package var userVariables: [String: String]
    /// JIT provisioning: when set, a person with no membership and no invite becomes a member with this role.
    package var jitRole: String?

    package init(
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

package struct SSOSignInResult: Codable, Sendable, Equatable {
    /// `member` (already one), `invite_accepted` (a pending invite for the email was accepted), `provisioned` (JIT).
    package let outcome: String
    package let orgName: String
    package let startingPage: StartingPage

    package init(outcome: String, orgName: String, startingPage: StartingPage) {
        self.outcome = outcome
        self.orgName = orgName
        self.startingPage = startingPage
    }
}

/// The caller's standing in one org, for gateway-side features that need a permission (SSO settings).
package struct OrgStanding: Codable, Sendable, Equatable {
    package let orgID: String
    package let orgName: String
    package let permissions: [String]
    /// Roles this caller may let sign-in through the org's IdP assign (`Rules.jitRole`: grant ceiling, never
    /// owner-level): the JIT default role must be one of them when the caller saves it.
    package let jitAssignableRoles: [String]
    /// The caller's agency when they are agency people (the console shows them their agency's tab).
    package var agency: String?

    package init(
        orgID: String, orgName: String, permissions: [String], jitAssignableRoles: [String], agency: String? = nil
    ) {
        self.agency = agency
        self.orgID = orgID
        self.orgName = orgName
        self.permissions = permissions
        self.jitAssignableRoles = jitAssignableRoles
    }
}
