import Foundation
import Gateway
import HTTP
import Net
import Server
import Store
import TenantAPI
import TenantDomain

/// Every option of `gatehouse serve`, with its default. Read from one JSON file (`config/gatehouse.json`; the
/// keys are documented in `config/README.md`), then overridden by command-line flags. Secrets may come from
/// environment variables instead of the file.
package struct GatehouseConfig: Sendable {
    package var host = "127.0.0.1"
    package var port = 8080
    package var eventLoops = 0
    package var accessLog = true
    package var dataDirectory = "./data"
    package var limits = HTTPLimits()
    package var headerTimeout = 10.0
    package var bodyTimeout = 30.0
    package var idleTimeout = 75.0
    package var writeTimeout = 30.0
    package var maxConnections = 10_000
    package var shutdownGrace = 30.0
    package var tlsCertificateFile: String?
    package var tlsPrivateKeyFile: String?
    package var storeSynchronous = Database.Synchronous.full
    package var storeReaders = 4
    /// Where the stores live: SQLite files in `dataDirectory` (the default), or PostgreSQL databases.
    package var storeBackend = StoreBackend.sqlite
    /// PostgreSQL: a connection URL per store (`gateway`, `us`, `eu`, `apac`), so each region's rows live in a
    /// database in that region. Passwords may be left out of the URLs and given through libpq's environment
    /// (`PGPASSWORD`) or `~/.pgpass`; URLs are never logged with a password.
    package var databases: [String: String] = [:]
    /// PostgreSQL: when set, each store keeps its tables in the schema `<prefix>_<store>`, so several stores can
    /// share one database.
    package var storeSchemaPrefix: String?
    /// Remember whole answers to reads until the next write (`ResponseCache`); off only to measure without it.
    package var answerCache = true
    package var logLevel = "info"
    /// The address people reach Gatehouse at; invite links are built on it. Unless set (config `publicBaseURL`,
    /// `--public-url`), `serve` makes it the address it actually listens on (`publicBaseURLIsSet` false).
    package var publicBaseURL = "http://127.0.0.1:8080"
    package var publicBaseURLIsSet = false
    package var scryptLogN = 15
    package var scryptR = 8
    package var scryptP = 1
    /// Sign-in limits (`rateLimits`): wrong passwords only ever count; successes never do.
    package var signInFreeFailures = 5
    package var signInMaxDelay = 900.0
    package var signInFailuresPerAddress = RateLimiter.Limit(count: 50, window: 300)
    package var acceptsPerAddress = RateLimiter.Limit(count: 30, window: 300)
    package var ssoStartsPerAddress = RateLimiter.Limit(count: 30, window: 60)
    package var sessionIdleTimeout = 12 * 3600.0
    package var sessionAbsoluteTimeout = 7 * 86400.0
    /// Signing keys (invite tokens, gateway → region identity). Shared by the gateway and the regions when they
    /// run as separate processes. Default: `<dataDirectory>/keys`.
    package var keysDirectory: String?
    /// For `gatehouse gateway`: where each region's server listens (`http://host:port`).
    package var regionURLs: [Region: String] = [:]
    /// CA bundle for `https://` region URLs.
    package var regionCAFile: String?
    /// PEM files of the SP key and certificate that sign AuthnRequests (orgs that turn on signed requests).
    package var samlSPKeyFile: String?
    package var samlSPCertFile: String?
    /// The SP key being rotated out: still opens assertions encrypted to it, is no longer advertised.
    package var samlSPPreviousKeyFile: String?
    /// The DNS server (`host` or `host:port`, IPv4) asked to verify SSO email domains; nil: the system's.
    package var ssoDNSResolver: String?
    /// Apps behind the gateway: upstreams it may forward to (`host:port` patterns, `*` wildcards; none by
    /// default), and a CA file for https upstreams.
    package var appUpstreams: [String] = []
    /// `/metrics` answers only with `Authorization: Bearer <token>` (no token configured: 404, never public).
    package var metricsToken: String?
    package var appUpstreamCAFile: String?
    /// Where each starting page lives (absolute URLs or paths), for the redirect after joining.
    package var destinations: [StartingPage: String] = GatewaySettings().destinations
    package var mail = MailConfig()

    package var keysPath: String { keysDirectory ?? dataDirectory + "/keys" }

    package enum StoreBackend: String, Sendable, CaseIterable {
        case sqlite, postgres
    }

    /// Where the store `name` (`gateway` or a region) is opened, and with which options.
    package func storeLocation(_ name: String) throws -> (location: String, options: Database.Options) {
        var options = Database.Options(readers: storeReaders, synchronous: storeSynchronous)
        switch storeBackend {
        case .sqlite: return ("\(dataDirectory)/\(name).db", options)
        case .postgres:
            guard let url = databases[name] else {
                throw ConfigError("store.backend is postgres but store.databases.\(name) is not set")
            }
            options.schema = storeSchemaPrefix.map { "\($0)_\(name)" }
            return (url, options)
        }
    }

    package init() {}

    /// Parses a config file's bytes. Unknown keys and out-of-range values stop start-up with a message.
    package static func parse(_ data: Data) throws -> GatehouseConfig {
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: data) } catch {
            throw ConfigError("the file is not valid JSON (\(error.localizedDescription))")
        }
        guard let root = any as? [String: Any] else { throw ConfigError("the file must hold a JSON object") }
        var c = GatehouseConfig()
        var r = ConfigReader(root)

        var server = try r.section("server")
        c.host = try server.string("host", default: c.host) ?? c.host
        c.port = try server.int("port", default: c.port, range: 0...65535)
        c.eventLoops = try server.int("eventLoops", default: 0, range: 0...256)
        c.accessLog = try server.bool("accessLog", default: true)
        c.maxConnections = try server.int("maxConnections", default: c.maxConnections, range: 1...1_000_000)
        c.shutdownGrace = try server.double("shutdownGraceSeconds", default: c.shutdownGrace, range: 0...3600)
        try server.finish()

        var http = try r.section("http")
        c.limits.maxRequestLineBytes = try http.int(
            "maxRequestLineBytes", default: c.limits.maxRequestLineBytes, range: 64...1 << 20)
        c.limits.maxHeaderBytes = try http.int("maxHeaderBytes", default: c.limits.maxHeaderBytes, range: 256...1 << 22)
        c.limits.maxHeaderCount = try http.int("maxHeaderCount", default: c.limits.maxHeaderCount, range: 1...10_000)
        c.limits.maxBodyBytes = try http.int("maxBodyBytes", default: c.limits.maxBodyBytes, range: 0...1 << 30)
        c.limits.maxStreamedBodyBytes = try http.int(
            "maxStreamedBodyBytes", default: c.limits.maxStreamedBodyBytes, range: 0...1 << 40)
        c.headerTimeout = try http.double("headerTimeoutSeconds", default: c.headerTimeout, range: 0.1...3600)
        c.bodyTimeout = try http.double("bodyTimeoutSeconds", default: c.bodyTimeout, range: 0.1...3600)
        c.idleTimeout = try http.double("idleTimeoutSeconds", default: c.idleTimeout, range: 0.1...86400)
        c.writeTimeout = try http.double("writeTimeoutSeconds", default: c.writeTimeout, range: 0.1...3600)
        try http.finish()

        var tls = try r.section("tls")
        c.tlsCertificateFile = try tls.string("certificateFile", default: nil)
        c.tlsPrivateKeyFile = try tls.string("privateKeyFile", default: nil)
        try tls.finish()
        if (c.tlsCertificateFile == nil) != (c.tlsPrivateKeyFile == nil) {
            throw ConfigError("tls.certificateFile and tls.privateKeyFile must be given together")
        }

        c.dataDirectory = try r.string("dataDirectory", default: c.dataDirectory) ?? c.dataDirectory
        if let url = try r.string("publicBaseURL", default: nil) {
            try c.setPublicBaseURL(url)
        }
        guard c.publicBaseURL.hasPrefix("http://") || c.publicBaseURL.hasPrefix("https://"),
            !c.publicBaseURL.hasSuffix("/")
        else {
            throw ConfigError("publicBaseURL must start with http:// or https:// and not end with /")
        }
        var store = try r.section("store")
        c.storeSynchronous = try store.choice("synchronous", default: Database.Synchronous.full)
        c.storeReaders = try store.int("readers", default: 4, range: 1...64)
        c.answerCache = try store.bool("answerCache", default: true)
        c.storeBackend = try store.choice("backend", default: StoreBackend.sqlite)
        var databases = try store.section("databases")
        for name in ["gateway"] + Region.allCases.map(\.rawValue) {
            guard let url = try databases.string(name, default: nil) else { continue }
            guard PostgresURL.isPostgres(url) else {
                throw ConfigError("store.databases.\(name) must be a postgres:// or postgresql:// URL")
            }
            c.databases[name] = url
        }
        try databases.finish()
        c.storeSchemaPrefix = try store.string("schemaPrefix", default: nil)
        if let p = c.storeSchemaPrefix,
            p.isEmpty || p.count > 40 || !p.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") })
        {
            throw ConfigError("store.schemaPrefix must be 1–40 ASCII letters, digits or underscores")
        }
        if c.storeBackend == .sqlite, !c.databases.isEmpty {
            throw ConfigError("store.databases is set but store.backend is sqlite; set store.backend to postgres")
        }
        try store.finish()

        var pw = try r.section("passwords")
        c.scryptLogN = try pw.int("scryptLogN", default: c.scryptLogN, range: 10...20)
        c.scryptR = try pw.int("scryptR", default: c.scryptR, range: 1...32)
        c.scryptP = try pw.int("scryptP", default: c.scryptP, range: 1...16)
        try pw.finish()

        // Per address limits are for everyone behind one NAT address (an office): generous, and they count
        // failures (sign-in) or anonymous work (accepts, SSO starts) only.
        var limits = try r.section("rateLimits")
        c.signInFreeFailures = try limits.int("signInFreeFailures", default: c.signInFreeFailures, range: 1...100)
        c.signInMaxDelay = try limits.double("signInMaxDelaySeconds", default: c.signInMaxDelay, range: 1...86_400)
        c.signInFailuresPerAddress.count = try limits.int(
            "signInFailuresPerAddress", default: c.signInFailuresPerAddress.count, range: 1...1_000_000)
        c.acceptsPerAddress.count = try limits.int(
            "inviteAcceptsPerAddress", default: c.acceptsPerAddress.count, range: 1...1_000_000)
        c.ssoStartsPerAddress.count = try limits.int(
            "ssoStartsPerAddressPerMinute", default: c.ssoStartsPerAddress.count, range: 1...1_000_000)
        try limits.finish()

        var sessions = try r.section("sessions")
        c.sessionIdleTimeout = try sessions.double(
            "idleTimeoutSeconds", default: c.sessionIdleTimeout, range: 60...31_536_000)
        c.sessionAbsoluteTimeout = try sessions.double(
            "absoluteTimeoutSeconds", default: c.sessionAbsoluteTimeout, range: 60...31_536_000)
        try sessions.finish()

        c.keysDirectory = try r.string("keysDirectory", default: nil)
        var regions = try r.section("regions")
        for region in Region.allCases {
            guard let url = try regions.string(region.rawValue, default: nil) else { continue }
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigError("regions.\(region.rawValue) must be an http:// or https:// URL")
            }
            c.regionURLs[region] = url
        }
        c.regionCAFile = try regions.string("caFile", default: nil)
        try regions.finish()

        var dest = try r.section("destinations")
        for page in StartingPage.allCases {
            if let d = try dest.string(page.rawValue, default: nil) { c.destinations[page] = d }
        }
        try dest.finish()

        c.mail = try MailConfig.parse(try r.section("mail"))

        var saml = try r.section("saml")
        c.samlSPKeyFile = try saml.string("spKeyFile", default: nil)
        c.samlSPCertFile = try saml.string("spCertFile", default: nil)
        guard (c.samlSPKeyFile == nil) == (c.samlSPCertFile == nil) else {
            throw ConfigError("saml.spKeyFile and saml.spCertFile go together")
        }
        c.samlSPPreviousKeyFile = try saml.string("spPreviousKeyFile", default: nil)
        if c.samlSPPreviousKeyFile != nil && c.samlSPKeyFile == nil {
            throw ConfigError("saml.spPreviousKeyFile needs saml.spKeyFile (the key it is being replaced by)")
        }
        try saml.finish()

        var sso = try r.section("sso")
        c.ssoDNSResolver = try sso.string("dnsResolver", default: nil)
        if let d = c.ssoDNSResolver, DNSResolver.parse(d) == nil {
            throw ConfigError("sso.dnsResolver must be an IPv4 address, optionally with :port")
        }
        try sso.finish()

        var apps = try r.section("apps")
        c.appUpstreams = try apps.strings("upstreams")
        for p in c.appUpstreams where p != "*" && p.split(separator: ":").count != 2 {
            throw ConfigError("apps.upstreams entries are host:port patterns (`*` allowed), or `*`; not `\(p)`")
        }
        c.appUpstreamCAFile = try apps.string("caFile", default: nil)
        try apps.finish()

        var metrics = try r.section("metrics")
        c.metricsToken = try metrics.string("token", default: nil)
        if let t = c.metricsToken, t.utf8.count < 16 {
            throw ConfigError("metrics.token must be at least 16 characters")
        }
        try metrics.finish()

        var log = try r.section("log")
        c.logLevel = try log.oneOf("level", default: "info", ["debug", "info", "warning", "error"])
        try log.finish()
        try r.finish()
        return c
    }

    package static func load(path: String) throws -> GatehouseConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError("cannot read \(path)") }
        do { return try parse(data) } catch let e as ConfigError {
            throw ConfigError("\(path): \(e.description.dropFirst("configuration: ".count))")
        }
    }

    package var serverConfiguration: ServerConfiguration {
        ServerConfiguration(
            host: host, port: port, eventLoops: eventLoops, limits: limits, headerTimeout: headerTimeout,
            bodyTimeout: bodyTimeout, idleTimeout: idleTimeout, writeTimeout: writeTimeout,
            maxConnections: maxConnections, shutdownGrace: shutdownGrace,
            tls: tlsCertificateFile.flatMap { cert in
                tlsPrivateKeyFile.map { TLSConfiguration(certificateChainFile: cert, privateKeyFile: $0) }
            },
            accessLog: accessLog)
    }
}

