import GatehouseCore
import Gateway
import HTTP
import Web

/// Forgot password, in the browser: ask for a link (the same page follows whether or not the address has an
/// account), then choose a new password from the mailed link (which ends every session) and sign in afresh.
enum PasswordResetPages {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/forgot") { ctx in
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = HTMLPage.render(
                title: "Forgot your password?", viewer: nil,
                body: askForm(csrf: csrf, email: ctx.query("email") ?? "", error: nil))
            if let cookie { r.setCookie(cookie) }
            return r
        }

        b.post("/forgot") { ctx in
            let form = try ctx.formPairs()
            let email = form.value("email") ?? ""
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Forgot your password?", viewer: nil,
                    body: askForm(csrf: csrf, email: email, error: "This form expired. Please try again."),
                    status: 403)
            }
            do {
                try await g.resets.request(email: email, client: g.clientKey(ctx))
            } catch let e as GatehouseError where e.status == 422 || e.status == 429 {
                var r = HTMLPage.render(
                    title: "Forgot your password?", viewer: nil,
                    body: askForm(csrf: csrf, email: email, error: e.message),
                    status: e.status)
                for (k, v) in e.headers { r.headers.add(k, v) }
                return r
            }
            return HTMLPage.notice(
                "Check your mail",
                g.resets.acknowledgement + " Nothing arrived? Look in your spam folder, or ask again.",
                action: ("Back to sign in", "/login"), status: 200)
        }

        b.get("/reset/:token") { ctx in
            let token = try ctx.parameter("token")
            let account: Account
            do {
                account = try await g.resets.check(token)
            } catch let e as GatehouseError {
                return deadLink(e)
            }
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = HTMLPage.render(
                title: "Choose a new password", viewer: nil,
                body: chooseForm(csrf: csrf, token: token, email: account.email, error: nil))
            if let cookie { r.setCookie(cookie) }
            return r
        }

        b.post("/reset/:token") { ctx in
            let token = try ctx.parameter("token")
            let form = try ctx.formPairs()
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            let account: Account
            do {
                account = try await g.resets.check(token)
            } catch let e as GatehouseError {
                return deadLink(e)
            }
            func again(_ message: String, status: Int) -> Response {
                HTMLPage.render(
                    title: "Choose a new password", viewer: nil,
                    body: chooseForm(csrf: csrf, token: token, email: account.email, error: message), status: status)
            }
            guard BrowserSession.checkForm(g, ctx, form) else {
                return again("This form expired. Please try again.", status: 403)
            }
            let password = form.value("password") ?? ""
            guard password == form.value("confirm") else {
                return again("The two passwords are not the same.", status: 422)
            }
            do {
                _ = try await g.resets.complete(token, password: password, hasher: g.accounts.hasher)
            } catch let e as GatehouseError where e.status == 410 {
                return deadLink(e)
            } catch let e as GatehouseError where e.status < 500 {
                return again(e.message, status: e.status)
            }
            var r = HTMLPage.notice(
                "Password changed",
                "Your new password is set, and every session of \(account.email) has ended. Sign in with the new"
                    + " password.", action: ("Sign in", "/login?email=" + FormDecoding.percentEncode(account.email)),
                status: 200)
            // This browser's session (if any) was one of them.
            r.setCookie(SetCookie.expire(Sessions.cookieName, secure: g.settings.secureCookies))
            return r
        }
    }

    static func deadLink(_ e: GatehouseError) -> Response {
        HTMLPage.notice("Link not valid", e.message, action: ("Ask for a new link", "/forgot"), status: e.status)
    }

    static func askForm(csrf: String, email: String, error: String?) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"forgot-error\">\($0)</p>" } ?? ""
        return alert + """
            <p>Enter the address you sign in with. We mail you a link to choose a new password.</p>
            <form method="post" action="/forgot"><input type="hidden" name="csrf" value="\(csrf)">
            <label for="email">Email</label><input id="email" name="email" type="text" inputmode="email" \
            autocomplete="username" autocapitalize="none" spellcheck="false" required value="\(email)"\
            \(if: error != nil, " aria-describedby=\"forgot-error\"")>
            <div class="actions"><button type="submit">Send me a link</button><a class="button secondary" \
            href="/login">Back to sign in</a></div></form>
            """
    }

    static func chooseForm(csrf: String, token: String, email: String, error: String?) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"reset-error\">\($0)</p>" } ?? ""
        return alert + """
            <p>For <strong>\(email)</strong>. Setting it signs you out everywhere.</p>
            <form method="post" action="/reset/\(token)"><input type="hidden" name="csrf" value="\(csrf)">
            <input type="text" name="username" autocomplete="username" value="\(email)" hidden>
            <label for="password">New password</label><input id="password" name="password" type="password" \
            autocomplete="new-password" minlength="\(Accounts.minimumPasswordLength)" required \
            aria-describedby="password-help\(if: error != nil, " reset-error")">
            <p class="meta" id="password-help">At least \(Accounts.minimumPasswordLength) characters.</p>
            <label for="confirm">Repeat it</label><input id="confirm" name="confirm" type="password" \
            autocomplete="new-password" required>
            <div class="actions"><button type="submit">Set new password</button></div></form>
            """
    }
}
