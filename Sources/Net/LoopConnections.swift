import CShims
import GatehouseCore

/// `HTTPClient`'s connections kept on one event loop, to one origin: idle ones waiting for the next request (and
/// still watched, so a close by the server is noticed and the connection dropped at once), and the scratch buffer
/// they read into. Touched only on its loop's thread.
final class LoopPool: @unchecked Sendable {
    let reactor: any LoopReactor
    let origin: String
    var idle: [LoopConnection] = []
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// Idle connections kept beyond this many are closed (the rest of a burst).
    let maxIdle = 64

    init(reactor: any LoopReactor, origin: String) {
        self.reactor = reactor
        self.origin = origin
    }

    deinit { scratch.deallocate() }

    /// An idle connection, or a new one whose connect has started. For a request that cannot be sent again (a
    /// streamed body, a method that is not retried) an idle connection is first checked for a close the loop has
    /// not processed yet: an upstream's keep-alive timeout closing it just now is the common way such a request
    /// would otherwise fail.
    func checkout(address: String, port: Int, mustNotBeStale: Bool) throws -> LoopConnection {
        while let c = idle.popLast() {
            guard c.state == .idle else { continue }
            if mustNotBeStale && gh_idle_socket_usable(c.fd) == 0 {
                c.close()
                continue
            }
            return c
        }
        let fd = gh_connect_start(address, Int32(port))
        guard fd >= 0 else {
            throw NetError("connect_failed", "cannot connect to \(origin) (errno \(gh_errno()))")
        }
        let c = LoopConnection(fd: fd, pool: self)
        reactor.watch(fd, readable: true, writable: true, handler: c)
        return c
    }

    func release(_ c: LoopConnection) {
        if idle.count >= maxIdle {
            c.close()
        } else {
            idle.append(c)
        }
    }

    func forget(_ c: LoopConnection) {
        if let i = idle.firstIndex(where: { $0 === c }) { idle.remove(at: i) }
    }
}

/// One connection to an upstream, driven by its loop: a non-blocking connect, the request written as the socket
/// takes it (a streamed request body as the client sends it), the response fed to `HTTPResponseParser` as it
/// arrives, the awaiting task resumed on the same thread — with the whole answer, or, when the caller streams and
/// the body is still coming, with its head and an `UpstreamBody` the body then flows through.
/// Timeouts (connect, and the gap between any two reads or writes) are checked at the loop's sweeps; waiting for
/// the client (its request body, or room in its socket for ours) is the client connection's to time out.
final class LoopConnection: LoopSocketHandler, @unchecked Sendable {
    enum State { case connecting, active, idle, closed }

    let fd: Int32
    unowned let pool: LoopPool
    private(set) var state = State.connecting
    /// Whether it served a request before (a failure before the first byte of the answer is then "stale").
    private var reused = false
    private var wantsWrite = true
    private var wantsRead = true
    private var out: [UInt8] = []
    private var outOffset = 0
    private var parser: HTTPResponseParser?
    /// Who waits for the answer: called once, on the loop (a task's continuation, or a handler answering without one).
    private var continuation: ((Result<HTTPClientResponse, any Error>) -> Void)?
    private var deadline: UInt64 = 0
    private var connectTimeout: UInt64 = 0
    private var ioTimeout: UInt64 = 0
    /// The request body still to send as the client sends it, and whether it goes chunked.
    private var bodyStream: RequestBodyStream?
    private var chunkedBody = false
    private var waitingForBody = false
    /// The request body ended short of what its framing promised: the upstream still waits for it.
    private var bodyCut = false
    /// Whether a response whose body is still arriving is handed on at its head.
    private var streamResponse = false
    /// The streamed response being delivered, and when it was handed on.
    private var streaming: UpstreamBody?
    private var streamStarted: UInt64 = 0

    init(fd: Int32, pool: LoopPool) {
        self.fd = fd
        self.pool = pool
    }

    func start(
        _ request: [UInt8], parser: HTTPResponseParser, bodyStream: RequestBodyStream?, streamResponse: Bool,
        connectTimeoutMillis: Int, ioTimeoutMillis: Int,
        continuation: @escaping (Result<HTTPClientResponse, any Error>) -> Void
    ) {
        self.continuation = continuation
        self.parser = parser
        self.bodyStream = bodyStream
        chunkedBody = bodyStream != nil && bodyStream?.length == nil
        bodyCut = false
        self.streamResponse = streamResponse
        out = request
        outOffset = 0
        connectTimeout = UInt64(connectTimeoutMillis)
        ioTimeout = UInt64(ioTimeoutMillis)
        let now = pool.reactor.nowMillis
        if state == .connecting {
            deadline = now + connectTimeout
            return  // writable once connected
        }
        reused = true
        state = .active
        deadline = now + ioTimeout
        write()
    }