extension GatehouseConfig {
    /// Sets the public address (config or `--public-url`): http(s), a host, no trailing slash, no query.
    package mutating func setPublicBaseURL(_ url: String) throws {
        guard url.hasPrefix("http://") || url.hasPrefix("https://"), !url.hasSuffix("/"),
            let u = URL(string: url), u.host?.isEmpty == false, u.query == nil, u.fragment == nil
        else {
            throw ConfigError("publicBaseURL must start with http:// or https://, name a host and not end with /")
        }
        publicBaseURL = url
        publicBaseURLIsSet = true
    }

    /// The address a browser on this machine reaches a server listening on `host`:`port` at (a wildcard
    /// address becomes 127.0.0.1: from elsewhere, set `publicBaseURL`).
    package func listeningURL(port: Int) -> String {
        let scheme = tlsCertificateFile == nil ? "http" : "https"
        let h = ["0.0.0.0", "::", ""].contains(host) ? "127.0.0.1" : host
        return "\(scheme)://\(h.contains(":") ? "[\(h)]" : h):\(port)"
    }

    /// A warning when the configured public address names this machine but another port than the one listened
    /// on: links in mail and pages would lead nowhere. Nil when it names another host (a proxy in front).
    package func publicURLWarning(port: Int) -> String? {
        guard publicBaseURLIsSet, let u = URL(string: publicBaseURL), let host = u.host?.lowercased() else {
            return nil
        }
        let local = ["127.0.0.1", "localhost", "::1", "0.0.0.0", self.host.lowercased()].contains(host)
        let published = u.port ?? (u.scheme == "https" ? 443 : 80)
        guard local, published != port else { return nil }
        return "publicBaseURL \(publicBaseURL) names this machine but port \(published), and Gatehouse listens on"
            + " \(port): links in mail and pages will not reach it. Set publicBaseURL (or --public-url) to"
            + " \(listeningURL(port: port)), or leave it out to use the listening address."
    }
}
