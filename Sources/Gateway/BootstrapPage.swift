import Foundation
import GatehouseCore
import HTTP
import Web

/// The page behind a region admin's one-time link: choose a password, then you are signed in. Works without
/// JavaScript; the token in the path is the only credential (it is spent on success).
enum BootstrapPage {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func page(title: String, body: String, status: Int = 200) -> Response {
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Gatehouse</title>
            <style>body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
            label{display:block;margin:.75rem 0 .25rem;font-weight:600}input{width:100%;padding:.5rem;font:inherit;border:1px solid #57606a;border-radius:6px}
            button{margin-top:1rem;padding:.55rem 1rem;font:inherit;background:#0b57d0;color:#fff;border:0;border-radius:6px}
            :focus-visible{outline:3px solid #f59e0b;outline-offset:2px}.error{color:#b3261e}</style></head>
            <body><main><h1>\(escape(title))</h1>\(body)</main></body></html>
            """
        return Response(status: status, headers: ["Content-Type": "text/html; charset=utf-8",
                                                  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
                                                  "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"],
                        body: Array(html.utf8))
    }

    static func form(_ token: String, error: String? = nil) -> String {
        (error.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? "") + """
            <p>Choose the password for your region admin account.</p>
            <form method="post" action="/bootstrap/\(escape(token))">
            <label for="password">New password (at least \(Accounts.minimumPasswordLength) characters)</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required minlength="\(Accounts.minimumPasswordLength)">
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
                return page(title: "Slow down", body: "<p>Too many attempts. Try again in \(wait) seconds.</p>", status: 429)
            }
            let password = try ctx.formPairs().first { $0.0 == "password" }?.1 ?? ""
            do {
                let account = try await g.redeemBootstrap(token: token, password: password)
                let (session, _) = try await g.sessions.create(accountID: account.id, method: "password")
                var r = page(title: "You are signed in", body: "<p>Signed in as \(escape(account.email)). You can manage your region now.</p>")
                r.setCookie(g.sessionCookie(session))
                return r
            } catch let e as GatehouseError {
                if e.code.slug == "weak_password" { return page(title: "Set your password", body: form(token, error: e.message), status: 422) }
                return page(title: "This link does not work", body: "<p>\(escape(e.message))</p>", status: e.status)
            }
        }
    }
}
