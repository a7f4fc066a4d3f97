import Foundation
import GatehouseCore
import HTTP
import TenantDomain
import Web

/// What the gateway needs from a region: forward a region-API request for a verified caller, and the few
/// typed calls behind sign-in and invite links. Two implementations: `LocalRegionTenant` (same process, the
/// one-command `gatehouse serve`) and the gateway's HTTP implementation (a region in its own process, reached
/// with a signed identity). The gateway never touches a region's store directly.
public protocol RegionTenant: Sendable {
    var region: Region { get }
    /// Runs a region-API request (`/api/v1/orgs/…`, `/api/v1/regions/…`) as `caller` and returns the answer.
    func forward(_ request: Request, caller: Caller) async throws -> Response
    func authenticateAPIKey(_ key: String) async throws -> APIKeyIdentity?
    func inviteForToken(_ token: String) async throws -> InviteWithOrg
    func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult
    func declineInvite(_ request: DeclineInviteRequest) async throws
    /// Mails the invited address a code that proves it (sign-up through a copied link).
    func sendInviteCode(token: String) async throws
    /// Mails the code that proves an address for linking its account to the org's IdP.
    func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws
    func memberships(accountID: String) async throws -> [MembershipSummary]
    func pendingInvites(email: String) async throws -> [PendingInviteSummary]
    /// After a verified SAML login: an existing member, an invite accepted by SSO, or JIT provisioning.
    func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult
    /// The caller's permissions in an org (gateway-side settings such as SSO need `sso.manage`).
    func standing(orgID: String, caller: Caller) async throws -> OrgStanding
}

/// A live API key: whose it is and the one org it opens.
public struct APIKeyIdentity: Codable, Sendable, Equatable {
    public let org: String
    public let accountID: String
    public let app: String?
}

public struct InviteWithOrg: Codable, Sendable {
    public let invite: InviteView
    public let orgName: String
}

/// Declining goes by the link's token, not the invite id: the region checks the token's version, so only a
/// link that still opens the invite can decline it.
public struct DeclineInviteRequest: Codable, Sendable {
    public var token: String
    public var accountID: String
    public var email: String
    public init(token: String, accountID: String, email: String) {
        self.token = token
        self.accountID = accountID
        self.email = email
    }
}

/// The caller of an in-process forward: set by `LocalRegionTenant.forward` for the duration of the call, and
/// impossible to set from the network.
public enum InProcessCaller {
    @TaskLocal public static var current: Caller?

    public static let provider: CallerProvider = { _ in
        guard let c = current else { throw GatehouseError.unauthenticated() }
        return c
    }
}

/// A region in this process: typed calls go straight to its service, forwarded requests through its own router.
public final class LocalRegionTenant: RegionTenant {
    public let service: RegionService
    let router: Router

    public init(service: RegionService, logger: Logger = Logger(label: "region")) throws {
        self.service = service
        let b = RouterBuilder(logger: logger)
        RegionRoutes.register(on: b, directory: RegionDirectory([service]), callers: InProcessCaller.provider)
        router = try b.build()
    }

    public var region: Region { service.region }

    public func forward(_ request: Request, caller: Caller) async throws -> Response {
        await InProcessCaller.$current.withValue(caller) { await router.respond(to: request) }
    }

    public func authenticateAPIKey(_ key: String) async throws -> APIKeyIdentity? {
        try await service.authenticateAPIKey(key).map {
            APIKeyIdentity(org: $0.org, accountID: $0.accountID, app: $0.app)
        }
    }

    public func inviteForToken(_ token: String) async throws -> InviteWithOrg {
        let (invite, orgName) = try await service.inviteForToken(token)
        return InviteWithOrg(invite: invite, orgName: orgName)
    }

    public func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult {
        try await service.acceptInvite(request)
    }

    public func declineInvite(_ request: DeclineInviteRequest) async throws {
        try await service.declineInvite(token: request.token, accountID: request.accountID, email: request.email)
    }

    public func memberships(accountID: String) async throws -> [MembershipSummary] {
        try await service.memberships(accountID: accountID)
    }

    public func sendInviteCode(token: String) async throws { try await service.sendInviteCode(token: token) }

    public func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws {
        try await service.sendSSOLinkCode(orgID: orgID, email: email, subject: subject)
    }

    public func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult {
        try await service.ssoSignIn(request)
    }

    public func standing(orgID: String, caller: Caller) async throws -> OrgStanding {
        try await service.standing(orgID: orgID, caller: caller)
    }

