import App
import Foundation
import GatehouseCore
import Gateway
import HTTP
import Server
import Synchronization
import TenantDomain

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
          gatehouse serve [--host H] [--port N] [--data-dir DIR] [--keys-dir DIR] [--config FILE]
                                  run the gateway and all three regions in one process
          gatehouse gateway [--us URL] [--eu URL] [--apac URL] [same options as serve]
                                  run the gateway alone; regions are reached at their URLs (or config "regions")
          gatehouse region --region us|eu|apac [same options as serve]
                                  run one region alone; it answers only gateway-signed requests
          gatehouse admin bootstrap --region us|eu|apac --email E [--data-dir DIR] [--config FILE]
                                  make E a region admin and print a one-time link to set their password
          gatehouse admin rotate-app-key [--data-dir DIR] [--keys-dir DIR] [--config FILE]
                                  add the app-assertion key that signs from the next start (both stay published)
          gatehouse saml verify --idp-cert PEM --audience ID --acs URL [...] <response.xml | ->
                                  check a SAML Response offline (gatehouse saml verify --help)
          gatehouse oidc verify --issuer URL --client-id ID --jwks FILE [--nonce N] <id_token | ->
                                  check an OpenID Connect ID token offline (gatehouse oidc verify --help)
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
          --public-url URL the address people reach Gatehouse at, for links in mail and pages
                           (default: the address listened on, e.g. http://127.0.0.1:8080)

          --keys-dir DIR   signing keys, shared by a gateway and its regions (default DATA/keys)

        Split deployment: `gatehouse region --region eu --port 9102` per region, then
        `gatehouse gateway --eu http://127.0.0.1:9102 …`, all with the same --keys-dir.

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
        case "saml":
            return SAMLVerifyCommand.run(rest)
        case "oidc":
            return OIDCVerifyCommand.run(rest)
        case "serve", "gateway", "region":
            if rest.contains("--help") || rest.contains("-h") {
                print(serveUsage)
                return 0
            }
            return serve(rest, command: command)
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

        gatehouse admin rotate-app-key — a new key for the assertions apps behind the gateway receive

          gatehouse admin rotate-app-key [--data-dir DIR] [--keys-dir DIR] [--config FILE]

        Writes a new P-256 key to <keys>/app-assertion/; after a restart it signs and the previous one stays in
        /.well-known/jwks.json (the two newest are published). Delete the oldest file once upstreams refreshed.
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
        if let d = f["keys-dir"] { c.keysDirectory = d }
        return c
    }

    static func admin(_ args: [String]) -> Int32 {
        if args.first == "rotate-app-key", !args.contains("--help") {
            do {
                let f = try flags(Array(args.dropFirst()), allowed: ["data-dir", "keys-dir", "config"])
                let dir = try loadConfig(f).keysPath + "/app-assertion"
                try FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let kid = try AppAssertions.addKey(directory: dir)
                print(
                    "New app-assertion key \(kid) in \(dir): it signs after the next start; the previous stays"
                        + " published.")
                return 0
            } catch {
                fail("\(error)")
                return 2
            }
        }
        guard args.first == "bootstrap", !args.contains("--help") else {
            print(adminUsage)
            return args.contains("--help") ? 0 : 2
        }
        do {
            let f = try flags(Array(args.dropFirst()), allowed: ["region", "email", "data-dir", "keys-dir", "config"])
            guard let r = f["region"], let region = Region(rawValue: r) else {
                throw ConfigError("--region must be us, eu or apac")
            }
            guard let email = f["email"] else { throw ConfigError("--email is required") }
            let config = try loadConfig(f)
            let app = try GatehouseApp(config: config, role: .gateway, logSink: .discard, startBackground: false)
            let box = ResultBox()
            let done = DispatchSemaphore(value: 0)
            Task {
                do { box.set(.success(try await app.gateway.bootstrapRegionAdmin(email: email, region: region))) } catch
                { box.set(.failure(error)) }
                done.signal()
            }
            done.wait()
            let token = try box.get()
            print("\(email) is an admin of region \(region.rawValue).")
            print("One-time link (24 h): \(config.publicBaseURL)/bootstrap/\(token)")
            print(
                "Or: curl -X POST \(config.publicBaseURL)/api/v1/auth/bootstrap -H 'Content-Type: application/json'"
                    + " -d '{\"token\":\"\(token)\",\"password\":\"…\"}'"
            )
            return 0
        } catch {
            fail("\(error)")
            return 2
        }
    }

    static func serve(_ args: [String], command: String) -> Int32 {
        HTTPServer.installSignalHandlers()
        var config: GatehouseConfig
        let role: GatehouseApp.Role
        do {
            var allowed: Set<String> = ["host", "port", "data-dir", "keys-dir", "config", "public-url"]
            if command == "gateway" { allowed.formUnion(Region.allCases.map(\.rawValue)) }
            if command == "region" { allowed.insert("region") }
            let f = try flags(args, allowed: allowed)
            var c = try loadConfig(f)
            switch command {
            case "gateway":
                role = .gateway
                for r in Region.allCases {
                    if let url = f[r.rawValue] {
                        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                            throw ConfigError("--\(r.rawValue) must be an http(s) URL")
                        }
                        c.regionURLs[r] = url
                    }
                }
                guard !c.regionURLs.isEmpty else {
                    throw ConfigError(
                        "gatehouse gateway needs at least one region URL (--us/--eu/--apac or config \"regions\")")
                }
            case "region":
                guard let r = f["region"].flatMap(Region.init(rawValue:)) else {
                    throw ConfigError("--region must be us, eu or apac")
                }
                role = .region(r)
            default:
                role = .allInOne
            }
            if let h = f["host"] { c.host = h }
            if let p = f["port"] {
                guard let n = Int(p), (0...65535).contains(n) else { throw ConfigError("--port must be 0–65535") }
                c.port = n
            }
            if let u = f["public-url"] { try c.setPublicBaseURL(u) }
            config = c
        } catch {
            fail("\(error)")
            return 2
        }
        // Listen first, so the public address can default to the port actually bound (`--port 0` included);
        // requests that arrive before the app is built get 503.
        let responder = DeferredResponder()
        let server = HTTPServer(
            configuration: config.serverConfiguration, responder: responder, logSink: .standardError)
        let port: Int
        do {
            port = try server.start()
        } catch {
            fail("cannot listen: \(error)")
            return 1
        }
        if !config.publicBaseURLIsSet {
            config.publicBaseURL = config.listeningURL(port: port)
        } else if let warning = config.publicURLWarning(port: port) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let app: GatehouseApp
        do {
            app = try GatehouseApp(config: config, role: role)
        } catch {
            server.shutdown()
            fail("cannot start: \(error)")
            return 1
        }
        responder.set(app.router)
        let scheme = config.tlsCertificateFile == nil ? "http" : "https"
        let shownHost = config.host.contains(":") ? "[\(config.host)]" : config.host
        let what: String
        switch role {
        case .allInOne: what = "gateway + regions"
        case .gateway: what = "gateway"
        case .region(let r): what = "region \(r.rawValue)"
        }
        let stores =
            config.storeBackend == .postgres
            ? "stores: PostgreSQL" + (config.storeSchemaPrefix.map { ", schemas \($0)_*" } ?? "")
            : "data: \(config.dataDirectory)"
        print("gatehouse \(GatehouseApp.version) (\(what)) listening on \(scheme)://\(shownHost):\(port) (\(stores))")
        if config.publicBaseURL != config.listeningURL(port: port) {
            print("links in mail and pages use \(config.publicBaseURL)")
        }
        // First run: no operator yet. A one-time link to the setup page (as Gitea or Grafana do), good until used
        // or until a region admin exists (`gatehouse admin bootstrap` also ends it); each start prints a new one,
        // and every gateway sharing the store accepts any of them.
        if role == .allInOne || role == .gateway, (try? app.gateway.needsSetupNow()) == true,
            let token = try? app.gateway.beginSetup()
        {
            print("First run: set up the first operator at \(config.publicBaseURL)/setup/\(token)")
        }
        fflush(nil)
        app.logger.info(
            "listening",
            ["net.host": .string(config.host), "net.port": .int(port), "data.directory": .string(config.dataDirectory)])
        let signal = HTTPServer.waitForShutdownSignal()
        app.logger.info("shutting down", ["signal": .int(Int(signal))])
        server.shutdown()
        for sender in app.senders { sender.stop() }
        app.logger.info("stopped")
        return 0
    }
}

/// The server's responder until the app exists: the server listens first (so the public address can default to
/// the port it bound), then the app is built and set here. Anything asked before that gets 503.
final class DeferredResponder: HTTPResponder {
    private let target = Mutex<(any HTTPResponder)?>(nil)

    func set(_ r: any HTTPResponder) { target.withLock { $0 = r } }

    func respond(to request: Request) async -> Response {
        guard let r = target.withLock({ $0 }) else { return Self.starting }
        return await r.respond(to: request)
    }

    func respondImmediately(to request: Request) -> Response? {
        guard let r = target.withLock({ $0 }) else { return Self.starting }
        return r.respondImmediately(to: request)
    }

    func respondLater(to request: Request, _ done: @escaping @Sendable (Response) -> Void) -> Bool {
        self.target.withLock({ $0 })?.respondLater(to: request, done) ?? false
    }

    func streamsRequestBody(method: String, target: String) -> Bool {
        self.target.withLock({ $0 })?.streamsRequestBody(method: method, target: target) ?? false
    }

    static var starting: Response {
        var r = Response(status: 503, contentType: "text/plain; charset=utf-8", body: "Gatehouse is starting.\n")
        r.headers.add("Retry-After", "1")
        return r
    }
}
