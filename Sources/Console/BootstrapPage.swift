import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantDomain
import Web

/// The page behind a region admin's one-time link: choose a password, then you are signed in. Works without
/// JavaScript; the token in the path is the only credential (it is spent on success).
enum BootstrapPage {
    static func page(title: String, body: HTML, status: Int = 200) -> Response {
        HTMLPage.render(title: title, viewer: nil, body: body, status: status)
    }

    static func form(_ token: String, error: String? = nil) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        return alert + """
            <p>Choose the password for your region admin account.</p>
            <form method="post" action="/bootstrap/\(token)">
            <label for="password">New password (at least \(Accounts.minimumPasswordLength) characters)</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required \
            minlength="\(Accounts.minimumPasswordLength)">
            <button type="submit">Set password and sign in</button></form>
            """
    }

    /// The first run's setup form: who the first operator is and which region they run.
    static func setupForm(_ token: String, csrf: String, email: String = "", error: String? = nil) -> HTML {
        let alert: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        var regions: HTML = ""
        for (i, r) in Region.allCases.enumerated() {
            regions +=
                "<label class=\"inline\"><input type=\"radio\" name=\"region\" value=\"\(r.rawValue)\""
                + "\(if: i == 0, " checked")> \(r.rawValue.uppercased())</label>"
        }
        return alert + """
            <p>Welcome. Create the first operator: a region admin, who provisions organizations in their region and \
            invites each one's owner. Their data stays in that region.</p>
            <form method="post" action="/setup/\(token)"><input type="hidden" name="csrf" value="\(csrf)">
            <label for="setup-email">Your email</label>
            <input id="setup-email" name="email" type="email" autocomplete="email" required value="\(email)">
            <fieldset><legend>Your region</legend>\(regions)</fieldset>
            <button type="submit">Continue</button></form>
            """
    }

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        // First run: `serve` prints /setup/<token> while no region admin exists.
        b.get("/setup/:token") { ctx in
            guard try await g.setupTokenIsLive(try ctx.parameter("token")) else {
                return HTMLPage.notice(
                    "Setup is done", "Gatehouse is already set up. Sign in instead.", action: ("Sign in", "/login"),
                    status: 410)
            }
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = page(title: "Set up Gatehouse", body: setupForm(try ctx.parameter("token"), csrf: csrf))
            if let cookie { r.setCookie(cookie) }
            return r
        }
        b.post("/setup/:token") { ctx in
            let token = try ctx.parameter("token")
            if let wait = g.limiter.attempt([("bootstrap:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let form = try ctx.formPairs()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.notice(
                    "Please try again", "The form expired. Open the setup link again.",
                    action: ("Set up", "/setup/\(token)"), status: 403)
            }
            let email = form.first { $0.0 == "email" }?.1 ?? ""
            guard let region = (form.first { $0.0 == "region" }?.1).flatMap(Region.init(rawValue:)) else {
                let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
                return page(
                    title: "Set up Gatehouse",
                    body: setupForm(token, csrf: csrf, email: email, error: "Choose a region."),
                    status: 422)
            }
            do {
                let link = try await g.completeSetup(token: token, email: email, region: region)
                return Response.redirect(to: "/bootstrap/\(link)")
            } catch let e as GatehouseError where e.status == 422 {
                let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
                return page(
                    title: "Set up Gatehouse", body: setupForm(token, csrf: csrf, email: email, error: e.message),
                    status: 422)
            } catch let e as GatehouseError {
                return HTMLPage.notice(
                    e.status == 410 ? "Setup is done" : "That did not work", e.message,
                    action: ("Sign in", "/login"), status: e.status)
            }
        }
        b.get("/bootstrap/:token") { ctx in
            page(title: "Set your password", body: form(try ctx.parameter("token")))
        }
        b.post("/bootstrap/:token") { ctx in
            let token = try ctx.parameter("token")
            if let wait = g.limiter.attempt([("bootstrap:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let password = try ctx.formPairs().first { $0.0 == "password" }?.1 ?? ""
            do {
                let (account, region) = try await g.redeemBootstrap(token: token, password: password)
                let (session, _) = try await g.sessions.create(accountID: account.id, method: .password)
                // Straight to the region console (it used to stop on a page with nowhere to go).
                var r = Response.redirect(to: region.map { "/region/\($0.rawValue)" } ?? "/")
                r.setCookie(g.sessionCookie(session))
                return r
            } catch let e as GatehouseError {
                if e.code == .weakPassword {
                    return page(title: "Set your password", body: form(token, error: e.message), status: 422)
                }
                return page(title: "This link does not work", body: "<p>\(e.message)</p>", status: e.status)
            }
        }
    }
}
