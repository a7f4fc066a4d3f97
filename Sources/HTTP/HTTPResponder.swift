/// The one seam between the transport and the application: a request in, a response out.
///
/// `respond` is `async` and never throws: the application layer (Web) turns every error into the JSON error
/// shape. `respondImmediately` is an optional fast path for handlers that are pure and cannot block (health
/// checks, static answers); the server calls it on the event loop and skips creating a task.
public protocol HTTPResponder: Sendable {
    func respond(to request: Request) async -> Response
    func respondImmediately(to request: Request) -> Response?
}

extension HTTPResponder {
    public func respondImmediately(to request: Request) -> Response? { nil }
}

/// What the server logs about a response besides its status: the matched route pattern (never the raw path,
/// which can carry tokens such as invite links) is set by the router in this header, which the server strips.
public enum ResponseLogging {
    public static let routeHeader = "X-Gatehouse-Route"
}
