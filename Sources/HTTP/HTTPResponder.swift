/// The one seam between the transport and the application: a request in, a response out.
///
/// `respond` is `async` and never throws: the application layer (Web) turns every error into the JSON error
/// shape. `respondImmediately` is an optional synchronous first attempt (health checks, answers from memory or one
/// indexed read): the server calls it on the event loop and creates no task when it answers.
package protocol HTTPResponder: Sendable {
    func respond(to request: Request) async -> Response
    func respondImmediately(to request: Request) -> Response?
    /// Whether a request with this method and target gets its body as a stream (`Request.bodyStream`), its
    /// handler running from the end of the head on. Asked only for requests that have a body.
    func streamsRequestBody(method: String, target: String) -> Bool
    /// A second synchronous attempt, for answers that wait only on I/O the event loop itself drives (an app
    /// upstream on the loop's own connections): it starts the work and returns true, and `done` is called later on
    /// the same loop — no task, no continuation. False: `respond` runs as usual. It must answer exactly as
    /// `respond` would (the same code path, tested).
    func respondLater(to request: Request, _ done: @escaping @Sendable (Response) -> Void) -> Bool
}

extension HTTPResponder {
    package func respondImmediately(to request: Request) -> Response? { nil }
    package func streamsRequestBody(method: String, target: String) -> Bool { false }
    package func respondLater(to request: Request, _ done: @escaping @Sendable (Response) -> Void) -> Bool { false }
}
