import Foundation
import TenantAPI
import TenantDomain

public struct LoginRequest: Codable, Sendable {
    public var email: String
    public var password: String
}

public struct PasswordChangeRequest: Codable, Sendable {
    public var currentPassword: String
    public var newPassword: String
}

public struct SessionAnswer: Codable, Sendable {
    public let account: Account
    public let csrfToken: String
}

public struct MeAnswer: Codable, Sendable {
    public let account: Account
    public let authMethod: String
    public let regionAdminOf: Region?
    /// Set when this authentication opens one org only (an SSO session, an API key).
    public let scopeOrg: String?
    public let memberships: [MembershipSummary]
    public let pendingInvites: [PendingInviteSummary]
    public let csrfToken: String?
    /// Regions that did not answer; their orgs are missing from `memberships` (never a reason to fail the rest).
    public let unavailableRegions: [Region]
}

public struct InvitePreview: Codable, Sendable {
    public let inviteID: String
    public let orgID: String
    public let orgName: String
    public let email: String
    public let roles: [String]
    public let roleNames: [String]
    public let inviterName: String
    public let ssoOnly: Bool
    public let firstName: String
    public let lastName: String
    public let expiresAt: Date
    /// Whether the invited address already has an account (sign in) or not (sign up through the link). Told
    /// only to the proven invitee (a mailed link, or signed in as that address); nil for a copied link.
    public let accountExists: Bool?
}

public struct AcceptRequest: Codable, Sendable {
    public var password: String?
    /// The code mailed by `POST /api/v1/invites/:token/code`, when signing up through a copied link.
    public var code: String?
    public var firstName: String?
    public var lastName: String?
}

public struct AcceptAnswer: Codable, Sendable {
    public let orgID: String
    public let redirect: String
    public let csrfToken: String?
}

public struct BootstrapRequest: Codable, Sendable {
    public var token: String
    public var password: String
}
