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

    /// An idle connection, or a new one whose connect has started.
    func checkout(address: String, port: Int) throws -> LoopConnection {
        while let c = idle.popLast() {
            if c.state == .idle { return c }
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
/// takes it, the response fed to `HTTPResponseParser` as it arrives, the awaiting task resumed on the same thread.
/// Timeouts (connect, and the gap between any two reads or writes) are checked at the loop's sweeps.
final class LoopConnection: LoopSocketHandler, @unchecked Sendable {
    enum State { case connecting, active, idle, closed }

    let fd: Int32
    unowned let pool: LoopPool
    private(set) var state = State.connecting
    /// Whether it served a request before (a failure before the first byte of the answer is then "stale").
    private var reused = false
    private var wantsWrite = true
    private var out: [UInt8] = []
    private var outOffset = 0
    private var parser: HTTPResponseParser?
    private var continuation: CheckedContinuation<HTTPClientResponse, any Error>?
    private var deadline: UInt64 = 0
    private var connectTimeout: UInt64 = 0
    private var ioTimeout: UInt64 = 0

    init(fd: Int32, pool: LoopPool) {
        self.fd = fd
        self.pool = pool
    }

    func start(
        _ request: [UInt8], parser: HTTPResponseParser, connectTimeoutMillis: Int, ioTimeoutMillis: Int,
        continuation: CheckedContinuation<HTTPClientResponse, any Error>
    ) {
        self.continuation = continuation
        self.parser = parser
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
        if writable && outOffset < out.count { write() }
        if readable && state != .closed { read() }
    }

    func tick(nowMillis: UInt64) {
        guard state == .active || state == .connecting, continuation != nil, nowMillis > deadline else { return }
        fail(
            state == .connecting
                ? NetError("connect_failed", "connecting to \(pool.origin) timed out")
                : NetError("timeout", "\(pool.origin) did not answer in time"))
    }

    private func write() {
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
        out = []
        outOffset = 0
        setWriteInterest(false)
    }

    private func setWriteInterest(_ on: Bool) {
        guard wantsWrite != on else { return }
        wantsWrite = on
        pool.reactor.rewatch(fd, readable: true, writable: on)
    }

    private func read() {
        let scratch = pool.scratch
        while state != .closed {
            let n = gh_read(fd, scratch.baseAddress, scratch.count)
            if n < 0 {
                if gh_errno() == gh_EAGAIN() { return }
                fail(failure("read from"))
                return
            }
            guard state == .active, parser != nil else {
                close()  // bytes or a close on an idle connection: it cannot be reused
                return
            }
            if n == 0 {
                do {
                    let r = try parser!.finish()
                    succeed(r, keep: false)
                } catch {
                    fail(parser!.sawNothing && reused ? stale() : NetError.from(error))
                }
                return
            }
            deadline = pool.reactor.nowMillis + ioTimeout
            do {
                if let r = try parser!.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) {
                    let keep =
                        !parser!.hasLeftover && r.header("connection")?.lowercased() != "close"
                        && outOffset == out.count
                    succeed(r, keep: keep)
                    return
                }
            } catch {
                fail(NetError.from(error))
                return
            }
            if n < scratch.count { return }
        }
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
        if keep {
            state = .idle
            pool.release(self)
        } else {
            close()
        }
        c?.resume(returning: r)
    }

    private func fail(_ error: NetError) {
        let c = continuation
        continuation = nil
        parser = nil
        close()
        c?.resume(throwing: error)
    }

    func close() {
        guard state != .closed else { return }
        state = .closed
        pool.reactor.unwatch(fd)
        _ = gh_close(fd)
        pool.forget(self)
    }
}

extension NetError {
    /// The parser throws only `NetError`s; anything else is named as a protocol error.
    static func from(_ error: any Error) -> NetError {
        error as? NetError ?? NetError("protocol_error", "\(error)")
    }
}
