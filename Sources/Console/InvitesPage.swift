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
                    + " \(CivilTime.short(link.expiresAt)))</label><input id=\"link\""
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
                if action == "revoke" {
                    let invites = try await c.api.invites([("limit", "200"), ("status", "pending")]).invites
                    let email = invites.first { $0.id == id }?.email ?? "this person"
                    if let ask = c.confirmFirst(
                        form, title: "Revoke the invitation?",
                        "Revoke the invitation for <strong>\(email)</strong>? Its link stops working at once; you can"
                            + " invite them again later.", button: "Revoke invitation", cancel: "\(c.base)/invites",
                        tab: "invites")
                    {
                        return ask
                    }
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
        let filter = InvitesPageModel.filter(c.ctx.query("status"))
        let invites = try await c.api.invites([("limit", "100")] + (filter.map { [("status", $0)] } ?? []))
        let invite = c.may(.membersInvite)
        // Someone who may not invite is told whom to ask: the org's owners and admins, by name.
        var askWhom: [String] = []
        if !invite {
            for role in ["owner", "admin"] {
                let page = try? await c.api.members([("role", role), ("limit", "10")])
                for m in page?.members ?? [] {
                    let name = MembersPage.name(m)
                    askWhom.append(name == m.email ? name : "\(name) (\(m.email))")
                }
            }
        }
        let model = InvitesPageModel(
            invites: invites.invites, filter: filter, roles: invite ? try await c.api.roles() : [],
            apps: invite ? ((try? await c.api.apps()) ?? []) : [], permissions: c.permissions, values: values,
            error: error, now: c.g.clock.now(), askWhom: askWhom)
        return c.render(
            "Invites", tab: "invites", body: InvitesView.render(model, base: c.base, csrfField: c.csrfField),
            status: status)
    }

    static func invite(_ c: Console) async throws -> Response {
        let form = try c.ctx.formPairs()
        if let refused = c.checkForm(form) { return refused }
        let emails = form.value("emails") ?? ""
        guard !emails.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return try await page(c, error: "Enter at least one email address.", values: [:], status: 422)
        }
        let vars = ConsoleForms.variables(form)
        // Several apps at once, all with the one app role chosen.
        let appRole = AppRole(rawValue: form.value("appRole") ?? "") ?? .viewer
        var apps: [AppGrant] = []
        for app in Set(form.filter({ $0.0 == "app" && !$0.1.isEmpty }).map(\.1)).sorted() {
            apps.append(AppGrant(app: app, role: appRole))
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
