import Foundation
import GatehouseCore
import HTTP
import Net
import Synchronization
import TenantAPI
import TenantDomain
import Web

/// Apps behind the gateway: `/apps/<slug>/…` is checked (session or API key, the org, membership, SSO-only, the
/// app grant, the app's access rule — all the region's decision) and forwarded to the app's upstream with an
/// identity it can trust; `GET /auth/verify` answers the same check for a proxy in front (nginx `auth_request`,
/// Traefik `forwardAuth`, Envoy `ext_authz`); `/.well-known/jwks.json` publishes the assertion keys.
///
/// The org an app belongs to is the one the browser works in (the org switcher's `gh_org` cookie), or the
/// caller's only org; an API key names its org itself.
package enum AppGateRoutes {
    /// What the client sends that never reaches an upstream: hop-by-hop headers, our own identity headers (a
    /// client could forge them), and headers we set ourselves.
    static let dropped = HeaderNameSet([
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length", "x-forwarded-for", "x-forwarded-proto",
        "x-forwarded-host", "x-forwarded-prefix", "forwarded", "x-real-ip", "x-original-uri", "x-forwarded-uri",
        "x-csrf-token", "expect",
    ])
    /// From an upstream's answer, never to the browser: hop-by-hop headers, and the length and date we set
    /// ourselves (one `Date` per answer: ours, as nginx does by default).
    static let droppedFromUpstream = HeaderNameSet([
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "content-length", "date",
    ])

    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/.well-known/jwks.json") { _ in
            Response(
                status: 200,
                headers: ["Content-Type": "application/json", "Cache-Control": "public, max-age=300"],
                body: g.assertions.jwks)
        }
        @Sendable func verified(_ entry: AppEntryAnswer, _ jwt: String) -> Response {
            var r = Response(status: 200)
            for (k, v) in identityHeaders(entry, jwt: jwt) { r.headers.add(k, v) }
            r.headers.set("Cache-Control", "no-store")
            return r
        }
        /// The original URI: nginx's `X-Original-URI`, Traefik's `X-Forwarded-Uri`, or (Envoy `ext_authz`, which
        /// appends the original path to the check's path prefix) what follows `/auth/verify` in the path.
        @Sendable func verifiedSlug(_ ctx: RequestContext) throws -> String {
            let target = ctx.request.target
            if target.hasPrefix("/auth/verify/apps/") { return try appPath(String(target.dropFirst(12))).0 }
            return try appPath(ctx.request.headers["x-original-uri"] ?? ctx.request.headers["x-forwarded-uri"] ?? "").0
        }
        let fast: SyncHandler = { ctx in
            guard let slug = try? verifiedSlug(ctx), let (entry, jwt) = remembered(g, ctx, slug: slug) else {
                return nil
            }
            return verified(entry, jwt)
        }
        let asked: Handler = { ctx in
            let slug = try verifiedSlug(ctx)
            do {
                let (entry, jwt) = try await admit(g, ctx, slug: slug)
                return verified(entry, jwt)
            } catch let sso as SSORedirect { throw sso.error }
        }
        // Answered on the event loop when the decision and a fresh assertion are remembered; else asked.
        b.sync("GET", "/auth/verify", fast, else: asked)
        b.sync("GET", "/auth/verify/*", fast, else: asked)
        // Uploads to apps go on as they arrive (any size up to `http.maxStreamedBodyBytes`), downloads likewise.
        b.streamRequestBodies(under: "/apps/")
        // A GET whose decision and assertion are remembered goes out with no task at all (`sendNow`), through the
        // same pieces as the async handler below (`forwarding`, `upstreamError`, `answer`): it answers alike.
        let soon: LaterHandler = { ctx, done in
            guard ctx.request.method == "GET", ctx.request.bodyStream == nil,
                let (slug, rest) = try? appPath(ctx.request.target),
                let (entry, jwt) = remembered(g, ctx, slug: slug), entry.viewer == nil,
                let f = try? forwarding(g, ctx, entry: entry, jwt: jwt, rest: rest)
            else { return false }
            // The answer needs only the app's name (for its error pages): not the request or the whole entry
            // copied into the callback.
            let app = entry.appName
            return f.client.sendNow(method: "GET", target: f.target, headers: f.headers, streamResponse: true) {
                switch $0 {
                case .success(let a): done(.success(answer(a, method: "GET")))
                case .failure(let e): done(.failure(upstreamError(e, app: app)))
                }
            }
        }
        b.later("*", "/apps/*", soon) { ctx in
            let (slug, rest) = try appPath(String(ctx.request.target))
            do {
                var admitted = ctx.request.method == "GET" ? remembered(g, ctx, slug: slug) : nil
                if admitted == nil { admitted = try await admit(g, ctx, slug: slug) }
                guard let (entry, jwt) = admitted else { throw GatehouseError.unauthenticated() }
                if let v = entry.viewer, !["GET", "HEAD"].contains(ctx.request.method) {
                    throw GatehouseError(
                        .init("view_as_read_only"), status: 403,
                        "You are viewing \(entry.appName) as \(v.memberName): read-only, nothing is sent to the app.")
                }
                var r = try await forward(g, ctx, entry: entry, jwt: jwt, rest: rest)
                if let v = entry.viewer { r = banner(r, entry: entry, viewer: v) }
                return r
            } catch let e as GatehouseError where e.status == 401 && ctx.request.method == "GET" {
                // A browser without a session signs in and comes back.
                return .redirect(to: "/login?next=" + FormDecoding.percentEncode(ctx.request.target))
            } catch let sso as SSORedirect where ctx.request.method == "GET" {
                return .redirect(
                    to: "/sso/\(sso.org)/login?next=" + FormDecoding.percentEncode(ctx.request.target))
            } catch let sso as SSORedirect {
                throw sso.error
            }
        }
    }

    /// `/apps/<slug>[/rest][?query]` → slug and the rest (with its query). Refused: dot segments, encoded slashes,
    /// dots or backslashes anywhere (a proxy in front may resolve them differently and land in another app).
    package static func appPath(_ target: String) throws -> (String, String) {
        var target = target
        // Offsets in the target's bytes, found in place (no String indices walked, no copies): every proxied
        // request comes through here. Nil: not an app address.
        let found: (slugEnd: Int, pathEnd: Int, refusal: String?)? = target.withUTF8 { u in
            let prefix: StaticString = "/apps/"
            guard u.count >= 6, u.count <= 8192, memcmp(u.baseAddress!, prefix.utf8Start, 6) == 0 else { return nil }
            let pathEnd = u.firstIndex(of: 63) ?? u.count  // '?'
            let path = UnsafeBufferPointer(rebasing: u[..<pathEnd])
            if Self.hasEncodedPathTrick(path) { return (0, pathEnd, "encoded path characters") }
            let slugEnd = path[6...].firstIndex(of: 47) ?? pathEnd  // '/'
            guard slugEnd > 6 else { return nil }
            // Dot segments anywhere from the slug on ("/apps/a/../b" would cross into another app).
            var segmentStart = 6
            for i in 6...pathEnd where i == pathEnd || path[i] == 47 {
                let n = i - segmentStart
                if (n == 1 || n == 2) && path[segmentStart] == 46 && path[i - 1] == 46 {
                    return (slugEnd, pathEnd, "dot segments")
                }
                segmentStart = i + 1
            }
            return (slugEnd, pathEnd, nil)
        }
        guard let found else { throw GatehouseError.notFound("Not an app address.") }
        if let why = found.refusal {
            throw GatehouseError(.init("bad_app_path"), status: 400, "This address is not allowed (\(why)).")
        }
        let u = target.utf8
        let slugEnd = u.index(u.startIndex, offsetBy: found.slugEnd)
        let q = u.index(u.startIndex, offsetBy: found.pathEnd)
        let rest = slugEnd == q ? "/" : String(target[slugEnd..<q])
        return (String(target[u.index(u.startIndex, offsetBy: 6)..<slugEnd]), rest + target[q...])
    }

    /// The remembered admission for a GET whose caller is known without waiting (see `immediateCaller`): the
    /// region's decision and a fresh assertion from memory, or nil (then `admit` asks). Gives the same answer
    /// `admit` would: the decision is dropped at the first write anywhere, and after `RememberedAnswer.lifetime`.
    ///
    /// A connection that asks again with the same cookies for the same app is answered from what it remembers of
    /// its last admission (`ConnectionAdmission`), under the very tests this way would make of the same remembered
    /// values: no session digest, no cache probes.
    static func remembered(_ g: GatewayService, _ ctx: RequestContext, slug: String) -> (AppEntryAnswer, String)? {
        // Read before anything it tags: a write after it makes what follows stale, never the other way round.
        guard ctx.request.method == "GET", let generation = g.dataGeneration else { return nil }
        let now = g.clock.now()
        let memory = ctx.request.connection
        let credentials = memory == nil ? nil : ConnectionAdmission.credentials(ctx.request.headers)
        if let credentials, let kept = memory?.value as? ConnectionAdmission,
            let d = kept.decision(
                credentials: credentials, slug: slug, generation: generation, now: now,
                assertionLifetime: g.assertions.lifetime)
        {
            g.admissionsFromConnections.add(1, ordering: .relaxed)
            return d
        }
        guard let (caller, session) = g.immediateCallerLive(ctx), let org = chosenOrg(caller, ctx) else { return nil }
        guard
            let d = g.appDecisions.lookup(
                AppDecisionKey(
                    caller: caller, org: org, slug: slug, asMember: AppViewAs.member(ctx, org: org, slug: slug)),
                generation: generation),
            RememberedAnswer.isFresh(storedAt: d.storedAt, now: now), d.entry.allowed, let jwt = d.jwt,
            ConnectionAdmission.isYoung(signedAt: d.signedAt, now: now, lifetime: g.assertions.lifetime)
        else { return nil }
        if let memory, let credentials, let session {
            memory.value = ConnectionAdmission(
                credentials: credentials, slug: slug, generation: generation, session: session, decision: d)
        }
        return (d.entry, jwt)
    }

    /// A backslash, or `%` encoding `.`, `/`, `\`, NUL or `%` itself (any case): bytes, not Foundation searches.
    static func hasEncodedPathTrick(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        func hex(_ i: Int) -> UInt8? {
            guard i < b.count else { return nil }
            switch b[i] {
            case 48...57: return b[i] - 48
            case 65...70: return b[i] - 55
            case 97...102: return b[i] - 87
            default: return nil
            }
        }
        for (i, c) in b.enumerated() {
            if c == UInt8(ascii: "\\") { return true }
            if c == UInt8(ascii: "%"), let hi = hex(i + 1), let lo = hex(i + 2) {
                switch hi << 4 | lo {
                case 0x2e, 0x2f, 0x5c, 0x00, 0x25: return true
                default: break
                }
            }
        }
        return false
    }

    /// The org the request names without asking anyone: an API key's own, or the browser's working org (the
    /// switcher's cookie). Nil: the caller's memberships decide (see `admit`).
    static func chosenOrg(_ caller: Caller, _ ctx: RequestContext) -> String? {
        if let scoped = caller.scopeOrg { return scoped }
        let chosen = Cookies.value(named: GatewayService.currentOrgCookie, in: ctx.request.headers)
        return chosen.flatMap { OrgID($0) != nil ? $0 : nil }
    }

    /// Who is asking, in which org, and the region's decision for this app: 401 without a session, the SSO path
    /// when the org wants it, 403 with the reason when the rule refuses, 404 for an unknown app or org. Returns
    /// the assertion to send (remembered while fresh).
    static func admit(
        _ g: GatewayService, _ ctx: RequestContext, slug: String
    ) async throws -> (AppEntryAnswer, String) {
        let caller = try await g.caller(ctx, csrf: false)
        let org: String
        if let chosen = chosenOrg(caller, ctx) {
            org = chosen
        } else {
            let mine = await g.overview(caller).memberships
            if mine.isEmpty {
                throw GatehouseError.notFound("No such app, or you are not a member of its organization.")
            }
            guard mine.count == 1 else {
                throw GatehouseError(
                    .init("choose_org"), status: 409,
                    "Choose the organization to work in first (Console → the organization switcher), then open the"
                        + " app.")
            }
            org = mine[0].orgID
        }
        let asMember = AppViewAs.member(ctx, org: org, slug: slug)
        let key = AppDecisionKey(caller: caller, org: org, slug: slug, asMember: asMember)
        let generation = g.dataGeneration
        let now = g.clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        var entry: AppEntryAnswer
        var remembered: AppDecision?
        if let generation, let d = g.appDecisions.lookup(key, generation: generation),
            RememberedAnswer.isFresh(storedAt: d.storedAt, now: now)
        {
            entry = d.entry
            remembered = d
        } else {
            let tenant = try g.regions.tenant(forOrg: org)
            do {
                entry = try await tenant.appEntry(orgID: org, slug: slug, caller: caller, asMember: asMember)
            } catch let e as GatehouseError where e.code == .ssoRequired {
                throw SSORedirect(org: org, error: e)
            }
        }
        guard entry.allowed, let identity = entry.identity else {
            if let generation, remembered == nil {
                g.appDecisions.store(
                    AppDecision(entry: entry, storedAt: now, jwt: nil, signedAt: 0), for: key, generation: generation)
            }
            throw GatehouseError(.init(entry.code), status: 403, entry.reason)
        }
        if let d = remembered, let jwt = d.jwt,
            ConnectionAdmission.isYoung(signedAt: d.signedAt, now: now, lifetime: g.assertions.lifetime)
        {
            return (entry, jwt)
        }
        let jwt = try g.assertions.sign(
            identity, app: entry, issuer: g.settings.publicBaseURL, now: now,
            actor: entry.viewer.map { ($0.accountID, $0.email) })
        if let generation {
            g.appDecisions.store(
                AppDecision(entry: entry, storedAt: remembered?.storedAt ?? now, jwt: jwt, signedAt: nowS), for: key,
                generation: generation)
        }
        return (entry, jwt)
    }

    static func identityHeaders(_ entry: AppEntryAnswer, jwt: String) -> [(String, String)] {
        var h: [(String, String)] = []
        appendIdentityHeaders(entry, jwt: jwt, to: &h)
        return h
    }

    /// The identity an upstream can trust, appended one by one (no array per request).
    static func appendIdentityHeaders(_ entry: AppEntryAnswer, jwt: String, to h: inout [(String, String)]) {
        guard let id = entry.identity else { return }
        h.append(("X-Gatehouse-Assertion", jwt))
        h.append(("X-Gatehouse-User", id.accountID))
        h.append(("X-Gatehouse-Email", id.email))
        h.append(("X-Gatehouse-Org", id.orgID))
        h.append(("X-Gatehouse-App-Role", id.appRole.rawValue))
        // View as: the upstream can tell (the assertion's `act` and `read_only` say so too, signed).
        if let v = entry.viewer {
            h.append(("X-Gatehouse-Viewed-By", v.email))
            h.append(("X-Gatehouse-Read-Only", "1"))
        }
    }

    /// Whether a client's header never reaches an upstream (see `dropped`; any `X-Gatehouse-*` too), in any case.
    static func isDropped(_ name: String) -> Bool {
        dropped.contains(name) || HeaderNameSet.name(name, hasPrefix: "x-gatehouse-")
    }

    /// Sends the request on to the app's upstream (if the operator allows it) and its answer back.
    static func forward(
        _ g: GatewayService, _ ctx: RequestContext, entry: AppEntryAnswer, jwt: String, rest: String
    ) async throws -> Response {
        let f = try forwarding(g, ctx, entry: entry, jwt: jwt, rest: rest)
        let a: HTTPClientResponse
        do {
            // Streamed both ways, except what view-as changes (its banner needs the whole page).
            a = try await f.client.send(
                method: ctx.request.method, target: f.target, headers: f.headers, body: ctx.request.body,
                bodyStream: ctx.request.bodyStream, streamResponse: entry.viewer == nil)
        } catch {
            throw upstreamError(error, app: entry.appName)
        }
        return answer(a, method: ctx.request.method)
    }

    /// Where and how a request goes to its app: the upstream's client (if the operator allows it), the target
    /// under the upstream's path, and the headers — the client's, less ours and hop-by-hop ones, plus the identity.
    static func forwarding(
        _ g: GatewayService, _ ctx: RequestContext, entry: AppEntryAnswer, jwt: String, rest: String
    ) throws -> (client: HTTPClient, target: String, headers: [(String, String)]) {
        guard let upstream = entry.upstream else {
            throw GatehouseError(
                .init("app_not_connected"), status: 502, "\(entry.appName) is not connected to anything yet.")
        }
        let route: UpstreamRoute
        switch try g.upstreams.route(upstream, settings: g.settings) {
        case .some(let r): route = r
        case .none:
            throw GatehouseError(
                .init("upstream_not_allowed"), status: 502,
                "\(entry.appName) points somewhere this gateway may not reach (apps.upstreams in its configuration).")
        }
        var headers: [(String, String)] = []
        headers.reserveCapacity(ctx.request.headers.count + 11)
        for f in ctx.request.headers {
            if isDropped(f.name) { continue }
            // Our key is not theirs.
            if HTTPHeaders.sameName(f.name, "authorization") && f.value.hasPrefix("Bearer ghk_") { continue }
            if HTTPHeaders.sameName(f.name, "cookie") {
                // Our cookies (the session above all) are credentials for Gatehouse, not for the app.
                if let kept = withoutOurCookies(f.value) { headers.append(("Cookie", kept)) }
                continue
            }
            headers.append((f.name, f.value))
        }
        appendIdentityHeaders(entry, jwt: jwt, to: &headers)
        headers.append(("X-Forwarded-For", ctx.request.remoteAddress))
        headers.append(("X-Forwarded-Proto", g.settings.publicBaseURL.hasPrefix("https") ? "https" : "http"))
        headers.append(("X-Forwarded-Host", ctx.request.headers["host"] ?? ""))
        headers.append(("X-Forwarded-Prefix", "/apps/" + entry.slug))
        return (route.client, route.prefix + rest, headers)
    }

    /// What the browser is told when the upstream did not answer.
    static func upstreamError(_ error: any Error, app appName: String) -> GatehouseError {
        switch (error as? NetError)?.code {
        case "timeout":
            return GatehouseError(.init("upstream_timeout"), status: 504, "\(appName) did not answer in time.")
        case "body_too_large":
            return GatehouseError(
                .init("body_too_large"), status: 413, "\(appName) takes bodies of at most 32 MiB over https.")
        case "client_body":
            return GatehouseError(
                .init("bad_request_body"), status: 400,
                "The request body did not arrive whole: \((error as? NetError)?.message ?? "").")
        default:
            return GatehouseError(.init("upstream_down"), status: 502, "\(appName) is not answering right now.")
        }
    }

    /// The upstream's answer for the browser: hop-by-hop headers and Gatehouse's cookies removed, the body as it
    /// came (or still comes).
    static func answer(_ a: HTTPClientResponse, method: String) -> Response {
        var r = Response(status: a.status, headers: HTTPHeaders(reservingCapacity: a.headers.count), body: a.body)
        r.bodySource = a.bodySource
        if method == "HEAD" { r.headLength = a.header("content-length").flatMap { Int($0) } }
        for (n, v) in a.headers where !droppedFromUpstream.contains(n) {
            // An app cannot set Gatehouse's cookies.
            if n == "set-cookie" && startsWithOurName(v.utf8.drop { $0 == 32 || $0 == 9 }) { continue }
            r.headers.add(n, v)
        }
        return r
    }
}

