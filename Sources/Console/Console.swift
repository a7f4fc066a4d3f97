import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// What every console page knows: who is looking, which org, what they may do there, and how to ask the
/// org's region (through the same `RegionTenant` as the API, so every rule is the region's).
struct Console {
    let g: GatewayService
    let ctx: RequestContext
    let session: BrowserSession
    let org: String
    let orgName: String
    let tenant: any RegionTenant
    var permissions: Set<String>
    let memberships: [MembershipSummary]
    /// Invitations waiting for this person (the header's badge).
    let pendingInvites: Int
    /// The viewer's agency when they are agency people (their Agency tab shows it; the region limits the rest).
    var agency: String? = nil
    /// "View as": every tab shows what this member would see, read-only, until stopped. `permissions` are then
    /// theirs (tabs and forms follow them) while every region call is still made as the real viewer, so nothing
    /// is shown that the viewer could not see anyway.
    var viewingAs: ViewAs?

    struct ViewAs {
        let member: MemberView
        let permissions: PermissionsView
    }

    static let viewAsCookie = "gh_viewas"

    /// The console for `org`, or the response to send instead (sign in, SSO, not found).
    static func open(
        _ g: GatewayService, _ ctx: RequestContext, viewAs: Bool = true
    ) async throws -> Result<Console, ConsoleExit> {
        guard let s = try await BrowserSession.current(g, ctx) else {
            return .failure(ConsoleExit(.redirect(to: "/login?next=" + FormDecoding.percentEncode(ctx.request.target))))
        }
        let org = try ctx.parameter("org")
        guard let tenant = try? g.regions.tenant(forOrg: org) else { return .failure(ConsoleExit(notFound(s))) }
        do {
            let standing = try await tenant.standing(orgID: org, caller: s.caller)
            let overview = await g.overview(s.caller)
            var c = Console(
                g: g, ctx: ctx, session: s, org: org, orgName: standing.orgName, tenant: tenant,
                permissions: Set(standing.permissions), memberships: overview.memberships,
                pendingInvites: overview.pending.count, agency: standing.agency)
            if viewAs, let member = viewAsMember(ctx, org: org), let seen = try? await c.viewAs(member) {
                c.viewingAs = seen
                c.permissions = Set(seen.permissions.permissions.map(\.rawValue))
            }
            return .success(c)
        } catch let e as GatehouseError {
            if e.code == .ssoRequired {
                return .failure(
                    ConsoleExit(
                        .redirect(to: "/sso/\(org)/login?next=" + FormDecoding.percentEncode(ctx.request.target))))
            }
            if e.status == 404 { return .failure(ConsoleExit(notFound(s))) }
            return .failure(
                ConsoleExit(
                    HTMLPage.notice(
                        "Not available", e.message, action: ("Home", "/"), status: e.status, viewer: s.viewer())))
        }
    }

    static func notFound(_ s: BrowserSession) -> Response {
        HTMLPage.notice(
            "Not found", "That organization does not exist or you are not a member of it.", action: ("Home", "/"),
            status: 404, viewer: s.viewer())
    }

    func may(_ p: Permission) -> Bool { permissions.contains(p.rawValue) }

    /// The member this browser views the org as (the cookie names org and member), if any.
    static func viewAsMember(_ ctx: RequestContext, org: String) -> String? {
        guard let v = Cookies.value(named: viewAsCookie, in: ctx.request.headers), let raw = Base64URL.decode(v) else {
            return nil
        }
        let parts = String(decoding: raw.prefix(200), as: UTF8.self).split(separator: "\n", maxSplits: 1)
        return parts.count == 2 && parts[0] == org ? String(parts[1]) : nil
    }

    /// Whom "view as" may show: a member whose permissions the viewer holds all of (so every page they would see,
    /// the viewer may see too, and the view is exact; rule 2's test). Refuses with the reason otherwise.
    func viewAs(_ member: String) async throws -> ViewAs {
        guard may(.membersView) else { throw GatehouseError.forbidden("Your role does not see members.") }
        let m = try await api.member(member)
        let p = try await api.permissions(of: member)
        guard Set(p.permissions.map(\.rawValue)).isSubset(of: permissions) else {
            throw GatehouseError.forbidden(
                "\(MembersPage.name(m)) holds permissions your roles do not, so viewing as them would show pages you"
                    + " cannot see. Ask an owner or admin.")
        }
        return ViewAs(member: m, permissions: p)
    }

