import Foundation
import GatehouseCore
import HTTP
import TenantDomain

/// What the gateway needs from a region: forward a region-API request for a verified caller, and the few
/// typed calls behind sign-in and invite links. Two implementations: `LocalRegionTenant` (same process, the
/// one-command `gatehouse serve`) and the gateway's HTTP implementation (a region in its own process, reached
/// with a signed identity). The gateway never touches a region's store directly.
package protocol RegionTenant: Sendable {
    var region: Region { get }
    /// Runs a region-API request (`/api/v1/orgs/…`, `/api/v1/regions/…`) as `caller` and returns the answer.
    func forward(_ request: Request, caller: Caller) async throws -> Response
    func authenticateAPIKey(_ key: String) async throws -> APIKeyIdentity?
    /// A live SCIM token's org, id, name and role ceiling (`Bearer ghs_…` on `/scim/v2/…`), or nil.
    func authenticateSCIMToken(_ token: String) async throws -> SCIMTokenIdentity?
    func inviteForToken(_ token: String) async throws -> InviteWithOrg
    func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult
    func declineInvite(_ request: DeclineInviteRequest) async throws
    /// Mails the invited address a code that proves it (sign-up through a copied link).
    func sendInviteCode(token: String) async throws
    /// Mails the code that proves an address for linking its account to the org's IdP.
    func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws
    /// Records a change made on the gateway side (SSO settings) in the org's audit log, where its other changes are.
    func recordSSOChange(_ change: SSOChangeRecord) async throws
    func memberships(accountID: String) async throws -> [MembershipSummary]
    /// Memberships and live invitations of one person in this region, in one call (`/me`, the home page).
    func overview(accountID: String, email: String) async throws -> AccountOverview
    /// After a verified SAML login: an existing member, an invite accepted by SSO, or JIT provisioning.
    func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult
    /// The caller's permissions in an org (gateway-side settings such as SSO need `sso.manage`).
    func standing(orgID: String, caller: Caller) async throws -> OrgStanding
    /// Whether the caller may enter the org's app served under `slug`, with the identity to assert when so.
    /// `asMember`: "view as" — the decision and identity are the member's, asked by `caller` (who may view as
    /// them: `members.view`, and not of a member who outranks them).
    func appEntry(orgID: String, slug: String, caller: Caller, asMember: String?) async throws -> AppEntryAnswer
    /// The hottest read, `GET /api/v1/orgs/:org`, answered at once on the caller's thread when this region can
    /// (in this process, from an indexed read or its cache); nil means "forward it the normal way". The answer
    /// must equal the forwarded one (a test checks every kind of caller).
    func immediateOrgView(_ caller: Caller, org: String) -> Result<OrgView, GatehouseError>?
    /// `overview` answered at once on the caller's thread when this region can (in this process, from indexed
    /// reads); nil means "call `overview`". The answer must equal `overview`'s (a test checks it).
    func immediateOverview(accountID: String, email: String) -> AccountOverview?
    /// `forward` answered at once on the caller's thread when this region can (a read it answered before and
    /// nothing has changed since); nil means "call `forward`". The answer must equal `forward`'s (a test checks
    /// every read route for several kinds of caller).
    func immediateForward(_ request: Request, caller: Caller) -> Response?
    /// `authenticateAPIKey` answered at once when this region can (from memory); nil means "call it". The
    /// answer must equal `authenticateAPIKey`'s, refusals included (`.some(nil)`).
    func knownAPIKey(_ key: String) -> APIKeyIdentity??
    /// A number that grows with every write committed in this region, when it can be read at once (in this
    /// process); nil otherwise. Answers remembered under one value are current while it stays the same.
    var dataGeneration: UInt64? { get }
}

extension RegionTenant {
    package func immediateOrgView(_ caller: Caller, org: String) -> Result<OrgView, GatehouseError>? { nil }
    package func immediateOverview(accountID: String, email: String) -> AccountOverview? { nil }
    package func immediateForward(_ request: Request, caller: Caller) -> Response? { nil }
    package func knownAPIKey(_ key: String) -> APIKeyIdentity?? { nil }
    package var dataGeneration: UInt64? { nil }
}

/// An SSO settings change for the org's audit log: who made it, which kind (`SSOAuditAction`), and a few facts.
package struct SSOChangeRecord: Codable, Sendable, Equatable {
    package let orgID: String
    package let actorID: String
    package let action: SSOAuditAction
    package let summary: [String: String]
    package init(orgID: String, actorID: String, action: SSOAuditAction, summary: [String: String]) {
        self.orgID = orgID
        self.actorID = actorID
        self.action = action
        self.summary = summary
    }
}

/// The SSO changes the audit log records (their wire names are the audit actions).
package enum SSOAuditAction: String, Codable, Sendable, CaseIterable {
    case saved = "sso.saved"
    /// The org accepts IdP keys below the 2048-bit default (a legacy IdP): a weaker trust anchor, always recorded.
    case legacyKeysAllowed = "sso.legacy_keys_allowed"
    case legacyKeysRefused = "sso.legacy_keys_refused"
    case deleted = "sso.deleted"
}

