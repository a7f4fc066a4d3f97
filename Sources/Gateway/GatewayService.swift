import Foundation
import Crypto
import GatehouseCore
import HTTP
import SAML
import Store
import Tenant
import TenantDomain
import Web

/// The gateway: accounts, sessions, API keys, invite links, and who the caller is for the region API.
public final class GatewayService: Sendable {
    public let accounts: Accounts
    public let sessions: Sessions
    public let regions: RegionTenants
    public let tokens: InviteTokens
    public let limiter: RateLimiter
    public let settings: GatewaySettings
    public let db: Database
    public let sso: SSOStore
    let clock: any WallClock

    public init(db: Database, regions: RegionTenants, tokens: InviteTokens, clock: any WallClock = SystemClock(),
                hasher: PasswordHasher = PasswordHasher(), settings: GatewaySettings = GatewaySettings(), sessionPolicy: Sessions.Policy = Sessions.Policy()) {
        self.db = db
        self.clock = clock
        self.regions = regions
        self.tokens = tokens
        self.settings = settings
        accounts = Accounts(db: db, hasher: hasher, clock: clock)
        sessions = Sessions(db: db, clock: clock, policy: sessionPolicy)
        limiter = RateLimiter(clock: clock)
        sso = SSOStore(db: db, clock: clock)
    }

    /// The session token from the request's cookie, if any.
    func sessionToken(_ ctx: RequestContext) -> String? { Cookies.value(named: Sessions.cookieName, in: ctx.request.headers) }

    /// Who is calling: a bearer API key, or a session cookie (then unsafe methods need the CSRF header, so
    /// another site cannot make the browser act). Anything else is 401.
    public func caller(_ ctx: RequestContext) async throws -> Caller {
        if let auth = ctx.request.headers["authorization"] {
            guard auth.hasPrefix("Bearer "), let key = Optional(String(auth.dropFirst(7))), key.hasPrefix("ghk_") else {
                throw GatehouseError.unauthenticated("Use `Authorization: Bearer <API key>`.")
            }
            let region = key.split(separator: "_").dropFirst().first.map(String.init) ?? ""
            guard let tenant = try? regions.tenant(forRegion: region), let found = try await tenant.authenticateAPIKey(key),
                  let account = try accounts.find(id: found.accountID) else {
                throw GatehouseError.unauthenticated("That API key is not valid (it may have been revoked).")
            }
            return Caller(accountID: account.id, email: account.email, displayName: account.displayName, authMethod: "apikey", scopeOrg: found.org)
        }
        guard let token = sessionToken(ctx), let (session, account, regionAdmin) = try sessions.validateWithAccount(token) else {
            throw GatehouseError.unauthenticated()
        }
        if !["GET", "HEAD", "OPTIONS"].contains(ctx.request.method) {
            guard let presented = ctx.request.headers["x-csrf-token"], sessions.checkCSRF(presented, sessionToken: token) else {
                throw GatehouseError(.init("csrf_failed"), status: 403, "Missing or wrong X-CSRF-Token header (GET /api/v1/me returns the token).")
            }
        }
        return Caller(accountID: account.id, email: account.email, displayName: account.displayName,
                      regionAdminOf: regionAdmin, authMethod: session.method)
    }

    func sessionCookie(_ token: String) -> SetCookie {
        SetCookie(name: Sessions.cookieName, value: token, path: "/", maxAge: Int(sessions.policy.absoluteTimeout),
                  httpOnly: true, secure: settings.secureCookies, sameSite: .lax)
    }

    /// An org's Service Provider: stable URLs under the public base, the SP key when the org signs requests.
    public func serviceProvider(org: String, signRequests: Bool = false) -> ServiceProvider {
        ServiceProvider(baseURL: settings.publicBaseURL, orgID: org, signingKey: signRequests ? settings.samlSigningKey : nil,
                        signingCertificate: settings.samlSigningCertificate)
    }

    func clientKey(_ ctx: RequestContext) -> String { "addr:" + ctx.request.remoteAddress }

    /// An account's memberships (sorted by org name) and pending invites across every region, and the regions
    /// that could not be asked (their part is missing; the rest still answers).
    public func overview(_ account: Account) async -> (memberships: [MembershipSummary], pending: [PendingInviteSummary], unavailable: [Region]) {
        // All regions at once: a slow or unreachable region costs its own timeout, not the sum of them.
        typealias Part = (region: Region, memberships: [MembershipSummary], pending: [PendingInviteSummary])?
        let tenants = Region.allCases.compactMap { regions[$0] }
        var memberships: [MembershipSummary] = []
        var pending: [PendingInviteSummary] = []
        var down: [Region] = []
        await withTaskGroup(of: (Region, Part).self) { group in
            for t in tenants {
                group.addTask {
                    do {
                        return (t.region, (t.region, try await t.memberships(accountID: account.id), try await t.pendingInvites(email: account.email)))
                    } catch {
                        return (t.region, nil)
                    }
                }
            }
            for await (region, part) in group {
                if let part {
                    memberships += part.memberships
                    pending += part.pending
                } else {
                    down.append(region)
                }
            }
        }
        down.sort { $0.rawValue < $1.rawValue }
        pending.sort { ($0.orgName.lowercased(), $0.inviteID) < ($1.orgName.lowercased(), $1.inviteID) }
        return (memberships.sorted { $0.orgName.lowercased() < $1.orgName.lowercased() }, pending, down)
    }

    // MARK: - Invite tokens at the gateway

    /// MAC and expiry are checked here, with no region call: a forged or expired link never reaches a store.
    public func verifyInviteToken(_ token: String) throws -> InviteTokenClaims {
        switch tokens.verify(token, now: clock.now()) {
        case .success(let c): return c
        case .failure(.expired):
            throw GatehouseError(.init("invite_expired"), status: 410, "This invitation has expired. Ask the person who invited you to resend it.")
        case .failure:
            throw GatehouseError(.init("invite_invalid"), status: 404, "This invitation link is not valid. Check that you copied all of it.")
        }
    }

    func region(for claims: InviteTokenClaims) throws -> any RegionTenant {
        guard let t = regions[claims.region] else { throw GatehouseError(.init("region_unavailable"), status: 503, "That region is not reachable right now.") }
        return t
    }
}