    func ready(readable: Bool, writable: Bool, failed: Bool) {
        if state == .connecting {
            let err = gh_socket_error(fd)
            if failed || err != 0 {
                fail(NetError("connect_failed", "cannot connect to \(pool.origin) (errno \(err))"))
                return
            }
            guard writable else { return }
            state = continuation == nil ? .idle : .active
            deadline = pool.reactor.nowMillis + ioTimeout
        }
        if failed && !wantsRead {  // reset while not read (the client is behind): nothing more will come
            if streaming != nil { abortStream() } else { fail(failure("read from")) }
            return
        }
        if writable && (outOffset < out.count || bodyStream != nil) { write() }
        if readable && state != .closed { read() }
    }

    func tick(nowMillis: UInt64) {
        if let s = streaming {
            // The upstream fell silent mid-body (not while we wait for the client to read), or the answer was
            // never handed to a client: give up the connection.
            let unclaimed = !s.started && nowMillis > streamStarted + ioTimeout
            if unclaimed || (wantsRead && nowMillis > deadline) { abortStream() }
            return
        }
        guard state == .active || state == .connecting, continuation != nil, !waitingForBody, nowMillis > deadline
        else { return }
        fail(
            state == .connecting
                ? NetError("connect_failed", "connecting to \(pool.origin) timed out")
                : NetError("timeout", "\(pool.origin) did not answer in time"))
    }

    private func write() {
        guard state == .active else { return }
        while true {
            while outOffset < out.count {
                let n = out.withUnsafeBytes { raw in gh_send(fd, raw.baseAddress! + outOffset, raw.count - outOffset) }
                if n < 0 {
                    if gh_errno() == gh_EAGAIN() {
                        setWriteInterest(true)
                        return
                    }
                    fail(failure("write to"))
                    return
                }
                outOffset += n
                deadline = pool.reactor.nowMillis + ioTimeout
            }
            out.removeAll(keepingCapacity: true)
            outOffset = 0
            guard let body = bodyStream else { break }
            let part = body.take()
            if !part.isEmpty {
                if chunkedBody {
                    part.withUnsafeBytes { StreamedBody.appendChunk($0, to: &out) }
                } else {
                    out = part
                }
                continue
            }
            if let reason = body.failure {
                bodyStream = nil
                bodyCut = true
                // Before the answer, the request fails; once the answer is on its way (an upstream answering before
                // the whole body, as it may), only the sending stops — and the connection is not reused.
                if continuation != nil { fail(NetError("client_body", reason)) }
                return
            }
            if body.isFinished {
                bodyStream = nil
                if chunkedBody { out = StreamedBody.lastChunk }
                continue
            }
            if !waitingForBody {  // the client's next bytes, or its end, call us back
                waitingForBody = true
                body.whenReadable { [weak self] in self?.bodyArrived() }
            }
            break
        }
        setWriteInterest(false)
    }

    private func bodyArrived() {
        waitingForBody = false
        deadline = pool.reactor.nowMillis + ioTimeout
        if state == .active && bodyStream != nil { write() }
    }

    private func setWriteInterest(_ on: Bool) {
        guard wantsWrite != on, state != .closed else { return }
        wantsWrite = on
        pool.reactor.rewatch(fd, readable: wantsRead, writable: on)
    }

    private func setReadInterest(_ on: Bool) {
        guard wantsRead != on, state != .closed else { return }
        wantsRead = on
        pool.reactor.rewatch(fd, readable: on, writable: wantsWrite)
    }

