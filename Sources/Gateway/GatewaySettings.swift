import Crypto
import Net
import TenantDomain

/// How the gateway presents itself.
package struct GatewaySettings: Sendable {
    /// `Secure` on cookies; on unless Gatehouse runs on plain HTTP (development).
    package var secureCookies = false
    /// Whole answers to reads (region API, console pages) remembered until the next write (`ResponseCache`).
    /// Off only to measure the path without it.
    package var answerCache = true
    /// Where each starting page lives (relative paths or absolute URLs), for the redirect after joining.
    /// By default the starting pages' apps behind this gateway (every org has them; see `RegionService`), except
    /// Console: Gatehouse's own console, where an org's first owner lands (`destinations.console` in the
    /// configuration points it at the org's Console app, `/apps/console/`, instead).
    package var destinations: [StartingPage: String] = [
        .studio: "/apps/studio/", .console: "/console", .portal: "/apps/portal/",
        .agentConsole: "/apps/agent-console/",
    ]
    package var publicBaseURL = "http://127.0.0.1:8080"
    /// Wrong passwords: growing delays per (account, client address), so nobody elsewhere can lock a person
    /// out; and a window per client address (failures only) against guessing many accounts from one place.
    package var loginBackoff = RateLimiter.Backoff()
    package var loginPerAddress = RateLimiter.Limit(count: 50, window: 300)
    /// Sign-up and invite acceptance: per invite and per client address.
    package var acceptPerInvite = RateLimiter.Limit(count: 10, window: 300)
    package var acceptPerAddress = RateLimiter.Limit(count: 30, window: 300)
    /// Codes mailed for one invite (sign-up through a copied link), and wrong codes before the delays grow.
    package var codesPerInvite = RateLimiter.Limit(count: 3, window: 600)
    package var codeBackoff = RateLimiter.Backoff(free: 5, cap: 900, forget: 3600)
    /// Anonymous SSO sign-in starts per client address (each writes a request row).
    package var ssoStartsPerAddress = RateLimiter.Limit(count: 30, window: 60)
    /// DNS checks of domain claims per org.
    package var domainChecksPerOrg = RateLimiter.Limit(count: 20, window: 600)
    /// The DNS server that domain verification asks (default: the system's first nameserver).
    package var dnsResolver = DNSResolver.system()
    /// Apps behind the gateway: the upstreams it may forward to, as `host:port` patterns (`*` for any part:
    /// `127.0.0.1:*`, `*.apps.internal:443`, `*` for anything). Empty: none — an org admin names an upstream, the
    /// operator decides whether the gateway may reach it (otherwise any org could make it call inside the network).
    package var appUpstreams: [String] = []
    /// Where the app-assertion keys live (nil: one key in memory), and a CA file for https upstreams.
    package var appAssertionKeysDirectory: String?
    package var appUpstreamCAFile: String?

    /// Whether `host:port` matches one of `appUpstreams`.
    package func allowsUpstream(host: String, port: Int) -> Bool {
        let h = host.lowercased()
        return appUpstreams.contains { pattern in
            if pattern == "*" { return true }
            let parts = pattern.lowercased().split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return false }
            let hostOK =
                parts[0] == h || (parts[0].hasPrefix("*.") && h.hasSuffix(String(parts[0].dropFirst())))
                || parts[0] == "*"
            return hostOK && (parts[1] == "*" || parts[1] == String(port))
        }
    }

    /// Forgot-password links: lifetime, limits, and the mail's sender.
    package var passwordResets = PasswordResets.Settings()
    /// The SP key and certificate: they sign AuthnRequests (for orgs that ask) and logout messages, and IdPs
    /// encrypt assertions to them.
    package var samlSigningKey: PrivateKey?
    package var samlSigningCertificate: Certificate?
    /// The SP key being rotated out (`saml.spPreviousKeyFile`): decrypts only.
    package var samlPreviousKey: PrivateKey?
    package init() {}

    package func destination(_ page: StartingPage) -> String { destinations[page] ?? "/" }
}
