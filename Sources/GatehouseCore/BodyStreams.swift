import Synchronization

// Bodies that are still arriving when their request or response is handed on. Why: an app behind the gateway
// receives uploads and sends downloads of any size, and a long answer (a report, a log tail) should reach the
// browser as the app writes it. Holding either whole in memory would bound them by our body limits and delay the
// first byte until the last; streamed, memory stays at a window per connection and the client's or upstream's pace
// sets the speed (backpressure both ways).

/// What streamed bodies share: the window each side may hold before the other is paused, and chunked framing
/// (RFC 9112 §7.1) for the bodies we send without a length — to clients and to upstreams alike.
package enum StreamedBody {
    /// Bytes a connection lets wait (request body, unsent response, undelivered upstream answer) before pausing.
    package static let window = 256 * 1024

    /// One chunk (`size CRLF data CRLF`); an empty one would end the body, so none is written.
    package static func appendChunk(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        appendHex(bytes.count, &out)
        out += [13, 10]
        out.append(contentsOf: bytes)
        out += [13, 10]
    }

    /// The last chunk and an empty trailer section.
    package static let lastChunk: [UInt8] = Array("0\r\n\r\n".utf8)

    static func appendHex(_ v: Int, _ out: inout [UInt8]) {
        let digits = Array("0123456789abcdef".utf8)
        var shift = (Int.bitWidth - v.leadingZeroBitCount + 3) / 4 * 4
        if shift == 0 { shift = 4 }
        while shift > 0 {
            shift -= 4
            out.append(digits[(v >> shift) & 15])
        }
    }
}

/// A response body produced over time (an upstream's answer). The server writes the head, then `start`s the
/// source, which hands bytes to the sink on the connection's event loop.
package protocol ResponseBodySource: AnyObject, Sendable {
    /// The body's length when known (sent as `Content-Length`), else nil (chunked to an HTTP/1.1 client; an
    /// HTTP/1.0 one reads until the connection closes).
    var length: Int? { get }
    /// Starts delivery into `sink`: called once, on the event loop the upstream connection is watched by.
    func start(_ sink: any ResponseBodySink)
    /// The client has too much unread (false) or has caught up (true). While false the source stops reading.
    func setFlowing(_ flowing: Bool)
    /// The body will not be sent (a HEAD request, the client went away): stop and release the upstream.
    func cancel()
}

/// Where a `ResponseBodySource` delivers: the client's connection. Called on its event loop only.
package protocol ResponseBodySink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer)
    /// The body is complete.
    func end()
    /// The body cannot be completed (the upstream failed mid-way): the client's connection is closed, so the client
    /// sees a body cut short, never one that looks complete.
    func abort()
}

/// A request body arriving from the client while its handler runs: the server pushes what the client sends, the
/// handler's consumer (an upstream connection) takes it. Bounded: the server stops reading the client while
/// `StreamedBody.window` bytes wait here. Thread-safe (a consumer off the loop collects it whole).
package final class RequestBodyStream: Sendable {
    /// The length the client announced (`Content-Length`), or nil (chunked: the end is seen when it comes).
    package let length: Int?

    private struct State {
        var buffer: [UInt8] = []
        var finished = false
        var failure: String?
        var consumer: (@Sendable () -> Void)?
        var producerWaiting = false
        var onDrained: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    package init(length: Int?) { self.length = length }

    // MARK: Consumer

    /// What has arrived and not yet been taken, or nothing.
    package func take() -> [UInt8] {
        let (bytes, drained) = state.withLock { s -> ([UInt8], (@Sendable () -> Void)?) in
            guard !s.buffer.isEmpty else { return ([], nil) }
            var out: [UInt8] = []
            swap(&out, &s.buffer)
            let wake = s.producerWaiting ? s.onDrained : nil
            s.producerWaiting = false
            return (out, wake)
        }
        drained?()
        return bytes
    }

    /// Every byte arrived and was taken (or is waiting to be).
    package var isFinished: Bool { state.withLock { $0.finished } }
    /// Why the body will not be complete (the client went away or sent bad framing), if so.
    package var failure: String? { state.withLock { $0.failure } }

    /// Calls `consumer` once when bytes arrive, the body ends or fails (at once if one of these already holds).
    package func whenReadable(_ consumer: @escaping @Sendable () -> Void) {
        let now = state.withLock { s -> Bool in
            if !s.buffer.isEmpty || s.finished || s.failure != nil { return true }
            s.consumer = consumer
            return false
        }
        if now { consumer() }
    }

    /// The whole body, for a consumer that cannot stream (an https upstream): at most `limit` bytes, else throws.
    package func collect(limit: Int) async throws -> [UInt8] {
        var all: [UInt8] = []
        while true {
            all += take()
            guard all.count <= limit else { throw BodyStreamError.tooLarge(limit) }
            if let f = failure { throw BodyStreamError.failed(f) }
            if isFinished && state.withLock({ $0.buffer.isEmpty }) { return all }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in whenReadable { c.resume() } }
        }
    }

    // MARK: Producer (the server)

    /// Bytes the client sent; returns whether the consumer wants more now (false: stop reading the client until
    /// `onDrained` is called).
    @discardableResult
    package func push(_ bytes: [UInt8]) -> Bool {
        let consumer = state.withLock { s -> (@Sendable () -> Void)? in
            s.buffer += bytes
            let c = s.consumer
            s.consumer = nil
            return c
        }
        consumer?()  // it may take the bytes at once; only what it left counts against the window
        return state.withLock { s in
            s.producerWaiting = s.buffer.count >= StreamedBody.window
            return !s.producerWaiting
        }
    }

    /// Called when a full buffer has been taken (the server resumes reading the client). Set once, by the server.
    package func setOnDrained(_ f: @escaping @Sendable () -> Void) { state.withLock { $0.onDrained = f } }

    package func finish() { end { $0.finished = true } }

    package func fail(_ reason: String) { end { if !$0.finished && $0.failure == nil { $0.failure = reason } } }

    private func end(_ change: (inout State) -> Void) {
        let consumer = state.withLock { s -> (@Sendable () -> Void)? in
            change(&s)
            let c = s.consumer
            s.consumer = nil
            return c
        }
        consumer?()
    }
}

package enum BodyStreamError: Error, Equatable {
    case tooLarge(Int)
    case failed(String)
}
