import Foundation
import GatehouseCore
import HTTP
import Store
import Gateway
import Crypto
import Tenant
import TenantDomain
import Web

/// The composition root: opens the stores in the data directory and builds the router.
/// `gatehouse serve` hands `router` to the HTTP server; tests drive it in memory.
public final class GatehouseApp: Sendable {
    public let config: GatehouseConfig
    public let router: Router
    public let gatewayStore: Database
    public let regions: RegionDirectory
    public let gateway: GatewayService
    public let logger: Logger

    public static let version = "0.1.0"

    /// - Parameter callers: who is calling the region API; by default the gateway's sessions and API keys.
    public init(config: GatehouseConfig, logSink: LogSink = .standardError, clock: any WallClock = SystemClock(),
                callers: CallerProvider? = nil) throws {
        self.config = config
        let level: Logger.Level = ["debug": .debug, "warning": .warning, "error": .error][config.logLevel] ?? .info
        logger = Logger(label: "gatehouse", sink: logSink, minimum: level)
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let options = Database.Options(readers: config.storeReaders, synchronous: config.storeSynchronous)
        gatewayStore = try Database(path: config.dataDirectory + "/gateway.db", migrations: GatewaySchema.migrations, options: options)
        gatewayStore.startCheckpointing()

        let tokens = try InviteTokens.loadOrCreate(directory: config.dataDirectory + "/keys")
        var settings = RegionSettings()
        settings.publicBaseURL = config.publicBaseURL
        var services: [RegionService] = []
        for region in Region.allCases {
            let db = try RegionService.openDatabase(path: "\(config.dataDirectory)/\(region.rawValue).db", options: options)
            db.startCheckpointing()
            let service = RegionService(region: region, db: db, clock: clock, tokens: tokens, settings: settings)
            service.activity.startFlushing()
            services.append(service)
        }
        regions = RegionDirectory(services)

        var gatewaySettings = GatewaySettings()
        gatewaySettings.publicBaseURL = config.publicBaseURL
        gatewaySettings.secureCookies = config.publicBaseURL.hasPrefix("https://")
        var policy = Sessions.Policy()
        policy.idleTimeout = config.sessionIdleTimeout
        policy.absoluteTimeout = config.sessionAbsoluteTimeout
        let gateway = GatewayService(db: gatewayStore, regions: regions, tokens: tokens, clock: clock,
                                     hasher: PasswordHasher(parameters: ScryptParameters(logN: config.scryptLogN, r: config.scryptR, p: config.scryptP)),
                                     settings: gatewaySettings, sessionPolicy: policy)
        self.gateway = gateway

        let builder = RouterBuilder(logger: logger)
        HealthRoutes.register(on: builder, stores: [("gateway", gatewayStore)] + services.map { ($0.region.rawValue, $0.db) })
        GatewayRoutes.register(on: builder, gateway: gateway)
        RegionRoutes.register(on: builder, directory: regions, callers: callers ?? { try await gateway.caller($0) })
        router = try builder.build()
    }
}
