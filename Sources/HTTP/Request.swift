import GatehouseCore

/// A parsed HTTP/1.x request with its whole body — or, for the paths the responder streams (apps behind the
/// gateway), with `bodyStream`.
///
/// The body is collected before a handler runs (bounded by `HTTPLimits.maxBodyBytes`), which keeps handlers
/// simple and makes "413 before any work" automatic. A streamed body (bounded by `maxStreamedBodyBytes`) is passed
/// on as it arrives, and `body` stays empty.
package struct Request: Sendable {
    package var method: String
    /// The raw request-target as sent (origin-form: path plus optional query).
    package var target: String {
        didSet { querySeparator = Self.querySeparator(in: target) }
    }
    /// Where `?` is in `target`, found once: the path is asked for by the router, the handlers and the log.
    private var querySeparator: String.Index?
    package var versionMinor: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// Assigned by the server (or the in-memory client); echoed as `X-Request-Id`.
    package var id: String
    /// The client's address as the socket saw it ("memory" in tests).
    package var remoteAddress: String
    /// Whether the connection may stay open after this request (HTTP/1.1 default, `Connection: close`, 1.0 rules).
    package var keepAlive: Bool
    /// The body as it arrives, when the responder streams this request's body (`streamsRequestBody`).
    package var bodyStream: RequestBodyStream?
    /// What the previous request on the same connection left for this one (the server gives each connection its
    /// own; nil in memory unless a test passes one).
    package var connection: ConnectionMemory?

    package init(
        method: String, target: String, versionMinor: Int = 1, headers: HTTPHeaders = [:], body: [UInt8] = [],
        id: String = "", remoteAddress: String = "memory", keepAlive: Bool = true
    ) {
        self.method = method
        self.target = target
        self.querySeparator = Self.querySeparator(in: target)
        self.versionMinor = versionMinor
        self.headers = headers
        self.body = body
        self.id = id
        self.remoteAddress = remoteAddress
        self.keepAlive = keepAlive
    }

    /// The path part of the target (before `?`), still percent-encoded.
    package var path: Substring {
        if let q = querySeparator { return target[..<q] }
        return target[...]
    }

    /// The raw query string after `?`, or nil.
    package var query: Substring? {
        guard let q = querySeparator else { return nil }
        return target[target.utf8.index(after: q)...]
    }

    private static func querySeparator(in target: String) -> String.Index? {
        target.utf8.firstIndex(of: UInt8(ascii: "?"))
    }
}