    static func startViewAs(_ g: GatewayService, org: String, member: String) -> SetCookie {
        SetCookie(
            name: viewAsCookie, value: Base64URL.encode(Array("\(org)\n\(member)".utf8)), path: "/", maxAge: 3600,
            httpOnly: true, secure: g.settings.secureCookies, sameSite: .lax)
    }

    static func stopViewAs(_ g: GatewayService) -> SetCookie {
        SetCookie.expire(viewAsCookie, secure: g.settings.secureCookies)
    }

    /// The banner every tab shows while viewing as someone: who, their roles, what they may and may not do, and
    /// the way out.
    var viewAsBanner: HTML? {
        guard let v = viewingAs else { return nil }
        let may = Permission.allCases.filter { v.permissions.allowed[$0.rawValue] == true }
        let mayNot = Permission.allCases.filter { v.permissions.allowed[$0.rawValue] != true }
        var h: HTML =
            "Viewing as \(MembersPage.name(v.member)) (\(HTMLPage.roleNames(v.member.roles))) — read-only. <a"
            + " href=\"\(base)/stop-view-as\">Stop viewing as</a>"
        h +=
            "<details id=\"view-as-may\"><summary>What \(MembersPage.name(v.member)) may do</summary><ul>"
            + may.map { p -> HTML in "<li>\(p.summary)</li>" }.joined() + "</ul>"
        if !mayNot.isEmpty {
            h +=
                "<p>May not:</p><ul class=\"meta\">" + mayNot.map { p -> HTML in "<li>\(p.summary)</li>" }.joined()
                + "</ul>"
        }
        return h + "</details>"
    }

    var viewer: HTMLPage.Viewer {
        session.viewer(memberships: memberships, currentOrg: org, pendingInvites: pendingInvites)
    }
    var csrf: String { session.csrf }
    var csrfField: HTML { "<input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">" }
    var base: String { "/console/\(org)" }

    // MARK: - Region calls

    /// This org's region API as this person: typed calls whose refusals are the region's `GatehouseError`s.
    var api: OrgAPI {
        let (g, tenant, caller) = (self.g, self.tenant, session.caller)
        return OrgAPI(
            tenant: tenant, org: org, caller: caller, requestID: ctx.request.id,
            remoteAddress: ctx.request.remoteAddress,
            forward: { try await g.forward($0, to: tenant, caller: caller) })
    }

    /// The flash message after a form: `done` when the region agreed, else its refusal's message.
    func outcome(_ done: String, _ change: () async throws -> Void) async -> String {
        do {
            try await change()
            return done
        } catch let e as GatehouseError {
            return e.message
        } catch {
            return "That did not work; try again."
        }
    }

    // MARK: - Rendering

    /// The console layout: org heading, the tabs this person may use, a flash message, the page.
    func render(
        _ title: String, tab: String, body: HTML, status: Int = 200, banner: HTML? = nil
    ) -> Response {
        let may: (Permission) -> Bool = { self.permissions.contains($0.rawValue) }
        let base = self.base
        var tabs: [(String, String, Bool)] = [
            ("members", "Members", may(.membersView)), ("invites", "Invites", may(.membersView)),
            ("apps", "Apps", may(.orgView)), ("roles", "Roles", may(.orgView)),
            ("apikeys", "API keys", may(.apikeysCreate)), ("sso", "SSO", may(.ssoManage)),
            ("audit", "Audit log", may(.auditView)), ("agency", "Agency", may(.appsGrant) || agency != nil),
            ("settings", "Settings", may(.orgView)),
        ]
        tabs = tabs.filter { $0.2 }
        let links: [HTML] = tabs.map { key, label, _ in
            "<a href=\"\(base)/\(key)\"\(if: key == tab, " aria-current=\"page\"")>\(label)</a>"
        }
        var html: HTML = "<div class=\"console-head\"><p class=\"meta\">\(orgName) · <code>\(org)</code></p>"
        html += "<nav class=\"tabs\" aria-label=\"Console\">\(links)</nav></div>"
        if let banner = banner ?? viewAsBanner { html += "<div class=\"banner\" role=\"status\">\(banner)</div>" }
        html += Flash.html(ctx.request.headers)
        // Read-only while viewing as someone: every control of the page is disabled (the server refuses changes too).
        let page: HTML = viewingAs == nil ? body : "<fieldset class=\"plain\" disabled>\(body)</fieldset>"
        var r = HTMLPage.render(title: title, viewer: viewer, body: html + page, status: status, wide: true)
        if Flash.read(ctx.request.headers) != nil { r.setCookie(Flash.clear(g)) }
        return r
    }

