import Foundation
import GatehouseCore
import Gateway
import HTTP
import SAML
import TenantAPI
import TenantDomain
import Web

/// The account page: names, password (ends every other session), sessions with "sign out everywhere".
enum AccountPage {

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/account") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Faccount")
            }
            return try await page(g, ctx, s, errors: [:])
        }
        b.post("/account/:action") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Faccount")
            }
            let form = try ctx.formPairs()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return try await page(g, ctx, s, errors: ["form": "This form expired. Try again."], status: 403)
            }
            // Names are the person's own business in any session; the password and "everywhere" are account-wide.
            let action = try ctx.parameter("action")
            if action != "names" && !s.caller.mayActAccountWide {
                return try await page(g, ctx, s, errors: ["form": Refusal.accountProofRequired.message], status: 403)
            }
            switch action {
            case "names":
                do {
                    try await g.accounts.setNames(
                        accountID: s.account.id,
                        firstName: (form.value("firstName") ?? "").trimmingCharacters(in: .whitespaces),
                        lastName: (form.value("lastName") ?? "").trimmingCharacters(in: .whitespaces))
                } catch let e as GatehouseError {
                    return try await page(g, ctx, s, errors: ["names": e.message], status: e.status)
                }
                return flashRedirect(g, "Name saved.")
            case "password":
                if s.account.hasPassword {
                    switch try await g.checkPassword(
                        email: s.account.email, password: form.value("currentPassword") ?? "", client: g.clientKey(ctx))
                    {
                    case .ok: break
                    case .wait(let wait): return HTMLPage.slowDown(wait, viewer: s.viewer())
                    case .wrong:
                        return try await page(
                            g, ctx, s, errors: ["password": "The current password is not right."], status: 401)
                    }
                }
                do {
                    try await g.accounts.setPassword(accountID: s.account.id, password: form.value("newPassword") ?? "")
                } catch let e as GatehouseError {
                    return try await page(g, ctx, s, errors: ["password": e.message], status: e.status)
                }
                try await g.sessions.revokeAll(accountID: s.account.id)
                let (token, _) = try await g.sessions.create(accountID: s.account.id, method: .password)
                var r = flashRedirect(g, "Password changed. Every other session was signed out.")
                r.setCookie(g.sessionCookie(token))
                return r
            case "sign-out-everywhere":
                try await g.sessions.revokeAll(accountID: s.account.id)
                var r = Response.redirect(to: "/login")
                r.setCookie(SetCookie.expire(Sessions.cookieName, secure: g.settings.secureCookies))
                return r
            default:
                return .redirect(to: "/account")
            }
        }
    }

    static func flashRedirect(_ g: GatewayService, _ message: String) -> Response {
        var r = Response.redirect(to: "/account")
        r.setCookie(Flash.set(g, message))
        return r
    }

    static func page(
        _ g: GatewayService, _ ctx: RequestContext, _ s: BrowserSession, errors: [String: String], status: Int = 200
    ) async throws -> Response {
        let memberships = await g.overview(s.caller).memberships
        let csrf: HTML = "<input type=\"hidden\" name=\"csrf\" value=\"\(s.csrf)\">"
        var h: HTML = Flash.html(ctx.request.headers)
        if let e = errors["form"] { h += "<p class=\"error\" role=\"alert\">\(e)</p>" }
        h +=
            "<h2>Your name</h2><form method=\"post\" action=\"/account/names\">\(csrf)<p"
            + " class=\"meta\">\(s.account.email)</p><div class=\"grid2\">"
        h +=
            "<div><label for=\"acc-first\">First name</label><input id=\"acc-first\" name=\"firstName\""
            + " type=\"text\" value=\"\(s.account.firstName)\"></div>"
        h +=
            "<div><label for=\"acc-last\">Last name</label><input id=\"acc-last\" name=\"lastName\" type=\"text\""
            + " value=\"\(s.account.lastName)\"></div></div>"
        if let e = errors["names"] { h += "<p class=\"field-error\" role=\"alert\">\(e)</p>" }
        h += "<div class=\"actions\"><button type=\"submit\">Save name</button></div></form>"
        guard s.caller.mayActAccountWide else {
            h +=
                "<h2>Password and sessions</h2><p class=\"meta\">You signed in through your organization's single"
                + " sign-on, which is good for that "
            h +=
                "organization only. To change your password or your other sessions, <a"
                + " href=\"/login?next=%2Faccount\">sign in with your password</a>.</p>"
            let r = HTMLPage.render(
                title: "Your account", viewer: s.viewer(memberships: memberships), body: h, status: status)
            return r
        }
        h += "<h2>Password</h2><form method=\"post\" action=\"/account/password\">\(csrf)"
        if s.account.hasPassword {
            h +=
                "<label for=\"acc-current\">Current password</label><input id=\"acc-current\""
                + " name=\"currentPassword\" type=\"password\" autocomplete=\"current-password\" required>"
        } else {
            h += "<p class=\"meta\">You sign in with single sign-on; you can add a password too.</p>"
        }
        h +=
            "<label for=\"acc-new\">New password (at least \(Accounts.minimumPasswordLength) characters)</label>"
            + "<input id=\"acc-new\" name=\"newPassword\" type=\"password\" autocomplete=\"new-password\""
            + " required minlength=\"\(Accounts.minimumPasswordLength)\""
            + "\(if: errors["password"] != nil, " aria-describedby=\"pw-error\" aria-invalid=\"true\"")>"
        if let e = errors["password"] { h += "<p class=\"field-error\" role=\"alert\" id=\"pw-error\">\(e)</p>" }
        h += "<div class=\"actions\"><button type=\"submit\">Change password</button></div></form>"
        h +=
            "<h2>Sessions</h2><div class=\"table-wrap\"><table id=\"sessions\"><thead><tr><th scope=\"col\">Signed"
            + " in with</th><th scope=\"col\">Started</th><th scope=\"col\">Last seen</th></tr>"
            + "</thead><tbody>"
        for x in try await g.sessions.list(accountID: s.account.id, current: s.token) {
            let method =
                x.method == "password"
                ? "Password" : AuthMethod(wire: x.method)?.ssoOrg != nil ? "Single sign-on" : x.method
            h += "<tr><td>\(method)\(if: x.current, " <span class=\"badge joined\">This browser</span>")</td>"
            let (started, seen) = (
                Date(timeIntervalSince1970: Double(x.createdAt)), Date(timeIntervalSince1970: Double(x.lastSeen))
            )
            let now = g.clock.now()
            h +=
                "<td title=\"\(CivilTime.exact(started))\">\(CivilTime.ago(started, now: now))</td>"
                + "<td title=\"\(CivilTime.exact(seen))\">\(CivilTime.ago(seen, now: now))</td></tr>"
        }
        h +=
            "</tbody></table></div><form method=\"post\" action=\"/account/sign-out-everywhere\">\(csrf)<div"
            + " class=\"actions\"><button type=\"submit\" class=\"secondary\">Sign out everywhere</button></div>"
            + "</form>"
        var r = HTMLPage.render(
            title: "Your account",
            viewer: s.viewer(
                memberships: memberships,
                currentOrg: Cookies.value(named: AccountPages.currentOrgCookie, in: ctx.request.headers)), body: h,
            status: status)
        if errors.isEmpty && Flash.read(ctx.request.headers) != nil { r.setCookie(Flash.clear(g)) }
        return r
    }
}
