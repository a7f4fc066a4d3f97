import GatehouseCore
import HTTP

/// Streamed bodies on a connection (see `BodyStreams.swift` for why): a request body pushed to the handler's
/// consumer as it arrives, a response body written as its source produces it. Everything here runs on the loop.
extension EventLoop {
    /// Whether the connection stays open after this answer. A request body not read to its end (the answer came
    /// first) cannot be skipped reliably, so such a connection closes.
    func keepsAlive(_ conn: Connection, _ request: Request, _ response: Response) -> Bool {
        var keep = request.keepAlive && !response.closeConnection && !draining && !conn.peerClosed
        if let body = conn.requestBody {
            conn.requestBody = nil
            body.fail("the answer was sent before the whole request body arrived")
            keep = false
        }
        return keep
    }

    // MARK: - Request bodies

    /// Takes the parser's body events into the request's stream until the body ends, the parser needs more bytes,
    /// or the stream's window is full (then reading pauses until the consumer drains it).
    func pumpBody(_ conn: Connection) {
        guard !conn.pumping, let stream = conn.requestBody else { return }
        conn.pumping = true
        defer { conn.pumping = false }
        while conn.requestBody === stream && !conn.closed {
            let event: HTTP1Parser.Event
            do {
                event = try conn.parser.next()
            } catch {
                // The handler is already running: it sees the failure and answers; the connection then closes.
                endBody(conn, failure: "the request body is malformed (\(error.message))")
                return
            }
            switch event {
            case .bodyPart(let bytes):
                conn.phaseSince = now
                if !stream.push(bytes) {
                    pauseReading(conn)
                    setPhase(conn, .handling)  // the consumer is behind: its own timeouts apply
                    return
                }
            case .bodyEnd:
                conn.requestBody = nil
                stream.finish()
                setPhase(conn, conn.hasPendingOutput ? .writing : .handling)
                return
            case .sendContinue:
                conn.outbound.append(contentsOf: ResponseSerializer.continueBytes())
                flush(conn)
            case .needMore:
                if conn.peerClosed {
                    endBody(conn, failure: "the client closed the connection before sending the whole body")
                    return
                }
                setPhase(conn, .streamingBody)
                resumeReading(conn)
                return
            case .request, .requestHead:
                endBody(conn, failure: "the request body is malformed")  // unreachable by the parser's states
                return
            }
        }
    }

    private func endBody(_ conn: Connection, failure: String) {
        let stream = conn.requestBody
        conn.requestBody = nil
        conn.closeAfterFlush = true
        pauseReading(conn)
        stream?.fail(failure)
    }

    /// The consumer took a full window: read the client again (the callback may come from another thread).
    func bodyDrained(_ conn: Connection, _ stream: RequestBodyStream) {
        let resume: @Sendable () -> Void = { [self] in
            guard conn.requestBody === stream, !conn.closed else { return }
            pumpBody(conn)
        }
        if isOnLoop { resume() } else { execute(resume) }
    }

    // MARK: - Response bodies

    func startStreaming(
        _ conn: Connection, _ request: Request, _ response: Response, _ source: any ResponseBodySource,
        started: UInt64
    ) {
        var keepAlive = keepsAlive(conn, request, response)
        let framing: ResponseSerializer.Framing =
            source.length.map { .length($0) } ?? (request.versionMinor >= 1 ? .chunked : .close)
        if framing == .close { keepAlive = false }
        ResponseSerializer.writeHead(
            response, framing: framing, keepAlive: keepAlive, date: currentDate(), requestID: request.id,
            into: &conn.outbound)
        let sink = StreamedResponse(
            loop: self, conn: conn, source: source, request: request, status: response.status, route: response.route,
            started: started, framing: framing, keepAlive: keepAlive)
        conn.responseBody = sink
        flush(conn)
        guard !conn.closed else { return }  // closing cancelled the source
        source.start(sink)
    }

    func streamWrite(_ sink: StreamedResponse, _ bytes: UnsafeRawBufferPointer) {
        let conn = sink.conn
        guard conn.responseBody === sink, !conn.closed, !bytes.isEmpty else { return }
        if case .length(let n) = sink.framing, sink.sent + bytes.count > n {
            streamAbort(sink)  // more than announced: the framing would lie
            return
        }
        sink.sent += bytes.count
        if sink.framing == .chunked {
            StreamedBody.appendChunk(bytes, to: &conn.outbound)
        } else {
            conn.outbound.append(contentsOf: bytes)
        }
        flush(conn)
        if !conn.closed && conn.outbound.count - conn.outboundOffset >= StreamedBody.window && !sink.paused {
            sink.paused = true
            sink.source.setFlowing(false)
        }
    }

    func streamEnd(_ sink: StreamedResponse) {
        let conn = sink.conn
        guard conn.responseBody === sink, !conn.closed else { return }
        if case .length(let n) = sink.framing, sink.sent != n {
            streamAbort(sink)
            return
        }
        if sink.framing == .chunked { conn.outbound.append(contentsOf: StreamedBody.lastChunk) }
        conn.responseBody = nil
        logRequest(sink.request, status: sink.status, bytes: sink.sent, started: sink.started, route: sink.route)
        conn.handling = false
        conn.requestsServed += 1
        if !sink.keepAlive { conn.closeAfterFlush = true }
        flush(conn)
        if !conn.closed && !conn.hasPendingOutput && !conn.closeAfterFlush { process(conn) }
    }

    /// The body cannot be finished: the connection closes, so the client never takes a cut body for a whole one.
    func streamAbort(_ sink: StreamedResponse) {
        let conn = sink.conn
        guard conn.responseBody === sink else { return }
        conn.responseBody = nil
        logRequest(sink.request, status: sink.status, bytes: sink.sent, started: sink.started, route: sink.route)
        sink.source.cancel()
        close(conn)
    }
}

/// A response whose body is being written as it arrives: the sink its source writes into.
final class StreamedResponse: ResponseBodySink {
    unowned let loop: EventLoop
    let conn: Connection
    let source: any ResponseBodySource
    let request: Request
    let status: Int
    let route: String?
    let started: UInt64
    let framing: ResponseSerializer.Framing
    let keepAlive: Bool
    /// Body bytes written so far (framing excluded).
    var sent = 0
    /// The source was told to stop until the client catches up.
    var paused = false

    init(
        loop: EventLoop, conn: Connection, source: any ResponseBodySource, request: Request, status: Int,
        route: String?, started: UInt64, framing: ResponseSerializer.Framing, keepAlive: Bool
    ) {
        self.loop = loop
        self.conn = conn
        self.source = source
        self.request = request
        self.status = status
        self.route = route
        self.started = started
        self.framing = framing
        self.keepAlive = keepAlive
    }

    func write(_ bytes: UnsafeRawBufferPointer) { loop.streamWrite(self, bytes) }
    func end() { loop.streamEnd(self) }
    func abort() { loop.streamAbort(self) }
}
