import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The path a browser follows from an invite email: `/invite/<token>`. The gateway checks the token's MAC and
/// expiry itself (a forged or expired link never reaches a region), then shows "Join <org> as <roles>?":
/// sign-up (email fixed to the invited address) or sign-in first, then a last confirmation that joins.
enum InvitePages {

    /// The page for a link that does not open its invite, saying what to do.
    static func linkProblem(_ e: GatehouseError, viewer: HTMLPage.Viewer? = nil) -> Response {
        let title: String
        switch e.code {
        case .inviteExpired: title = "This invitation has expired"
        case .inviteUsed: title = "This invitation was already used"
        case .inviteSuperseded: title = "There is a newer invitation"
        case .inviteRevoked: title = "This invitation was withdrawn"
        case .inviteDeclined: title = "This invitation was declined"
        case .inviteInvalid: title = "This link is not valid"
        case .regionUnavailable: title = "Try again shortly"
        case .orgSuspended: title = "This organization is suspended"
        default: title = "This invitation cannot be opened"
        }
        let action = e.code == .inviteUsed ? ("Sign in", "/login") : ("Go to Gatehouse", "/")
        return HTMLPage.notice(title, e.message, action: action, status: e.status, viewer: viewer)
    }

    struct Opened {
        let claims: InviteTokenClaims
        let tenant: any RegionTenant
        let invite: InviteView
        let orgName: String
        /// When the link was opened (the page says how long the invitation still lives).
        let now: Date
    }

    static func open(_ g: GatewayService, _ token: String) async throws -> Opened {
        let claims = try g.verifyInviteToken(token)
        let tenant = try g.region(for: claims)
        let found = try await tenant.inviteForToken(token)
        return Opened(
            claims: claims, tenant: tenant, invite: found.invite, orgName: found.orgName, now: g.clock.now())
    }

    static func summary(_ o: Opened) -> HTML {
        var h: HTML =
            "<p><strong>\(o.invite.inviterName)</strong> invited <strong>\(o.invite.email)</strong> to join "
            + "<strong>\(o.orgName)</strong> as <strong>\(HTMLPage.roleNames(o.invite.roles))</strong>.</p>"
        if let left = CivilTime.until(o.invite.expiresAt, now: o.now) {
            h +=
                "<p class=\"meta\">This invitation expires <span title=\"\(CivilTime.exact(o.invite.expiresAt))\">"
                + "\(left)</span>.</p>"
        }
        return h
    }

