import Gateway
import Web

/// Everything a browser sees: sign-in and home, invite links, SSO sign-in, the bootstrap page, the org console,
/// the region console and the account page. Built on the gateway's public surface and the region API
/// (`TenantAPI`); it never reaches a region's store.
package enum ConsoleRoutes {
    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        BootstrapPage.register(on: b, gateway: g)
        AccountPages.register(on: b, gateway: g)
        InvitePages.register(on: b, gateway: g)
        SSOPages.register(on: b, gateway: g)
        OIDCPages.register(on: b, gateway: g)
        MembersPage.register(on: b, gateway: g)
        InvitesPage.register(on: b, gateway: g)
        OrgPages.register(on: b, gateway: g)
        AccountPage.register(on: b, gateway: g)
        RegionConsole.register(on: b, gateway: g)
    }
}
