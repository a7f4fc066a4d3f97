import GatehouseCore
import Gateway
import HTTP
import Web

/// Everything a browser sees: sign-in and home, invite links, SSO sign-in, the bootstrap page, the org console,
/// the region console and the account page. Built on the gateway's public surface and the region API
/// (`TenantAPI`); it never reaches a region's store.
package enum ConsoleRoutes {
    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.errorPage = ErrorPage { e, request in errorPage(e, request) }
        BootstrapPage.register(on: b, gateway: g)
        AccountPages.register(on: b, gateway: g)
        PasswordResetPages.register(on: b, gateway: g)
        InvitePages.register(on: b, gateway: g)
        SSOPages.register(on: b, gateway: g)
        OIDCPages.register(on: b, gateway: g)
        MembersPage.register(on: b, gateway: g)
        InvitesPage.register(on: b, gateway: g)
        OrgPages.register(on: b, gateway: g)
        AgencyPages.register(on: b, gateway: g)
        AppGatePages.register(on: b, gateway: g)
        AccountPage.register(on: b, gateway: g)
        RegionConsole.register(on: b, gateway: g)
    }

    /// A refusal as a browser sees it: what happened in words, and a way back (JSON clients keep JSON: see
    /// `ErrorPage.wantsHTML`). A 500 names the request id to give an administrator; nothing internal is shown.
    static func errorPage(_ e: GatehouseError, _ request: Request) -> Response {
        let (title, message): (String, String)
        switch e.status {
        case 404:
            (title, message) = (
                "Not found", "There is nothing at this address. It may have moved, or the link is incomplete."
            )
        case 405: (title, message) = ("Not available", e.message)
        case 401: (title, message) = ("Sign in first", "Sign in to see this page.")
        case 403: (title, message) = ("Not allowed", e.message)
        case 429: (title, message) = ("Slow down", e.message)
        case 409 where e.code.slug == "choose_org": (title, message) = ("Choose an organization", e.message)
        case 502, 504: (title, message) = ("App not answering", e.message)
        case 503:
            (title, message) = (
                "Try again shortly", "A part of Gatehouse is not answering right now. Try again in a minute."
            )
        case 500...:
            (title, message) = (
                "Something went wrong",
                "That did not work on our side. Try again; if it keeps happening, give your administrator this"
                    + " reference: \(request.id)."
            )
        default: (title, message) = ("That did not work", e.message)
        }
        let action =
            e.status == 401 ? ("Sign in", "/login?next=" + FormDecoding.percentEncode(request.target)) : ("Home", "/")
        return HTMLPage.notice(title, message, action: action, status: e.status)
    }
}
