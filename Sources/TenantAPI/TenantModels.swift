import Foundation
import GatehouseCore
import TenantDomain

// The JSON shapes of the region API. Requests decode strictly (wrong types are 422 with the field named);
// responses encode with sorted keys. Times are Unix seconds in rows and ISO 8601 on the wire, so a view holds
// whole seconds (`wholeSeconds` in every init): the value an in-process caller reads equals the one a caller in
// another process decodes.

package struct OrgView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let region: Region
    package let status: OrgStatus
    package let createdAt: Date
    package var memberCount: Int?
    /// For the region admin's list: who owns the org, or whom its owner invitation waits for.
    package var owner: OwnerState?

    package init(id: String, name: String, region: Region, status: OrgStatus, createdAt: Date, memberCount: Int? = nil)
    {
        self.id = id
        self.name = name
        self.region = region
        self.status = status
        self.createdAt = createdAt.wholeSeconds
        self.memberCount = memberCount
    }
}

/// An org's owner as its region admin sees it: a member who owns it, or the address a pending owner invitation
/// waits for (with its expiry).
package struct OwnerState: Codable, Sendable, Equatable, JSONWritable {
    package let email: String
    package let joined: Bool
    package let inviteExpiresAt: Date?

    package init(email: String, joined: Bool, inviteExpiresAt: Date?) {
        self.email = email
        self.joined = joined
        self.inviteExpiresAt = inviteExpiresAt?.wholeSeconds
    }

    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("email", email)
        w.field("inviteExpiresAt", inviteExpiresAt)
        w.field("joined", joined)
        w.endObject()
    }
}

package struct MemberView: Codable, Sendable, Equatable {
    package let id: String
    package let email: String
    package let firstName: String
    package let lastName: String
    package let roles: [String]
    package let userVariables: [String: String]
    package let startingPage: StartingPage
    package let ssoOnly: Bool
    package let apps: [AppGrant]
    package let appCount: Int
    package let joinedAt: Date
    package let lastActive: Date?
    /// The agency the member belongs to (agency people see only their agency; see `AgencyRules`); absent for
    /// the org's own staff.
    package var agency: String?
    /// True when the org's directory deactivated the member (SCIM `active: false`): listed, let in nowhere. Absent
    /// otherwise.
    package var deactivated: Bool?

    package init(
        id: String, email: String, firstName: String, lastName: String, roles: [String],
        userVariables: [String: String], startingPage: StartingPage, ssoOnly: Bool, apps: [AppGrant], appCount: Int,
        joinedAt: Date, lastActive: Date?, agency: String? = nil, deactivated: Bool? = nil
    ) {
        self.agency = agency
        self.deactivated = deactivated
        self.id = id
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.roles = roles
        self.userVariables = userVariables
        self.startingPage = startingPage
        self.ssoOnly = ssoOnly
        self.apps = apps
        self.appCount = appCount
        self.joinedAt = joinedAt.wholeSeconds
        self.lastActive = lastActive?.wholeSeconds
    }
}

package struct MemberPage: Codable, Sendable, Equatable {
    package let members: [MemberView]
    package let nextCursor: String?

    package init(members: [MemberView], nextCursor: String?) {
        self.members = members
        self.nextCursor = nextCursor
    }
}

package struct MemberPatch: Codable, Sendable {
    package init(
        roles: [String]? = nil, userVariables: [String: String]? = nil, startingPage: StartingPage? = nil,
        firstName: String? = nil, lastName: String? = nil, ssoOnly: Bool? = nil
    ) {
        self.roles = roles
        self.userVariables = userVariables
        self.startingPage = startingPage
        self.firstName = firstName
        self.lastName = lastName
        self.ssoOnly = ssoOnly
    }

    package var roles: [String]?
    package var userVariables: [String: String]?
    package var startingPage: StartingPage?
    package var firstName: String?
    package var lastName: String?
    package var ssoOnly: Bool?
}

package struct BulkRequest: Codable, Sendable {
    package init(action: Action, members: [String], roles: [String]? = nil, app: String? = nil, appRole: AppRole? = nil)
    {
        self.action = action
        self.members = members
        self.roles = roles
        self.app = app
        self.appRole = appRole
    }

    package enum Action: String, Codable, Sendable {
        case changeRoles = "change_roles"
        case remove
        case grantApp = "grant_app"
        case revokeApp = "revoke_app"
    }
    package var action: Action
    package var members: [String]
    package var roles: [String]?
    package var app: String?
    package var appRole: AppRole?
}

