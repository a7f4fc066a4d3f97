import Foundation
import GatehouseCore
import Gateway
import HTTP
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

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
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
                let account = try await g.redeemBootstrap(token: token, password: password)
                let (session, _) = try await g.sessions.create(accountID: account.id, method: .password)
                var r = page(
                    title: "You are signed in",
                    body: "<p>Signed in as \(account.email). You can manage your region now.</p>")
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
