import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// An app behind the gateway, in the console: where it is served and forwarded, its access rule (roles and app
/// roles as checkboxes, user-variable conditions as rows), and "would this member get in?" with the reason.
enum AppGatePages {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.console("GET", "/console/:org/apps/:app", { c in try await page(c, error: nil, check: nil) }, gateway: g)
        b.console(
            "POST", "/console/:org/apps/:app/gateway",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let app = try c.ctx.parameter("app")
                var conditions: [AppAccessRule.Condition] = []
                let names = form.filter { $0.0 == "condVar" }.map(\.1)
                let ops = form.filter { $0.0 == "condOp" }.map(\.1)
                let values = form.filter { $0.0 == "condValues" }.map(\.1)
                for (i, name) in names.enumerated() where !name.trimmingCharacters(in: .whitespaces).isEmpty {
                    let op = AppAccessRule.Condition.Op(rawValue: i < ops.count ? ops[i] : "") ?? .equals
                    let vals =
                        op == .present
                        ? []
                        : (i < values.count ? values[i] : "").split(separator: ",").map {
                            $0.trimmingCharacters(in: .whitespaces)
                        }.filter { !$0.isEmpty }
                    conditions.append(.init(variable: name.trimmingCharacters(in: .whitespaces), op: op, values: vals))
                }
                let rule = AppAccessRule(
                    roles: form.filter { $0.0 == "ruleRole" }.map(\.1),
                    appRoles: form.filter { $0.0 == "ruleAppRole" }.compactMap { AppRole(rawValue: $0.1) },
                    conditions: conditions)
                do {
                    _ = try await c.api.updateApp(
                        app,
                        AppPatch(
                            slug: form.value("slug").flatMap { $0.isEmpty ? nil : $0 },
                            upstream: form.value("upstream") ?? "", rule: rule))
                } catch let e as GatehouseError where e.status < 500 {
                    return try await page(c, error: e.message, check: nil, status: e.status)
                }
                return c.redirect("\(c.base)/apps/\(app)", flash: "Saved.")
            }, gateway: g)
        // View the app as a member: the region checks (and audits) it; the browser keeps the choice in a cookie
        // until "Stop viewing as" (audited too).
        b.console(
            "GET", "/console/:org/apps/:app/view-as",
            { c in
                let id = try c.ctx.parameter("app")
                let member = c.ctx.query("member") ?? ""
                guard let app = try await c.api.apps().first(where: { $0.id == id }), let slug = app.slug,
                    app.upstream != nil
                else { return c.redirect("\(c.base)/apps/\(id)", flash: "This app is not behind the gateway yet.") }
                try await c.api.recordViewAs(app: id, member: member, started: true)
                var r = Response.redirect(to: "/apps/\(slug)/")
                r.setCookie(
                    SetCookie(
                        name: AppViewAs.cookie, value: AppViewAs.value(org: c.org, member: member, slug: slug),
                        path: "/", maxAge: 3600, httpOnly: true, secure: c.g.settings.secureCookies, sameSite: .lax))
                r.setCookie(BrowserSession.currentOrgCookie(c.g, org: c.org))
                return r
            }, gateway: g)
        b.console(
            "GET", "/console/:org/apps/:app/view-as-end",
            { c in
                let id = try c.ctx.parameter("app")
                if let choice = AppViewAs.choice(c.ctx.request.headers), choice.org == c.org {
                    try? await c.api.recordViewAs(app: id, member: choice.member, started: false)
                }
                var r = c.redirect("\(c.base)/apps/\(id)", flash: "Stopped viewing as.")
                r.setCookie(SetCookie.expire(AppViewAs.cookie, secure: c.g.settings.secureCookies))
                return r
            }, gateway: g)
        // Import an app exported from another org (a ZIP, uploaded as multipart/form-data with the form's token).
        b.console(
            "POST", "/console/:org/apps/import",
            { c in
                guard
                    let parts = Multipart.parts(
                        contentType: c.ctx.request.headers["content-type"] ?? "", body: c.ctx.request.body)
                else { return c.redirect("\(c.base)/apps", flash: "Choose an app export (a .zip file) to import.") }
                let form = parts.filter { $0.filename == nil }.map {
                    ($0.name, String(decoding: $0.data, as: UTF8.self))
                }
                if let refused = c.checkForm(form) { return refused }
                guard let file = parts.first(where: { $0.name == "file" && !$0.data.isEmpty }) else {
                    return c.redirect("\(c.base)/apps", flash: "Choose an app export (a .zip file) to import.")
                }
                let result: AppImportResult
                do { result = try await c.api.importApp(zip: file.data) } catch let e as GatehouseError
                    where e.status < 500
                {
                    return c.redirect("\(c.base)/apps", flash: e.message)
                }
                var h: HTML =
                    "<p class=\"notice\">Imported <strong>\(result.app.name)</strong>"
                    + "\(if: result.app.slug != nil, " (served at /apps/\(result.app.slug ?? "")/)").</p>"
                h += "<h2>Left behind</h2><ul id=\"left-behind\">"
                for x in result.leftBehind { h += "<li>\(x)</li>" }
                h += "</ul>"
                if !result.toSetAgain.isEmpty {
                    h += "<h2>Set again here</h2><ul id=\"set-again\">"
                    for x in result.toSetAgain { h += "<li>\(x)</li>" }
                    h += "</ul>"
                }
                h += "<p><a class=\"button\" href=\"\(c.base)/apps/\(result.app.id)\">Open \(result.app.name)</a></p>"
                return c.render("App imported", tab: "apps", body: h, status: 201)
            }, gateway: g)
        b.console(
            "GET", "/console/:org/apps/:app/check",
            { c in
                let member = c.ctx.query("member") ?? ""
                let answer = try await c.api.checkApp(try c.ctx.parameter("app"), member: member)
                return try await page(c, error: nil, check: answer)
            }, gateway: g)
    }

    static func page(_ c: Console, error: String?, check: AppCheckAnswer?, status: Int = 200) async throws -> Response {
        let id = try c.ctx.parameter("app")
        guard let app = try await c.api.apps().first(where: { $0.id == id }) else {
            throw GatehouseError.notFound("No such app.")
        }
        let roles = try await c.api.roles()
        let rule = app.rule ?? AppAccessRule()
        let edits = c.may(.appsCreate) && c.agency == nil
        var h: HTML = "<p><a href=\"\(c.base)/apps\">← Apps</a></p>"
        if let error { h += "<p class=\"error\" role=\"alert\" id=\"gate-error\">\(error)</p>" }
        if let slug = app.slug, app.upstream != nil {
            h +=
                "<p class=\"notice\">Served at <a href=\"/apps/\(slug)/\"><code>/apps/\(slug)/</code></a>, forwarded to"
                + " <code>\(app.upstream ?? "")</code>.</p>"
        } else {
            h += "<p class=\"empty\">Not behind the gateway yet: give it a slug and an upstream below.</p>"
        }
        let dis: HTML = edits ? "" : " disabled"
        h +=
            "<form method=\"post\" action=\"\(c.base)/apps/\(id)/gateway\" class=\"panel\">\(c.csrfField)"
            + "<h2>Behind the gateway</h2><div class=\"grid2\"><div><label for=\"slug\">Slug (the address"
            + " /apps/&lt;slug&gt;/)</label><input id=\"slug\" name=\"slug\" type=\"text\" value=\"\(app.slug ?? "")\""
            + " pattern=\"[a-z0-9][a-z0-9-]{0,62}\"\(dis)></div><div><label for=\"upstream\">Upstream URL</label>"
            + "<input id=\"upstream\" name=\"upstream\" type=\"text\" inputmode=\"url\" value=\"\(app.upstream ?? "")\""
            + " placeholder=\"http://10.0.0.5:8080\"\(dis)></div></div>"
        h += "<fieldset class=\"choices\"><legend>Who may enter (any of these roles; none ticked: every role)</legend>"
        for r in roles {
            h +=
                "<label><input type=\"checkbox\" name=\"ruleRole\" value=\"\(r.id)\""
                + "\(if: rule.roles.contains(r.id), " checked")\(dis)> <span><strong>\(r.name)</strong></span></label>"
        }
        h += "</fieldset><fieldset><legend>With one of these app roles (none ticked: any)</legend>"
        for r in AppRole.allCases {
            h +=
                "<label><input type=\"checkbox\" name=\"ruleAppRole\" value=\"\(r.rawValue)\""
                + "\(if: rule.appRoles.contains(r), " checked")\(dis)> \(r.rawValue.capitalized)</label>"
        }
        h +=
            "</fieldset><fieldset><legend>And every one of these user-variable conditions"
            + " (case-sensitive)</legend><div class=\"conds\">"
        let rows = rule.conditions + Array(repeating: AppAccessRule.Condition(variable: "", op: .equals), count: 2)
        for (i, cond) in rows.enumerated() {
            h +=
                "<div class=\"bulk\"><div><label for=\"cond-var-\(i)\">Variable</label><input id=\"cond-var-\(i)\""
                + " name=\"condVar\" type=\"text\" value=\"\(cond.variable)\"\(dis)></div><div><label"
                + " for=\"cond-op-\(i)\">Must</label><select id=\"cond-op-\(i)\" name=\"condOp\"\(dis)>"
            for (op, label) in [
                (AppAccessRule.Condition.Op.equals, "equal"), (.oneOf, "be one of"), (.present, "be set"),
            ] {
                h += "<option value=\"\(op.rawValue)\"\(if: cond.op == op, " selected")>\(label)</option>"
            }
            h +=
                "</select></div><div><label for=\"cond-values-\(i)\">Value(s), comma-separated</label><input"
                + " id=\"cond-values-\(i)\" name=\"condValues\" type=\"text\""
                + " value=\"\(cond.values.joined(separator: ", "))\"\(dis)></div></div>"
        }
        h += "</div></fieldset>"
        if edits {
            h +=
                "<div class=\"actions\"><button type=\"submit\">Save</button><a class=\"button secondary\""
                + " href=\"/api/v1/orgs/\(c.org)/apps/\(id)/export\">Download as ZIP</a></div>"
        }
        h += "</form>"
        if edits {
            let members = (try? await c.api.members([("limit", "200")]))?.members ?? []
            h +=
                "<form method=\"get\" action=\"\(c.base)/apps/\(id)/check\" class=\"panel bulk\"><div><label"
                + " for=\"check-member\">Would this member get in?</label><select id=\"check-member\" name=\"member\">"
            for m in members {
                let name = MembersPage.name(m)
                h +=
                    "<option value=\"\(m.id)\"\(if: m.id == check?.member, " selected")>\(name)"
                    + "\(if: name != m.email, " (\(m.email))")</option>"
            }
            h += "</select></div><div><button type=\"submit\" class=\"secondary\">Check</button></div>"
            if app.slug != nil && app.upstream != nil {
                h +=
                    "<div><button type=\"submit\" class=\"secondary\" formaction=\"\(c.base)/apps/\(id)/view-as\">"
                    + "Open the app as them (read-only)</button></div>"
            }
            h += "</form>"
            if let check {
                h +=
                    "<p class=\"notice\(if: !check.allowed, " warning")\" id=\"check-result\" role=\"status\">"
                    + "\(check.allowed ? "Yes: they get in." : "No. \(check.reason)")</p>"
            }
        }
        return c.render(app.name, tab: "apps", body: h, status: status)
    }
}
