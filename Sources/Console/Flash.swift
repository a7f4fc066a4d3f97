import GatehouseCore
import Gateway
import HTTP

/// A one-time message after a form: set on the redirect, shown (escaped) by the next page, then cleared.
enum Flash {
    static let cookieName = "gh_flash"

    static func set(_ g: GatewayService, _ message: String) -> SetCookie {
        SetCookie(
            name: cookieName, value: Base64URL.encode(Array(message.utf8)), path: "/", maxAge: 60,
            httpOnly: true, secure: g.settings.secureCookies, sameSite: .lax)
    }

    static func read(_ headers: HTTPHeaders) -> String? {
        guard let v = Cookies.value(named: cookieName, in: headers), let bytes = Base64URL.decode(v) else { return nil }
        return String(decoding: bytes.prefix(500), as: UTF8.self)
    }

    static func clear(_ g: GatewayService) -> SetCookie {
        SetCookie.expire(cookieName, secure: g.settings.secureCookies)
    }

    /// The message as a status paragraph, or "".
    static func html(_ headers: HTTPHeaders) -> HTML {
        read(headers).map { "<p class=\"flash\" role=\"status\">\($0)</p>" } ?? ""
    }
}
