import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The caller of an in-process forward: set by `LocalRegionTenant.forward` for the duration of the call, and
/// impossible to set from the network.
package enum InProcessCaller {
    @TaskLocal package static var current: Caller?

    package static let provider: CallerProvider = { _ in
        guard let c = current else { throw GatehouseError.unauthenticated() }
        return c
    }
}

/// A region in this process: typed calls go straight to its service, forwarded requests through its own router.
package final class LocalRegionTenant: RegionTenant {
    package let service: RegionService
    let router: Router
    /// Answers to reads, current until the region's next write (see `ResponseCache`, `RegionReadKey`).
    let reads: ResponseCache<RegionReadKey>

    package init(
        service: RegionService, logger: Logger = Logger(label: "region"), readCache: Bool = true
    ) throws {
        self.service = service
        reads = ResponseCache(capacity: readCache ? 32 << 20 : 0)
        let b = RouterBuilder(logger: logger)
        RegionRoutes.register(on: b, directory: RegionDirectory([service]), callers: InProcessCaller.provider)
        SCIMRoutes.register(on: b, directory: RegionDirectory([service]), callers: InProcessCaller.provider)
        router = try b.build()
    }

    package var region: Region { service.region }

    /// The tenant API's routes (method, pattern).
    package var routes: [(method: String, pattern: String)] { router.routes }

    package func forward(_ request: Request, caller: Caller) async throws -> Response {
        guard request.method == "GET" else {
            return await InProcessCaller.$current.withValue(caller) { await router.respond(to: request) }
        }
        if let known = immediateForward(request, caller: caller) { return known }
        let key = RegionReadKey(caller: caller, target: request.target)
        let generation = service.db.writeGeneration
        return await reads.coalescing(key, generation: generation) {
            var response = await InProcessCaller.$current.withValue(caller) { await router.respond(to: request) }
            reads.remember(&response, key, generation: generation, now: service.clock.now())
            return response
        }
    }

    package func immediateForward(_ request: Request, caller: Caller) -> Response? {
        let now = service.clock.now()
        guard request.method == "GET",
            let response = reads.answer(
                RegionReadKey(caller: caller, target: request.target), generation: service.db.writeGeneration,
                now: now)
        else { return nil }
        if let org = RegionReadKey.org(inPath: request.path) {
            service.activity.note(org: org, account: caller.accountID, at: Int(now.timeIntervalSince1970))
        }
        return response
    }

    package var dataGeneration: UInt64? { service.db.writeGeneration }

    package func knownAPIKey(_ key: String) -> APIKeyIdentity?? {
        service.knownAPIKey(key).map { $0.map { APIKeyIdentity(org: $0.org, accountID: $0.accountID, app: $0.app) } }
    }

    package func authenticateSCIMToken(_ token: String) async throws -> SCIMTokenIdentity? {
        try await service.authenticateSCIMToken(token)
    }

    package func authenticateAPIKey(_ key: String) async throws -> APIKeyIdentity? {
        try await service.authenticateAPIKey(key).map {
            APIKeyIdentity(org: $0.org, accountID: $0.accountID, app: $0.app)
        }
    }

    package func inviteForToken(_ token: String) async throws -> InviteWithOrg {
        let (invite, orgName) = try await service.inviteForToken(token)
        return InviteWithOrg(invite: invite, orgName: orgName)
    }

    package func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult {
        try await service.acceptInvite(request)
    }

    package func declineInvite(_ request: DeclineInviteRequest) async throws {
        try await service.declineInvite(token: request.token, accountID: request.accountID, email: request.email)
    }

    package func memberships(accountID: String) async throws -> [MembershipSummary] {
        try await service.memberships(accountID: accountID)
    }

    package func sendInviteCode(token: String) async throws { try await service.sendInviteCode(token: token) }

    package func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws {
        try await service.sendSSOLinkCode(orgID: orgID, email: email, subject: subject)
    }

    package func recordSSOChange(_ change: SSOChangeRecord) async throws {
        try await service.recordSSOChange(change)
    }

    package func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult {
        try await service.ssoSignIn(request)
    }

    /// Answers on the event loop only from a store whose reads are local (SQLite); a PostgreSQL read is a network
    /// round trip, so those callers take the async way.
    package func immediateOverview(accountID: String, email: String) -> AccountOverview? {
        guard service.db.readsAreLocal else { return nil }
        return try? service.accountOverviewNow(accountID: accountID, email: email)
    }

    package func immediateOrgView(_ caller: Caller, org: String) -> Result<OrgView, GatehouseError>? {
        guard service.db.readsAreLocal else { return nil }
        guard let id = OrgID(org) else { return .failure(Refusal.notFound.error) }
        do { return .success(try service.orgNow(caller, org: id)) } catch let e as GatehouseError {
            return .failure(e)
        } catch { return nil }
    }

    package func appEntry(
        orgID: String, slug: String, caller: Caller, asMember: String?
    ) async throws
        -> AppEntryAnswer
    {
        try await service.appEntry(orgID: orgID, slug: slug, caller: caller, asMember: asMember)
    }

    package func standing(orgID: String, caller: Caller) async throws -> OrgStanding {
        try await service.standing(orgID: orgID, caller: caller)
    }

    package func overview(accountID: String, email: String) async throws -> AccountOverview {
        try await service.accountOverview(accountID: accountID, email: email)
    }
}