package struct BulkRefusal: Codable, Sendable, Equatable {
    package let member: String
    package let code: String
    package let message: String

    package init(member: String, code: String, message: String) {
        self.member = member
        self.code = code
        self.message = message
    }
}

package struct BulkResult: Codable, Sendable {
    package let applied: Bool
    package let count: Int
    package let refusals: [BulkRefusal]

    package init(applied: Bool, count: Int, refusals: [BulkRefusal]) {
        self.applied = applied
        self.count = count
        self.refusals = refusals
    }
}

package struct MemberSelection: Codable, Sendable {
    package var members: [String]

    package init(members: [String]) {
        self.members = members
    }
}

/// `emails` is either a JSON list of strings or one string pasted from a spreadsheet.
package struct InviteRequest: Codable, Sendable {
    package init(
        emails: Emails, roles: [String], ssoOnly: Bool? = nil, firstName: String? = nil, lastName: String? = nil,
        userVariables: [String: String]? = nil, startingPage: StartingPage? = nil, apps: [AppGrant]? = nil
    ) {
        self.emails = emails
        self.roles = roles
        self.ssoOnly = ssoOnly
        self.firstName = firstName
        self.lastName = lastName
        self.userVariables = userVariables
        self.startingPage = startingPage
        self.apps = apps
    }

    package enum Emails: Codable, Sendable {
        case list([String])
        case text(String)
        package init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let l = try? c.decode([String].self) {
                self = .list(l)
                return
            }
            if let s = try? c.decode(String.self) {
                self = .text(s)
                return
            }
            throw DecodingError.typeMismatch(
                [String].self, .init(codingPath: decoder.codingPath, debugDescription: "a list of addresses or a text"))
        }
        package func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .list(let l): try c.encode(l)
            case .text(let t): try c.encode(t)
            }
        }
    }
    package var emails: Emails
    package var roles: [String]
    package var ssoOnly: Bool?
    package var firstName: String?
    package var lastName: String?
    package var userVariables: [String: String]?
    package var startingPage: StartingPage?
    package var apps: [AppGrant]?
}

package struct InviteView: Codable, Sendable, Equatable {
    package let id: String
    package let orgID: String
    package let email: String
    package let roles: [String]
    package let ssoOnly: Bool
    package let firstName: String
    package let lastName: String
    package let userVariables: [String: String]
    package let startingPage: StartingPage
    package let apps: [AppGrant]
    package let inviterID: String
    package let inviterName: String
    package let status: InviteStatus
    package let version: Int
    package let createdAt: Date
    package let expiresAt: Date

    package init(
        id: String, orgID: String, email: String, roles: [String], ssoOnly: Bool, firstName: String, lastName: String,
        userVariables: [String: String], startingPage: StartingPage, apps: [AppGrant], inviterID: String,
        inviterName: String, status: InviteStatus, version: Int, createdAt: Date, expiresAt: Date
    ) {
        self.id = id
        self.orgID = orgID
        self.email = email
        self.roles = roles
        self.ssoOnly = ssoOnly
        self.firstName = firstName
        self.lastName = lastName
        self.userVariables = userVariables
        self.startingPage = startingPage
        self.apps = apps
        self.inviterID = inviterID
        self.inviterName = inviterName
        self.status = status
        self.version = version
        self.createdAt = createdAt.wholeSeconds
        self.expiresAt = expiresAt.wholeSeconds
    }
}

package struct InviteOutcome: Codable, Sendable, Equatable {
    /// What happened to one address of an invite request (sent as its raw value).
    package enum Result: String, Codable, Sendable, CaseIterable {
        case invited, invalid
        case alreadyMember = "already_member"
        case alreadyInvited = "already_invited"
        case duplicate

        /// For people: what the result means.
        package var text: String {
            switch self {
            case .invited: return "Invited"
            case .invalid: return "Not a valid email address"
            case .alreadyMember: return "Already a member"
            case .alreadyInvited: return "Already invited (use Resend)"
            case .duplicate: return "Listed twice"
            }
        }
    }

    package let email: String
    package let result: Result
    package let inviteID: String?

    package init(email: String, result: Result, inviteID: String?) {
        self.email = email
        self.result = result
        self.inviteID = inviteID
    }
}

