import Foundation
import App
import GatehouseCore
import Server
import TenantDomain
import Synchronization

/// Carries a result from a task to the blocked main thread of a one-shot command.
final class ResultBox: Sendable {
    private let value = Mutex<Result<String, any Error>?>(nil)
    func set(_ r: Result<String, any Error>) { value.withLock { $0 = r } }
    func get() throws -> String {
        guard let r = value.withLock({ $0 }) else { throw ConfigError("no result") }
        return try r.get()
    }
}

enum CLI {
    static let usage = """
        gatehouse — multi-tenant organization server with an SSO-ready auth gateway

        Usage:
          gatehouse serve [--host H] [--port N] [--data-dir DIR] [--config FILE]
                                  run the gateway and all three regions in one process
          gatehouse admin bootstrap --region us|eu|apac --email E [--data-dir DIR] [--config FILE]
                                  make E a region admin and print a one-time link to set their password
          gatehouse version       print the version
          gatehouse help | --help show this help (also: gatehouse <command> --help)

        Configuration: config/gatehouse.json when present (see config/README.md); flags override it.
        """

    static let serveUsage = """
        gatehouse serve — run the all-in-one server (gateway + regions us, eu, apac)

        Options:
          --host H         listen address (default 127.0.0.1)
          --port N         listen port (default 8080; 0 picks a free port)
          --data-dir DIR   where the SQLite databases live (default ./data)
          --config FILE    JSON configuration (default config/gatehouse.json when it exists)

        Stops gracefully on SIGTERM or SIGINT: stops accepting, finishes in-flight requests, exits 0.
        """

    static func run(_ args: [String]) -> Int32 {
        guard let command = args.first else {
            print(usage)
            return 0
        }
        let rest = Array(args.dropFirst())
        switch command {
        case "help", "--help", "-h":
            print(usage)
            return 0
        case "version", "--version":
            print("gatehouse \(GatehouseApp.version)")
            return 0
        case "admin":
            return admin(rest)
        case "serve":
            if rest.contains("--help") || rest.contains("-h") {
                print(serveUsage)
                return 0
            }
            return serve(rest)
        default:
            fail("unknown command '\(command)'. Run `gatehouse --help`.")
            return 2
        }
    }

    static func fail(_ message: String) {
        FileHandle.standardError.write(Data("gatehouse: \(message)\n".utf8))
    }

    /// Parses `--name value` pairs; refuses unknown flags and missing values.
    static func flags(_ args: [String], allowed: Set<String>) throws -> [String: String] {
        var out: [String: String] = [:]
        var i = 0
        while i < args.count {
            var name = args[i]
            var value: String?
            if let eq = name.firstIndex(of: "=") {
                value = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard name.hasPrefix("--"), allowed.contains(String(name.dropFirst(2))) else {
                throw ConfigError("unknown option \(name)")
            }
            if value == nil {
                i += 1
                guard i < args.count else { throw ConfigError("\(name) needs a value") }
                value = args[i]
            }
            out[String(name.dropFirst(2))] = value
            i += 1
        }
        return out
    }

    static let adminUsage = """
        gatehouse admin bootstrap — create the first region admin

          gatehouse admin bootstrap --region us|eu|apac --email E [--data-dir DIR] [--config FILE]

        Makes E (creating the account if needed) an admin of that region and prints a one-time link, valid for
        24 hours, where they choose a password: POST {"token": "…", "password": "…"} to /api/v1/auth/bootstrap.
        """

    static func loadConfig(_ f: [String: String]) throws -> GatehouseConfig {
        var c: GatehouseConfig
        if let path = f["config"] {
            c = try GatehouseConfig.load(path: path)
        } else if FileManager.default.fileExists(atPath: "config/gatehouse.json") {
            c = try GatehouseConfig.load(path: "config/gatehouse.json")
        } else {
            c = GatehouseConfig()
        }
        if let d = f["data-dir"] { c.dataDirectory = d }
        return c
    }

    static func admin(_ args: [String]) -> Int32 {
        guard args.first == "bootstrap", !args.contains("--help") else {
            print(adminUsage)
            return args.contains("--help") ? 0 : 2
        }
        do {
            let f = try flags(Array(args.dropFirst()), allowed: ["region", "email", "data-dir", "config"])
            guard let r = f["region"], let region = Region(rawValue: r) else { throw ConfigError("--region must be us, eu or apac") }
            guard let email = f["email"] else { throw ConfigError("--email is required") }
            let config = try loadConfig(f)
            let app = try GatehouseApp(config: config, logSink: .discard)
            let box = ResultBox()
            let done = DispatchSemaphore(value: 0)
            Task {
                do { box.set(.success(try await app.gateway.bootstrapRegionAdmin(email: email, region: region))) } catch { box.set(.failure(error)) }
                done.signal()
            }
            done.wait()
            let token = try box.get()
            print("\(email) is an admin of region \(region.rawValue).")
            print("One-time link (24 h): \(config.publicBaseURL)/bootstrap/\(token)")
            print("Or: curl -X POST \(config.publicBaseURL)/api/v1/auth/bootstrap -H 'Content-Type: application/json' -d '{\"token\":\"\(token)\",\"password\":\"…\"}'")
            return 0
        } catch {
            fail("\(error)")
            return 2
        }
    }

    static func serve(_ args: [String]) -> Int32 {
        HTTPServer.installSignalHandlers()
        let config: GatehouseConfig
        do {
            let f = try flags(args, allowed: ["host", "port", "data-dir", "config"])
            var c = try loadConfig(f)
            if let h = f["host"] { c.host = h }
            if let p = f["port"] {
                guard let n = Int(p), (0...65535).contains(n) else { throw ConfigError("--port must be 0–65535") }
                c.port = n
            }
            config = c
        } catch {
            fail("\(error)")
            return 2
        }
        let app: GatehouseApp
        do {
            app = try GatehouseApp(config: config)
        } catch {
            fail("cannot start: \(error)")
            return 1
        }
        let server = HTTPServer(configuration: config.serverConfiguration, responder: app.router, logSink: .standardError)
        let port: Int
        do {
            port = try server.start()
        } catch {
            fail("cannot listen: \(error)")
            return 1
        }
        let scheme = config.tlsCertificateFile == nil ? "http" : "https"
        let shownHost = config.host.contains(":") ? "[\(config.host)]" : config.host
        print("gatehouse \(GatehouseApp.version) listening on \(scheme)://\(shownHost):\(port) (data: \(config.dataDirectory))")
        fflush(nil)
        app.logger.info("listening", ["net.host": .string(config.host), "net.port": .int(port), "data.directory": .string(config.dataDirectory)])
        let signal = HTTPServer.waitForShutdownSignal()
        app.logger.info("shutting down", ["signal": .int(Int(signal))])
        server.shutdown()
        app.logger.info("stopped")
        return 0
    }
}