/// A `Cookie` header without Gatehouse's cookies (`gh_*`), or nil when nothing is left. Bytes in place, not
/// Foundation or generic splits: this runs for every proxied request.
func withoutOurCookies(_ value: String) -> String? {
    var value = value
    return value.withUTF8 { b -> String? in
        var kept: [UInt8] = []
        var i = 0
        while i < b.count {
            var end = i
            while end < b.count && b[end] != 59 { end += 1 }  // ';'
            var s = i
            var e = end
            while s < e && (b[s] == 32 || b[s] == 9) { s += 1 }
            while e > s && (b[e - 1] == 32 || b[e - 1] == 9) { e -= 1 }
            if s < e && !startsWithOurName(b[s..<e]) {
                if kept.isEmpty {
                    kept.reserveCapacity(b.count)
                } else {
                    kept.append(contentsOf: [59, 32])
                }
                kept.append(contentsOf: UnsafeBufferPointer(rebasing: b[s..<e]))
            }
            i = end + 1
        }
        return kept.isEmpty ? nil : String(decoding: kept, as: UTF8.self)
    }
}

/// Whether a cookie (name=value…) is one of Gatehouse's (`gh_`), by bytes.
func startsWithOurName<S: Collection>(_ bytes: S) -> Bool where S.Element == UInt8 {
    var i = bytes.makeIterator()
    return i.next() == 103 && i.next() == 104 && i.next() == 95  // "gh_"
}

