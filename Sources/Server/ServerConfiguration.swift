import HTTP

/// Everything the transport needs to know. Defaults are safe for the internet and fast on loopback.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Event-loop threads; defaults to the number of cores.
    public var eventLoops: Int
    public var limits: HTTPLimits
    /// From the first byte of a request (or from accept) until its head is complete. Cuts slowloris clients.
    public var headerTimeout: Double
    /// From the end of the head until the body is complete.
    public var bodyTimeout: Double
    /// An idle keep-alive connection is closed after this long.
    public var idleTimeout: Double
    /// A client that does not read its response for this long is dropped.
    public var writeTimeout: Double
    /// Connections beyond this get a `503` and are closed at once.
    public var maxConnections: Int
    /// How long a graceful shutdown waits for in-flight requests.
    public var shutdownGrace: Double
    public var tls: TLSConfiguration?
    /// Write one JSON line per request to stderr.
    public var accessLog: Bool

    public init(
        host: String = "127.0.0.1", port: Int = 8080, eventLoops: Int = 0, limits: HTTPLimits = .default,
        headerTimeout: Double = 10, bodyTimeout: Double = 30, idleTimeout: Double = 75, writeTimeout: Double = 30,
        maxConnections: Int = 10_000, shutdownGrace: Double = 30, tls: TLSConfiguration? = nil, accessLog: Bool = true
    ) {
        self.host = host
        self.port = port
        self.eventLoops = eventLoops
        self.limits = limits
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
        self.shutdownGrace = shutdownGrace
        self.tls = tls
        self.accessLog = accessLog
    }
}

/// Certificate chain and key files (PEM). TLS 1.2 and 1.3 only, modern AEAD ciphers, server preference.
public struct TLSConfiguration: Sendable {
    public var certificateChainFile: String
    public var privateKeyFile: String
    public init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}
