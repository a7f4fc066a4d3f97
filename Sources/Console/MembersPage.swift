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
    static let dateFormat: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "d MMM yyyy"
        return f
    }()

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/console") { ctx in
            guard let s = try BrowserSession.current(g, ctx) else { return .redirect(to: "/login?next=%2Fconsole") }
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
        b.console("GET", "/console/:org/members", { c in try await list(c, viewAs: nil) }, gateway: g)
        b.console(
            "GET", "/console/:org/view-as/:member",
            { c in
                let member = try c.ctx.parameter("member")
                return try await list(c, viewAs: member)
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

    static func list(_ c: Console, viewAs: String?) async throws -> Response {
        // "View as": the same page with that member's permissions, read-only, bannered.
        var perms = c.permissions
        var banner: HTML?
        if let viewAs {
            let p = try await c.api.permissions(of: viewAs)
            let who = try await c.api.member(viewAs)
            perms = Set(p.permissions.map(\.rawValue))
            banner =
                "Viewing as \(name(who)) (\(HTMLPage.roleNames(who.roles))) — read-only. <a"
                + " href=\"\(c.base)/members\">Stop viewing as</a>"
        }
        let query = MemberListQuery(c.ctx)
        let (q, role, status, sort, order) = (query.q, query.role, query.status, query.sort, query.order)
        let invitation =
            ["pending", "expired", "revoked"].contains(c.ctx.query("invitation") ?? "")
            ? c.ctx.query("invitation")! : ""
        let page = try await c.api.members(query.pairs(cursor: query.cursor))
        let roles = try await c.api.roles()
        let apps = (try? await c.api.apps()) ?? []
        let readOnly = viewAs != nil
        let canEdit = !readOnly && perms.contains(Permission.membersEdit.rawValue)
        let canRemove = !readOnly && perms.contains(Permission.membersRemove.rawValue)
        let canGrant = !readOnly && perms.contains(Permission.appsGrant.rawValue)
        let selectable = !readOnly

        let here = viewAs.map { "\(c.base)/view-as/\($0)" } ?? "\(c.base)/members"
        var h: HTML = "<form class=\"filters\" method=\"get\" action=\"\(here)\" role=\"search\">"
        h +=
            "<div><label for=\"q\">Search</label><input id=\"q\" name=\"q\" type=\"search\" value=\"\(q)\""
            + " placeholder=\"Name or email\"></div>"
        h +=
            "<div><label for=\"role\">Role</label><select id=\"role\" name=\"role\"><option value=\"\">Any role"
            + "</option>"
        for r in roles { h += "<option value=\"\(r.id)\"\(r.id == role ? " selected" : "")>\(r.name)</option>" }
        h += "</select></div><div><label for=\"status\">Activity</label><select id=\"status\" name=\"status\">"
        for (v, l) in [
            ("", "Anyone"), ("active", "Active (30 days)"), ("inactive", "Inactive"), ("never", "Never signed in"),
        ] {
            h += "<option value=\"\(v)\"\(v == status ? " selected" : "")>\(l)</option>"
        }
        h +=
            "</select></div><div><label for=\"invitation\">Invitation</label><select id=\"invitation\""
            + " name=\"invitation\">"
        for (v, l) in [
            ("", "Joined"), ("pending", "Invited, pending"), ("expired", "Invite expired"),
            ("revoked", "Invite revoked"),
        ] {
            h += "<option value=\"\(v)\"\(v == invitation ? " selected" : "")>\(l)</option>"
        }
        h += "</select></div><div><label for=\"sort\">Sort by</label><select id=\"sort\" name=\"sort\">"
        for (v, l) in [("name", "Name"), ("apps", "Number of apps"), ("last_active", "Last active")] {
            h += "<option value=\"\(v)\"\(v == sort ? " selected" : "")>\(l)</option>"
        }
        h += "</select></div><div><label for=\"order\">Order</label><select id=\"order\" name=\"order\">"
        h +=
            "<option value=\"asc\"\(order == "asc" ? " selected" : "")>Ascending</option><option"
            + " value=\"desc\"\(order == "desc" ? " selected" : "")>Descending</option></select></div>"
        h += "<div><button type=\"submit\">Apply</button></div></form>"

        if !invitation.isEmpty {
            // People invited but not (yet) members: the invites with that status, matching the search and role.
            let invites = try await c.api.invites([("limit", "200"), ("status", invitation)]).invites.filter { i in
                (q.isEmpty || i.email.localizedCaseInsensitiveContains(q)
                    || "\(i.firstName) \(i.lastName)".localizedCaseInsensitiveContains(q))
                    && (role.isEmpty || i.roles.contains(role))
            }
            if invites.isEmpty {
                h += "<p class=\"empty\">Nobody with this invitation status.</p>"
            } else {
                h +=
                    "<div class=\"table-wrap\"><table id=\"invited\"><thead><tr><th scope=\"col\">Email</th><th"
                    + " scope=\"col\">Roles</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"opt\">"
                    + "Invited by</th></tr></thead><tbody>"
                for i in invites {
                    h +=
                        "<tr><td>\(i.email)</td><td>\(HTMLPage.roleNames(i.roles))</td><td><span class=\"badge"
                        + " \(i.status.rawValue)\">\(i.status.rawValue.capitalized)</span></td><td"
                        + " class=\"opt\">\(i.inviterName)</td></tr>"
                }
                h +=
                    "</tbody></table></div><p><a href=\"\(c.base)/invites?status=\(invitation)\">Resend or revoke on"
                    + " the Invites tab</a></p>"
            }
            return c.render("Members", tab: "members", body: h, banner: banner, seenAs: viewAs == nil ? nil : perms)
        }
        if page.members.isEmpty {
            let empty =
                q.isEmpty && role.isEmpty && status.isEmpty
                ? "No members yet. Invite people from the Invites tab." : "No members match these filters."
            h += "<p class=\"empty\">\(empty)</p>"
            return c.render("Members", tab: "members", body: h, banner: banner, seenAs: viewAs == nil ? nil : perms)
        }
        if selectable {
            h += "<form method=\"post\" action=\"\(c.base)/members/bulk\" id=\"members-form\">\(c.csrfField)"
        }
        h +=
            "<div class=\"table-wrap\"><table id=\"members\"><caption class=\"meta\">\(page.members.count)"
            + " shown\(page.nextCursor != nil ? ", more on the next page" : "")</caption><thead><tr>"
        if selectable {
            h +=
                "<th class=\"check\"><input type=\"checkbox\" data-select-all=\"member\" aria-label=\"Select all on"
                + " this page\" hidden></th>"
        }
        h +=
            "<th scope=\"col\">Name</th><th scope=\"col\" class=\"opt\">Email</th><th scope=\"col\">Roles</th><th"
            + " scope=\"col\" class=\"opt\">Apps</th><th scope=\"col\" class=\"opt\">Last active</th>"
        if !readOnly { h += "<th scope=\"col\"><span class=\"meta\">Actions</span></th>" }
        h += "</tr></thead><tbody>"
        for m in page.members {
            h += "<tr>"
            if selectable {
                h +=
                    "<td class=\"check\"><input type=\"checkbox\" name=\"member\" value=\"\(m.id)\""
                    + " id=\"sel-\(m.id)\" aria-label=\"Select \(name(m))\"></td>"
            }
            h +=
                "<td>\(name(m))\(if: m.ssoOnly, " <span class=\"badge\">SSO only</span>")<span class=\"meta"
                + " m-only\">\(m.email)</span></td><td class=\"opt\">\(m.email)</td>"
            h += "<td>\(HTMLPage.roleNames(m.roles))</td><td class=\"opt\">\(m.appCount)</td>"
            h += "<td class=\"opt\">\(m.lastActive.map { dateFormat.string(from: $0) } ?? "Never")</td>"
            if !readOnly {
                h += "<td><a href=\"\(c.base)/members/\(m.id)\">\(canEdit ? "Edit" : "View")</a>"
                if c.may(.membersView) { h += " · <a href=\"\(c.base)/view-as/\(m.id)\">View as</a>" }
                h += "</td>"
            }
            h += "</tr>"
        }
        h += "</tbody></table></div>"
        if selectable {
            h +=
                "<div class=\"bulk\" aria-label=\"With the selected members\"><div><label for=\"bulk-action\">With"
                + " selected</label><select id=\"bulk-action\" name=\"action\">"
            h += "<option value=\"copy_emails\">Copy emails</option>"
            if canEdit { h += "<option value=\"change_roles\">Change role</option>" }
            if canGrant && !apps.isEmpty {
                h += "<option value=\"grant_app\">Grant app</option><option value=\"revoke_app\">Revoke app</option>"
            }
            if canRemove { h += "<option value=\"remove\">Remove from organization</option>" }
            h += "</select></div>"
            if canEdit {
                h += "<div><label for=\"bulk-role\">New role</label><select id=\"bulk-role\" name=\"role\">"
                for r in roles where r.id != "owner" { h += "<option value=\"\(r.id)\">\(r.name)</option>" }
                h += "</select></div>"
            }
            if canGrant && !apps.isEmpty {
                h += "<div><label for=\"bulk-app\">App</label><select id=\"bulk-app\" name=\"app\">"
                for a in apps { h += "<option value=\"\(a.id)\">\(a.name)</option>" }
                h +=
                    "</select></div><div><label for=\"bulk-app-role\">App role</label><select id=\"bulk-app-role\""
                    + " name=\"appRole\">"
                for r in AppRole.allCases { h += "<option value=\"\(r.rawValue)\">\(r.rawValue.capitalized)</option>" }
                h += "</select></div>"
            }
            h += "<div><button type=\"submit\">Continue…</button></div></div></form>"
        }
        h += "<nav class=\"pager\" aria-label=\"Pages\">"
        if query.cursor != nil { h += "<a href=\"\(query.href(here, cursor: nil))\">First page</a>" }
        if let next = page.nextCursor {
            h += "<a href=\"\(query.href(here, cursor: next))\" rel=\"next\">Next page</a>"
        }
        h += "</nav>"
        return c.render("Members", tab: "members", body: h, banner: banner, seenAs: viewAs == nil ? nil : perms)
    }

    static func name(_ m: MemberView) -> String {
        let n = [m.firstName, m.lastName].filter { !$0.isEmpty }.joined(separator: " ")
        return n.isEmpty ? m.email : n
    }

    // MARK: - Bulk actions: confirm, then apply

    static func bulk(_ c: Console) async throws -> Response {
        let form = try c.ctx.formPairs()
        if let refused = c.checkForm(form) { return refused }
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
        let id = try c.ctx.parameter("member")
        let m = try await c.api.member(id)
        let roles = try await c.api.roles()
        let apps = (try? await c.api.apps()) ?? []
        let canEdit = c.may(.membersEdit)
        let dis = canEdit ? "" : " disabled"
        var h: HTML =
            "<p><a href=\"\(c.base)/members\">← Members</a></p><section class=\"panel\""
            + " aria-labelledby=\"panel-title\"><h2 id=\"panel-title\">\(name(m))</h2>"
        h += "<p class=\"meta\">\(m.email) · joined \(dateFormat.string(from: m.joinedAt))</p>"
        if let error { h += "<p class=\"error\" role=\"alert\" id=\"form-error\">\(error)</p>" }
        h += "<form method=\"post\" action=\"\(c.base)/members/\(m.id)\">\(c.csrfField)<div class=\"grid2\">"
        h +=
            "<div><label for=\"firstName\">First name</label><input id=\"firstName\" name=\"firstName\""
            + " type=\"text\" value=\"\(m.firstName)\"\(dis)></div>"
        h +=
            "<div><label for=\"lastName\">Last name</label><input id=\"lastName\" name=\"lastName\" type=\"text\""
            + " value=\"\(m.lastName)\"\(dis)></div></div>"
        h += "<fieldset><legend>Roles</legend>"
        for r in roles {
            h +=
                "<label><input type=\"checkbox\" name=\"roles\""
                + " value=\"\(r.id)\"\(m.roles.contains(r.id) ? " checked" : "")\(dis)> \(r.name)</label>"
        }
        h += "</fieldset><fieldset><legend>User variables</legend><div class=\"kv\">"
        var rows = m.userVariables.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if canEdit { rows += [("", ""), ("", "")] }
        for (i, (k, v)) in rows.enumerated() {
            h +=
                "<div><label for=\"var-key-\(i)\">Name</label><input id=\"var-key-\(i)\" name=\"varKey\""
                + " type=\"text\" value=\"\(k)\"\(dis)></div>"
            h +=
                "<div><label for=\"var-value-\(i)\">Value</label><input id=\"var-value-\(i)\" name=\"varValue\""
                + " type=\"text\" value=\"\(v)\"\(dis)></div>"
        }
        h +=
            "</div></fieldset><div class=\"grid2\"><div><label for=\"startingPage\">Starting page</label><select"
            + " id=\"startingPage\" name=\"startingPage\"\(dis)>"
        for p in StartingPage.allCases {
            h +=
                "<option value=\"\(p.rawValue)\"\(p == m.startingPage ? " selected" : "")>\(startingPageName(p))"
                + "</option>"
        }
        h +=
            "</select></div><div><label for=\"ssoOnly\">Sign-in</label><label class=\"inline\"><input id=\"ssoOnly\""
            + " type=\"checkbox\" name=\"ssoOnly\" value=\"1\"\(m.ssoOnly ? " checked" : "")\(dis)> SSO only"
            + "</label></div></div>"
        if canEdit { h += "<div class=\"actions\"><button type=\"submit\">Save changes</button></div>" }
        h += "</form><h3>Apps</h3>"
        let appNames = Dictionary(apps.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let canGrant = c.may(.appsGrant)
        if m.apps.isEmpty {
            h += "<p class=\"empty\">No app access.</p>"
        } else {
            h += "<ul id=\"member-apps\">"
            for grant in m.apps {
                h += "<li>\(appNames[grant.app] ?? grant.app) — \(grant.role.rawValue.capitalized)"
                if canGrant {
                    h +=
                        " <form class=\"inline-form\" method=\"post\""
                        + " action=\"\(c.base)/members/\(m.id)/apps\">\(c.csrfField)<input type=\"hidden\""
                        + " name=\"app\" value=\"\(grant.app)\"><input type=\"hidden\" name=\"appRole\""
                        + " value=\"none\"><button type=\"submit\" class=\"link\">Revoke</button></form>"
                }
                h += "</li>"
            }
            h += "</ul>"
        }
        if canGrant && !apps.isEmpty {
            h +=
                "<form class=\"bulk\" method=\"post\" action=\"\(c.base)/members/\(m.id)/apps\">\(c.csrfField)<div>"
                + "<label for=\"grant-app\">App</label><select id=\"grant-app\" name=\"app\">"
            for a in apps { h += "<option value=\"\(a.id)\">\(a.name)</option>" }
            h +=
                "</select></div><div><label for=\"grant-role\">App role</label><select id=\"grant-role\""
                + " name=\"appRole\">"
            for r in AppRole.allCases {
                h +=
                    "<option value=\"\(r.rawValue)\"\(r == .viewer ? " selected" : "")>\(r.rawValue.capitalized)"
                    + "</option>"
            }
            h += "</select></div><div><button type=\"submit\" class=\"secondary\">Grant access</button></div></form>"
        }
        h += "</section>"
        return c.render(name(m), tab: "members", body: h, status: status)
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
