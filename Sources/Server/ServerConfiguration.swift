import HTTP

/// Everything the transport needs to know. Defaults are safe for the internet and fast on loopback.
package struct ServerConfiguration: Sendable {
    package var host: String
    package var port: Int
    /// Event-loop threads; defaults to the number of cores.
    package var eventLoops: Int
    package var limits: HTTPLimits
    /// From the first byte of a request (or from accept) until its head is complete. Cuts slowloris clients.
    package var headerTimeout: Double
    /// From the end of the head until the body is complete.
    package var bodyTimeout: Double
    /// An idle keep-alive connection is closed after this long.
    package var idleTimeout: Double
    /// A client that does not read its response for this long is dropped.
    package var writeTimeout: Double
    /// Connections beyond this get a `503` and are closed at once.
    package var maxConnections: Int
    /// How long a graceful shutdown waits for in-flight requests.
    package var shutdownGrace: Double
    package var tls: TLSConfiguration?
    /// Write one JSON line per request to stderr.
    package var accessLog: Bool

    package init(
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
package struct TLSConfiguration: Sendable {
    package var certificateChainFile: String
    package var privateKeyFile: String
    package init(certificateChainFile: String, privateKeyFile: String) {
        self.certificateChainFile = certificateChainFile
        self.privateKeyFile = privateKeyFile
    }
}
