import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// Members: search, filter, sort, pages, selection with bulk actions (confirmed by a page that names who and
/// what), copy emails, the edit panel, and "view as".
enum MembersPage {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/console") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Fconsole")
            }
            if let org = Cookies.value(named: AccountPages.currentOrgCookie, in: ctx.request.headers), OrgID(org) != nil
            {
                return .redirect(to: "/console/\(org)/members")
            }
            let orgs = await g.overview(s.caller).memberships
            if let first = orgs.first { return .redirect(to: "/console/\(first.orgID)/members") }
            return HTMLPage.notice(
                "No organization yet", "You are not a member of any organization yet.", action: ("Home", "/"),
                status: 200, viewer: s.viewer())
        }
        b.console("GET", "/console/:org", { c in .redirect(to: "\(c.base)/members") }, gateway: g)
        b.console("GET", "/console/:org/members", { c in try await list(c) }, gateway: g)
        // "View as" starts here and lasts across every tab (a cookie naming org and member) until stopped; the
        // console re-checks it on every page, so a member removed or promoted past the viewer ends it.
        b.console(
            "GET", "/console/:org/view-as/:member",
            { c in
                let member = try c.ctx.parameter("member")
                var real = c
                if c.viewingAs != nil {
                    switch try await Console.open(c.g, c.ctx, viewAs: false) {
                    case .success(let plain): real = plain
                    case .failure(let exit): return exit.response
                    }
                }
                _ = try await real.viewAs(member)
                var r = Response.redirect(to: "\(c.base)/members")
                r.setCookie(Console.startViewAs(c.g, org: c.org, member: member))
                return r
            }, gateway: g)
        b.console(
            "GET", "/console/:org/stop-view-as",
            { c in
                var r = Response.redirect(to: "\(c.base)/members")
                r.setCookie(Console.stopViewAs(c.g))
                return r
            }, gateway: g)
        b.console("POST", "/console/:org/members/bulk", { c in try await bulk(c) }, gateway: g)
        b.console("GET", "/console/:org/members/:member", { c in try await edit(c, error: nil) }, gateway: g)
        b.console("POST", "/console/:org/members/:member", { c in try await save(c) }, gateway: g)
        b.console(
            "POST", "/console/:org/members/:member/apps",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let member = try c.ctx.parameter("member")
                let app = form.value("app") ?? ""
                do {
                    if let role = AppRole(rawValue: form.value("appRole") ?? "") {
                        try await c.api.grant(app: app, member: member, role: role)
                    } else {
                        try await c.api.revoke(app: app, member: member)
                    }
                } catch let e as GatehouseError {
                    return try await edit(c, error: e.message, status: e.status)
                }
                return c.redirect(
                    "\(c.base)/members/\(FormDecoding.percentEncode(member))", flash: "App access updated.")
            }, gateway: g)
    }

    // MARK: - List

    static func list(_ c: Console) async throws -> Response {
        // "View as": the same page with that member's permissions (the console's), read-only, bannered.
        let perms = c.permissions
        let viewAs = c.viewingAs?.member.id
        let query = MemberListQuery(c.ctx)
        let invitation =
            ["pending", "expired", "revoked"].contains(c.ctx.query("invitation") ?? "")
            ? c.ctx.query("invitation")! : ""
        let invites =
            invitation.isEmpty ? nil : try await c.api.invites([("limit", "200"), ("status", invitation)]).invites
        let model = MembersListModel(
            query: query, invitation: invitation,
            page: invitation.isEmpty ? try await c.api.members(query.pairs(cursor: query.cursor)) : nil,
            invites: invites, roles: try await c.api.roles(), apps: (try? await c.api.apps()) ?? [],
            permissions: perms, readOnly: viewAs != nil, canViewAs: c.may(.membersView) && viewAs == nil,
            base: c.base, here: "\(c.base)/members", now: c.g.clock.now())
        return c.render("Members", tab: "members", body: MembersListView.render(model, csrfField: c.csrfField))
    }

    static func name(_ m: MemberView) -> String {
        let n = [m.firstName, m.lastName].filter { !$0.isEmpty }.joined(separator: " ")
        return n.isEmpty ? m.email : n
    }

    // MARK: - Bulk actions: confirm, then apply

    static func bulk(_ c: Console) async throws -> Response {
        var form = try c.ctx.formPairs()
        if let refused = c.checkForm(form) { return refused }
        // A row's own buttons stand for that one member, whatever else is ticked: Remove… goes through the
        // confirmation; Change applies the row's role at once (one member, and reversible).
        if let id = form.value("row-remove") {
            form = [("action", "remove"), ("member", id)]
        } else if let id = form.value("row-role") {
            form = [
                ("action", "change_roles"), ("member", id), ("role", form.value("role-\(id)") ?? ""),
                ("confirm", "yes"),
            ]
        }
        let ids = form.filter { $0.0 == "member" }.map(\.1)
        let action = form.value("action") ?? ""
        guard !ids.isEmpty else { return c.redirect("\(c.base)/members", flash: "Select at least one member first.") }
        guard ids.count <= 500 else {
            return c.redirect("\(c.base)/members", flash: "Select at most 500 members at once.")
        }
        var people: [MemberView] = []
        for id in ids {
            people.append(try await c.api.member(id))
        }
        let names = people.map { "\(name($0)) (\($0.email))" }
        let count = ids.count == 1 ? "1 member" : "\(ids.count) members"
        if action == "copy_emails" {
            let emails = people.map(\.email).joined(separator: "\n")
            let body: HTML =
                "<p>\(people.count) email address\(people.count == 1 ? "" : "es"):</p><label for=\"emails\">Emails"
                + "</label><textarea id=\"emails\" rows=\"\(min(12, people.count + 1))\" readonly>\(emails)"
                + "</textarea>"
                + "<div class=\"actions\"><button type=\"button\" data-copy=\"\(emails)\" hidden>Copy to clipboard"
                + "</button><a class=\"button secondary\" href=\"\(c.base)/members\">Back to members</a></div>"
            return c.render("Copy emails", tab: "members", body: body)
        }
        let roles = try await c.api.roles()
        let apps = (try? await c.api.apps()) ?? []
        let what: String
        var request: BulkRequest
        switch action {
        case "change_roles":
            guard let role = form.value("role"), let r = roles.first(where: { $0.id == role }) else {
                return c.redirect("\(c.base)/members", flash: "Choose a role.")
            }
            what = "Change the role of \(count) to \(r.name)"
            request = BulkRequest(action: .changeRoles, members: ids, roles: [role])
        case "grant_app", "revoke_app":
            guard let app = form.value("app"), let a = apps.first(where: { $0.id == app }) else {
                return c.redirect("\(c.base)/members", flash: "Choose an app.")
            }
            let appRole = AppRole(rawValue: form.value("appRole") ?? "") ?? .viewer
            what =
                action == "grant_app"
                ? "Give \(count) access to \(a.name) as \(appRole.rawValue)"
                : "Take away access to \(a.name) from \(count)"
            request = BulkRequest(
                action: action == "grant_app" ? .grantApp : .revokeApp, members: ids, app: app, appRole: appRole)
        case "remove":
            what = "Remove \(count) from \(c.orgName)"
            request = BulkRequest(action: .remove, members: ids)
        default:
            return c.redirect("\(c.base)/members", flash: "Choose an action.")
        }
        if form.value("confirm") != "yes" {
            var body: HTML =
                "<p><strong>\(what)?</strong></p><ul id=\"confirm-list\">" + names.map { "<li>\($0)</li>" }.joined()
                + "</ul>"
            body +=
                "<form method=\"post\" action=\"\(c.base)/members/bulk\">\(c.csrfField)<input type=\"hidden\""
                + " name=\"confirm\" value=\"yes\">"
            for (k, v) in form where k != "csrf" && k != "confirm" {
                body += "<input type=\"hidden\" name=\"\(k)\" value=\"\(v)\">"
            }
            body +=
                "<div class=\"actions\"><button type=\"submit\"\(if: action == "remove", " class=\"danger\"")>Yes,"
                + " \(what.prefix(1).lowercased() + what.dropFirst())</button><a class=\"button secondary\""
                + " href=\"\(c.base)/members\">Cancel</a></div></form>"
            return c.render("Confirm", tab: "members", body: body)
        }
        let result = try await c.api.bulk(request)
        if result.applied {
            return c.redirect("\(c.base)/members", flash: "Done: \(what.prefix(1).lowercased() + what.dropFirst()).")
        }
        // All or none (rule 7): nothing changed, and the page names who blocked it.
        let byID = Dictionary(people.map { ($0.id, name($0)) }, uniquingKeysWith: { a, _ in a })
        var body: HTML =
            "<p class=\"error\" role=\"alert\">Nothing was changed: \(result.refusals.count) of the selected"
            + " cannot be changed this way.</p><ul>"
        for refusal in result.refusals {
            body += "<li><strong>\(byID[refusal.member] ?? refusal.member)</strong>: \(refusal.message)</li>"
        }
        body += "</ul><p><a href=\"\(c.base)/members\">Back to members</a></p>"
        return c.render("Nothing changed", tab: "members", body: body, status: 409)
    }

    // MARK: - Edit panel

    static func edit(_ c: Console, error: String?, status: Int = 200) async throws -> Response {
        let m = try await c.api.member(try c.ctx.parameter("member"))
        let model = MemberPanelModel(
            member: m, roles: try await c.api.roles(), apps: (try? await c.api.apps()) ?? [],
            permissions: c.permissions, error: error)
        return c.render(
            model.name, tab: "members", body: MemberPanelView.render(model, base: c.base, csrfField: c.csrfField),
            status: status)
    }

    static func startingPageName(_ p: StartingPage) -> String {
        switch p {
        case .studio: return "Studio"
        case .console: return "Console"
        case .portal: return "Portal"
        case .agentConsole: return "Agent Console"
        }
    }

    static func save(_ c: Console) async throws -> Response {
        let form = try c.ctx.formPairs()
        if let refused = c.checkForm(form) { return refused }
        let id = try c.ctx.parameter("member")
        let vars = ConsoleForms.variables(form)
        let roles = form.filter { $0.0 == "roles" }.map(\.1)
        guard !roles.isEmpty else { return try await edit(c, error: "Choose at least one role.", status: 422) }
        let patch = MemberPatch(
            roles: roles, userVariables: vars, startingPage: StartingPage(rawValue: form.value("startingPage") ?? ""),
            firstName: form.value("firstName"), lastName: form.value("lastName"), ssoOnly: form.value("ssoOnly") == "1")
        do { _ = try await c.api.updateMember(id, patch) } catch let e as GatehouseError {
            return try await edit(c, error: e.message, status: e.status)
        }
        return c.redirect("\(c.base)/members/\(FormDecoding.percentEncode(id))", flash: "Saved.")
    }
}

