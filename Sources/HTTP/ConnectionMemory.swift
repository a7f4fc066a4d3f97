import Synchronization

/// What one request on a kept-alive connection leaves for the next request on the same connection: one object of
/// a handler's choosing, nothing else.
///
/// Why: a browser sends a page's requests over a few kept connections, each request with the same cookies, and
/// proving who sent them again (a session digest, a store or cache probe, the app's decision) cost a fifth of a
/// proxied request. A handler may keep what it worked out from those exact bytes here and reuse it while it says
/// it holds. It is never shared between connections (so never between clients) and ends with the connection. The
/// handler that keeps something here answers from it exactly as it would without it (see `AppGateRoutes`).
package final class ConnectionMemory: Sendable {
    /// Requests of one connection are handled one at a time, but not always on the same thread (a handler may run in
    /// a task): the lock orders them.
    private let slot = Mutex<(any AnyObject & Sendable)?>(nil)

    package init() {}

    /// The last object kept, if any.
    package var value: (any AnyObject & Sendable)? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
