import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// Invites: "Invite people" (pasted lists, roles, SSO-only, names, user variables, starting page, apps) with
/// per-address results, and the invite table with status badges, resend, copy link and revoke.
enum InvitesPage {

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.console("GET", "/console/:org/invites", { c in try await page(c, error: nil, values: [:]) }, gateway: g)
        b.console("POST", "/console/:org/invites", { c in try await invite(c) }, gateway: g)
        b.console(
            "GET", "/console/:org/invites/:invite/link",
            { c in
                let id = try c.ctx.parameter("invite")
                let link = try await c.api.inviteLink(id)
                let body: HTML =
                    "<label for=\"link\">Invite link (valid until"
                    + " \(MembersPage.dateFormat.string(from: link.expiresAt)))</label><input id=\"link\""
                    + " type=\"text\" readonly value=\"\(link.url)\">"
                    + "<div class=\"actions\"><button type=\"button\" data-copy=\"\(link.url)\" hidden>Copy link"
                    + "</button><a class=\"button secondary\" href=\"\(c.base)/invites\">Back to invites</a></div>"
                return c.render("Invite link", tab: "invites", body: body)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/invites/:invite/:action",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let id = try c.ctx.parameter("invite")
                let action = try c.ctx.parameter("action")
                guard action == "resend" || action == "revoke" else {
                    return c.redirect("\(c.base)/invites", flash: "Unknown action.")
                }
                do {
                    if action == "resend" { try await c.api.resendInvite(id) } else { try await c.api.revokeInvite(id) }
                } catch let e as GatehouseError {
                    return c.redirect("\(c.base)/invites", flash: e.message)
                }
                return c.redirect(
                    "\(c.base)/invites",
                    flash: action == "resend"
                        ? "Invite sent again with a new link; the old link no longer works." : "Invite revoked.")
            }, gateway: g)
    }

    static func page(_ c: Console, error: String?, values: [String: String], status: Int = 200) async throws -> Response
    {
        let filter =
            ["pending", "joined", "expired", "revoked"].contains(c.ctx.query("status") ?? "")
            ? c.ctx.query("status") : nil
        let invites = try await c.api.invites([("limit", "100")] + (filter.map { [("status", $0)] } ?? []))
        var h: HTML = ""
        if c.may(.membersInvite) {
            let roles = try await c.api.roles()
            let apps = (try? await c.api.apps()) ?? []
            h += "<details class=\"panel\" open><summary><strong>Invite people</strong></summary>"
            h += "<form method=\"post\" action=\"\(c.base)/invites\" id=\"invite-form\">\(c.csrfField)"
            h +=
                "<label for=\"emails\">Email addresses</label><textarea id=\"emails\" name=\"emails\" rows=\"4\""
                + " required aria-describedby=\"emails-help\(error != nil ? " emails-error" : "")\">\(values["emails"] ?? "")</textarea>"
            h +=
                "<p class=\"meta\" id=\"emails-help\">Paste a list: one per line, or separated by commas or"
                + " semicolons. \"Name &lt;email&gt;\" works too.</p>"
            if let error { h += "<p class=\"field-error\" role=\"alert\" id=\"emails-error\">\(error)</p>" }
            h +=
                "<div class=\"grid2\"><div><label for=\"invite-roles\">Roles</label><select id=\"invite-roles\""
                + " name=\"roles\" multiple size=\"\(min(6, roles.count))\" required>"
            for r in roles {
                h +=
                    "<option value=\"\(r.id)\"\(r.id == (values["role"] ?? "member") ? " selected" : "")>\(r.name)"
                    + "</option>"
            }
            h +=
                "</select></div><div><label for=\"invite-start\">Starting page</label><select id=\"invite-start\""
                + " name=\"startingPage\">"
            for p in StartingPage.allCases {
                h +=
                    "<option value=\"\(p.rawValue)\"\(p == .studio ? " selected" : "")>\(MembersPage.startingPageName(p))</option>"
            }
            h +=
                "</select><label class=\"inline\"><input type=\"checkbox\" name=\"ssoOnly\" value=\"1\"> SSO only"
                + " (they must sign in through the organization's SSO)</label></div></div>"
            h +=
                "<div class=\"grid2\"><div><label for=\"invite-first\">First name (optional)</label><input"
                + " id=\"invite-first\" name=\"firstName\" type=\"text\"></div>"
            h +=
                "<div><label for=\"invite-last\">Last name (optional)</label><input id=\"invite-last\""
                + " name=\"lastName\" type=\"text\"></div></div>"
            h += "<fieldset><legend>User variables (optional)</legend><div class=\"kv\">"
            for i in 0..<3 {
                h +=
                    "<div><label for=\"iv-key-\(i)\">Name</label><input id=\"iv-key-\(i)\" name=\"varKey\""
                    + " type=\"text\"></div><div><label for=\"iv-value-\(i)\">Value</label><input"
                    + " id=\"iv-value-\(i)\" name=\"varValue\" type=\"text\"></div>"
            }
            h += "</div></fieldset>"
            if !apps.isEmpty {
                h +=
                    "<div class=\"grid2\"><div><label for=\"invite-app\">App access (optional)</label><select"
                    + " id=\"invite-app\" name=\"app\"><option value=\"\">None</option>"
                for a in apps { h += "<option value=\"\(a.id)\">\(a.name)</option>" }
                h +=
                    "</select></div><div><label for=\"invite-app-role\">App role</label><select"
                    + " id=\"invite-app-role\" name=\"appRole\">"
                for r in AppRole.allCases {
                    h +=
                        "<option value=\"\(r.rawValue)\"\(r == .viewer ? " selected" : "")>\(r.rawValue.capitalized)"
                        + "</option>"
                }
                h += "</select></div></div>"
            }
            h += "<div class=\"actions\"><button type=\"submit\">Send invites</button></div></form></details>"
        }
        h +=
            "<form class=\"filters\" method=\"get\" action=\"\(c.base)/invites\"><div><label for=\"invite-status\">"
            + "Status</label><select id=\"invite-status\" name=\"status\">"
        for (v, l) in [
            ("", "All"), ("pending", "Pending"), ("joined", "Joined"), ("expired", "Expired"), ("revoked", "Revoked"),
        ] {
            h += "<option value=\"\(v)\"\(v == (filter ?? "") ? " selected" : "")>\(l)</option>"
        }
        h += "</select></div><div><button type=\"submit\" class=\"secondary\">Filter</button></div></form>"
        if invites.invites.isEmpty {
            h += "<p class=\"empty\">\(filter == nil ? "No invites yet." : "No invites with this status.")</p>"
        } else {
            h +=
                "<div class=\"table-wrap\"><table id=\"invites\"><thead><tr><th scope=\"col\">Email</th><th"
                + " scope=\"col\">Roles</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"opt\">Invited"
                + " by</th><th scope=\"col\" class=\"opt\">Expires</th><th scope=\"col\"><span"
                + " class=\"meta\">Actions</span></th></tr></thead><tbody>"
            for i in invites.invites {
                h +=
                    "<tr><td>\(i.email)\(if: i.ssoOnly, " <span class=\"badge\">SSO only</span>")</td>"
                    + "<td>\(HTMLPage.roleNames(i.roles))</td>"
                h +=
                    "<td><span class=\"badge \(i.status.rawValue)\">\(i.status.rawValue.capitalized)</span></td><td"
                    + " class=\"opt\">\(i.inviterName)</td>"
                h += "<td class=\"opt\">\(MembersPage.dateFormat.string(from: i.expiresAt))</td><td class=\"actions\">"
                if c.may(.membersInvite) && (i.status == .pending || i.status == .expired) {
                    h +=
                        "<form method=\"post\" action=\"\(c.base)/invites/\(i.id)/resend\">\(c.csrfField)<button"
                        + " type=\"submit\" class=\"secondary\">Resend</button></form>"
                }
                if c.may(.membersInvite) && i.status == .pending {
                    h += "<a class=\"button secondary\" href=\"\(c.base)/invites/\(i.id)/link\">Copy link</a>"
                    h +=
                        "<form method=\"post\" action=\"\(c.base)/invites/\(i.id)/revoke\">\(c.csrfField)<button"
                        + " type=\"submit\" class=\"secondary\">Revoke</button></form>"
                }
                h += "</td></tr>"
            }
            h += "</tbody></table></div>"
        }
        return c.render("Invites", tab: "invites", body: h, status: status)
    }

    static func invite(_ c: Console) async throws -> Response {
        let form = try c.ctx.formPairs()
        if let refused = c.checkForm(form) { return refused }
        let emails = form.value("emails") ?? ""
        guard !emails.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return try await page(c, error: "Enter at least one email address.", values: [:], status: 422)
        }
        let vars = ConsoleForms.variables(form)
        var apps: [AppGrant] = []
        if let app = form.value("app"), !app.isEmpty {
            apps.append(AppGrant(app: app, role: AppRole(rawValue: form.value("appRole") ?? "") ?? .viewer))
        }
        let first = form.value("firstName") ?? ""
        let last = form.value("lastName") ?? ""
        let request = InviteRequest(
            emails: .text(emails), roles: form.filter { $0.0 == "roles" }.map(\.1),
            ssoOnly: form.value("ssoOnly") == "1",
            firstName: first.isEmpty ? nil : first, lastName: last.isEmpty ? nil : last,
            userVariables: vars.isEmpty ? nil : vars,
            startingPage: StartingPage(rawValue: form.value("startingPage") ?? "") ?? .studio,
            apps: apps.isEmpty ? nil : apps)
        let result: InviteBatchResult
        do { result = try await c.api.createInvites(request) } catch let e as GatehouseError {
            return try await page(c, error: e.message, values: ["emails": emails], status: e.status)
        }
        var h: HTML =
            "<p>\(result.invited) of \(result.results.count) invited.</p><div class=\"table-wrap\"><table"
            + " id=\"invite-results\"><thead><tr><th scope=\"col\">Email</th><th scope=\"col\">Result</th></tr>"
            + "</thead><tbody>"
        for o in result.results {
            h +=
                "<tr><td>\(o.email)</td>"
                + "<td>\(o.result == .invited ? "<span class=\"badge joined\">Invited</span>" : HTML("\(o.result.text)"))</td></tr>"
        }
        h +=
            "</tbody></table></div><div class=\"actions\"><a class=\"button\" href=\"\(c.base)/invites\">Back to"
            + " invites</a></div>"
        return c.render("Invite results", tab: "invites", body: h, status: 200)
    }
}
