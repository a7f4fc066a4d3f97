import Foundation
import TenantDomain

/// An agency in a region's register: a partner (media, marketing) whose people work on some apps of some orgs.
/// An agency working for orgs in two regions is registered in each (its record lives in the region).
package struct AgencyView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let domains: [String]
    package let createdAt: Date
    /// Orgs of the region it works for (region admin lists only).
    package var orgCount: Int?

    package init(id: String, name: String, domains: [String], createdAt: Date, orgCount: Int? = nil) {
        self.id = id
        self.name = name
        self.domains = domains
        self.createdAt = createdAt.wholeSeconds
        self.orgCount = orgCount
    }
}

/// Creating or changing an agency (region admin), or asking the region to register one (org staff).
package struct AgencyBody: Codable, Sendable {
    package var name: String?
    package var domains: [String]?
    package init(name: String? = nil, domains: [String]? = nil) {
        self.name = name
        self.domains = domains
    }
}

package enum AgencyRequestStatus: String, Codable, Sendable, CaseIterable {
    case pending, approved, declined
}

/// An org's request that the region register an agency; the region admin approves (the agency is created, or an
/// existing one chosen, and starts working for the org) or declines with a reason. The requester is told by mail.
package struct AgencyRequestView: Codable, Sendable, Equatable {
    package let id: String
    package let orgID: String
    package let orgName: String
    package let name: String
    package let domains: [String]
    package let requesterEmail: String
    package let status: AgencyRequestStatus
    package let agencyID: String?
    package let reason: String
    package let createdAt: Date
    package let decidedAt: Date?

    package init(
        id: String, orgID: String, orgName: String, name: String, domains: [String], requesterEmail: String,
        status: AgencyRequestStatus, agencyID: String?, reason: String, createdAt: Date, decidedAt: Date?
    ) {
        self.id = id
        self.orgID = orgID
        self.orgName = orgName
        self.name = name
        self.domains = domains
        self.requesterEmail = requesterEmail
        self.status = status
        self.agencyID = agencyID
        self.reason = reason
        self.createdAt = createdAt.wholeSeconds
        self.decidedAt = decidedAt?.wholeSeconds
    }
}

/// The region admin's decision: approve (optionally registering the request as an existing agency) or decline.
package struct AgencyDecisionBody: Codable, Sendable {
    package var agencyID: String?
    package var reason: String?
    package init(agencyID: String? = nil, reason: String? = nil) {
        self.agencyID = agencyID
        self.reason = reason
    }
}

/// One person of an agency in an org: a member (joined) or someone invited through the agency grant.
package struct AgencyPerson: Codable, Sendable, Equatable {
    package let memberID: String?
    package let inviteID: String?
    package let email: String
    package let name: String
    /// `joined`, `pending` or `expired`.
    package let status: String
    package let apps: [AppGrant]

    package init(memberID: String?, inviteID: String?, email: String, name: String, status: String, apps: [AppGrant]) {
        self.memberID = memberID
        self.inviteID = inviteID
        self.email = email
        self.name = name
        self.status = status
        self.apps = apps
    }
}

/// An agency working for an org, with its people there.
package struct OrgAgencyView: Codable, Sendable, Equatable {
    package let agency: AgencyView
    package let people: [AgencyPerson]
    package init(agency: AgencyView, people: [AgencyPerson]) {
        self.agency = agency
        self.people = people
    }
}

package struct AgencyAddBody: Codable, Sendable {
    package var agency: String
    package init(agency: String) { self.agency = agency }
}

/// The "Grant app access" modal: several apps, one agency, one app role, addresses as pasted.
package struct AgencyGrantRequest: Codable, Sendable {
    package var apps: [String]
    package var role: AppRole
    package var emails: InviteRequest.Emails
    package init(apps: [String], role: AppRole, emails: InviteRequest.Emails) {
        self.apps = apps
        self.role = role
        self.emails = emails
    }
}

/// What happened for one address: access granted to an existing agency member, an invite sent (apps and
/// affiliation on accept), or why nothing was done.
package struct AgencyGrantOutcome: Codable, Sendable, Equatable {
    package enum Result: String, Codable, Sendable {
        case granted, invited
        case alreadyInvited = "already_invited"
        case staffMember = "staff_member"
        case otherAgency = "other_agency"
        case refused, invalid, duplicate
    }
    package let email: String
    package let result: Result
    package let inviteID: String?
    package let message: String?

    package init(email: String, result: Result, inviteID: String? = nil, message: String? = nil) {
        self.email = email
        self.result = result
        self.inviteID = inviteID
        self.message = message
    }
}

package struct AgencyGrantResult: Codable, Sendable, Equatable {
    package let results: [AgencyGrantOutcome]
    package init(results: [AgencyGrantOutcome]) { self.results = results }
}

