import Foundation

/// What an event loop offers code below the server that wants its own sockets on it: the gateway's connections to
/// app upstreams. Why: a proxied request that waits for its upstream on a thread pool crosses threads twice (loop →
/// pool → loop) and, on a box with few cores, spends more time being scheduled than proxying. A socket watched by
/// the loop that runs the request answers on that same thread with no hop at all.
///
/// Confinement: every method is called on the loop's thread, and every handler is called there.
package protocol LoopReactor: AnyObject {
    /// Watches `fd` for readiness (`readable`/`writable`) and calls `handler` when it is ready, and every sweep
    /// (a few times a second) for its timers.
    func watch(_ fd: Int32, readable: Bool, writable: Bool, handler: any LoopSocketHandler)
    /// Changes what `fd` is watched for.
    func rewatch(_ fd: Int32, readable: Bool, writable: Bool)
    /// Stops watching `fd` (before the caller closes it).
    func unwatch(_ fd: Int32)
    /// The loop's clock, milliseconds (monotonic, read once per loop turn).
    var nowMillis: UInt64 { get }
    /// A small integer naming the loop (connection pools are kept per loop).
    var loopIndex: Int { get }
}

/// A socket's owner on a loop.
package protocol LoopSocketHandler: AnyObject {
    func ready(readable: Bool, writable: Bool, failed: Bool)
    /// Called every sweep while watched, with the loop's clock: timeouts are checked here.
    func tick(nowMillis: UInt64)
}

/// The loop running on this thread, if any (a thread-local, set once by each loop's thread).
package enum CurrentLoop {
    private final class Box {
        unowned(unsafe) let reactor: any LoopReactor
        init(_ r: any LoopReactor) { reactor = r }
    }

    nonisolated(unsafe) private static var key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// Called by a loop's thread when it starts; the loop outlives its thread.
    package static func set(_ reactor: any LoopReactor) {
        pthread_setspecific(key, Unmanaged.passRetained(Box(reactor)).toOpaque())
    }

    /// The reactor of the loop this code runs on, or nil off the loops (tests in memory, pool threads).
    package static var reactor: (any LoopReactor)? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<Box>.fromOpaque(p).takeUnretainedValue().reactor
    }
}
