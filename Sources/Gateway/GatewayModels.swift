import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain

package struct LoginRequest: Codable, Sendable {
    package var email: String
    package var password: String
}

package struct PasswordChangeRequest: Codable, Sendable {
    package var currentPassword: String
    package var newPassword: String
}

/// Forgot password: the address to mail a link to.
package struct PasswordForgotRequest: Codable, Sendable {
    package var email: String
}

/// A new password, with the link's token as proof.
package struct PasswordResetRequest: Codable, Sendable {
    package var token: String
    package var password: String
}

package struct SessionAnswer: Codable, Sendable {
    package let account: Account
    package let csrfToken: String
}

package struct MeAnswer: Codable, Sendable {
    package let account: Account
    package let authMethod: String
    package let regionAdminOf: Region?
    /// Set when this authentication opens one org only (an SSO session, an API key).
    package let scopeOrg: String?
    package let memberships: [MembershipSummary]
    package let pendingInvites: [PendingInviteSummary]
    package let csrfToken: String?
    /// Regions that did not answer; their orgs are missing from `memberships` (never a reason to fail the rest).
    package let unavailableRegions: [Region]
}

package struct InvitePreview: Codable, Sendable {
    package let inviteID: String
    package let orgID: String
    package let orgName: String
    package let email: String
    package let roles: [String]
    package let roleNames: [String]
    package let inviterName: String
    package let ssoOnly: Bool
    package let firstName: String
    package let lastName: String
    package let expiresAt: Date
    /// Whether the invited address already has an account (sign in) or not (sign up through the link). Told
    /// only to the proven invitee (a mailed link, or signed in as that address); nil for a copied link.
    package let accountExists: Bool?
}

package struct AcceptRequest: Codable, Sendable {
    package var password: String?
    /// The code mailed by `POST /api/v1/invites/:token/code`, when signing up through a copied link.
    package var code: String?
    package var firstName: String?
    package var lastName: String?
}

package struct AcceptAnswer: Codable, Sendable {
    package let orgID: String
    package let redirect: String
    package let csrfToken: String?
}

package struct BootstrapRequest: Codable, Sendable {
    package var token: String
    package var password: String
}

extension Account: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("email", email)
        w.field("firstName", firstName)
        w.field("hasPassword", hasPassword)
        w.field("id", id)
        w.field("lastName", lastName)
        w.endObject()
    }
}

extension MeAnswer: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("account")
        w.value(account)
        w.field("authMethod", authMethod)
        w.field("csrfToken", csrfToken)
        w.key("memberships")
        w.values(memberships)
        w.key("pendingInvites")
        w.values(pendingInvites)
        w.field("regionAdminOf", regionAdminOf?.rawValue)
        w.field("scopeOrg", scopeOrg)
        w.key("unavailableRegions")
        w.strings(unavailableRegions.map(\.rawValue))
        w.endObject()
    }
}
