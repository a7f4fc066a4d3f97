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
}

extension HTTPResponder {
    package func respondImmediately(to request: Request) -> Response? { nil }
    package func streamsRequestBody(method: String, target: String) -> Bool { false }
}