/// A remembered decision: whose, in which org, for which app.
package struct AppDecisionKey: Hashable, Sendable {
    let caller: Caller
    let org: String
    let slug: String
    /// "View as": the member whose eyes the caller looks through.
    var asMember: String? = nil

    /// Hashes what tells keys apart in practice (the account, org, app and view-as member), not every field of the
    /// caller: probed on every proxied request. Equality still compares every field.
    package func hash(into h: inout Hasher) {
        h.combine(caller.accountID)
        h.combine(org)
        h.combine(slug)
        h.combine(asMember)
    }
}

/// "View as" inside an app: the browser's choice (org, member, app), kept in a cookie the console sets; the region
/// decides on every request whether the caller may (see `RegionService.viewable`).
package enum AppViewAs {
    package static let cookie = "gh_appview"

    package static func value(org: String, member: String, slug: String) -> String {
        Base64URL.encode(Array("\(org)\n\(member)\n\(slug)".utf8))
    }

    /// The browser's choice as (org, member, slug), when it made one.
    package static func choice(_ headers: HTTPHeaders) -> (org: String, member: String, slug: String)? {
        guard let v = Cookies.value(named: cookie, in: headers), let raw = Base64URL.decode(v) else { return nil }
        let p = String(decoding: raw.prefix(300), as: UTF8.self).split(separator: "\n").map(String.init)
        return p.count == 3 ? (p[0], p[1], p[2]) : nil
    }

    /// The member to view `slug` of `org` as, when the browser asked for it.
    static func member(_ ctx: RequestContext, org: String, slug: String) -> String? {
        guard let c = choice(ctx.request.headers), c.org == org, c.slug == slug else { return nil }
        return c.member
    }
}

