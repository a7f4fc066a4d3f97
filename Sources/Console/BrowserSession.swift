import Crypto
import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The browser side of sessions for pages: who is signed in, and CSRF tokens for forms.
///
/// Signed-in forms carry the session's CSRF token (an HMAC of the session id). Forms shown before sign-in
/// (login, sign-up through an invite) carry the HMAC of a random pre-session cookie instead, so a login form
/// posted from another site fails too (login CSRF).
struct BrowserSession {
    static let preSessionCookie = "gh_pre"

    let account: Account
    let session: Session
    let token: String
    let csrf: String
    let regionAdmin: Region?

    static func current(_ g: GatewayService, _ ctx: RequestContext) async throws -> BrowserSession? {
        guard let token = g.sessionToken(ctx),
            let (session, account, regionAdmin) = try await g.sessions.validateWithAccount(token)
        else { return nil }
        // Region-admin rights follow the caller's rules: none for a session an org's IdP made.
        let caller = Caller(session: session, account: account, regionAdmin: regionAdmin)
        return BrowserSession(
            account: account, session: session, token: token, csrf: g.sessions.csrfToken(for: token),
            regionAdmin: caller.regionAdminOf)
    }

    /// The caller the region sees for this browser (the form's CSRF token is checked by the page).
    var caller: Caller {
        Caller(session: session, account: account, regionAdmin: regionAdmin)
    }

    /// The header's view of this person, without the org switcher's memberships unless given.
    func viewer(
        memberships: [MembershipSummary] = [], currentOrg: String? = nil, pendingInvites: Int = 0
    )
        -> HTMLPage.Viewer
    {
        HTMLPage.Viewer(
            name: account.displayName, email: account.email, csrf: csrf, memberships: memberships,
            currentOrg: currentOrg, regionAdmin: regionAdmin?.rawValue, pendingInvites: pendingInvites)
    }

    /// Remembers the org a person is working in (set on switching and on joining).
    static func currentOrgCookie(_ g: GatewayService, org: String) -> SetCookie {
        SetCookie(
            name: AccountPages.currentOrgCookie, value: org, path: "/", maxAge: Int(g.sessions.policy.absoluteTimeout),
            httpOnly: true, secure: g.settings.secureCookies, sameSite: .lax)
    }

    /// The pre-session CSRF token for a form, and the cookie to set when the browser has none yet.
    static func preSessionToken(_ g: GatewayService, _ ctx: RequestContext) -> (csrf: String, cookie: SetCookie?) {
        if let v = Cookies.value(named: preSessionCookie, in: ctx.request.headers), v.utf8.count == 32 {
            return (g.sessions.csrfToken(for: v), nil)
        }
        let v = Base64URL.encode(SecureRandom.bytes(24))
        return (
            g.sessions.csrfToken(for: v),
            SetCookie(
                name: preSessionCookie, value: v, path: "/", maxAge: 3600, httpOnly: true,
                secure: g.settings.secureCookies, sameSite: .strict)
        )
    }

    /// Checks a form's `csrf` field against the session (when signed in) or the pre-session cookie.
    static func checkForm(_ g: GatewayService, _ ctx: RequestContext, _ form: [(String, String)]) -> Bool {
        guard let presented = form.first(where: { $0.0 == "csrf" })?.1 else { return false }
        if let token = g.sessionToken(ctx), g.sessions.checkCSRF(presented, sessionToken: token) { return true }
        if let pre = Cookies.value(named: preSessionCookie, in: ctx.request.headers),
            g.sessions.checkCSRF(presented, sessionToken: pre)
        {
            return true
        }
        return false
    }

    /// A local path to continue to after sign-in; anything else becomes `/`.
    ///
    /// Accepted only when every byte is a printable ASCII character of a URI path, query or fragment (RFC 3986)
    /// and it starts with one `/`: no control characters or whitespace anywhere (browsers drop a TAB or newline,
    /// so `/\t/evil.host` would become `//evil.host`), no backslash (read as `/`), no second leading slash.
    static func safeNext(_ raw: String?) -> String {
        guard let raw else { return "/" }
        let u = Array(raw.utf8)
        guard u.count < 2048, u.first == UInt8(ascii: "/"), u.count == 1 || u[1] != UInt8(ascii: "/"),
            u.allSatisfy(isPathByte)
        else { return "/" }
        return raw
    }

    /// unreserved / sub-delims / ":" "@" "/" "?" "#" "%" — nothing else.
    private static func isPathByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default: return Array("-._~!$&'()*+,;=:@/?#%".utf8).contains(b)
        }
    }
}

extension Array where Element == (String, String) {
    func value(_ name: String) -> String? { first { $0.0 == name }?.1 }
}