package struct InviteBatchResult: Codable, Sendable {
    package let invited: Int
    package let results: [InviteOutcome]

    package init(invited: Int, results: [InviteOutcome]) {
        self.invited = invited
        self.results = results
    }
}

package struct InvitePage: Codable, Sendable, Equatable {
    package let invites: [InviteView]
    package let nextCursor: String?

    package init(invites: [InviteView], nextCursor: String?) {
        self.invites = invites
        self.nextCursor = nextCursor
    }
}

package struct InviteLink: Codable, Sendable {
    package let token: String
    package let url: String
    package let expiresAt: Date

    package init(token: String, url: String, expiresAt: Date) {
        self.token = token
        self.url = url
        self.expiresAt = expiresAt.wholeSeconds
    }
}

package struct AcceptInviteRequest: Codable, Sendable {
    package init(token: String, accountID: String, email: String, firstName: String? = nil, lastName: String? = nil) {
        self.token = token
        self.accountID = accountID
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
    }

    package var token: String
    package var accountID: String
    package var email: String
    package var firstName: String?
    package var lastName: String?
}

package struct AcceptInviteResult: Codable, Sendable {
    package let orgID: String
    package let member: MemberView
    package let startingPage: StartingPage

    package init(orgID: String, member: MemberView, startingPage: StartingPage) {
        self.orgID = orgID
        self.member = member
        self.startingPage = startingPage
    }
}

package struct RoleView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let permissions: [Permission]
    package let builtIn: Bool
    package var memberCount: Int?

    package init(id: String, name: String, permissions: [Permission], builtIn: Bool, memberCount: Int? = nil) {
        self.id = id
        self.name = name
        self.permissions = permissions
        self.builtIn = builtIn
        self.memberCount = memberCount
    }
}

package struct RoleRequest: Codable, Sendable {
    package init(name: String, permissions: [Permission]) {
        self.name = name
        self.permissions = permissions
    }

    package var name: String
    package var permissions: [Permission]
}

package struct AppView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let createdAt: Date
    package var memberCount: Int?
    /// Behind the gateway (absent until set): served under `/apps/<slug>/`, forwarded to `upstream`, entered by
    /// members who meet `rule`.
    package var slug: String?
    package var upstream: String?
    package var rule: AppAccessRule?

    package init(id: String, name: String, createdAt: Date, memberCount: Int? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt.wholeSeconds
        self.memberCount = memberCount
    }
}

package struct AppRequest: Codable, Sendable { package var name: String }

package struct GrantRequest: Codable, Sendable {
    package var member: String
    package var role: AppRole

    package init(member: String, role: AppRole) {
        self.member = member
        self.role = role
    }
}

package struct APIKeyRequest: Codable, Sendable {
    package init(name: String, app: String? = nil) {
        self.name = name
        self.app = app
    }

    package var name: String
    package var app: String?
}

package struct APIKeyView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let memberID: String
    package let app: String?
    package let createdAt: Date
    package let revokedAt: Date?
    package let revokedReason: String?
    /// Only in the answer to create; never stored.
    package var secret: String?

    package init(
        id: String, name: String, memberID: String, app: String?, createdAt: Date, revokedAt: Date?,
        revokedReason: String?, secret: String? = nil
    ) {
        self.id = id
        self.name = name
        self.memberID = memberID
        self.app = app
        self.createdAt = createdAt.wholeSeconds
        self.revokedAt = revokedAt?.wholeSeconds
        self.revokedReason = revokedReason
        self.secret = secret
    }
}

package struct AuditEventView: Codable, Sendable, Equatable {
    package let id: Int
    package let at: Date
    package let actor: String
    package let action: String
    package let target: String
    package let summary: [String: String]
    /// Who the actor and the target are, in words ("Ada Lovelace (ada@acme.test)", an app's or a role's name),
    /// when the region still knows them; absent for someone since removed or an outside account.
    package var actorName: String?
    package var targetName: String?

    package init(id: Int, at: Date, actor: String, action: String, target: String, summary: [String: String]) {
        self.id = id
        self.at = at.wholeSeconds
        self.actor = actor
        self.action = action
        self.target = target
        self.summary = summary
    }
}

package struct AuditPage: Codable, Sendable, Equatable {
    package let events: [AuditEventView]
    package let nextCursor: String?

    package init(events: [AuditEventView], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }
}