/// The region's answer and the assertion signed for it (with when each was made).
package struct AppDecision: Sendable {
    let entry: AppEntryAnswer
    let storedAt: Date
    let jwt: String?
    let signedAt: Int
}

/// A GET's admission to an app, kept on the client's connection for its next GET (see `ConnectionMemory`): taken
/// again only for the same credentials, as sent, the same app and the same generation of every store, and only
/// while each remembered part would still be taken by the way that looks it up — the session's copy
/// (`Sessions.Live.holds`), the decision (`RememberedAnswer.isFresh`) and its assertion (`isYoung`). The same
/// values under the same tests: the answer is the one the lookups would give.
///
/// The cookie header is kept as sent (the session token in it): the connection's own bytes, for as long as the
/// connection is open, never beside another client's.
final class ConnectionAdmission: Sendable {
    let credentials: String
    let slug: String
    let generation: UInt64
    let session: Sessions.Live
    let decision: AppDecision

    init(credentials: String, slug: String, generation: UInt64, session: Sessions.Live, decision: AppDecision) {
        self.credentials = credentials
        self.slug = slug
        self.generation = generation
        self.session = session
        self.decision = decision
    }

    /// What names the caller in a request: its one `Cookie` header, when it has exactly one and no
    /// `Authorization` (API keys are looked up each time). Nil: nothing is kept or taken for this request.
    static func credentials(_ headers: HTTPHeaders) -> String? {
        var found: String?
        for f in headers.fields {
            let n = f.name.utf8.count
            if n == 6 && HTTPHeaders.sameName(f.name, "cookie") {
                guard found == nil else { return nil }
                found = f.value
            } else if n == 13 && HTTPHeaders.sameName(f.name, "authorization") {
                return nil
            }
        }
        return found
    }

