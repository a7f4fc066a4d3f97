/// The timeout policy of one connection as a pure function: which phase it is in, since when, and what to do
/// when the clock says so. The event loop only measures and executes.
package enum ConnectionPhase: Sendable, Equatable {
    /// Accepted, no complete request yet (a TLS handshake counts here): header timeout.
    case awaitingFirstRequest
    /// Between requests with nothing buffered: idle timeout.
    case idle
    /// Part of a head has arrived: header timeout.
    case readingHead
    /// The head is complete and the body is arriving: body timeout.
    case readingBody
    /// A handler is running: no transport timeout (handlers bound their own work).
    case handling
    /// A handler is running and the request's streamed body is still arriving: body timeout since the last byte
    /// (a response may be on its way, so the connection is closed rather than answered).
    case streamingBody
    /// Response bytes are waiting for the client to read: write timeout.
    case writing
}

package enum TimeoutAction: Sendable, Equatable {
    case none
    /// Close without a response (idle, or the client stopped reading).
    case close
    /// Answer `408 Request Timeout` and close.
    case requestTimeout
}

package struct ConnectionTimeouts: Sendable {
    package var header: Double
    package var body: Double
    package var idle: Double
    package var write: Double

    package init(header: Double, body: Double, idle: Double, write: Double) {
        self.header = header
        self.body = body
        self.idle = idle
        self.write = write
    }

    /// What to do with a connection that has been in `phase` since `since` (monotonic ms) at `now`.
    /// `draining` (graceful shutdown) closes idle connections at once.
    package func action(phase: ConnectionPhase, since: UInt64, now: UInt64, draining: Bool) -> TimeoutAction {
        let elapsed = Double(now &- since) / 1000
        switch phase {
        case .idle: return draining || elapsed >= idle ? .close : .none
        case .awaitingFirstRequest: return draining ? .close : (elapsed >= header ? .close : .none)
        case .readingHead: return elapsed >= header ? .requestTimeout : .none
        case .readingBody: return elapsed >= body ? .requestTimeout : .none
        case .handling: return .none
        case .streamingBody: return elapsed >= body ? .close : .none
        case .writing: return elapsed >= write ? .close : .none
        }
    }
}