package struct PermissionsView: Codable, Sendable {
    package let member: String
    package let roles: [String]
    package let permissions: [Permission]
    /// "View as": each action the console offers and whether this member may do it.
    package let allowed: [String: Bool]

    package init(member: String, roles: [String], permissions: [Permission], allowed: [String: Bool]) {
        self.member = member
        self.roles = roles
        self.permissions = permissions
        self.allowed = allowed
    }
}

package struct RenameRequest: Codable, Sendable { package var name: String }

package struct ProvisionRequest: Codable, Sendable {
    package init(name: String, ownerEmail: String, ownerFirstName: String? = nil, ownerLastName: String? = nil) {
        self.name = name
        self.ownerEmail = ownerEmail
        self.ownerFirstName = ownerFirstName
        self.ownerLastName = ownerLastName
    }

    package var name: String
    package var ownerEmail: String
    package var ownerFirstName: String?
    package var ownerLastName: String?
}

package struct ProvisionResult: Codable, Sendable {
    package let org: OrgView
    package let ownerInvite: InviteView
    /// The owner's invite link, for the region admin to pass on if the mail does not arrive.
    package let ownerInviteURL: String

    package init(org: OrgView, ownerInvite: InviteView, ownerInviteURL: String) {
        self.org = org
        self.ownerInvite = ownerInvite
        self.ownerInviteURL = ownerInviteURL
    }
}

package struct OrgPage: Codable, Sendable {
    package let orgs: [OrgView]
    package let nextCursor: String?

    package init(orgs: [OrgView], nextCursor: String?) {
        self.orgs = orgs
        self.nextCursor = nextCursor
    }
}

package struct DeleteOrgRequest: Codable, Sendable { package var confirmName: String }

/// `POST /api/v1/orgs/:org/transfer`: the member (by email) who becomes the owner; the caller becomes an admin.
package struct TransferRequest: Codable, Sendable {
    package var email: String
    package init(email: String) { self.email = email }
}

package struct MembershipSummary: Codable, Sendable, Equatable {
    package let orgID: String
    package let orgName: String
    package let region: Region
    package let status: OrgStatus
    package let roles: [String]
    package let ssoOnly: Bool
    package let startingPage: StartingPage

    package init(
        orgID: String, orgName: String, region: Region, status: OrgStatus, roles: [String], ssoOnly: Bool,
        startingPage: StartingPage
    ) {
        self.orgID = orgID
        self.orgName = orgName
        self.region = region
        self.status = status
        self.roles = roles
        self.ssoOnly = ssoOnly
        self.startingPage = startingPage
    }
}

package struct PendingInviteSummary: Codable, Sendable, Equatable {
    package let inviteID: String
    package let orgID: String
    package let orgName: String
    package let roles: [String]
    package let inviterName: String
    package let expiresAt: Date
    /// The invite's current link token, for the signed-in invitee's own accept and decline buttons (the
    /// gateway leaves it out of `/api/v1/me`).
    package var token: String?
    package init(
        inviteID: String, orgID: String, orgName: String, roles: [String], inviterName: String, expiresAt: Date,
        token: String? = nil
    ) {
        self.inviteID = inviteID
        self.orgID = orgID
        self.orgName = orgName
        self.roles = roles
        self.inviterName = inviterName
        self.expiresAt = expiresAt.wholeSeconds
        self.token = token
    }
}

// MARK: - Response bodies written directly (see `JSONWriter`); keys in sorted order, as JSONEncoder writes them.

extension OrgView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("createdAt", createdAt)
        w.field("id", id)
        w.field("memberCount", memberCount)
        w.field("name", name)
        if let owner {
            w.key("owner")
            w.value(owner)
        }
        w.field("region", region.rawValue)
        w.field("status", status.rawValue)
        w.endObject()
    }
}

extension AppGrant: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("app", app)
        w.field("role", role.rawValue)
        w.endObject()
    }
}

extension MemberView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        if let agency { w.field("agency", agency) }  // absent for staff, as JSONEncoder leaves it
        w.field("appCount", appCount)
        w.key("apps")
        w.values(apps)
        if let deactivated { w.field("deactivated", deactivated) }
        w.field("email", email)
        w.field("firstName", firstName)
        w.field("id", id)
        w.field("joinedAt", joinedAt)
        w.field("lastActive", lastActive)
        w.field("lastName", lastName)
        w.field("roles", roles)
        w.field("ssoOnly", ssoOnly)
        w.field("startingPage", startingPage.rawValue)
        w.key("userVariables")
        w.map(userVariables)
        w.endObject()
    }
}