    private func read() {
        let scratch = pool.scratch
        while state != .closed && wantsRead {
            let n = gh_read(fd, scratch.baseAddress, scratch.count)
            if n < 0 {
                if gh_errno() == gh_EAGAIN() { return }
                if streaming != nil { abortStream() } else { fail(failure("read from")) }
                return
            }
            guard state == .active, parser != nil else {
                close()  // bytes or a close on an idle connection: it cannot be reused
                return
            }
            if n == 0 {
                do {
                    let r = try parser!.finish()
                    if streaming != nil { endStream(r, keep: false) } else { succeed(r, keep: false) }
                } catch {
                    if streaming != nil {
                        abortStream()
                    } else {
                        fail(parser!.sawNothing && reused ? stale() : NetError.from(error))
                    }
                }
                return
            }
            deadline = pool.reactor.nowMillis + ioTimeout
            do {
                if let r = try parser!.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) {
                    let keep =
                        !parser!.hasLeftover && r.header("connection")?.lowercased() != "close"
                        && outOffset == out.count && bodyStream == nil && !bodyCut
                    if streaming != nil { endStream(r, keep: keep) } else { succeed(r, keep: keep) }
                    return
                }
                if let s = streaming {
                    if !s.deliver(parser!.takeBody()) { setReadInterest(false) }  // the client is behind
                } else if streamResponse, continuation != nil, let head = parser!.headOfIncompleteResponse {
                    beginStream(head)
                }
            } catch {
                if streaming != nil { abortStream() } else { fail(NetError.from(error)) }
                return
            }
            if n < scratch.count { return }
        }
    }

    /// The head is here and the body is not: the caller gets the head now and the body as it comes.
    private func beginStream(_ head: (status: Int, headers: [(String, String)], length: Int?)) {
        let s = UpstreamBody(connection: self, length: head.length)
        streaming = s
        streamStarted = pool.reactor.nowMillis
        _ = s.deliver(parser!.takeBody())
        let c = continuation
        continuation = nil
        c?(.success(HTTPClientResponse(status: head.status, headers: head.headers, body: [], bodySource: s)))
    }

    /// The client caught up (or started reading): read the upstream again.
    fileprivate func resumeReading() {
        guard streaming != nil else { return }
        deadline = pool.reactor.nowMillis + ioTimeout
        setReadInterest(true)
    }

    private func endStream(_ last: HTTPClientResponse, keep: Bool) {
        let s = streaming
        streaming = nil
        parser = nil
        _ = s?.deliver(last.body)
        if keep {
            state = .idle
            setReadInterest(true)  // an idle connection is watched, so a close by the server is seen
            pool.release(self)
        } else {
            close()
        }
        s?.finish()
    }

    /// The streamed body failed (or its client went away): the connection cannot be reused.
    fileprivate func abortStream() {
        let s = streaming
        streaming = nil
        parser = nil
        close()
        s?.fail()
    }

    private func failure(_ what: String) -> NetError {
        if parser?.sawNothing == true && reused { return stale() }
        return NetError("closed", "\(what) \(pool.origin) failed")
    }

    /// A kept-alive connection the server had closed before our request reached it.
    private func stale() -> NetError { NetError("stale", "\(pool.origin) closed a kept-alive connection") }

    private func succeed(_ r: HTTPClientResponse, keep: Bool) {
        let c = continuation
        continuation = nil
        parser = nil
        bodyStream = nil
        if keep {
            state = .idle
            pool.release(self)
        } else {
            close()
        }
        c?(.success(r))
    }

    private func fail(_ error: NetError) {
        let c = continuation
        continuation = nil
        parser = nil
        bodyStream = nil
        close()
        c?(.failure(error))
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        pool.reactor.unwatch(fd)
        _ = gh_close(fd)
        pool.forget(self)
        if let s = streaming {
            streaming = nil
            s.fail()
        }
    }
}

/// A response body flowing from an upstream connection to a client connection on the same loop. It holds what the
/// client could not take yet (at most a window: beyond it the upstream is not read), so the upstream connection
/// can go back to its pool the moment its answer is complete, whatever the client's pace.
final class UpstreamBody: ResponseBodySource, @unchecked Sendable {
    let length: Int?
    /// The connection still delivering, nil once it has delivered everything (or failed).
    private weak var connection: LoopConnection?
    private var sink: (any ResponseBodySink)?
    private var pending: [UInt8] = []
    private var flowing = true
    private var ended = false
    private var failed = false
    private var cancelled = false
    private(set) var started = false

    init(connection: LoopConnection, length: Int?) {
        self.connection = connection
        self.length = length
    }

    /// From the upstream: returns whether to keep reading it.
    func deliver(_ bytes: [UInt8]) -> Bool {
        guard !cancelled else { return false }
        if !bytes.isEmpty {
            if let sink, flowing, pending.isEmpty {
                bytes.withUnsafeBytes { sink.write($0) }
            } else {
                pending += bytes
            }
        }
        return pending.count < StreamedBody.window
    }

    func finish() {
        connection = nil
        ended = true
        drain()
    }

    func fail() {
        connection = nil
        guard !cancelled, !ended else { return }
        failed = true
        if let sink {
            self.sink = nil
            sink.abort()
        }
    }

    // ResponseBodySource: the client's side.

    func start(_ sink: any ResponseBodySink) {
        guard !started else { return }
        started = true
        if failed {
            sink.abort()
            return
        }
        self.sink = sink
        drain()
    }

    func setFlowing(_ on: Bool) {
        flowing = on
        if on { drain() }
    }

    func cancel() {
        cancelled = true
        sink = nil
        pending = []
        let c = connection
        connection = nil
        c?.abortStream()
    }

    /// Hands what waits to the client while it takes it; ends the body once all is delivered.
    private func drain() {
        guard let sink, flowing else { return }
        if !pending.isEmpty {
            var taken: [UInt8] = []
            swap(&taken, &pending)
            taken.withUnsafeBytes { sink.write($0) }
        }
        if ended && pending.isEmpty && self.sink != nil {
            self.sink = nil
            sink.end()
        } else if flowing && pending.count < StreamedBody.window {
            connection?.resumeReading()
        }
    }
}

extension NetError {
    /// The parser throws only `NetError`s; anything else is named as a protocol error.
    static func from(_ error: any Error) -> NetError {
        error as? NetError ?? NetError("protocol_error", "\(error)")
    }
}
