import GatehouseCore
import HTTP

/// One client connection. Confined to the event loop that accepted it: every field is read and written only on
/// that loop's thread (tasks finishing a request hop back to the loop before touching it), hence
/// `@unchecked Sendable` — the type crosses into a request task only to be handed back.
final class Connection: @unchecked Sendable {
    let fd: Int32
    let peer: String
    let tls: TLSSession?
    var parser: HTTP1Parser
    /// Response bytes not yet accepted by the socket, from `outboundOffset` on.
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var phase: ConnectionPhase = .awaitingFirstRequest
    var phaseSince: UInt64
    /// A request of this connection is being handled; later pipelined requests wait in the parser's buffer.
    var handling = false
    var requestsServed = 0
    /// Close once `outbound` is flushed (Connection: close, HTTP/1.0, a parse error, draining).
    var closeAfterFlush = false
    /// We sent our last byte and half-closed; we read and discard until the client closes or a short timer ends.
    var lingering = false
    var peerClosed = false
    var closed = false
    var readPaused = false
    var writeInterest = false
    /// The body of the request being handled, while it still arrives (a streamed request body).
    var requestBody: RequestBodyStream?
    /// Taking the parser's body events out now (callbacks from the body's consumer must not do it twice).
    var pumping = false
    /// The response being written while its body still arrives (a streamed response body).
    var responseBody: StreamedResponse?
    /// What a handler kept from this connection's last request for its next (see `ConnectionMemory`).
    let memory = ConnectionMemory()

    init(fd: Int32, peer: String, tls: TLSSession?, parser: HTTP1Parser, now: UInt64) {
        self.fd = fd
        self.peer = peer
        self.tls = tls
        self.parser = parser
        self.phaseSince = now
    }

    var hasPendingOutput: Bool { outboundOffset < outbound.count }
}