/// Taking app access from agency people at once (all or nothing): the given apps, or all their apps.
package struct AgencyRevokeBody: Codable, Sendable {
    package var members: [String]
    package var apps: [String]?
    package init(members: [String], apps: [String]? = nil) {
        self.members = members
        self.apps = apps
    }
}

// MARK: - Apps behind the gateway

/// What the gateway needs to let a request into an app: the app's upstream, the decision for this caller with its
/// reason, and the identity to assert to the upstream (only when allowed).
package struct AppEntryAnswer: Codable, Sendable, Equatable {
    package let appID: String
    package let appName: String
    package let slug: String
    package let upstream: String?
    package let allowed: Bool
    /// `allowed`, `no_app_access`, `role_not_allowed`, `app_role_not_allowed`, `condition_not_met`.
    package let code: String
    package let reason: String
    package let identity: AppIdentity?
    /// "View as": who is looking through the member's eyes (read-only), when so.
    package var viewer: AppViewer?

    package init(
        appID: String, appName: String, slug: String, upstream: String?, allowed: Bool, code: String, reason: String,
        identity: AppIdentity?
    ) {
        self.appID = appID
        self.appName = appName
        self.slug = slug
        self.upstream = upstream
        self.allowed = allowed
        self.code = code
        self.reason = reason
        self.identity = identity
    }
}

/// The member as an app is told about them (the gateway signs it into `X-Gatehouse-Assertion`).
package struct AppIdentity: Codable, Sendable, Equatable {
    package let accountID: String
    package let email: String
    package let name: String
    package let orgID: String
    package let region: String
    package let roles: [String]
    package let appRole: AppRole
    package let userVariables: [String: String]
    package let agency: String?

    package init(
        accountID: String, email: String, name: String, orgID: String, region: String, roles: [String],
        appRole: AppRole, userVariables: [String: String], agency: String?
    ) {
        self.accountID = accountID
        self.email = email
        self.name = name
        self.orgID = orgID
        self.region = region
        self.roles = roles
        self.appRole = appRole
        self.userVariables = userVariables
        self.agency = agency
    }
}

/// The start (or end) of viewing an app as a member, for the audit log.
package struct ViewAsBody: Codable, Sendable {
    package var member: String
    package var started: Bool
    package init(member: String, started: Bool) {
        self.member = member
        self.started = started
    }
}

/// The admin behind a "view as" (RFC 8693 `act` in the assertion).
package struct AppViewer: Codable, Sendable, Equatable {
    package let accountID: String
    package let email: String
    package let memberName: String
    package init(accountID: String, email: String, memberName: String) {
        self.accountID = accountID
        self.email = email
        self.memberName = memberName
    }
}

/// Changing an app: its name, and what stands behind the gateway — slug (`/apps/<slug>/`), upstream, access rule.
/// An empty `upstream` string takes the app off the gateway.
package struct AppPatch: Codable, Sendable {
    package var name: String?
    package var slug: String?
    package var upstream: String?
    package var rule: AppAccessRule?
    package init(name: String? = nil, slug: String? = nil, upstream: String? = nil, rule: AppAccessRule? = nil) {
        self.name = name
        self.slug = slug
        self.upstream = upstream
        self.rule = rule
    }
}

/// An app's definition as it travels between orgs (`app.json` in the export ZIP): nothing of the org — no
/// members, grants, keys or user variables.
package struct AppExport: Codable, Sendable, Equatable {
    package var format = "gatehouse-app/1"
    package var name: String
    package var slug: String?
    package var upstream: String?
    package var rule: AppAccessRule?
    package var appRoles: [String] = AppRole.allCases.map(\.rawValue)
    package init(name: String, slug: String?, upstream: String?, rule: AppAccessRule?) {
        self.name = name
        self.slug = slug
        self.upstream = upstream
        self.rule = rule
    }
}

/// What an import made, what it left behind, and what must be set again in this org.
package struct AppImportResult: Codable, Sendable, Equatable {
    package let app: AppView
    package let leftBehind: [String]
    package let toSetAgain: [String]
    package init(app: AppView, leftBehind: [String], toSetAgain: [String]) {
        self.app = app
        self.leftBehind = leftBehind
        self.toSetAgain = toSetAgain
    }
}

/// "Would Max get in?": the decision and its reason for one member.
package struct AppCheckAnswer: Codable, Sendable, Equatable {
    package let member: String
    package let allowed: Bool
    package let code: String
    package let reason: String
    package init(member: String, allowed: Bool, code: String, reason: String) {
        self.member = member
        self.allowed = allowed
        self.code = code
        self.reason = reason
    }
}
