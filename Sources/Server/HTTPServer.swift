internal import CShims
import Foundation
import GatehouseCore
import HTTP
import Synchronization

/// State shared by all event loops of one server; immutable after start apart from the atomics.
final class ServerCore: Sendable {
    let configuration: ServerConfiguration
    let timeouts: ConnectionTimeouts
    let responder: any HTTPResponder
    let listenFD: Int32
    let tlsContext: TLSContext?
    let logSink: LogSink
    let openConnections = Atomic<Int>(0)
    /// A short random tag that makes request ids unique across restarts.
    let instanceTag: String
    /// The responder's choice of requests whose body is streamed (see `HTTPResponder.streamsRequestBody`).
    let streamsBody: @Sendable (String, String) -> Bool

    init(
        configuration: ServerConfiguration, responder: any HTTPResponder, listenFD: Int32, tlsContext: TLSContext?,
        logSink: LogSink
    ) {
        self.configuration = configuration
        self.timeouts = ConnectionTimeouts(
            header: configuration.headerTimeout, body: configuration.bodyTimeout,
            idle: configuration.idleTimeout, write: configuration.writeTimeout)
        self.responder = responder
        self.listenFD = listenFD
        self.tlsContext = tlsContext
        self.logSink = logSink
        instanceTag = String(UInt32.random(in: 0x100000...0xFFFFFF), radix: 36) + "-"
        streamsBody = { [responder] method, target in responder.streamsRequestBody(method: method, target: target) }
    }

    func makeParser() -> HTTP1Parser { HTTP1Parser(limits: configuration.limits, streamsBody: streamsBody) }
}

/// An HTTP/1.1 server: one listening socket shared by N epoll event loops (EPOLLEXCLUSIVE wakes one loop per
/// new connection), each on its own thread.
///
/// Lifecycle: `start()` binds and starts the loops; `shutdown()` stops accepting, lets in-flight requests
/// finish (up to `shutdownGrace`), closes everything and joins the threads. `runUntilSignal()` does the same
/// on SIGTERM or SIGINT.
package final class HTTPServer: Sendable {
    private let configuration: ServerConfiguration
    private let responder: any HTTPResponder
    private let logSink: LogSink
    private let state = Mutex<State>(State())

    private struct State {
        var core: ServerCore?
        var loops: [EventLoop] = []
        var finished: [DispatchSemaphore] = []
        var port = 0
        var stopped = false
    }

    package init(configuration: ServerConfiguration, responder: any HTTPResponder, logSink: LogSink = .standardError) {
        self.configuration = configuration
        self.responder = responder
        self.logSink = logSink
    }

    /// The bound port (useful with port 0).
    package var port: Int { state.withLock { $0.port } }

    /// Binds, listens and starts the event loops. Returns the bound port.
    @discardableResult
    package func start() throws -> Int {
        gh_ignore_sigpipe()
        let tls = try configuration.tls.map { try TLSContext($0) }
        let fd = gh_listen_tcp(configuration.host, Int32(configuration.port), 4096, 0)
        guard fd >= 0 else { throw SystemError.last("listen on \(configuration.host):\(configuration.port)") }
        let port = Int(gh_local_port(fd))
        let core = ServerCore(
            configuration: configuration, responder: responder, listenFD: fd, tlsContext: tls, logSink: logSink)
        let count = configuration.eventLoops > 0 ? configuration.eventLoops : Int(gh_cpu_count())
        var loops: [EventLoop] = []
        for i in 0..<count { loops.append(try EventLoop(index: i, core: core)) }
        var threads: [Thread] = []
        var finished: [DispatchSemaphore] = []
        for loop in loops {
            let done = DispatchSemaphore(value: 0)
            let t = Thread {
                loop.run()
                done.signal()
            }
            t.name = "gatehouse-loop-\(loop.index)"
            t.stackSize = 1 << 20
            threads.append(t)
            finished.append(done)
        }
        state.withLock {
            $0.core = core
            $0.loops = loops
            $0.finished = finished
            $0.port = port
        }
        for t in threads { t.start() }
        return port
    }

    /// Stops accepting, waits for in-flight requests (up to the grace period), then stops the loops.
    /// Safe to call more than once and from any thread but a loop's.
    package func shutdown() {
        let (loops, finished, core) = state.withLock { s -> ([EventLoop], [DispatchSemaphore], ServerCore?) in
            if s.stopped { return ([], [], nil) }
            s.stopped = true
            return (s.loops, s.finished, s.core)
        }
        guard let core else { return }
        // Every loop stops watching the listening socket; then it is closed, so new connections are refused
        // at once (an open listener would let the kernel complete handshakes nobody will serve).
        let drained = DispatchSemaphore(value: 0)
        for loop in loops {
            loop.execute {
                loop.beginDraining()
                drained.signal()
            }
        }
        for _ in loops { drained.wait() }
        _ = gh_close(core.listenFD)
        let deadline = Date().addingTimeInterval(configuration.shutdownGrace)
        while Date() < deadline {
            if loops.allSatisfy({ $0.openCount.load(ordering: .relaxed) == 0 }) { break }
            usleep(10_000)
        }
        for loop in loops { loop.requestStop() }
        for done in finished { done.wait() }
    }

    /// Blocks until SIGTERM or SIGINT, then shuts down gracefully. Returns the signal number.
    @discardableResult
    package static func waitForShutdownSignal() -> Int32 {
        let fd = gh_install_shutdown_signals()
        guard fd >= 0 else { return 0 }
        return gh_wait_shutdown_signal(fd)
    }

    /// Installs the signal handlers now (call early, before any request can arrive).
    package static func installSignalHandlers() { _ = gh_install_shutdown_signals() }
}
