import TenantDomain
import Testing

/// `Rules.reach`: authentication method × org × SSO-only membership → allow or the precise refusal, against an
/// oracle written from the trust model (SECURITY.md) rather than from the implementation:
/// - an org's IdP vouches for that org only: its sessions reach nothing else, SSO-only or not, and are told to
///   sign in for the other org (401);
/// - an SSO-only membership opens only to its own org's SSO (rule 9);
/// - a password, bootstrap link or API key (keys are scoped to their org elsewhere) reaches any other membership;
/// - the gateway's own identity is never a member's session.
@Suite("Rules.reach: method × org × SSO-only")
struct ReachTableTests {
    static let home = "org_eu_aaaaaaaaaaaaaaaa", other = "org_us_bbbbbbbbbbbbbbbb"
    static let methods: [AuthMethod] = [
        .password, .bootstrap, .apiKey, .gateway, .saml(org: home), .oidc(org: home), .saml(org: other),
        .oidc(org: other),
    ]

    struct Case: CustomTestStringConvertible, Sendable {
        let method: AuthMethod, org: String, ssoOnly: Bool
        var testDescription: String {
            "\(method.wire) → \(org == ReachTableTests.home ? "home" : "other")\(ssoOnly ? " (SSO-only)" : "")"
        }
    }

    static let cases: [Case] = methods.flatMap { m in
        [home, other].flatMap { o in [false, true].map { Case(method: m, org: o, ssoOnly: $0) } }
    }

    static func oracle(_ c: Case) -> String? {
        let wire = c.method.wire
        let isSSO = wire.hasPrefix("saml:") || wire.hasPrefix("oidc:")
        if isSSO { return wire.hasSuffix(c.org) ? nil : "org_sign_in_required" }
        if c.ssoOnly { return "sso_required" }
        return wire == "gateway" ? "org_sign_in_required" : nil
    }

    @Test(arguments: cases)
    func reach(_ c: Case) {
        #expect(
            Rules.reach(c.method, org: c.org, ssoOnly: c.ssoOnly).refusal?.code == Self.oracle(c),
            "\(c.testDescription)")
    }

    @Test(arguments: methods)
    func wireFormRoundTrips(_ m: AuthMethod) {
        #expect(AuthMethod(wire: m.wire) == m)
    }

    @Test func unknownOrMalformedMethodsAreRefused() {
        for bad in [
            "", "saml:", "saml:not-an-org", "oidc:org_xx_1", "PASSWORD", "apikey ", "saml:org_eu_aaaaaaaaaaaaaaaa\n",
        ] {
            #expect(AuthMethod(wire: bad) == nil, "\(bad.debugDescription)")
        }
        #expect(AuthMethod.password.provesAccount && AuthMethod.bootstrap.provesAccount)
        #expect(
            !AuthMethod.apiKey.provesAccount && !AuthMethod.saml(org: Self.home).provesAccount
                && !AuthMethod.gateway.provesAccount)
    }
}