    static func signupForm(
        _ o: Opened, token: String, csrf: String, first: String? = nil, last: String? = nil, error: String? = nil,
        notice: String? = nil
    ) -> HTML {
        let t = token
        // A copied link proves no address: the form then asks for the code mailed to it.
        let codeField: HTML =
            o.claims.emailProven
            ? ""
            : """
            <label for="code">Code from the email we sent to \(o.invite.email)</label>
            <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required \
            pattern="[0-9]{6}" maxlength="6">
            """
        let status: HTML = notice.map { "<p class=\"notice\" role=\"status\">\($0)</p>" } ?? ""
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"signup-error\">\($0)</p>" } ?? ""
        return summary(o) + status + alert + """
            <h2>Create your account</h2>
            <form method="post" action="/invite/\(t)/signup"><input type="hidden" name="csrf" value="\(csrf)">
            <label for="email">Email</label><input id="email" type="email" value="\(o.invite.email)" readonly \
            aria-readonly="true">\(codeField)
            <label for="first">First name</label><input id="first" name="firstName" type="text" \
            autocomplete="given-name" value="\(first ?? o.invite.firstName)">
            <label for="last">Last name</label><input id="last" name="lastName" type="text" autocomplete="family-name" \
            value="\(last ?? o.invite.lastName)">
            <label for="password">Password (at least \(Accounts.minimumPasswordLength) characters)</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required \
            minlength="\(Accounts.minimumPasswordLength)"\(if: error != nil, " aria-describedby=\"signup-error\"")>
            <div class="actions"><button type="submit">Create account</button></div></form>
            """
    }

    static func confirmForm(_ o: Opened, token: String, csrf: String) -> HTML {
        let t = token
        let c = csrf
        return summary(o) + """
            <div class="actions">
            <form method="post" action="/invite/\(t)/accept"><input type="hidden" name="csrf" value="\(c)"><button \
            type="submit">Join \(o.orgName)</button></form>
            <form method="post" action="/invite/\(t)/decline"><input type="hidden" name="csrf" value="\(c)"><button \
            class="secondary" type="submit">Decline</button></form>
            </div>
            """
    }

    /// A copied link, not signed in: sign in, or prove the address with a mailed code before creating an account.
    /// Whether the address has an account is not told here (the holder of a copied link may be the inviter).
    static func unprovenChoice(_ o: Opened, token: String, csrf: String) -> HTML {
        let next = "/invite/" + token
        return summary(o) + """
            <p>Already have a Gatehouse account for \(o.invite.email)? Sign in, and you will come back here to \
            confirm.</p>
            <div class="actions"><a class="button" \
            href="/login?next=\(FormDecoding.percentEncode(next))&amp;\
            email=\(FormDecoding.percentEncode(o.invite.email))">Sign in to continue</a></div>
            <h2>New to Gatehouse?</h2>
            <p>This link was not opened from the invitation email, so first confirm the address: we will email a code \
            to \(o.invite.email).</p>
            <form method="post" action="/invite/\(token)/code"><input type="hidden" name="csrf" value="\(csrf)">
            <div class="actions"><button type="submit" class="secondary">Email me a code</button></div></form>
            """
    }

    /// The address has an account: sign in, then come back to confirm.
    static func signInFirst(_ o: Opened, token: String) -> HTML {
        let next = "/invite/" + token
        return summary(o) + """
            <p>You already have an account for \(o.invite.email). Sign in, and you will come back here to confirm.</p>
            <div class="actions"><a class="button" \
            href="/login?next=\(FormDecoding.percentEncode(next))&amp;email=\(FormDecoding.percentEncode(o.invite.email))">\
            Sign in to continue</a></div>
            """
    }

    static func ssoFirst(_ o: Opened, token: String) -> HTML {
        summary(o) + """
            <p>\(o.orgName) signs its people in with single sign-on. Continue with your company account; you will come \
            back here to confirm.</p>
            <div class="actions"><a class="button" \
            href="/sso/\(o.invite.orgID)/login?next=\(FormDecoding.percentEncode("/invite/" + token))">Continue with \
            SSO</a></div>
            """
    }

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/invite/:token") { ctx in
            let token = try ctx.parameter("token")
            let session = try await BrowserSession.current(g, ctx)
            let o: Opened
            do { o = try await open(g, token) } catch let e as GatehouseError { return linkProblem(e) }
            let title = "Join \(o.orgName) as \(HTMLPage.roleNames(o.invite.roles))?"
            if let s = session {
                let viewer = s.viewer()
                guard Email.normalize(s.account.email) == Email.normalize(o.invite.email) else {
                    return HTMLPage.render(
                        title: "This invitation is for someone else", viewer: viewer,
                        body: summary(o) + """
                            <p class="error" role="alert">You are signed in as \(s.account.email). Only \
                            \(o.invite.email) can accept this invitation:
                            sign out, then open the link again.</p>
                            """, status: 403)
                }
                switch g.reachesInvite(s.session.method, o.invite) {
                case .allow: break
                case .refuse(let r) where r.code == "sso_required":
                    return HTMLPage.render(title: title, viewer: viewer, body: ssoFirst(o, token: token))
                case .refuse(let r):
                    return HTMLPage.render(
                        title: title, viewer: viewer,
                        body: summary(o) + """
                            <p class="error" role="alert">\(r.message)</p>
                            <div class="actions"><a class="button" \
                            href="/login?next=\(FormDecoding.percentEncode("/invite/" + token))">Sign in with your \
                            password</a></div>
                            """, status: r.status)
                }
                return HTMLPage.render(title: title, viewer: viewer, body: confirmForm(o, token: token, csrf: s.csrf))
            }
            if o.invite.ssoOnly { return HTMLPage.render(title: title, viewer: nil, body: ssoFirst(o, token: token)) }
            if !o.claims.emailProven {
                let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
                var r = HTMLPage.render(title: title, viewer: nil, body: unprovenChoice(o, token: token, csrf: csrf))
                if let cookie { r.setCookie(cookie) }
                return r
            }
            if try await g.accounts.find(email: o.invite.email) != nil {
                return HTMLPage.render(title: title, viewer: nil, body: signInFirst(o, token: token))
            }
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = HTMLPage.render(title: title, viewer: nil, body: signupForm(o, token: token, csrf: csrf))
            if let cookie { r.setCookie(cookie) }
            return r
        }

        // Sign-up through the link: the link proves the address, so the account's email is the invite's. The new
        // session comes back to the confirmation: joining is a separate, last decision.
        b.post("/invite/:token/signup") { ctx in
            let token = try ctx.parameter("token")
            let form = try ctx.formPairs()
            let o: Opened
            do { o = try await open(g, token) } catch let e as GatehouseError { return linkProblem(e) }
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Try again", viewer: nil,
                    body: signupForm(o, token: token, csrf: csrf, error: "This form expired. Please try again."),
                    status: 403)
            }
            if let wait = g.limiter.attempt([
                ("accept:" + o.claims.inviteID, g.settings.acceptPerInvite),
                ("accept:" + g.clientKey(ctx), g.settings.acceptPerAddress),
            ]) {
                return HTMLPage.slowDown(wait)
            }
            if o.invite.ssoOnly {
                return HTMLPage.render(
                    title: "Continue with SSO", viewer: nil, body: ssoFirst(o, token: token), status: 403)
            }
            let first = form.value("firstName") ?? ""
            let last = form.value("lastName") ?? ""
            do { try g.requireEmailProof(o.claims, code: form.value("code"), client: g.clientKey(ctx)) } catch let e
                as GatehouseError
            {
                return HTMLPage.render(
                    title: "Join \(o.orgName)", viewer: nil,
                    body: signupForm(o, token: token, csrf: csrf, first: first, last: last, error: e.message),
                    status: e.status)
            }
            if try await g.accounts.find(email: o.invite.email) != nil {
                return HTMLPage.render(title: "Join \(o.orgName)", viewer: nil, body: signInFirst(o, token: token))
            }
            let account: Account
            do {
                account = try await g.accounts.create(
                    email: o.invite.email, firstName: first, lastName: last, password: form.value("password") ?? "")
            } catch let e as GatehouseError where e.status == 422 || e.code == .weakPassword {
                return HTMLPage.render(
                    title: "Join \(o.orgName)", viewer: nil,
                    body: signupForm(o, token: token, csrf: csrf, first: first, last: last, error: e.message),
                    status: 422)
            }
            let (session, _) = try await g.sessions.create(accountID: account.id, method: .password)
            var r = Response.redirect(to: "/invite/" + token)
            r.setCookie(g.sessionCookie(session))
            return r
        }

        b.post("/invite/:token/code") { ctx in
            let token = try ctx.parameter("token")
            let form = try ctx.formPairs()
            let o: Opened
            do { o = try await open(g, token) } catch let e as GatehouseError { return linkProblem(e) }
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Try again", viewer: nil, body: unprovenChoice(o, token: token, csrf: csrf), status: 403)
            }
            if let wait = g.limiter.attempt([
                ("code:" + o.claims.inviteID, g.settings.codesPerInvite),
                ("code:" + g.clientKey(ctx), g.settings.acceptPerAddress),
            ]) {
                return HTMLPage.slowDown(wait)
            }
            do { try await o.tenant.sendInviteCode(token: token) } catch let e as GatehouseError {
                return linkProblem(e)
            }
            return HTMLPage.render(
                title: "Join \(o.orgName)", viewer: nil,
                body: signupForm(
                    o, token: token, csrf: csrf,
                    notice: "We sent a code to \(o.invite.email). It works for about 10 minutes."))
        }

        b.post("/invite/:token/accept") { ctx in
            let token = try ctx.parameter("token")
            let form = try ctx.formPairs()
            guard let s = try await BrowserSession.current(g, ctx) else { return .redirect(to: "/invite/" + token) }
            let viewer = s.viewer()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.notice(
                    "Try again", "This form expired. Open the invitation again.",
                    action: ("Open the invitation", "/invite/" + token), status: 403, viewer: viewer)
            }
            if let wait = g.limiter.attempt([("accept:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait, viewer: viewer)
            }
            do {
                let o = try await open(g, token)
                guard g.reachesInvite(s.session.method, o.invite).isAllowed else {
                    return .redirect(to: "/invite/" + token)
                }
                let result = try await o.tenant.acceptInvite(
                    AcceptInviteRequest(
                        token: token, accountID: s.account.id, email: s.account.email,
                        firstName: s.account.firstName, lastName: s.account.lastName))
                var r = Response.redirect(to: g.settings.destination(result.startingPage))
                r.setCookie(BrowserSession.currentOrgCookie(g, org: result.orgID))
                return r
            } catch let e as GatehouseError {
                if e.code == GatehouseError.Code(Refusal.wrongEmail.code) || e.status == 403 {
                    return HTMLPage.notice(
                        "This invitation is for someone else", e.message, action: ("Home", "/"), status: 403,
                        viewer: viewer)
                }
                if e.code == .alreadyMember {
                    return HTMLPage.notice(
                        "You are already a member", e.message, action: ("Home", "/"), status: 409, viewer: viewer)
                }
                return linkProblem(e, viewer: viewer)
            }
        }

        b.post("/invite/:token/decline") { ctx in
            let token = try ctx.parameter("token")
            let form = try ctx.formPairs()
            guard let s = try await BrowserSession.current(g, ctx) else { return .redirect(to: "/invite/" + token) }
            let viewer = s.viewer()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.notice(
                    "Try again", "This form expired. Open the invitation again.",
                    action: ("Open the invitation", "/invite/" + token), status: 403, viewer: viewer)
            }
            do {
                let o = try await open(g, token)
                try g.reachesInvite(s.session.method, o.invite, declining: true).orThrow()
                try await o.tenant.declineInvite(
                    DeclineInviteRequest(token: token, accountID: s.account.id, email: s.account.email))
                return HTMLPage.notice(
                    "Invitation declined", "You declined the invitation to \(o.orgName).", action: ("Home", "/"),
                    status: 200, viewer: viewer)
            } catch let e as GatehouseError {
                return linkProblem(e, viewer: viewer)
            }
        }
    }
}