    /// An assertion is sent while less than half its life is gone (then signed again).
    static func isYoung(signedAt: Int, now: Date, lifetime: Int) -> Bool {
        Int(now.timeIntervalSince1970) - signedAt < lifetime / 2
    }

    /// The admission again, when this request is the same ask and every part would still be taken.
    func decision(
        credentials: String, slug: String, generation: UInt64, now: Date, assertionLifetime: Int
    ) -> (AppEntryAnswer, String)? {
        guard generation == self.generation, slug == self.slug, credentials == self.credentials,
            session.holds(at: now.timeIntervalSince1970),
            RememberedAnswer.isFresh(storedAt: decision.storedAt, now: now),
            Self.isYoung(signedAt: decision.signedAt, now: now, lifetime: assertionLifetime), let jwt = decision.jwt
        else { return nil }
        return (decision.entry, jwt)
    }
}

/// The org wants its SSO session for this: a browser is sent there and comes back.
struct SSORedirect: Error {
    let org: String
    let error: GatehouseError
}

/// An HTML page of an app seen as someone else carries a banner saying so, with the way out.
func banner(_ r: Response, entry: AppEntryAnswer, viewer v: AppViewer) -> Response {
    guard r.headers["content-type"]?.lowercased().hasPrefix("text/html") == true else { return r }
    let body = r.body
    guard let open = body.firstRange(of: Array("<body".utf8)),
        let close = body[open.upperBound...].firstIndex(of: UInt8(ascii: ">"))
    else { return r }
    let org = entry.identity?.orgID ?? ""
    let note: HTML =
        "<div role=\"status\" id=\"gatehouse-view-as\" style=\"padding:8px 12px;background:#fff8c5;color:#1b1f24;"
        + "border-bottom:2px solid #9a6700;font:600 14px system-ui,sans-serif\">Viewing \(entry.appName) as"
        + " \(v.memberName) — read-only. <a href=\"/console/\(org)/apps/\(entry.appID)/view-as-end\">Stop viewing"
        + " as</a></div>"
    var out = r
    out.body = Array(body[..<(close + 1)]) + note.utf8 + Array(body[(close + 1)...])
    return out
}