/// The typed calls of `RegionTenant` as JSON endpoints of a region process, under `/internal/v1`. Only the
/// gateway can call them: every request must carry a valid gateway signature made as the gateway itself.
package enum RegionInternalRoutes {
    typealias E = RegionEndpoint

    package static func register(on b: RouterBuilder, tenant: LocalRegionTenant, callers: @escaping CallerProvider) {
        @Sendable func gateway(_ ctx: RequestContext) async throws {
            let c = try await callers(ctx)
            guard c.authMethod == .gateway, c.accountID == "gateway" else {
                throw GatehouseError.forbidden("Only the gateway may call this.")
            }
        }
        b.post(E.authenticateAPIKey.path) { ctx in
            try await gateway(ctx)
            return try .json(
                E.OptionalValue(value: try await tenant.authenticateAPIKey(try ctx.decode(E.KeyBody.self).key)))
        }
        b.post(E.authenticateSCIMToken.path) { ctx in
            try await gateway(ctx)
            return try .json(
                E.OptionalValue(value: try await tenant.authenticateSCIMToken(try ctx.decode(E.TokenBody.self).token)))
        }
        b.post(E.lookupInvite.path) { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.inviteForToken(try ctx.decode(E.TokenBody.self).token))
        }
        b.post(E.acceptInvite.path) { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.acceptInvite(try ctx.decode(AcceptInviteRequest.self)))
        }
        b.post(E.declineInvite.path) { ctx in
            try await gateway(ctx)
            try await tenant.declineInvite(try ctx.decode(DeclineInviteRequest.self))
            return Response(status: 204)
        }
        b.post(E.sendInviteCode.path) { ctx in
            try await gateway(ctx)
            try await tenant.sendInviteCode(token: try ctx.decode(E.TokenBody.self).token)
            return Response(status: 204)
        }
        b.post(E.sendSSOLinkCode.path) { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(E.LinkCodeBody.self)
            try await tenant.sendSSOLinkCode(orgID: body.orgID, email: body.email, subject: body.subject)
            return Response(status: 204)
        }
        b.post(E.recordSSOChange.path) { ctx in
            try await gateway(ctx)
            try await tenant.recordSSOChange(try ctx.decode(SSOChangeRecord.self))
            return Response(status: 204)
        }
        b.post(E.overview.path) { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(E.OverviewBody.self)
            return try .json(try await tenant.overview(accountID: body.accountID, email: body.email))
        }
        b.post(E.memberships.path) { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.memberships(accountID: try ctx.decode(E.AccountBody.self).accountID))
        }
        b.post(E.ssoSignIn.path) { ctx in
            try await gateway(ctx)
            return try .json(try await tenant.ssoSignIn(try ctx.decode(SSOSignInRequest.self)))
        }
        b.post(E.appEntry.path) { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(E.AppEntryBody.self)
            return try .json(
                try await tenant.appEntry(
                    orgID: body.orgID, slug: body.slug, caller: body.caller, asMember: body.asMember))
        }
        b.post(E.standing.path) { ctx in
            try await gateway(ctx)
            let body = try ctx.decode(E.StandingBody.self)
            return try .json(try await tenant.standing(orgID: body.orgID, caller: body.caller))
        }
    }
}