    public func pendingInvites(email: String) async throws -> [PendingInviteSummary] {
        try await service.pendingInvites(email: email).map {
            PendingInviteSummary(
                inviteID: $0.invite.id, orgID: $0.invite.orgID, orgName: $0.orgName, roles: $0.invite.roles,
                inviterName: $0.invite.inviterName, expiresAt: $0.invite.expiresAt,
                token: service.link(for: $0.invite).token)
        }
    }
}

/// The typed calls of `RegionTenant` as JSON endpoints of a region process, under `/internal/v1`. Only the
/// gateway can call them: every request must carry a valid gateway signature made as the gateway itself.
public enum RegionInternalRoutes {
    public static let gatewayCaller = Caller(accountID: "gateway", email: "gateway@internal", authMethod: .gateway)

    struct KeyBody: Codable { let key: String }
    struct TokenBody: Codable { let token: String }
    struct AccountBody: Codable { let accountID: String }
    struct EmailBody: Codable { let email: String }
    public struct LinkCodeBody: Codable {
        public let orgID: String, email: String, subject: String
        public init(orgID: String, email: String, subject: String) {
            self.orgID = orgID
            self.email = email
            self.subject = subject
        }
    }
    public struct StandingBody: Codable {
        public let orgID: String
        public let caller: Caller
        public init(orgID: String, caller: Caller) {
            self.orgID = orgID
            self.caller = caller
        }
    }
    public struct OptionalValue<T: Codable>: Codable { public let value: T? }

    public static func register(on b: RouterBuilder, tenant: LocalRegionTenant, callers: @escaping CallerProvider) {
        @Sendable func gateway(_ ctx: RequestContext) async throws {
            let c = try await callers(ctx)
            guard c.authMethod == .gateway, c.accountID == "gateway" else {
                throw GatehouseError.forbidden("Only the gateway may call this.")
            }
        }
        b.post("/internal/v1/apikeys/authenticate") { ctx in
            try await gateway(ctx)
            return try .json(
                OptionalValue(value: try await tenant.authenticateAPIKey(try ctx.decode(KeyBody.self).key)))
        }
        b.post("/internal/v1/invites/lookup") { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.inviteForToken(try ctx.decode(TokenBody.self).token))
        }
        b.post("/internal/v1/invites/accept") { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.acceptInvite(try ctx.decode(AcceptInviteRequest.self)))
        }
        b.post("/internal/v1/invites/decline") { ctx in
            try await gateway(ctx)
            try await tenant.declineInvite(try ctx.decode(DeclineInviteRequest.self))
            return Response(status: 204)
        }
        b.post("/internal/v1/invites/code") { ctx in
            try await gateway(ctx)
            try await tenant.sendInviteCode(token: try ctx.decode(TokenBody.self).token)
            return Response(status: 204)
        }
        b.post("/internal/v1/sso/link-code") { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(LinkCodeBody.self)
            try await tenant.sendSSOLinkCode(orgID: body.orgID, email: body.email, subject: body.subject)
            return Response(status: 204)
        }
        b.post("/internal/v1/memberships") { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.memberships(accountID: try ctx.decode(AccountBody.self).accountID))
        }
        b.post("/internal/v1/sso/sign-in") { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.ssoSignIn(try ctx.decode(SSOSignInRequest.self)))
        }
        b.post("/internal/v1/orgs/standing") { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(StandingBody.self)
            return try .json(try await tenant.standing(orgID: body.orgID, caller: body.caller))
        }
        b.post("/internal/v1/pending-invites") { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.pendingInvites(email: try ctx.decode(EmailBody.self).email))
        }
    }
}

/// The regions the gateway can reach, local or remote, keyed by region. The region of an org is read from its
/// id, so routing needs no lookup; an id naming no reachable region gets the same 404 as an unknown org.
public struct RegionTenants: Sendable {
    public let all: [Region: any RegionTenant]

    public init(_ tenants: [any RegionTenant]) {
        var d: [Region: any RegionTenant] = [:]
        for t in tenants { d[t.region] = t }
        all = d
    }

    public func tenant(forOrg orgID: String) throws -> any RegionTenant {
        guard let id = OrgID(orgID), let t = all[id.region] else { throw Refusal.notFound.error }
        return t
    }

    public func tenant(forRegion region: String) throws -> any RegionTenant {
        guard let r = Region(rawValue: region), let t = all[r] else { throw GatehouseError.notFound("No such region.") }
        return t
    }

    public subscript(_ region: Region) -> (any RegionTenant)? { all[region] }
}
