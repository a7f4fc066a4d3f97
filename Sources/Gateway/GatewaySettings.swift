import Crypto
import Net
import TenantDomain

/// How the gateway presents itself.
public struct GatewaySettings: Sendable {
    /// `Secure` on cookies; on unless Gatehouse runs on plain HTTP (development).
    public var secureCookies = false
    /// Where each starting page lives (relative paths or absolute URLs), for the redirect after joining.
    public var destinations: [StartingPage: String] = [
        .studio: "/studio", .console: "/console", .portal: "/portal", .agentConsole: "/agent-console",
    ]
    public var publicBaseURL = "http://127.0.0.1:8080"
    /// Wrong passwords: growing delays per (account, client address), so nobody elsewhere can lock a person
    /// out; and a window per client address (failures only) against guessing many accounts from one place.
    public var loginBackoff = RateLimiter.Backoff()
    public var loginPerAddress = RateLimiter.Limit(count: 50, window: 300)
    /// Sign-up and invite acceptance: per invite and per client address.
    public var acceptPerInvite = RateLimiter.Limit(count: 10, window: 300)
    public var acceptPerAddress = RateLimiter.Limit(count: 30, window: 300)
    /// Codes mailed for one invite (sign-up through a copied link), and wrong codes before the delays grow.
    public var codesPerInvite = RateLimiter.Limit(count: 3, window: 600)
    public var codeBackoff = RateLimiter.Backoff(free: 5, cap: 900, forget: 3600)
    /// Anonymous SSO sign-in starts per client address (each writes a request row).
    public var ssoStartsPerAddress = RateLimiter.Limit(count: 30, window: 60)
    /// DNS checks of domain claims per org.
    public var domainChecksPerOrg = RateLimiter.Limit(count: 20, window: 600)
    /// The DNS server that domain verification asks (default: the system's first nameserver).
    public var dnsResolver = DNSResolver.system()
    /// The SP key and certificate that sign AuthnRequests for orgs that ask for signed requests.
    public var samlSigningKey: PrivateKey?
    public var samlSigningCertificate: Certificate?
    public init() {}

    public func destination(_ page: StartingPage) -> String { destinations[page] ?? "/" }
}
