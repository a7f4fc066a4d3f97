import Foundation
import GatehouseCore
import TenantDomain

// The JSON shapes of the region API. Requests decode strictly (wrong types are 422 with the field named);
// responses encode with sorted keys. Times are Unix seconds in rows and ISO 8601 on the wire.

public struct OrgView: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let region: Region
    public let status: OrgStatus
    public let createdAt: Date
    public var memberCount: Int?

    /// The JSON JSONEncoder writes (sorted keys, ISO 8601), built directly: `GET /api/v1/orgs/:org` is the
    /// hottest authenticated read.
    public var jsonBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(160 + name.utf8.count)
        out.append(contentsOf: #"{"createdAt":""#.utf8)
        ISO8601Cache.append(createdAt, to: &out)
        out.append(contentsOf: #"","id":"#.utf8)
        JSONText.appendQuoted(id, to: &out)
        if let memberCount { out.append(contentsOf: ",\"memberCount\":\(memberCount)".utf8) }
        out.append(contentsOf: #","name":"#.utf8)
        JSONText.appendQuoted(name, to: &out)
        out.append(contentsOf: #","region":""#.utf8)
        out.append(contentsOf: region.rawValue.utf8)
        out.append(contentsOf: #"","status":"#.utf8)
        JSONText.appendQuoted(status.rawValue, to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    package init(id: String, name: String, region: Region, status: OrgStatus, createdAt: Date, memberCount: Int? = nil)
    {
        self.id = id
        self.name = name
        self.region = region
        self.status = status
        self.createdAt = createdAt
        self.memberCount = memberCount
    }
}

/// ISO 8601 (UTC, seconds) without a formatter allocation per call.
enum ISO8601Cache {
    static func string(_ d: Date) -> String {
        var out: [UInt8] = []
        append(d, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `2026-11-23T12:00:00Z` appended as bytes (years 0–9999).
    static func append(_ d: Date, to out: inout [UInt8]) {
        var t = time_t(d.timeIntervalSince1970.rounded(.down))
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func digits(_ v: Int32, _ n: Int) {
            var div: Int32 = 1
            for _ in 1..<n { div *= 10 }
            var v = v
            while div > 0 {
                out.append(UInt8(48 + (v / div) % 10))
                v %= div
                div /= 10
            }
        }
        digits(tmv.tm_year + 1900, 4)
        out.append(45)
        digits(tmv.tm_mon + 1, 2)
        out.append(45)
        digits(tmv.tm_mday, 2)
        out.append(84)
        digits(tmv.tm_hour, 2)
        out.append(58)
        digits(tmv.tm_min, 2)
        out.append(58)
        digits(tmv.tm_sec, 2)
        out.append(90)
    }
}

public struct MemberView: Codable, Sendable, Equatable {
    public let id: String
    public let email: String
    public let firstName: String
    public let lastName: String
    public let roles: [String]
    public let userVariables: [String: String]
    public let startingPage: StartingPage
    public let ssoOnly: Bool
    public let apps: [AppGrant]
    public let appCount: Int
    public let joinedAt: Date
    public let lastActive: Date?

    package init(
        id: String, email: String, firstName: String, lastName: String, roles: [String],
        userVariables: [String: String], startingPage: StartingPage, ssoOnly: Bool, apps: [AppGrant], appCount: Int,
        joinedAt: Date, lastActive: Date?
    ) {
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
        self.joinedAt = joinedAt
        self.lastActive = lastActive
    }
}

public struct MemberPage: Codable, Sendable {
    public let members: [MemberView]
    public let nextCursor: String?

    package init(members: [MemberView], nextCursor: String?) {
        self.members = members
        self.nextCursor = nextCursor
    }
}

public struct MemberPatch: Codable, Sendable {
    public init(
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

    public var roles: [String]?
    public var userVariables: [String: String]?
    public var startingPage: StartingPage?
    public var firstName: String?
    public var lastName: String?
    public var ssoOnly: Bool?
}

public struct BulkRequest: Codable, Sendable {
    public init(action: Action, members: [String], roles: [String]? = nil, app: String? = nil, appRole: AppRole? = nil)
    {
        self.action = action
        self.members = members
        self.roles = roles
        self.app = app
        self.appRole = appRole
    }

    public enum Action: String, Codable, Sendable {
        case changeRoles = "change_roles"
        case remove
        case grantApp = "grant_app"
        case revokeApp = "revoke_app"
    }
    public var action: Action
    public var members: [String]
    public var roles: [String]?
    public var app: String?
    public var appRole: AppRole?
}

public struct BulkRefusal: Codable, Sendable, Equatable {
    public let member: String
    public let code: String
    public let message: String

    package init(member: String, code: String, message: String) {
        self.member = member
        self.code = code
        self.message = message
    }
}

public struct BulkResult: Codable, Sendable {
    public let applied: Bool
    public let count: Int
    public let refusals: [BulkRefusal]

    package init(applied: Bool, count: Int, refusals: [BulkRefusal]) {
        self.applied = applied
        self.count = count
        self.refusals = refusals
    }
}

public struct MemberSelection: Codable, Sendable {
    public var members: [String]

    package init(members: [String]) {
        self.members = members
    }
}

/// `emails` is either a JSON list of strings or one string pasted from a spreadsheet.
public struct InviteRequest: Codable, Sendable {
    public init(
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

    public enum Emails: Codable, Sendable {
        case list([String])
        case text(String)
        public init(from decoder: any Decoder) throws {
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
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .list(let l): try c.encode(l)
            case .text(let t): try c.encode(t)
            }
        }
    }
    public var emails: Emails
    public var roles: [String]
    public var ssoOnly: Bool?
    public var firstName: String?
    public var lastName: String?
    public var userVariables: [String: String]?
    public var startingPage: StartingPage?
    public var apps: [AppGrant]?
}

public struct InviteView: Codable, Sendable, Equatable {
    public let id: String
    public let orgID: String
    public let email: String
    public let roles: [String]
    public let ssoOnly: Bool
    public let firstName: String
    public let lastName: String
    public let userVariables: [String: String]
    public let startingPage: StartingPage
    public let apps: [AppGrant]
    public let inviterID: String
    public let inviterName: String
    public let status: InviteStatus
    public let version: Int
    public let createdAt: Date
    public let expiresAt: Date

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
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

public struct InviteOutcome: Codable, Sendable, Equatable {
    /// What happened to one address of an invite request (sent as its raw value).
    public enum Result: String, Codable, Sendable, CaseIterable {
        case invited, invalid
        case alreadyMember = "already_member"
        case alreadyInvited = "already_invited"
        case duplicate

        /// For people: what the result means.
        public var text: String {
            switch self {
            case .invited: return "Invited"
            case .invalid: return "Not a valid email address"
            case .alreadyMember: return "Already a member"
            case .alreadyInvited: return "Already invited (use Resend)"
            case .duplicate: return "Listed twice"
            }
        }
    }

    public let email: String
    public let result: Result
    public let inviteID: String?

    package init(email: String, result: Result, inviteID: String?) {
        self.email = email
        self.result = result
        self.inviteID = inviteID
    }
}

public struct InviteBatchResult: Codable, Sendable {
    public let invited: Int
    public let results: [InviteOutcome]

    /// The same JSON JSONEncoder writes (sorted keys), built directly: a 10,000-address answer is ~1 MB and
    /// JSONEncoder would spend tens of milliseconds on it.
    public var jsonBytes: [UInt8] {
        var out = "{\"invited\":\(invited),\"results\":["
        out.reserveCapacity(results.count * 90)
        for (i, r) in results.enumerated() {
            if i > 0 { out += "," }
            out += "{\"email\":" + JSONText.quote(r.email)
            if let id = r.inviteID { out += ",\"inviteID\":" + JSONText.quote(id) }
            out += ",\"result\":" + JSONText.quote(r.result.rawValue) + "}"
        }
        out += "]}"
        return Array(out.utf8)
    }

    package init(invited: Int, results: [InviteOutcome]) {
        self.invited = invited
        self.results = results
    }
}

public struct InvitePage: Codable, Sendable {
    public let invites: [InviteView]
    public let nextCursor: String?

    package init(invites: [InviteView], nextCursor: String?) {
        self.invites = invites
        self.nextCursor = nextCursor
    }
}

public struct InviteLink: Codable, Sendable {
    public let token: String
    public let url: String
    public let expiresAt: Date

    package init(token: String, url: String, expiresAt: Date) {
        self.token = token
        self.url = url
        self.expiresAt = expiresAt
    }
}

public struct AcceptInviteRequest: Codable, Sendable {
    public init(token: String, accountID: String, email: String, firstName: String? = nil, lastName: String? = nil) {
        self.token = token
        self.accountID = accountID
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
    }

    public var token: String
    public var accountID: String
    public var email: String
    public var firstName: String?
    public var lastName: String?
}

public struct AcceptInviteResult: Codable, Sendable {
    public let orgID: String
    public let member: MemberView
    public let startingPage: StartingPage

    package init(orgID: String, member: MemberView, startingPage: StartingPage) {
        self.orgID = orgID
        self.member = member
        self.startingPage = startingPage
    }
}

public struct RoleView: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let permissions: [Permission]
    public let builtIn: Bool
    public var memberCount: Int?

    package init(id: String, name: String, permissions: [Permission], builtIn: Bool, memberCount: Int? = nil) {
        self.id = id
        self.name = name
        self.permissions = permissions
        self.builtIn = builtIn
        self.memberCount = memberCount
    }
}

public struct RoleRequest: Codable, Sendable {
    public init(name: String, permissions: [Permission]) {
        self.name = name
        self.permissions = permissions
    }

    public var name: String
    public var permissions: [Permission]
}

public struct AppView: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let createdAt: Date
    public var memberCount: Int?

    package init(id: String, name: String, createdAt: Date, memberCount: Int? = nil) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.memberCount = memberCount
    }
}

public struct AppRequest: Codable, Sendable { public var name: String }

public struct GrantRequest: Codable, Sendable {
    public var member: String
    public var role: AppRole

    package init(member: String, role: AppRole) {
        self.member = member
        self.role = role
    }
}

public struct APIKeyRequest: Codable, Sendable {
    public init(name: String, app: String? = nil) {
        self.name = name
        self.app = app
    }

    public var name: String
    public var app: String?
}

public struct APIKeyView: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let memberID: String
    public let app: String?
    public let createdAt: Date
    public let revokedAt: Date?
    public let revokedReason: String?
    /// Only in the answer to create; never stored.
    public var secret: String?

    package init(
        id: String, name: String, memberID: String, app: String?, createdAt: Date, revokedAt: Date?,
        revokedReason: String?, secret: String? = nil
    ) {
        self.id = id
        self.name = name
        self.memberID = memberID
        self.app = app
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
        self.secret = secret
    }
}

public struct AuditEventView: Codable, Sendable, Equatable {
    public let id: Int
    public let at: Date
    public let actor: String
    public let action: String
    public let target: String
    public let summary: [String: String]

    package init(id: Int, at: Date, actor: String, action: String, target: String, summary: [String: String]) {
        self.id = id
        self.at = at
        self.actor = actor
        self.action = action
        self.target = target
        self.summary = summary
    }
}

public struct AuditPage: Codable, Sendable {
    public let events: [AuditEventView]
    public let nextCursor: String?

    package init(events: [AuditEventView], nextCursor: String?) {
        self.events = events
        self.nextCursor = nextCursor
    }
}

public struct PermissionsView: Codable, Sendable {
    public let member: String
    public let roles: [String]
    public let permissions: [Permission]
    /// "View as": each action the console offers and whether this member may do it.
    public let allowed: [String: Bool]

    package init(member: String, roles: [String], permissions: [Permission], allowed: [String: Bool]) {
        self.member = member
        self.roles = roles
        self.permissions = permissions
        self.allowed = allowed
    }
}

public struct RenameRequest: Codable, Sendable { public var name: String }

public struct ProvisionRequest: Codable, Sendable {
    public init(name: String, ownerEmail: String, ownerFirstName: String? = nil, ownerLastName: String? = nil) {
        self.name = name
        self.ownerEmail = ownerEmail
        self.ownerFirstName = ownerFirstName
        self.ownerLastName = ownerLastName
    }

    public var name: String
    public var ownerEmail: String
    public var ownerFirstName: String?
    public var ownerLastName: String?
}

public struct ProvisionResult: Codable, Sendable {
    public let org: OrgView
    public let ownerInvite: InviteView
    /// The owner's invite link, for the region admin to pass on if the mail does not arrive.
    public let ownerInviteURL: String

    package init(org: OrgView, ownerInvite: InviteView, ownerInviteURL: String) {
        self.org = org
        self.ownerInvite = ownerInvite
        self.ownerInviteURL = ownerInviteURL
    }
}

public struct OrgPage: Codable, Sendable {
    public let orgs: [OrgView]
    public let nextCursor: String?

    package init(orgs: [OrgView], nextCursor: String?) {
        self.orgs = orgs
        self.nextCursor = nextCursor
    }
}

public struct DeleteOrgRequest: Codable, Sendable { public var confirmName: String }

public struct MembershipSummary: Codable, Sendable, Equatable {
    public let orgID: String
    public let orgName: String
    public let region: Region
    public let status: OrgStatus
    public let roles: [String]
    public let ssoOnly: Bool
    public let startingPage: StartingPage

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

public struct PendingInviteSummary: Codable, Sendable, Equatable {
    public let inviteID: String
    public let orgID: String
    public let orgName: String
    public let roles: [String]
    public let inviterName: String
    public let expiresAt: Date
    /// The invite's current link token, for the signed-in invitee's own accept and decline buttons (the
    /// gateway leaves it out of `/api/v1/me`).
    public var token: String?
    public init(
        inviteID: String, orgID: String, orgName: String, roles: [String], inviterName: String, expiresAt: Date,
        token: String? = nil
    ) {
        self.inviteID = inviteID
        self.orgID = orgID
        self.orgName = orgName
        self.roles = roles
        self.inviterName = inviterName
        self.expiresAt = expiresAt
        self.token = token
    }
}