extension Array where Element == String {
    fileprivate func splitFirst() -> (String, String?) { (first ?? "", count > 1 ? self[1] : nil) }
}

/// Where an app's requests go: the client for its upstream's origin and the path prefix in front of theirs.
struct UpstreamRoute: Sendable {
    let client: HTTPClient
    let prefix: String
}

/// Keep-alive clients to app upstreams, one per origin, and each upstream URL's route, parsed and checked against
/// the operator's allowlist once (not for every request: Foundation's URL parsing was a tenth of a proxied request).
package final class UpstreamClients: Sendable {
    private let clients = Mutex<[String: HTTPClient]>([:])
    private let routes = Mutex<[String: UpstreamRoute]>([:])
    let caFile: String?
    package init(caFile: String?) { self.caFile = caFile }

    /// Origins with a client (tests: one per upstream, however many requests).
    package var count: Int { clients.withLock { $0.count } }
    /// Requests sent with no task (tests: which way ran).
    package var sentWithoutTask: Int {
        clients.withLock { $0.values.reduce(0) { $0 + $1.requestsWithoutTask.load(ordering: .relaxed) } }
    }

    /// The route to `upstream`, or nil when the operator's allowlist does not let the gateway reach it. The
    /// allowlist is the gateway's configuration, fixed for the process: a route once allowed stays allowed.
    func route(_ upstream: String, settings: GatewaySettings) throws -> UpstreamRoute? {
        if let r = routes.withLock({ $0[upstream] }) { return r }
        guard let base = URLComponents(string: upstream), let host = base.host else {
            throw GatehouseError(.init("app_not_connected"), status: 502, "The app's upstream address is not valid.")
        }
        let port = base.port ?? (base.scheme == "https" ? 443 : 80)
        guard settings.allowsUpstream(host: host, port: port) else { return nil }
        let r = UpstreamRoute(
            client: try client("\(base.scheme ?? "http")://\(host):\(port)"),
            prefix: base.path.hasSuffix("/") ? String(base.path.dropLast()) : base.path)
        routes.withLock { d in
            if d.count > 10_000 { d.removeAll() }  // upstream URLs are few; a bound all the same
            d[upstream] = r
        }
        return r
    }
    func client(_ origin: String) throws -> HTTPClient {
        if let c = clients.withLock({ $0[origin] }) { return c }
        // 32 requests in flight per upstream: a slow page of an app must not hold up its other pages.
        let c = try HTTPClient(
            baseURL: origin, caFile: caFile, connectTimeoutMillis: 2_000, ioTimeoutMillis: 30_000, width: 32,
            retryIdempotent: true)
        // The first made for an origin is kept (and so are its connections); a racing second is dropped.
        return clients.withLock { d in
            if let kept = d[origin] { return kept }
            d[origin] = c
            return c
        }
    }
}
