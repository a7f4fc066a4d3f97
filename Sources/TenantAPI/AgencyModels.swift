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
