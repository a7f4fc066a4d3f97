import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// Sign-in, sign-out, the home page (org picker and pending invites as notifications) and the org switcher.
enum AccountPages {
    static let currentOrgCookie = GatewayService.currentOrgCookie

    static func viewer(
        _ g: GatewayService, _ ctx: RequestContext, _ s: BrowserSession, memberships: [MembershipSummary]
    ) -> HTMLPage.Viewer {
        s.viewer(memberships: memberships, currentOrg: Cookies.value(named: currentOrgCookie, in: ctx.request.headers))
    }

    static func loginForm(
        csrf: String, email: String = "", next: String, error: String? = nil, ssoWho: String = "",
        ssoError: String? = nil
    ) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"login-error\">\($0)</p>" } ?? ""
        let forgot = "/forgot" + (email.isEmpty ? "" : "?email=" + FormDecoding.percentEncode(email))
        return alert + """
            <form method="post" action="/login">
            <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="next" value="\(next)">
            <label for="email">Email</label><input id="email" name="email" type="text" inputmode="email" \
            autocomplete="username" autocapitalize="none" spellcheck="false" required value="\(email)"\(if: error != nil, " aria-describedby=\"login-error\"")>
            <label for="password">Password</label><input id="password" name="password" type="password" \
            autocomplete="current-password" required>
            <div class="actions"><button type="submit">Sign in</button><a href="\(forgot)">Forgot \
            your password?</a></div></form>
            """ + ssoForm(next: next, who: ssoWho, error: ssoError)
    }

    /// "Sign in with SSO": a work email (its domain finds the org) or an organization ID.
    static func ssoForm(next: String, who: String = "", error: String? = nil) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"sso-error\">\($0)</p>" } ?? ""
        return """
            <h2>Sign in with single sign-on</h2>
            <form method="get" action="/sso/start"><input type="hidden" name="next" value="\(next)">
            <label for="sso-who">Work email or organization ID</label>
            <input id="sso-who" name="who" required \
            value="\(who)"\(if: error != nil, " aria-describedby=\"sso-error\" aria-invalid=\"true\"")>
            """ + alert + """
                <div class="actions"><button type="submit" class="secondary">Continue with SSO</button></div></form>
                """
    }

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/assets/gatehouse.css") { _ in
            Response(
                status: 200,
                headers: [
                    "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600",
                    "X-Content-Type-Options": "nosniff",
                ], body: Array(HTMLPage.stylesheet.utf8))
        }

        b.get("/assets/gatehouse.js") { _ in
            Response(
                status: 200,
                headers: [
                    "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=3600",
                    "X-Content-Type-Options": "nosniff",
                ], body: Array(HTMLPage.script.utf8))
        }

        b.get("/login") { ctx in
            let next = BrowserSession.safeNext(ctx.query("next"))
            if try await BrowserSession.current(g, ctx) != nil { return .redirect(to: next) }
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = HTMLPage.render(
                title: "Sign in", viewer: nil, body: loginForm(csrf: csrf, email: ctx.query("email") ?? "", next: next))
            if let cookie { r.setCookie(cookie) }
            return r
        }

        b.post("/login") { ctx in
            let form = try ctx.formPairs()
            let next = BrowserSession.safeNext(form.value("next"))
            let email = Email.normalize(form.value("email") ?? "")
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Sign in", viewer: nil,
                    body: loginForm(
                        csrf: csrf, email: email, next: next,
                        error: "This form expired. Please sign in again."), status: 403)
            }
            let account: Account
            switch try await g.checkPassword(
                email: email, password: form.value("password") ?? "", client: g.clientKey(ctx))
            {
            case .ok(let a): account = a
            case .wait(let wait):
                var r = HTMLPage.render(
                    title: "Sign in", viewer: nil,
                    body: loginForm(
                        csrf: csrf, email: email, next: next,
                        error: "Too many attempts. Try again in \(wait) seconds."), status: 429)
                r.headers.add("Retry-After", String(wait))
                return r
            case .wrong:
                return HTMLPage.render(
                    title: "Sign in", viewer: nil,
                    body: loginForm(
                        csrf: csrf, email: email, next: next,
                        error: "That email and password do not match an account."), status: 401)
            }
            if let old = g.sessionToken(ctx) { try? await g.sessions.revoke(old) }
            let (token, _) = try await g.sessions.create(accountID: account.id, method: .password)
            var r = Response.redirect(to: next)
            r.setCookie(g.sessionCookie(token))
            return r
        }

        b.post("/logout") { ctx in
            let form = try ctx.formPairs()
            guard BrowserSession.checkForm(g, ctx, form) else { return .redirect(to: "/") }
            var r = Response.redirect(to: "/login")
            if let token = g.sessionToken(ctx) {
                // A session an IdP made ends here first, then at the IdP too (SP-initiated Single Logout) when it
                // does single logout: a signed LogoutRequest naming the subject and session it asserted.
                if let logout = try await SSOPages.singleLogout(g, token: token) { r = logout }
                try await g.sessions.revoke(token)
            }
            r.setCookie(SetCookie.expire(Sessions.cookieName, secure: g.settings.secureCookies))
            r.setCookie(SetCookie.expire(currentOrgCookie, secure: g.settings.secureCookies))
            return r
        }

        // Home: the org picker and pending invitations.
        b.get("/") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else { return .redirect(to: "/login") }
            let (memberships, pending, down) = await g.overview(s.caller)
            let viewer = viewer(g, ctx, s, memberships: memberships)
            var body: HTML = ""
            if !down.isEmpty {
                body +=
                    "<p class=\"notice\" role=\"status\">Organizations in"
                    + " \(down.map { $0.rawValue.uppercased() }.joined(separator: ", ")) cannot be reached right"
                    + " now; they will be back shortly.</p>"
            }
            if !pending.isEmpty {
                body += "<h2>Invitations</h2><ul class=\"cards\" id=\"invitations\">"
                for p in pending {
                    guard let token = p.token else { continue }
                    let t = token
                    body += "<li><span><strong>\(p.orgName)</strong> as \(HTMLPage.roleNames(p.roles))"
                    body += "<br><span class=\"meta\">Invited by \(p.inviterName)</span></span><span class=\"actions\">"
                    body +=
                        "<form method=\"post\" action=\"/invite/\(t)/accept\"><input type=\"hidden\" name=\"csrf\""
                        + " value=\"\(s.csrf)\"><button type=\"submit\">Accept</button></form>"
                    body +=
                        "<form method=\"post\" action=\"/invite/\(t)/decline\"><input type=\"hidden\" name=\"csrf\""
                        + " value=\"\(s.csrf)\"><button class=\"secondary\" type=\"submit\">Decline</button>"
                        + "</form></span></li>"
                }
                body += "</ul>"
            }
            // An operator's home leads to their region console (it was a dead end for them).
            if let r = s.regionAdmin {
                body +=
                    "<h2>Your region</h2><p><a class=\"button\" id=\"region-console\" href=\"/region/\(r.rawValue)\">"
                    + "Manage region \(r.rawValue.uppercased())</a> — provision organizations and invite their"
                    + " owners."
                    + "</p>"
            }
            body += "<h2>Your organizations</h2>"
            if memberships.isEmpty {
                body +=
                    "<p>You are not a member of any organization yet. When someone invites you, the invitation"
                    + " appears here.</p>"
            } else {
                body += "<ul class=\"cards\" id=\"orgs\">"
                for m in memberships {
                    body +=
                        "<li><span><strong>\(m.orgName)</strong><br><span"
                        + " class=\"meta\">\(m.region.rawValue.uppercased()) ·"
                        + " \(HTMLPage.roleNames(m.roles))\(m.ssoOnly ? " · SSO only" : "")</span></span>"
                    body +=
                        "<form method=\"post\" action=\"/switch\"><input type=\"hidden\" name=\"csrf\""
                        + " value=\"\(s.csrf)\"><input type=\"hidden\" name=\"org\" value=\"\(m.orgID)\"><button"
                        + " type=\"submit\">Open</button></form></li>"
                }
                body += "</ul>"
            }
            return HTMLPage.render(title: "Welcome, \(s.account.displayName)", viewer: viewer, body: body)
        }

        // Switch org: remember it and go to the membership's starting page. An SSO-only membership needs a
        // session made by that org's SSO: a password session is sent to the org's SSO sign-in instead.
        b.post("/switch") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else { return .redirect(to: "/login") }
            let form = try ctx.formPairs()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.notice(
                    "Try again", "This form expired. Go back and try again.", action: ("Home", "/"), status: 403)
            }
            let orgID = form.value("org") ?? ""
            guard let tenant = try? g.regions.tenant(forOrg: orgID) else {
                return HTMLPage.notice(
                    "Not found", "That organization does not exist or you are not a member.", action: ("Home", "/"),
                    status: 404)
            }
            let memberships: [MembershipSummary]
            do { memberships = try await tenant.memberships(accountID: s.account.id) } catch let e as GatehouseError {
                return HTMLPage.notice("Not available", e.message, action: ("Home", "/"), status: e.status)
            }
            guard let m = memberships.first(where: { $0.orgID == orgID }) else {
                return HTMLPage.notice(
                    "Not found", "That organization does not exist or you are not a member.", action: ("Home", "/"),
                    status: 404)
            }
            switch Rules.reach(s.session.method, org: orgID, ssoOnly: m.ssoOnly) {
            case .allow: break
            case .refuse(let r) where r.code == "sso_required":
                return .redirect(to: "/sso/\(orgID)/login?next=" + FormDecoding.percentEncode("/"))
            case .refuse: return .redirect(to: "/login?next=" + FormDecoding.percentEncode("/"))
            }
            var r = Response.redirect(to: g.settings.destination(m.startingPage))
            r.setCookie(BrowserSession.currentOrgCookie(g, org: orgID))
            return r
        }
    }
}