extension MemberPage: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("members")
        w.values(members)
        w.field("nextCursor", nextCursor)
        w.endObject()
    }
}

extension InviteView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("apps")
        w.values(apps)
        w.field("createdAt", createdAt)
        w.field("email", email)
        w.field("expiresAt", expiresAt)
        w.field("firstName", firstName)
        w.field("id", id)
        w.field("inviterID", inviterID)
        w.field("inviterName", inviterName)
        w.field("lastName", lastName)
        w.field("orgID", orgID)
        w.field("roles", roles)
        w.field("ssoOnly", ssoOnly)
        w.field("startingPage", startingPage.rawValue)
        w.field("status", status.rawValue)
        w.key("userVariables")
        w.map(userVariables)
        w.field("version", version)
        w.endObject()
    }
}

extension InvitePage: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("invites")
        w.values(invites)
        w.field("nextCursor", nextCursor)
        w.endObject()
    }
}

extension InviteOutcome: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("email", email)
        w.field("inviteID", inviteID)
        w.field("result", result.rawValue)
        w.endObject()
    }
}

extension InviteBatchResult: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("invited", invited)
        w.key("results")
        w.values(results)
        w.endObject()
    }
}

extension AuditEventView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("action", action)
        w.field("actor", actor)
        if let actorName { w.field("actorName", actorName) }  // absent when unknown, as JSONEncoder leaves it
        w.field("at", at)
        w.field("id", id)
        w.key("summary")
        w.map(summary)
        w.field("target", target)
        if let targetName { w.field("targetName", targetName) }
        w.endObject()
    }
}

extension AuditPage: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("events")
        w.values(events)
        w.field("nextCursor", nextCursor)
        w.endObject()
    }
}

extension MembershipSummary: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("orgID", orgID)
        w.field("orgName", orgName)
        w.field("region", region.rawValue)
        w.field("roles", roles)
        w.field("ssoOnly", ssoOnly)
        w.field("startingPage", startingPage.rawValue)
        w.field("status", status.rawValue)
        w.endObject()
    }
}

extension PendingInviteSummary: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("expiresAt", expiresAt)
        w.field("inviteID", inviteID)
        w.field("inviterName", inviterName)
        w.field("orgID", orgID)
        w.field("orgName", orgName)
        w.field("roles", roles)
        w.field("token", token)
        w.endObject()
    }
}

extension RoleView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("builtIn", builtIn)
        w.field("id", id)
        w.field("memberCount", memberCount)
        w.field("name", name)
        w.field("permissions", permissions.map(\.rawValue))
        w.endObject()
    }
}

extension AppView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("createdAt", createdAt)
        w.field("id", id)
        w.field("memberCount", memberCount)
        w.field("name", name)
        if let rule {  // as JSONEncoder writes it, keys sorted
            w.key("rule")
            w.beginObject()
            w.field("appRoles", rule.appRoles.map(\.rawValue))
            w.key("conditions")
            w.beginArray()
            for c in rule.conditions {
                w.beginObject()
                w.field("op", c.op.rawValue)
                w.field("values", c.values)
                w.field("variable", c.variable)
                w.endObject()
            }
            w.endArray()
            w.field("roles", rule.roles)
            w.endObject()
        }
        if let slug { w.field("slug", slug) }
        if let upstream { w.field("upstream", upstream) }
        w.endObject()
    }
}

extension APIKeyView: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.field("app", app)
        w.field("createdAt", createdAt)
        w.field("id", id)
        w.field("memberID", memberID)
        w.field("name", name)
        w.field("revokedAt", revokedAt)
        w.field("revokedReason", revokedReason)
        w.field("secret", secret)
        w.endObject()
    }
}

/// One person's part of a region: their memberships and the invitations waiting for their address.
package struct AccountOverview: Codable, Sendable, Equatable, JSONWritable {
    package let memberships: [MembershipSummary]
    package let pendingInvites: [PendingInviteSummary]

    package init(memberships: [MembershipSummary], pendingInvites: [PendingInviteSummary]) {
        self.memberships = memberships
        self.pendingInvites = pendingInvites
    }

    package func writeJSON(to w: inout JSONWriter) {
        w.beginObject()
        w.key("memberships")
        w.values(memberships)
        w.key("pendingInvites")
        w.values(pendingInvites)
        w.endObject()
    }
}
