internal import CShims
import Foundation
import GatehouseCore
import HTTP
import Synchronization

/// One epoll event loop on its own thread, and a `TaskExecutor` so request handlers run on that same thread
/// (no thread hop per request; a handler that awaits slow work elsewhere resumes here).
///
/// Confinement (as in NIO's SelectableEventLoop): every `var` below marked "loop" is touched only on the loop's
/// thread. Other threads reach the loop only through `remoteWork` (a mutex-protected queue) and the eventfd
/// wake-up. Handlers must not block: stores and password hashing run their blocking work on their own threads.
final class EventLoop: TaskExecutor, LoopReactor, @unchecked Sendable {
    enum RemoteWork: Sendable {
        case job(UnownedJob)
        case closure(@Sendable () -> Void)
    }

    let index: Int
    let core: ServerCore
    private let epfd: Int32
    private let wakeFD: Int32
    private let threadID = Atomic<UInt>(0)
    private let remoteWork = Mutex<[RemoteWork]>([])
    private let wakePending = Atomic<Bool>(false)
    private let stopRequested = Atomic<Bool>(false)
    /// Open connections on this loop, readable from other threads (for shutdown waiting).
    let openCount = Atomic<Int>(0)

    // loop: everything below
    private var connections: [Int32: Connection] = [:]
    /// Sockets other code keeps on this loop (upstream connections), see `LoopReactor`.
    private var watchers: [Int32: any LoopSocketHandler] = [:]
    private var localJobs: [UnownedJob] = []
    private var runningJobs: [UnownedJob] = []
    private var scratch: UnsafeMutableRawBufferPointer
    private var logBuffer: [UInt8] = []
    private var accessLine = AccessLogLine()
    private(set) var now: UInt64 = Monotonic.millis()
    private var dateSecond = -1
    private var dateText = ""
    private(set) var draining = false
    private var listening = false
    private var requestCounter: UInt64 = 0
    private let requestPrefix: String

    init(index: Int, core: ServerCore) throws {
        self.index = index
        self.core = core
        epfd = gh_epoll_create()
        guard epfd >= 0 else { throw SystemError.last("epoll_create1") }
        wakeFD = gh_eventfd()
        guard wakeFD >= 0 else { throw SystemError.last("eventfd") }
        guard gh_epoll_ctl(epfd, gh_EPOLL_CTL_ADD(), wakeFD, gh_EPOLLIN()) == 0 else {
            throw SystemError.last("epoll_ctl")
        }
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        requestPrefix = "\(core.instanceTag)\(index)"
    }

    deinit {
        scratch.deallocate()
        _ = gh_close(epfd)
        _ = gh_close(wakeFD)
    }

    var isOnLoop: Bool { pthread_self() == threadID.load(ordering: .relaxed) }

