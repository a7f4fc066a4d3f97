import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import SAML
import TenantAPI
import Testing

@testable import Console

/// The SSO page as a model: what it warns about follows the settings and the SP key, decided without rendering.
@Suite("Console: the SSO page model")
struct SSOPageModelTests {
    static let roles = [
        RoleView(id: "owner", name: "Owner", permissions: [], builtIn: true),
        RoleView(id: "member", name: "Member", permissions: [], builtIn: true),
        RoleView(id: "viewer", name: "Viewer", permissions: [], builtIn: true),
    ]

    static func settings(slo: String?, bits: Int?) -> SSOSettings {
        var s = SSOSettings(
            idp: IdPDescriptor(
                entityID: "https://idp.test", ssoURL: "https://idp.test/sso", ssoBinding: SAMLNames.postBinding,
                certificates: ["x"], sloURL: slo),
            jit: .init(enabled: true, defaultRole: "viewer"))
        s.minRSABits = bits
        return s
    }

    @Test(arguments: [false, true], [nil, 1024])
    func warningsFollowTheSettings(withKey: Bool, bits: Int?) throws {
        let k = try SAMLKit.makeKeys("rsa")
        let sp = ServiceProvider(
            baseURL: "https://gh.test", orgID: "org_eu_x", key: withKey ? k.key : nil,
            certificate: withKey ? k.certificate : nil)
        let m = SSOPageModel(
            org: "org_eu_x", sp: sp, settings: Self.settings(slo: "https://idp.test/slo", bits: bits),
            roles: Self.roles,
            domains: [], error: nil)
        var expected: [SSOPageModel.Warning] = []
        if let bits { expected.append(.legacyKeys(bits: bits)) }
        if !withKey { expected.append(.unsignedLogout) }
        #expect(m.warnings == expected)
        #expect(m.sp.hasKey == withKey && m.sp.sloURL == "https://gh.test/sso/org_eu_x/slo")
        #expect(m.idp?.ssoBinding == "HTTP-POST" && m.idp?.sloURL == "https://idp.test/slo")
        #expect(m.roleOptions.map(\.value) == ["member", "viewer"], "owner is never a JIT role")
        #expect(m.roleOptions.first { $0.selected }?.value == "viewer")
        #expect(m.minRSABits == (bits ?? 2048))
    }

    @Test func oneRenderingCheck() throws {
        let sp = ServiceProvider(baseURL: "https://gh.test", orgID: "org_eu_x")
        let m = SSOPageModel(
            org: "org_eu_x", sp: sp, settings: Self.settings(slo: nil, bits: 1024), roles: Self.roles, domains: [],
            error: "bad <xml>")
        let html = SSOPageView.render(m, base: "/console/org_eu_x", csrfField: "").text
        #expect(html.contains("id=\"legacy-keys\"") && html.contains("not offered by the IdP"))
        #expect(html.contains("bad &lt;xml&gt;") && !html.contains("bad <xml>"))
        #expect(html.contains("<option value=\"1024\" selected>"))
    }

    /// The POST-binding page lets its form go to the IdP's origin only, and only when that origin is a plain host:
    /// a settings value that would smuggle directives into the policy leaves `form-action 'self'`.
    @Test func postBindingPageAllowsOnlyThePlainIdPOrigin() {
        let ok = SSOPages.postForm(to: "https://idp.example.com:8443/sso?x=1", "SAMLRequest", "abc", relayState: "/")
        let csp = ok.headers["Content-Security-Policy"] ?? ""
        #expect(csp.contains("form-action https://idp.example.com:8443;") && !csp.contains("form-action 'self'"))
        #expect(ok.bodyText.contains("data-autosubmit") && ok.bodyText.contains("name=\"RelayState\" value=\"/\""))
        for evil in ["https://idp.test;script-src*/sso", "javascript:alert(1)", "https://id%20p.test/sso"] {
            let r = SSOPages.postForm(to: evil, "SAMLRequest", "abc", relayState: nil)
            #expect((r.headers["Content-Security-Policy"] ?? "").contains("form-action 'self'"), "\(evil)")
        }
    }
}