/// The members list's filters as a value: what the region is asked, and every link that keeps them (the pager
/// asks for another cursor; nothing edits a query string).
struct MemberListQuery {
    var q: String
    var role: String
    var status: String
    var sort: String
    var order: String
    var cursor: String?

    init(_ ctx: RequestContext) {
        q = ctx.query("q") ?? ""
        role = ctx.query("role") ?? ""
        status = ctx.query("status") ?? ""
        sort = ["name", "apps", "last_active"].contains(ctx.query("sort") ?? "") ? ctx.query("sort")! : "name"
        order = ctx.query("order") == "desc" ? "desc" : "asc"
        cursor = ctx.query("cursor")
    }

    /// The region's query: a page of 50 with these filters, from `cursor` (nil: the first page).
    func pairs(cursor: String?) -> [(String, String)] {
        var p = [("limit", "50"), ("sort", sort), ("order", order)]
        if !q.isEmpty { p.append(("q", q)) }
        if !role.isEmpty { p.append(("role", role)) }
        if !status.isEmpty { p.append(("status", status)) }
        if let cursor { p.append(("cursor", cursor)) }
        return p
    }

    /// This list at `cursor`, under `base` (the members page or a "view as" page).
    func href(_ base: String, cursor: String?) -> String {
        base + "?"
            + pairs(cursor: cursor).map { FormDecoding.percentEncode($0.0) + "=" + FormDecoding.percentEncode($0.1) }
            .joined(separator: "&")
    }
}