    /// A redirect that shows `message` once on the next page (after a form, the browser lands on a GET).
    func redirect(_ path: String, flash message: String) -> Response {
        var r = Response.redirect(to: path)
        r.setCookie(Flash.set(g, message))
        return r
    }

    /// Asks first (see `HTMLPage.confirmation`): nil when the form says `confirm=yes`, else the page that asks.
    func confirmFirst(
        _ form: [(String, String)], title: String, _ message: HTML, button: String, cancel: String, tab: String
    ) -> Response? {
        guard form.value("confirm") != "yes" else { return nil }
        return render(
            title, tab: tab,
            body: HTMLPage.confirmation(
                message, action: String(ctx.request.path), csrf: csrf, fields: form, button: button, cancel: cancel))
    }

    /// The form's CSRF check; the page to show when it fails.
    func checkForm(_ form: [(String, String)]) -> Response? {
        BrowserSession.checkForm(g, ctx, form)
            ? nil
            : render(
                "Try again", tab: "", body: "<p class=\"error\">This form expired. Go back, reload and try again.</p>",
                status: 403)
    }
}

/// A response that ends a console request early (sign in, not found).
struct ConsoleExit: Error {
    let response: Response
    init(_ r: Response) { response = r }
}

extension RouterBuilder {
    /// A console page: opens the console (session, org, permissions) and turns refusals into pages.
    func console(
        _ method: String, _ path: String, _ handler: @escaping @Sendable (Console) async throws -> Response,
        gateway g: GatewayService
    ) {
        let wrapped: @Sendable (RequestContext) async throws -> Response = { ctx in
            switch try await Console.open(g, ctx) {
            case .failure(let exit): return exit.response
            case .success(let c):
                if let v = c.viewingAs, method != "GET" {
                    return c.render(
                        "Read-only", tab: "",
                        body:
                            "<p class=\"error\" role=\"alert\">You are viewing the organization as"
                            + " \(MembersPage.name(v.member)): nothing can be changed. Stop viewing as them first.</p>",
                        status: 403)
                }
                // A refusal (the region's, through `OrgAPI`, or the page's own) becomes a page, never JSON.
                do { return try await handler(c) } catch let r as GatehouseError where r.status < 500 {
                    return c.render(
                        "Not allowed", tab: "",
                        body:
                            "<p class=\"error\" role=\"alert\">\(r.message)</p><p><a href=\"\(c.base)/members\">Back"
                            + " to the console</a></p>",
                        status: r.status)
                }
            }
        }
        guard method == "GET" else { return on(method, path, wrapped) }
        // A page is remembered whole (`GatewayService.pages`) until the next write in any store, per browser and
        // address: a reload or a second tab costs a session check and a lookup. The session is checked first,
        // so an expired one never gets a remembered page.
        sync(
            "GET", path,
            { ctx in
                guard ctx.request.method == "GET", let generation = g.dataGeneration, let token = g.sessionToken(ctx),
                    g.sessionIsLiveNow(token)
                else { return nil }
                return g.answers.answer(AnswerKey(ctx.request), generation: generation, now: g.clock.now())
            },
            else: { ctx in
                guard ctx.request.method == "GET", let generation = g.dataGeneration else {
                    return try await wrapped(ctx)
                }
                let key = AnswerKey(ctx.request)
                return try await g.answers.coalescing(key, generation: generation) {
                    var r = try await wrapped(ctx)
                    g.answers.remember(&r, key, generation: generation, now: g.clock.now())
                    return r
                }
            })
    }
}
