import Console
import Crypto
import Foundation
import GatehouseCore
import Gateway
import HTTP
import Mail
import Net
import Store
import Tenant
import TenantAPI
import TenantDomain
import Web

/// The composition root: opens the stores in the data directory and builds the router for one of three roles.
/// `gatehouse serve` hands `router` to the HTTP server; tests drive it in memory.
///
/// - `allInOne`: the gateway and the three regions in one process (regions reached in-process).
/// - `gateway`: the gateway alone, reaching each region at its configured URL with a signed identity.
/// - `region(r)`: one region's API and its outbox sender, answering only gateway-signed requests.
package final class GatehouseApp: Sendable {
    package enum Role: Sendable, Equatable {
        case allInOne, gateway
        case region(Region)
    }

    package let config: GatehouseConfig
    package let role: Role
    package let router: Router
    /// Regions served by this process, with their services (empty for a gateway-only process).
    package let regions: RegionDirectory
    /// Every region as the gateway reaches it (empty for a region-only process).
    package let tenants: RegionTenants
    /// Nil in a region-only process.
    package let gatewayService: GatewayService?
    package let senders: [OutboxSender]
    package let logger: Logger

    package static let version = "0.1.0"

    /// The gateway's store (accounts, sessions) in a process that has a gateway.
    package var gatewayStore: Database { gateway.db }

    /// The gateway of a process that has one.
    package var gateway: GatewayService {
        guard let g = gatewayService else { preconditionFailure("this process runs no gateway") }
        return g
    }

    package init(
        config: GatehouseConfig, role: Role = .allInOne, logSink: LogSink = .standardError,
        clock: any WallClock = SystemClock(),
        startBackground: Bool = true
    ) throws {
        self.config = config
        self.role = role
        let level: Logger.Level = ["debug": .debug, "warning": .warning, "error": .error][config.logLevel] ?? .info
        let logger = Logger(label: "gatehouse", sink: logSink, minimum: level)
        self.logger = logger
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let tokens = try InviteTokens.loadOrCreate(directory: config.keysPath)
        // Only a split deployment signs gateway → region requests.
        let forwardingKeysPath = config.keysPath + "/forwarding-keys.json"
        let builder = RouterBuilder(logger: logger)
        var stores: [(String, Database)] = []

        // Regions held by this process.
        let localRegions: [Region]
        switch role {
        case .allInOne: localRegions = Region.allCases
        case .gateway: localRegions = []
        case .region(let r): localRegions = [r]
        }
        var settings = RegionSettings()
        settings.publicBaseURL = config.publicBaseURL
        var services: [RegionService] = []
        var local: [Region: LocalRegionTenant] = [:]
        var senders: [OutboxSender] = []
        let transport = try Self.mailTransport(config, logger: logger)
        for region in localRegions {
            let (location, options) = try config.storeLocation(region.rawValue)
            let db = try RegionService.openDatabase(path: location, options: options)
            let service = RegionService(region: region, db: db, clock: clock, tokens: tokens, settings: settings)
            services.append(service)
            local[region] = try LocalRegionTenant(service: service, logger: logger, readCache: config.answerCache)
            stores.append((region.rawValue, db))
            if let transport {
                senders.append(
                    OutboxSender(service: service, transport: transport, settings: config.mail.outbox, logger: logger))
            }
            if startBackground {
                db.startCheckpointing()
                service.activity.startFlushing()
            }
        }
        regions = RegionDirectory(services)
        self.senders = senders
        if startBackground { for s in senders { s.start() } }

        // The gateway, with every region local or remote.
        if role == .allInOne || role == .gateway {
            var tenants: [any RegionTenant] = []
            let forwardingKeys = role == .gateway ? try KeyRing.loadOrCreate(path: forwardingKeysPath) : nil
            for region in Region.allCases {
                if let l = local[region] {
                    tenants.append(l)
                } else if let url = config.regionURLs[region], let forwardingKeys {
                    tenants.append(
                        try RemoteRegionTenant(
                            region: region, baseURL: url, keys: forwardingKeys, clock: clock,
                            caFile: config.regionCAFile))
                }
            }
            self.tenants = RegionTenants(tenants)
            let (location, options) = try config.storeLocation("gateway")
            let gatewayStore = try Database(path: location, migrations: GatewaySchema.migrations, options: options)
            if startBackground { gatewayStore.startCheckpointing() }
            stores.insert(("gateway", gatewayStore), at: 0)
            var gatewaySettings = GatewaySettings()
            gatewaySettings.publicBaseURL = config.publicBaseURL
            gatewaySettings.secureCookies = config.publicBaseURL.hasPrefix("https://")
            gatewaySettings.answerCache = config.answerCache
            gatewaySettings.loginBackoff = RateLimiter.Backoff(
                free: config.signInFreeFailures, cap: config.signInMaxDelay, forget: max(900, config.signInMaxDelay))
            gatewaySettings.loginPerAddress = config.signInFailuresPerAddress
            gatewaySettings.acceptPerAddress = config.acceptsPerAddress
            gatewaySettings.ssoStartsPerAddress = config.ssoStartsPerAddress
            gatewaySettings.destinations = config.destinations
            gatewaySettings.passwordResets.from = config.mail.outbox.from
            gatewaySettings.passwordResets.fromName = config.mail.outbox.fromName
            if let d = config.ssoDNSResolver.flatMap(DNSResolver.parse) { gatewaySettings.dnsResolver = d }
            if let keyFile = config.samlSPKeyFile, let certFile = config.samlSPCertFile {
                guard let keyPEM = try? String(contentsOfFile: keyFile, encoding: .utf8),
                    let certPEM = try? String(contentsOfFile: certFile, encoding: .utf8)
                else {
                    throw ConfigError("cannot read saml.spKeyFile or saml.spCertFile")
                }
                do {
                    gatewaySettings.samlSigningKey = try PrivateKey(pem: keyPEM)
                    gatewaySettings.samlSigningCertificate = try Certificate(text: certPEM)
                } catch {
                    throw ConfigError("saml SP key or certificate: \(error.reason)")
                }
            }
            if let file = config.samlSPPreviousKeyFile {
                guard let pem = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw ConfigError("cannot read saml.spPreviousKeyFile")
                }
                do { gatewaySettings.samlPreviousKey = try PrivateKey(pem: pem) } catch {
                    throw ConfigError("saml.spPreviousKeyFile: \(error.reason)")
                }
            }
            var policy = Sessions.Policy()
            policy.idleTimeout = config.sessionIdleTimeout
            policy.absoluteTimeout = config.sessionAbsoluteTimeout
            gatewaySettings.appAssertionKeysDirectory = config.keysPath + "/app-assertion"
            gatewaySettings.appUpstreams = config.appUpstreams
            gatewaySettings.appUpstreamCAFile = config.appUpstreamCAFile
            let gateway = try GatewayService(
                db: gatewayStore, regions: self.tenants, tokens: tokens, clock: clock,
                hasher: PasswordHasher(
                    parameters: ScryptParameters(logN: config.scryptLogN, r: config.scryptR, p: config.scryptP)),
                settings: gatewaySettings, sessionPolicy: policy)
            gatewayService = gateway
            // Forgot-password links go out from the gateway (accounts live here, not in a region).
            if startBackground, let transport { gateway.resets.start(transport) }
            GatewayRoutes.register(on: builder, gateway: gateway)
            ConsoleRoutes.register(on: builder, gateway: gateway)
            ForwardRoutes.register(on: builder, gateway: gateway)
            AppGateRoutes.register(on: builder, gateway: gateway)
            SCIMGatewayRoutes.register(on: builder, gateway: gateway)
        } else {
            tenants = RegionTenants([])
            gatewayService = nil
            let verifier = ForwardedIdentityVerifier(
                keys: try KeyRing.loadOrCreate(path: forwardingKeysPath), clock: clock,
                shared: services.first.map(\.db).flatMap { $0.readsAreLocal ? nil : $0 })
            RegionRoutes.register(on: builder, directory: regions, callers: verifier.provider)
            SCIMRoutes.register(on: builder, directory: regions, callers: verifier.provider)
            for tenant in local.values {
                RegionInternalRoutes.register(on: builder, tenant: tenant, callers: verifier.provider)
            }
        }
        HealthRoutes.register(on: builder, stores: stores)
        HealthRoutes.metrics(on: builder, token: config.metricsToken)
        for (name, db) in stores { db.metricsName = name }
        Self.describeMetrics()
        // Outbox depth and the oldest waiting mail's age, per region store, read at scrape time.
        for service in services {
            let db = service.db
            let region = service.region.rawValue
            let clock = clock
            Metrics.shared.sample {
                let row = try? await db.read { conn in
                    try conn.first("SELECT count(*), min(created_at) FROM outbox WHERE sent_at IS NULL")
                }
                let depth = Double(row?.int(0) ?? 0)
                let oldest = row?.int(1).map { max(0, clock.now().timeIntervalSince1970 - Double($0)) } ?? 0
                return [
                    ("gatehouse_outbox_depth", [("region", region)], depth),
                    ("gatehouse_outbox_oldest_seconds", [("region", region)], oldest),
                ]
            }
        }
        router = try builder.build()
    }

    static func describeMetrics() {
        let m = Metrics.shared
        m.describe("gatehouse_http_requests_total", "counter", "Requests by route pattern, method and status class.")
        m.describe("gatehouse_http_request_duration_seconds", "histogram", "Request latency by route pattern.")
        m.describe("gatehouse_open_connections", "gauge", "Client connections open now.")
        m.describe("gatehouse_store_write_seconds", "histogram", "Write transaction time per store.")
        m.describe(
            "gatehouse_store_busy_retries_total", "counter",
            "Waits for a lock another process held (SQLite busy retries), per store.")
        m.describe("gatehouse_outbox_depth", "gauge", "Mails waiting to be sent, per region.")
        m.describe("gatehouse_outbox_oldest_seconds", "gauge", "Age of the oldest mail waiting, per region.")
        m.describe("gatehouse_mail_failures_total", "counter", "Mail deliveries that failed, by kind of failure.")
        m.describe("gatehouse_sign_ins_total", "counter", "Sign-ins by method and outcome.")
        m.describe("gatehouse_sso_refusals_total", "counter", "SAML and OpenID Connect sign-ins refused, by reason.")
        m.describe("gatehouse_rate_limited_total", "counter", "Requests refused by a rate limit, by limit.")
    }

    static func mailTransport(_ config: GatehouseConfig, logger: Logger) throws -> (any MailTransport)? {
        switch config.mail.transport {
        case .off: return nil
        case .smtp:
            guard let smtp = config.mail.smtp else {
                throw ConfigError("mail.smtp.host is required when mail.transport is smtp")
            }
            return SMTPTransport(settings: smtp)
        case .dev:
            return DevMailTransport(directory: config.mail.directory ?? config.dataDirectory + "/mail", logger: logger)
        }
    }
}
