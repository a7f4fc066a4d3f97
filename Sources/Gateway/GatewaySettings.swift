import Crypto
import TenantDomain

/// How the gateway presents itself.
public struct GatewaySettings: Sendable {
    /// `Secure` on cookies; on unless Gatehouse runs on plain HTTP (development).
    public var secureCookies = false
    /// Where each starting page lives (relative paths or absolute URLs), for the redirect after joining.
    public var destinations: [StartingPage: String] = [.studio: "/studio", .console: "/console", .portal: "/portal", .agentConsole: "/agent-console"]
    public var publicBaseURL = "http://127.0.0.1:8080"
    /// Login: per account and per client address.
    public var loginPerAccount = RateLimiter.Limit(count: 10, window: 300)
    public var loginPerAddress = RateLimiter.Limit(count: 50, window: 300)
    /// Sign-up and invite acceptance: per invite and per client address.
    public var acceptPerInvite = RateLimiter.Limit(count: 10, window: 300)
    public var acceptPerAddress = RateLimiter.Limit(count: 30, window: 300)
    /// The SP key and certificate that sign AuthnRequests for orgs that ask for signed requests.
    public var samlSigningKey: PrivateKey?
    public var samlSigningCertificate: Certificate?
    public init() {}

    public func destination(_ page: StartingPage) -> String { destinations[page] ?? "/" }
}
