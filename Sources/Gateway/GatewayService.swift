import Crypto
import Foundation
import GatehouseCore
import HTTP
import Net
import SAML
import Store
import Synchronization
import TenantAPI
import TenantDomain
import Web

/// The gateway: accounts, sessions, API keys, invite links, and who the caller is for the region API.
package final class GatewayService: Sendable {
    package let accounts: Accounts
    package let sessions: Sessions
    package let regions: RegionTenants
    package let tokens: InviteTokens
    package let limiter: RateLimiter
    package let settings: GatewaySettings
    package let db: Database
    package let sso: SSOStore
    /// Forgot password: one-time links by mail (see `PasswordResets`).
    package let resets: PasswordResets
    /// Apps behind the gateway: the identity it asserts to them, and its connections to them.
    package let assertions: AppAssertions
    package let upstreams: UpstreamClients
    /// The region's decision for (caller, org, app) with the assertion signed for it, remembered until the next
    /// write anywhere (`dataGeneration`) and for at most `RememberedAnswer.lifetime`; the assertion is signed
    /// again once half its life is gone. See `AppGateRoutes.remembered` and `admit`.
    package let appDecisions: GenerationCache<AppDecisionKey, AppDecision>
    /// GET requests into apps answered from what their connection remembered of its last request (tests: which way
    /// ran; see `ConnectionAdmission`).
    package let admissionsFromConnections = Atomic<Int>(0)
    /// The org a browser works in (the switcher sets it): the console's default, and the org of `/apps/<slug>/`.
    package static let currentOrgCookie = "gh_org"
    package let trust: SSOTrust
    /// OpenID providers: discovery, key sets, code exchange (see `OIDCProvider`).
    package let oidc: OIDCProvider
    /// DNS lookups for domain verification, off the event loops.
    package let dnsPool = BlockingPool(label: "gatehouse-dns", width: 4)
    package let clock: any WallClock
    /// Whole gateway answers (console pages, `/me`), current until the next write in any store (see
    /// `ResponseCache`, `AnswerKey`).
    package let answers: ResponseCache<AnswerKey>
    /// The first run's setup token (its hash), while no region admin exists (see `beginSetup`).

    package init(
        db: Database, regions: RegionTenants, tokens: InviteTokens, clock: any WallClock = SystemClock(),
        hasher: PasswordHasher = PasswordHasher(), settings: GatewaySettings = GatewaySettings(),
        sessionPolicy: Sessions.Policy = Sessions.Policy()
    ) throws {
        self.db = db
        self.clock = clock
        self.regions = regions
        self.tokens = tokens
        self.settings = settings
        accounts = Accounts(db: db, hasher: hasher, clock: clock)
        sessions = Sessions(db: db, clock: clock, policy: sessionPolicy)
        limiter = RateLimiter(clock: clock)
        assertions = try AppAssertions(directory: settings.appAssertionKeysDirectory)
        upstreams = UpstreamClients(caFile: settings.appUpstreamCAFile)
        appDecisions = GenerationCache(capacity: settings.answerCache ? 100_000 : 0)
        let base = settings.publicBaseURL
        resets = PasswordResets(
            db: db, clock: clock, inviteKey: tokens.ring.active.secret.value, settings: settings.passwordResets,
            limiter: limiter, publicBaseURL: { base })
        sso = SSOStore(db: db, clock: clock)
        trust = SSOTrust(db: db, clock: clock)
        oidc = OIDCProvider(clock: clock)
        answers = ResponseCache(capacity: settings.answerCache ? 32 << 20 : 0)
    }

    /// The gateway store's write generation plus every region's. It grows with every write anywhere, so an
    /// answer built from all of them (a console page: the account, the org switcher, the org's data) is current
    /// while it stays the same. Nil when a region is in another process: its writes cannot be seen from here.
    package var dataGeneration: UInt64? {
        var sum = db.writeGeneration
        for t in regions.list {
            guard let g = t.dataGeneration else { return nil }
            sum &+= g
        }
        return sum
    }

    /// The org's region and the caller's standing there, when the caller holds `sso.manage` (403 otherwise).
    package func ssoManager(org: String, caller: Caller) async throws -> (any RegionTenant, OrgStanding) {
        let tenant = try regions.tenant(forOrg: org)
        let standing = try await tenant.standing(orgID: org, caller: caller)
        guard standing.permissions.contains(Permission.ssoManage.rawValue) else {
            throw GatehouseError.forbidden("Managing single sign-on needs the sso.manage permission.")
        }
        return (tenant, standing)
    }

    /// Saves an org's SSO settings for `caller` (API and console alike): every field checked, the JIT default
    /// role within the caller's grant ceiling and never owner-level (asked of the region, which knows the
    /// roles), and the listed email domains kept as claims that route nothing until proven by DNS.
    package func saveSSOSettings(_ update: SSOSettingsUpdate, org: String, caller: Caller) async throws -> SSOSettings {
        let (tenant, standing) = try await ssoManager(org: org, caller: caller)
        let current = try await sso.settings(org: org)
        var settings = try update.applied(to: current)
        if settings.jit != current?.jit || current == nil,
            !standing.jitAssignableRoles.contains(settings.jit.defaultRole)
        {
            throw GatehouseError(
                .roleAboveYou, status: 403,
                "The JIT default role must be a role you may give yourself, and never owner-level"
                    + " (\(settings.jit.defaultRole) is not)."
            )
        }
        if settings.signRequests && self.settings.samlSigningKey == nil {
            throw GatehouseError(
                .noSPKey, status: 422,
                "Signed requests need an SP key: set saml.spKeyFile and saml.spCertFile in the configuration.")
        }
        if let wanted = update.domains {
            let normalized = try Set(wanted.map(SSOTrust.normalizeDomain))
            guard normalized.count <= 20 else {
                throw GatehouseError.validation("An organization can claim at most 20 domains.")
            }
            for old in try await trust.claims(org: org) where !normalized.contains(old.domain) {
                try await trust.unclaim(old.domain, org: org)
            }
            for d in normalized.sorted() { try await trust.claim(d, org: org) }
        }
        settings.domains = nil  // claims live in SSOTrust; the settings no longer route anything by domain
        try await sso.save(settings, org: org, by: caller.accountID)
        var changes: [(SSOAuditAction, [String: String])] = [(.saved, ["idp": settings.idp.entityID])]
        if settings.rsaFloor != (current?.rsaFloor ?? Certificate.defaultMinRSABits) {
            changes.append(
                (
                    settings.rsaFloor < Certificate.defaultMinRSABits ? .legacyKeysAllowed : .legacyKeysRefused,
                    ["minRSABits": String(settings.rsaFloor)]
                ))
        }
        for (action, summary) in changes {
            try await tenant.recordSSOChange(
                SSOChangeRecord(orgID: org, actorID: caller.accountID, action: action, summary: summary))
        }
        return settings
    }

    /// The session token from the request's cookie, if any.
    package func sessionToken(_ ctx: RequestContext) -> String? {
        Cookies.value(named: Sessions.cookieName, in: ctx.request.headers)
    }

    /// Who is calling: a bearer API key, or a session cookie (then unsafe methods need the CSRF header, so
    /// another site cannot make the browser act). Anything else is 401.
    package func caller(_ ctx: RequestContext) async throws -> Caller { try await caller(ctx, csrf: true) }

    /// `csrf: false` for requests into apps behind the gateway: their forms are theirs to protect.
    package func caller(_ ctx: RequestContext, csrf: Bool) async throws -> Caller {
        if let auth = ctx.request.headers["authorization"] {
            guard let (key, tenant) = apiKeyTenant(auth) else {
                throw GatehouseError.unauthenticated("Use `Authorization: Bearer <API key>`.")
            }
            guard let found = try await tenant?.authenticateAPIKey(key), let caller = try await apiKeyCaller(found)
            else {
                throw GatehouseError.unauthenticated("That API key is not valid (it may have been revoked).")
            }
            return caller
        }
        guard let token = sessionToken(ctx),
            let (session, account, regionAdmin) = try await sessions.validateWithAccount(token)
        else {
            throw GatehouseError.unauthenticated()
        }
        if csrf && !["GET", "HEAD", "OPTIONS"].contains(ctx.request.method) {
            guard let presented = ctx.request.headers["x-csrf-token"],
                sessions.checkCSRF(presented, sessionToken: token)
            else {
                throw GatehouseError(
                    .csrfFailed, status: 403,
                    "Missing or wrong X-CSRF-Token header (GET /api/v1/me returns the token).")
            }
        }
        return Caller(session: session, account: account, regionAdmin: regionAdmin)
    }

    /// `caller` for a `GET`, answered on the calling thread when everything is at hand (a session; an API key its
    /// region remembers); nil means "ask `caller`", which answers the same or refuses. Reads only indexed rows.
    package func immediateCaller(_ ctx: RequestContext) -> Caller? { immediateCallerLive(ctx)?.caller }

    /// `immediateCaller`, with the session check behind it (nil for an API key): what tells whether the same
    /// cookie would be answered the same later (`Sessions.Live.holds`).
    package func immediateCallerLive(_ ctx: RequestContext) -> (caller: Caller, session: Sessions.Live?)? {
        guard ctx.request.method == "GET" else { return nil }
        if let auth = ctx.request.headers["authorization"] {
            guard let (key, tenant) = apiKeyTenant(auth), let known = tenant?.knownAPIKey(key), let found = known
            else { return nil }
            guard let account = accountNow(found.accountID) else { return nil }
            return (Self.apiKeyCaller(found, account), nil)
        }
        // A store read only when reads are local (SQLite); else only what is remembered (a PostgreSQL round trip
        // belongs off the event loop).
        guard let token = sessionToken(ctx) else { return nil }
        let live: Sessions.Live?
        if db.readsAreLocal {
            live = try? sessions.validateNowLive(token)
        } else {
            live = sessions.rememberedLive(token) ?? nil
        }
        guard let live else { return nil }
        let (session, account, region) = live.found
        return (Caller(session: session, account: account, regionAdmin: region), live)
    }

    /// A bearer header's key and the region it names (nil when that region is not reachable); nil for a header
    /// that is not `Bearer ghk_…`.
    private func apiKeyTenant(_ auth: String) -> (String, (any RegionTenant)?)? {
        guard auth.hasPrefix("Bearer ghk_") else { return nil }
        let key = String(auth.utf8.dropFirst(7))!
        // `ghk_<region>_…`: the region is read from the bytes (a Character-wise split of every key showed in
        // profiles of API-key requests).
        let afterPrefix = key.utf8.index(key.utf8.startIndex, offsetBy: 4)
        let end = key.utf8[afterPrefix...].firstIndex(of: UInt8(ascii: "_")) ?? afterPrefix
        return (key, try? regions.tenant(forRegion: String(key[afterPrefix..<end])))
    }

    /// The caller of a live API key, or nil when its account is gone.
    private func apiKeyCaller(_ found: APIKeyIdentity) async throws -> Caller? {
        guard let account = try await accounts.find(id: found.accountID) else { return nil }
        return Self.apiKeyCaller(found, account)
    }

    /// Whether a session is live, for the event loop: checked in the store when reads are local, else only from
    /// memory (false when not remembered: the caller takes the async way).
    package func sessionIsLiveNow(_ token: String) -> Bool {
        if db.readsAreLocal { return (try? sessions.validateNow(token)) != nil }
        return (sessions.remembered(token) ?? nil) != nil
    }

    /// An account for the event loop: read on the spot when reads are local, else only if remembered.
    package func accountNow(_ id: String) -> Account? {
        if db.readsAreLocal { return (try? accounts.findNow(id: id)) ?? nil }
        return accounts.remembered(id: id) ?? nil
    }

    private static func apiKeyCaller(_ found: APIKeyIdentity, _ account: Account) -> Caller {
        Caller(
            accountID: account.id, email: account.email, displayName: account.displayName, authMethod: .apiKey,
            scopeOrg: found.org, scopeApp: found.app)
    }

    package func sessionCookie(_ token: String) -> SetCookie {
        SetCookie(
            name: Sessions.cookieName, value: token, path: "/", maxAge: Int(sessions.policy.absoluteTimeout),
            httpOnly: true, secure: settings.secureCookies, sameSite: .lax)
    }

    /// An org's Service Provider: stable URLs under the public base, the SP key when the org signs requests.
    package func serviceProvider(org: String, signRequests: Bool = false) -> ServiceProvider {
        ServiceProvider(
            baseURL: settings.publicBaseURL, orgID: org, key: settings.samlSigningKey,
            certificate: settings.samlSigningCertificate, previousKey: settings.samlPreviousKey,
            signAuthnRequests: signRequests)
    }

    package func clientKey(_ ctx: RequestContext) -> String { "addr:" + ctx.request.remoteAddress }

    package enum PasswordCheck: Sendable {
        case ok(Account)
        case wrong
        case wait(Int)
    }

    /// Every password check (sign-in, password change, linking an SSO identity) goes through here: the limits
    /// count failures only, per (account, client) with growing delays and per client address.
    package func checkPassword(email: String, password: String, client: String) async throws -> PasswordCheck {
        let email = Email.normalize(email)
        let pair = "pw:" + email + "|" + client
        let address = "pw:" + client
        if let wait = limiter.delay(pair, settings.loginBackoff) ?? limiter.peek([(address, settings.loginPerAddress)])
        {
            Metrics.shared.increment("gatehouse_sign_ins_total", [("method", "password"), ("outcome", "limited")])
            return .wait(wait)
        }
        guard let account = try await accounts.authenticate(email: email, password: password) else {
            limiter.fail(pair, settings.loginBackoff)
            _ = limiter.attempt([(address, settings.loginPerAddress)])
            Metrics.shared.increment("gatehouse_sign_ins_total", [("method", "password"), ("outcome", "wrong")])
            return .wrong
        }
        limiter.reset(pair)
        Metrics.shared.increment("gatehouse_sign_ins_total", [("method", "password"), ("outcome", "ok")])
        return .ok(account)
    }

    /// Every region-API request the gateway sends (API forward and console alike) goes through here, so what
    /// the gateway keeps about an org follows the region's answer: a deleted org takes its SSO settings,
    /// domain claims, links and requests with it.
    package func forward(_ request: Request, to tenant: any RegionTenant, caller: Caller) async throws -> Response {
        let response = try await tenant.forward(request, caller: caller)
        if request.method == "DELETE", (200..<300).contains(response.status),
            let org = Self.deletedOrg(String(request.path))
        {
            try await trust.purge(org: org)
        }
        return response
    }

    /// `/api/v1/regions/<r>/orgs/<org>` (a region admin) or `/api/v1/orgs/<org>` (its owner) → the org id.
    static func deletedOrg(_ path: String) -> String? {
        let p = path.split(separator: "/", omittingEmptySubsequences: false)
        if p.count == 5, p[1] == "api", p[2] == "v1", p[3] == "orgs", OrgID(String(p[4])) != nil { return String(p[4]) }
        guard p.count == 7, p[1] == "api", p[2] == "v1", p[3] == "regions", p[5] == "orgs", OrgID(String(p[6])) != nil
        else { return nil }
        return String(p[6])
    }

    /// Account-wide actions (password, every session, the whole overview) need a caller that proved the account
    /// itself: not an API key, not a session an org's IdP made.
    package func requireAccountWide(_ caller: Caller) throws {
        guard caller.mayActAccountWide else { throw Refusal.accountProofRequired.error }
    }

    /// An account's memberships (sorted by org name) and pending invites across every region, and the regions
    /// that could not be asked (their part is missing; the rest still answers).
    ///
    /// A caller scoped to one org (an SSO session, an API key) sees that org only: its IdP vouches for nothing
    /// else, so the account's other orgs and invitations stay out of its view.
    package func overview(
        _ caller: Caller
    ) async -> (memberships: [MembershipSummary], pending: [PendingInviteSummary], unavailable: [Region]) {
        let account = (id: caller.accountID, email: caller.email)
        typealias Part = (region: Region, memberships: [MembershipSummary], pending: [PendingInviteSummary])?
        var memberships: [MembershipSummary] = []
        var pending: [PendingInviteSummary] = []
        var down: [Region] = []
        // Regions in this process answer at once (no task, no thread hop); the others are asked concurrently.
        var remote: [any RegionTenant] = []
        for t in overviewTenants(caller) {
            if let o = t.immediateOverview(accountID: account.id, email: account.email) {
                memberships += o.memberships
                pending += o.pendingInvites
            } else {
                remote.append(t)
            }
        }
        if !remote.isEmpty {
            // All regions at once: a slow or unreachable region costs its own timeout, not the sum of them.
            await withTaskGroup(of: (Region, Part).self) { group in
                for t in remote {
                    group.addTask {
                        do {
                            let o = try await t.overview(accountID: account.id, email: account.email)
                            return (t.region, (t.region, o.memberships, o.pendingInvites))
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
        }
        return Self.ordered(caller, memberships, pending, down)
    }

    /// `overview` when every region it asks answers at once (all in this process); nil otherwise. Equal to
    /// `overview` by construction: the same parts, put together by the same `ordered`.
    package func immediateOverview(
        _ caller: Caller
    ) -> (memberships: [MembershipSummary], pending: [PendingInviteSummary], unavailable: [Region])? {
        var memberships: [MembershipSummary] = []
        var pending: [PendingInviteSummary] = []
        for t in overviewTenants(caller) {
            guard let o = t.immediateOverview(accountID: caller.accountID, email: caller.email) else { return nil }
            memberships += o.memberships
            pending += o.pendingInvites
        }
        return Self.ordered(caller, memberships, pending, [])
    }

    /// The regions an overview asks: the org's for a caller limited to one org, else every region.
    private func overviewTenants(_ caller: Caller) -> [any RegionTenant] {
        caller.scopeOrg.flatMap { try? regions.tenant(forOrg: $0) }.map { [$0] }
            ?? Region.allCases.compactMap { regions[$0] }
    }

    private static func ordered(
        _ caller: Caller, _ memberships: [MembershipSummary], _ pending: [PendingInviteSummary], _ down: [Region]
    ) -> (memberships: [MembershipSummary], pending: [PendingInviteSummary], unavailable: [Region]) {
        var (memberships, pending, down) = (memberships, pending, down)
        if let scope = caller.scopeOrg {
            memberships = memberships.filter { $0.orgID == scope }
            pending = pending.filter { $0.orgID == scope }
        }
        down.sort { $0.rawValue < $1.rawValue }
        pending.sort { ($0.orgName.lowercased(), $0.inviteID) < ($1.orgName.lowercased(), $1.inviteID) }
        return (memberships.sorted { $0.orgName.lowercased() < $1.orgName.lowercased() }, pending, down)
    }

    // MARK: - Invite tokens at the gateway

    /// MAC and expiry are checked here, with no region call: a forged or expired link never reaches a store.
    package func verifyInviteToken(_ token: String) throws -> InviteTokenClaims {
        switch tokens.verify(token, now: clock.now()) {
        case .success(let c): return c
        case .failure(.expired):
            throw GatehouseError.inviteExpired
        case .failure:
            throw GatehouseError.inviteInvalid
        }
    }

    /// Sign-up through an invite link needs proof of the address: the mailed link's proof, or the mailed code.
    /// Wrong codes slow down per invite, so six digits cannot be guessed.
    package func requireEmailProof(_ claims: InviteTokenClaims, code: String?, client: String) throws {
        if claims.emailProven { return }
        let key = "code:" + claims.inviteID
        if let wait = limiter.delay(key, settings.codeBackoff) { throw RateLimiter.refusal(wait) }
        guard let code, !code.isEmpty else {
            throw GatehouseError(
                .emailUnproven, status: 403,
                "This link was copied, not opened from the invitation email, so it does not prove your address. "
                    + "Ask for a code (POST /api/v1/invites/<token>/code) and send it as `code`, or open the link in"
                    + " the email."
            )
        }
        guard tokens.checkCode(code, claims: claims, now: clock.now()) else {
            limiter.fail(key, settings.codeBackoff)
            throw GatehouseError(
                .wrongCode, status: 403, "That code is not right, or it has expired. Ask for a new one.")
        }
    }

    /// Whether `method` may accept an invitation into `invite`'s org: the same reach as opening the org (an SSO
    /// session of another org may not; an SSO-only invite needs the org's own SSO). Declining needs no SSO:
    /// saying no to an org is the invitee's own business, but still not another org's IdP's.
    package func reachesInvite(_ method: AuthMethod, _ invite: InviteView, declining: Bool = false) -> Decision {
        Rules.reach(method, org: invite.orgID, ssoOnly: invite.ssoOnly && !declining)
    }

    package func region(for claims: InviteTokenClaims) throws -> any RegionTenant {
        guard let t = regions[claims.region] else {
            throw GatehouseError.regionUnavailable()
        }
        return t
    }
}

/// The key of a remembered gateway answer (a console page, `/me`): a digest of the request's credentials — its
/// cookies (the session, a flash message when there is one) and its `Authorization` header — and its target.
/// These answers depend on nothing else of the request.
package struct AnswerKey: Hashable, Sendable {
    let credentials: [UInt8]
    let target: String

    package init(_ request: Request) {
        credentials = Digest.sha256.hash(
            (request.headers["cookie"] ?? "") + "\n" + (request.headers["authorization"] ?? ""))
        target = request.target
    }
}