    // MARK: - Executor

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoop {
            localJobs.append(job)
        } else {
            remoteWork.withLock { $0.append(.job(job)) }
            wake()
        }
    }

    /// Runs `body` on the loop thread.
    func execute(_ body: @escaping @Sendable () -> Void) {
        remoteWork.withLock { $0.append(.closure(body)) }
        wake()
    }

    private func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { gh_write(wakeFD, $0.baseAddress, 8) }
        }
    }

    func requestStop() {
        stopRequested.store(true, ordering: .releasing)
        wake()
    }

    // MARK: - Loop

    func startListening() {
        listening = true
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_ADD(), core.listenFD, gh_EPOLLIN() | gh_EPOLLEXCLUSIVE())
    }

    func run() {
        threadID.store(pthread_self(), ordering: .releasing)
        LoopThread.markCurrent()
        CurrentLoop.set(self)
        startListening()
        var events = [gh_epoll_ready](repeating: gh_epoll_ready(), count: 256)
        var lastSweep = Monotonic.millis()
        while true {
            let wait = { (timeout: Int32) in
                events.withUnsafeMutableBufferPointer { gh_epoll_wait(self.epfd, $0.baseAddress, 256, timeout) }
            }
            var n: Int32
            if localJobs.isEmpty && !logBuffer.isEmpty {
                // About to wait: access log lines go out first, unless more work is already there (then they
                // wait for a fuller buffer — one write per busy stretch instead of one per loop turn).
                n = wait(0)
                if n == 0 {
                    flushLog()
                    n = wait(250)
                }
            } else {
                n = wait(localJobs.isEmpty ? 250 : 0)
            }
            now = Monotonic.millis()
            if n > 0 {
                for i in 0..<Int(n) { handle(fd: events[i].fd, events: events[i].events) }
            }
            drainRemoteWork()
            runLocalJobs()
            if now &- lastSweep >= 250 {
                sweep()
                lastSweep = now
                flushLog()
            }
            if stopRequested.load(ordering: .acquiring) { break }
        }
        for conn in Array(connections.values) { close(conn) }
        runLocalJobs()
        flushLog()
    }

    private func drainRemoteWork() {
        let work = remoteWork.withLock { w -> [RemoteWork] in
            if w.isEmpty { return [] }
            let taken = w
            w.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work {
            switch item {
            case .job(let j): localJobs.append(j)
            case .closure(let c): c()
            }
        }
    }

    private func runLocalJobs() {
        var rounds = 0
        while !localJobs.isEmpty && rounds < 16 {
            swap(&localJobs, &runningJobs)
            for job in runningJobs { job.runSynchronously(on: asUnownedTaskExecutor()) }
            runningJobs.removeAll(keepingCapacity: true)
            rounds += 1
        }
    }

    private func handle(fd: Int32, events: UInt32) {
        if fd == wakeFD {
            var v: UInt64 = 0
            _ = withUnsafeMutableBytes(of: &v) { gh_read(wakeFD, $0.baseAddress, 8) }
            wakePending.store(false, ordering: .releasing)
            return
        }
        if listening && fd == core.listenFD {
            acceptConnections()
            return
        }
        guard let conn = connections[fd] else {
            if let w = watchers[fd] {
                let bad = events & gh_EPOLLERR() != 0
                w.ready(
                    readable: events & (gh_EPOLLIN() | gh_EPOLLHUP() | gh_EPOLLRDHUP()) != 0,
                    writable: events & gh_EPOLLOUT() != 0, failed: bad)
            }
            return
        }
        if events & gh_EPOLLERR() != 0 {
            close(conn)
            return
        }
        if events & gh_EPOLLOUT() != 0 {
            flush(conn)
            if conn.closed { return }
            if !conn.handling && !conn.hasPendingOutput && !conn.closeAfterFlush { process(conn) }
        }
        if events & (gh_EPOLLIN() | gh_EPOLLHUP() | gh_EPOLLRDHUP()) != 0 && !conn.closed {
            readable(conn)
        }
    }

    // MARK: - Accept

    private func acceptConnections() {
        guard listening else { return }
        for _ in 0..<64 {
            let fd = gh_accept(core.listenFD)
            if fd < 0 { return }
            if core.openConnections.add(1, ordering: .relaxed).newValue > core.configuration.maxConnections {
                core.openConnections.subtract(1, ordering: .relaxed)
                // Through the serializer like every answer, so the framing can never disagree with the body.
                var busy: [UInt8] = []
                var response = Self.errorResponse(
                    status: 503, code: "unavailable", message: "Too many connections; try again shortly.")
                response.headers.add("Retry-After", "1")
                ResponseSerializer.serialize(
                    response, keepAlive: false, date: currentDate(), requestID: nil, into: &busy)
                _ = busy.withUnsafeBytes { gh_send(fd, $0.baseAddress, $0.count) }
                _ = gh_close(fd)
                continue
            }
            _ = gh_set_nodelay(fd)
            var peerBuf = [CChar](repeating: 0, count: 64)
            let peer =
                gh_peer_address(fd, &peerBuf, 64) == 0
                ? String(decoding: peerBuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
            let tls: TLSSession?
            if let ctx = core.tlsContext {
                guard let session = ctx.makeSession(fd: fd) else {
                    _ = gh_close(fd)
                    core.openConnections.subtract(1, ordering: .relaxed)
                    continue
                }
                tls = session
            } else {
                tls = nil
            }
            let conn = Connection(fd: fd, peer: peer, tls: tls, parser: core.makeParser(), now: now)
            guard gh_epoll_ctl(epfd, gh_EPOLL_CTL_ADD(), fd, gh_EPOLLIN() | gh_EPOLLRDHUP()) == 0 else {
                _ = gh_close(fd)
                core.openConnections.subtract(1, ordering: .relaxed)
                continue
            }
            connections[fd] = conn
            Metrics.shared.add("gatehouse_open_connections", [], 1)
            openCount.add(1, ordering: .relaxed)
        }
    }

    // MARK: - Reading

    /// Largest amount we buffer for one connection before we stop reading it (a pipelining client that does not
    /// read its responses cannot make us buffer without bound).
    private var readBufferCap: Int {
        core.configuration.limits.maxHeaderBytes + core.configuration.limits.maxBodyBytes + 65536
    }

    private func readable(_ conn: Connection) {
        var gotData = false
        while !conn.closed {
            let n: Int
            if let tls = conn.tls {
                switch tls.read(into: scratch) {
                case .bytes(let k): n = k
                case .wantRead: n = -1
                case .wantWrite:
                    setWriteInterest(conn, true)
                    n = -1
                case .closed: n = 0
                case .failed:
                    close(conn)
                    return
                }
            } else {
                let r = gh_read(conn.fd, scratch.baseAddress, scratch.count)
                if r < 0 {
                    if gh_errno() == gh_EAGAIN() {
                        n = -1
                    } else {
                        close(conn)
                        return
                    }
                } else {
                    n = r
                }
            }
            if n < 0 { break }
            if n == 0 {
                conn.peerClosed = true
                break
            }
            if conn.lingering { continue }  // discard
            gotData = true
            conn.parser.append(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
            if conn.requestBody != nil {
                pumpBody(conn)  // a streamed body goes on as it arrives; a full window pauses reading
                if conn.readPaused || conn.closed { break }
            } else if conn.parser.bufferedCount > readBufferCap {
                pauseReading(conn)
                break
            }
            if conn.tls == nil && n < scratch.count { break }
        }
        if conn.closed { return }
        if conn.peerClosed && conn.requestBody != nil { pumpBody(conn) }  // the body's end, or its failure
        if conn.peerClosed {
            // The client half-closed. Finish what we can (a request already buffered), then close.
            if conn.lingering
                || (!conn.handling && !conn.hasPendingOutput && !gotData && conn.parser.bufferedCount == 0)
            {
                close(conn)
                return
            }
            _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_MOD(), conn.fd, conn.writeInterest ? gh_EPOLLOUT() : 0)
            conn.readPaused = true
            conn.closeAfterFlush = true
        }
        if gotData && !conn.handling && !conn.hasPendingOutput { process(conn) }
        if conn.peerClosed && !conn.closed && !conn.handling && !conn.hasPendingOutput { close(conn) }
    }

    func pauseReading(_ conn: Connection) {
        guard !conn.readPaused else { return }
        conn.readPaused = true
        updateInterest(conn)
    }

    func resumeReading(_ conn: Connection) {
        guard conn.readPaused, !conn.peerClosed else { return }
        conn.readPaused = false
        updateInterest(conn)
    }

    private func setWriteInterest(_ conn: Connection, _ on: Bool) {
        guard conn.writeInterest != on else { return }
        conn.writeInterest = on
        updateInterest(conn)
    }

    private func updateInterest(_ conn: Connection) {
        var ev: UInt32 = 0
        if !conn.readPaused { ev |= gh_EPOLLIN() | gh_EPOLLRDHUP() }
        if conn.writeInterest { ev |= gh_EPOLLOUT() }
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_MOD(), conn.fd, ev)
    }

    func setPhase(_ conn: Connection, _ phase: ConnectionPhase) {
        if conn.phase != phase {
            conn.phase = phase
            conn.phaseSince = now
        }
    }

    // MARK: - Requests

    /// Takes requests out of the parser one at a time, in order. A pipelined request waits until the one
    /// before it has been answered and flushed.
    func process(_ conn: Connection) {
        while !conn.closed && !conn.handling && !conn.closeAfterFlush && !conn.hasPendingOutput {
            let event: HTTP1Parser.Event
            do {
                event = try conn.parser.next()
            } catch {
                respondWithError(conn, status: error.status, code: error.code, message: error.message)
                return
            }
            switch event {
            case .needMore:
                if conn.parser.isReadingBody {
                    setPhase(conn, .readingBody)
                } else if conn.parser.bufferedCount > 0 {
                    setPhase(conn, .readingHead)
                } else {
                    setPhase(conn, conn.requestsServed == 0 ? .awaitingFirstRequest : .idle)
                }
                resumeReading(conn)
                return
            case .sendContinue:
                conn.outbound.append(contentsOf: ResponseSerializer.continueBytes())
                flush(conn)
            case .request(var request):
                requestCounter &+= 1
                request.id = requestPrefix + String(requestCounter, radix: 36)
                request.remoteAddress = conn.peer
                request.connection = conn.memory
                dispatch(conn, request)
            case .requestHead(var request):
                requestCounter &+= 1
                request.id = requestPrefix + String(requestCounter, radix: 36)
                request.remoteAddress = conn.peer
                request.connection = conn.memory
                let stream = RequestBodyStream(length: request.headers["content-length"].flatMap { Int($0) })
                stream.setOnDrained { [self] in bodyDrained(conn, stream) }
                conn.requestBody = stream
                request.bodyStream = stream
                dispatch(conn, request)
                pumpBody(conn)
            case .bodyPart, .bodyEnd:
                // Only while a streamed body is pumped (the parser's state makes this unreachable): refuse.
                respondWithError(conn, status: 400, code: "bad_request", message: "Unexpected request body.")
                return
            }
        }
    }

    private func dispatch(_ conn: Connection, _ request: Request) {
        conn.handling = true
        setPhase(conn, .handling)
        let started = Monotonic.nanos()
        let responder = core.responder
        if let response = responder.respondImmediately(to: request) {
            complete(conn, request, response, started: started)
            return
        }
        let answered = responder.respondLater(to: request) { [self] response in
            if isOnLoop {
                complete(conn, request, response, started: started)
            } else {
                execute { self.complete(conn, request, response, started: started) }
            }
        }
        if answered { return }
        Task(executorPreference: self) {
            let response = await responder.respond(to: request)
            if self.isOnLoop {
                self.complete(conn, request, response, started: started)
            } else {
                self.execute { self.complete(conn, request, response, started: started) }
            }
        }
    }

    private func complete(_ conn: Connection, _ request: Request, _ response: Response, started: UInt64) {
        var response = response
        if let source = response.bodySource {
            response.bodySource = nil
            if !conn.closed && request.method != "HEAD" && !ResponseSerializer.hasNoBody(response.status) {
                startStreaming(conn, request, response, source, started: started)
                return
            }
            source.cancel()
        }
        response.materializeBody()
        logRequest(
            request, status: response.status, bytes: response.body.count, started: started, route: response.route)
        guard !conn.closed else { return }
        conn.handling = false
        conn.requestsServed += 1
        let keepAlive = keepsAlive(conn, request, response)
        ResponseSerializer.serialize(
            response, keepAlive: keepAlive, date: currentDate(), requestID: request.id,
            headOnly: request.method == "HEAD", into: &conn.outbound)
        if !keepAlive { conn.closeAfterFlush = true }
        flush(conn)
        if !conn.closed && !conn.hasPendingOutput && !conn.closeAfterFlush { process(conn) }
    }

    /// DESIGN.md's error shape for answers the server gives before any handler runs (parse errors, limits, busy).
    static func errorResponse(status: Int, code: String, message: String) -> Response {
        let body = Array("{\"error\":{\"code\":\(JSONText.quote(code)),\"message\":\(JSONText.quote(message))}}".utf8)
        return Response(
            status: status, headers: ["Content-Type": "application/json"], body: body, closeConnection: true)
    }

    func respondWithError(_ conn: Connection, status: Int, code: String, message: String) {
        let response = Self.errorResponse(status: status, code: code, message: message)
        var request = Request(method: "-", target: "-", headers: [:], keepAlive: false)
        requestCounter &+= 1
        request.id = requestPrefix + String(requestCounter, radix: 36)
        request.remoteAddress = conn.peer
        conn.handling = true
        complete(conn, request, response, started: Monotonic.nanos())
    }

    // MARK: - Writing

    func flush(_ conn: Connection) {
        while conn.hasPendingOutput {
            let r: Int = conn.outbound.withUnsafeBytes { all in
                let pending = UnsafeRawBufferPointer(rebasing: all[conn.outboundOffset...])
                if let tls = conn.tls {
                    switch tls.write(pending) {
                    case .bytes(let k): return k
                    case .wantWrite, .wantRead: return -1
                    case .closed, .failed: return -2
                    }
                }
                let k = gh_send(conn.fd, pending.baseAddress, pending.count)
                if k >= 0 { return k }
                return gh_errno() == gh_EAGAIN() ? -1 : -2
            }
            if r == -2 {
                close(conn)
                return
            }
            if r == -1 {
                setWriteInterest(conn, true)
                setPhase(conn, .writing)
                return
            }
            conn.outboundOffset += r
            // The write timeout counts from the client's last progress, not from the first byte (a large or
            // streamed answer to a slow but steady reader is not cut off).
            if conn.phase == .writing && r > 0 { conn.phaseSince = now }
        }
        if conn.outbound.capacity > 1 << 20 {
            conn.outbound = []
        } else {
            conn.outbound.removeAll(keepingCapacity: true)
        }
        conn.outboundOffset = 0
        setWriteInterest(conn, false)
        if conn.handling {
            setPhase(conn, conn.requestBody != nil && !conn.readPaused ? .streamingBody : .handling)
            if let sink = conn.responseBody, sink.paused {
                sink.paused = false
                sink.source.setFlowing(true)
            }
        }
        if conn.closeAfterFlush && !conn.handling { beginLingeringClose(conn) }
    }

    /// Half-close after our last byte and discard what the client still sends, so that unread request bytes
    /// do not turn our close into a reset that destroys the response before the client reads it.
    private func beginLingeringClose(_ conn: Connection) {
        guard !conn.lingering else { return }
        if conn.peerClosed {
            close(conn)
            return
        }
        conn.lingering = true
        conn.tls?.shutdown()
        _ = gh_shutdown_write(conn.fd)
        conn.phase = .writing
        conn.phaseSince = now
        if conn.readPaused {
            conn.readPaused = false
            updateInterest(conn)
        }
    }

    func close(_ conn: Connection) {
        guard !conn.closed else { return }
        conn.closed = true
        if let body = conn.requestBody {
            conn.requestBody = nil
            body.fail("the client's connection closed")
        }
        if let sink = conn.responseBody {
            conn.responseBody = nil
            sink.source.cancel()
        }
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_DEL(), conn.fd, 0)
        _ = gh_close(conn.fd)
        connections[conn.fd] = nil
        Metrics.shared.add("gatehouse_open_connections", [], -1)
        openCount.subtract(1, ordering: .relaxed)
        core.openConnections.subtract(1, ordering: .relaxed)
    }

    // MARK: - Sockets of others (LoopReactor)

    var nowMillis: UInt64 { now }
    var loopIndex: Int { index }

    func watch(_ fd: Int32, readable: Bool, writable: Bool, handler: any LoopSocketHandler) {
        watchers[fd] = handler
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_ADD(), fd, Self.interest(readable, writable))
    }

    func rewatch(_ fd: Int32, readable: Bool, writable: Bool) {
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_MOD(), fd, Self.interest(readable, writable))
    }

    func unwatch(_ fd: Int32) {
        guard watchers.removeValue(forKey: fd) != nil else { return }
        _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_DEL(), fd, 0)
    }

    private static func interest(_ readable: Bool, _ writable: Bool) -> UInt32 {
        (readable ? gh_EPOLLIN() | gh_EPOLLRDHUP() : 0) | (writable ? gh_EPOLLOUT() : 0)
    }

    // MARK: - Timers and shutdown

    private func sweep() {
        if !watchers.isEmpty {
            for w in Array(watchers.values) { w.tick(nowMillis: now) }
        }
        let policy = core.timeouts
        for conn in Array(connections.values) where !conn.closed {
            if conn.lingering {
                if now &- conn.phaseSince >= 2000 { close(conn) }
                continue
            }
            switch policy.action(phase: conn.phase, since: conn.phaseSince, now: now, draining: draining) {
            case .none: break
            case .close: close(conn)
            case .requestTimeout:
                conn.parser = core.makeParser()
                respondWithError(
                    conn, status: 408, code: "request_timeout",
                    message: "The request took too long to arrive.")
            }
        }
    }

    /// Stop accepting and close idle connections; busy ones close after their current response.
    func beginDraining() {
        draining = true
        if listening {
            listening = false
            _ = gh_epoll_ctl(epfd, gh_EPOLL_CTL_DEL(), core.listenFD, 0)
        }
        sweep()
    }

    // MARK: - Logging

    func currentDate() -> String {
        let sec = Int(Date().timeIntervalSince1970)
        if sec != dateSecond {
            dateSecond = sec
            dateText = HTTPDate.format(epochSeconds: sec)
        }
        return dateText
    }

    /// A method as a metric label: the standard ones, anything else "other" (a client chooses the method). Compared,
    /// not hashed: short strings compare as two words.
    static func methodLabel(_ method: String) -> String {
        switch method {
        case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS": return method
        default: return "other"
        }
    }

    func logRequest(_ request: Request, status: Int, bytes: Int, started: UInt64, route: String?) {
        let micros = (Monotonic.nanos() &- started) / 1000
        Metrics.shared.request(
            route: route ?? "(unmatched)", method: Self.methodLabel(request.method),
            status: status, seconds: Double(micros) / 1_000_000)
        guard core.configuration.accessLog else { return }
        accessLine.append(
            to: &logBuffer, request: request, route: route ?? "(unmatched)",
            status: status, bytes: bytes, micros: micros)
        if logBuffer.count > 64 * 1024 { flushLog() }
    }

    private func flushLog() {
        guard !logBuffer.isEmpty else { return }
        core.logSink.write(bytes: logBuffer)
        logBuffer.removeAll(keepingCapacity: true)
    }
}
