import Foundation
import GatehouseCore
import HTTP
import Store
import Web

/// The composition root: opens the stores in the data directory and builds the router.
/// `gatehouse serve` hands `router` to the HTTP server; tests drive it in memory.
public final class GatehouseApp: Sendable {
    public let config: GatehouseConfig
    public let router: Router
    public let gatewayStore: Database
    public let logger: Logger

    public static let version = "0.1.0"

    public init(config: GatehouseConfig, logSink: LogSink = .standardError) throws {
        self.config = config
        let level: Logger.Level = ["debug": .debug, "warning": .warning, "error": .error][config.logLevel] ?? .info
        logger = Logger(label: "gatehouse", sink: logSink, minimum: level)
        try FileManager.default.createDirectory(atPath: config.dataDirectory, withIntermediateDirectories: true)
        let options = Database.Options(readers: config.storeReaders, synchronous: config.storeSynchronous)
        gatewayStore = try Database(path: config.dataDirectory + "/gateway.db", migrations: GatewaySchema.migrations, options: options)

        let builder = RouterBuilder(logger: logger)
        HealthRoutes.register(on: builder, stores: [("gateway", gatewayStore)])
        router = try builder.build()
    }
}