/// The internal endpoints of a region process: the typed calls of `RegionTenant` over HTTP. The region's routes
/// and the gateway's HTTP client both name them from here, so the two sides cannot disagree.
package enum RegionEndpoint: String, CaseIterable, Sendable {
    case authenticateAPIKey = "/internal/v1/apikeys/authenticate"
    case authenticateSCIMToken = "/internal/v1/scim-tokens/authenticate"
    case lookupInvite = "/internal/v1/invites/lookup"
    case acceptInvite = "/internal/v1/invites/accept"
    case declineInvite = "/internal/v1/invites/decline"
    case sendInviteCode = "/internal/v1/invites/code"
    case sendSSOLinkCode = "/internal/v1/sso/link-code"
    case recordSSOChange = "/internal/v1/sso/audit"
    case memberships = "/internal/v1/memberships"
    case overview = "/internal/v1/overview"
    case ssoSignIn = "/internal/v1/sso/sign-in"
    case standing = "/internal/v1/orgs/standing"
    case appEntry = "/internal/v1/apps/entry"

    package var path: String { rawValue }

    /// The identity the gateway signs these calls with; regions accept nothing else on them.
    package static let gatewayCaller = Caller(accountID: "gateway", email: "gateway@internal", authMethod: .gateway)

    package struct KeyBody: Codable, Sendable {
        package let key: String
        package init(key: String) { self.key = key }
    }
    package struct TokenBody: Codable, Sendable {
        package let token: String
        package init(token: String) { self.token = token }
    }
    package struct AccountBody: Codable, Sendable {
        package let accountID: String
        package init(accountID: String) { self.accountID = accountID }
    }
    package struct OverviewBody: Codable, Sendable {
        package let accountID: String
        package let email: String
        package init(accountID: String, email: String) {
            self.accountID = accountID
            self.email = email
        }
    }
    package struct AppEntryBody: Codable, Sendable {
        package let orgID: String
        package let slug: String
        package let caller: Caller
        package let asMember: String?
        package init(orgID: String, slug: String, caller: Caller, asMember: String?) {
            self.orgID = orgID
            self.slug = slug
            self.caller = caller
            self.asMember = asMember
        }
    }
    package struct StandingBody: Codable, Sendable {
        package let orgID: String
        package let caller: Caller
        package init(orgID: String, caller: Caller) {
            self.orgID = orgID
            self.caller = caller
        }
    }
    package struct LinkCodeBody: Codable, Sendable {
        package let orgID: String, email: String, subject: String
        package init(orgID: String, email: String, subject: String) {
            self.orgID = orgID
            self.email = email
            self.subject = subject
        }
    }
    package struct OptionalValue<T: Codable & Sendable>: Codable, Sendable {
        package let value: T?
        package init(value: T?) { self.value = value }
    }
}

/// A live API key: whose it is and the one org it opens.
package struct APIKeyIdentity: Codable, Sendable, Equatable {
    package let org: String
    package let accountID: String
    package let app: String?

    package init(org: String, accountID: String, app: String?) {
        self.org = org
        self.accountID = accountID
        self.app = app
    }
}

package struct InviteWithOrg: Codable, Sendable {
    package let invite: InviteView
    package let orgName: String

    package init(invite: InviteView, orgName: String) {
        self.invite = invite
        self.orgName = orgName
    }
}

/// Declining goes by the link's token, not the invite id: the region checks the token's version, so only a
/// link that still opens the invite can decline it.
package struct DeclineInviteRequest: Codable, Sendable {
    package var token: String
    package var accountID: String
    package var email: String
    package init(token: String, accountID: String, email: String) {
        self.token = token
        self.accountID = accountID
        self.email = email
    }
}

/// The regions the gateway can reach, local or remote, keyed by region. The region of an org is read from its
/// id, so routing needs no lookup; an id naming no reachable region gets the same 404 as an unknown org.
package struct RegionTenants: Sendable {
    package let all: [Region: any RegionTenant]
    /// The same, in region order: walked on every request that asks for the regions' generations (cheaper to walk
    /// than a dictionary's values).
    package let list: [any RegionTenant]

    package init(_ tenants: [any RegionTenant]) {
        var d: [Region: any RegionTenant] = [:]
        for t in tenants { d[t.region] = t }
        all = d
        list = d.keys.sorted { $0.rawValue < $1.rawValue }.compactMap { d[$0] }
    }

    package func tenant(forOrg orgID: String) throws -> any RegionTenant {
        guard let id = OrgID(orgID), let t = all[id.region] else { throw Refusal.notFound.error }
        return t
    }

    package func tenant(forRegion region: String) throws -> any RegionTenant {
        guard let r = Region(rawValue: region), let t = all[r] else { throw GatehouseError.notFound("No such region.") }
        return t
    }

    package subscript(_ region: Region) -> (any RegionTenant)? { all[region] }
}
