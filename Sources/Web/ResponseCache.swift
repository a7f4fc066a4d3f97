import Foundation
import GatehouseCore
import HTTP
import Synchronization

/// Whole answers to reads (`GET`), remembered by a key that names everything an answer depends on besides the
/// stores (who asks, and the request target), while the stores are unchanged.
///
/// Why this is safe:
/// - Each answer is tagged with the stores' write generation read before the request ran (`GenerationCache`):
///   any write committed since makes every remembered answer stale at once. A handler that writes while reading
///   leaves its own answer stale the moment it is stored.
/// - Some answers change with time alone (an invite expires, "active in the last 30 days" moves), so an answer
///   lives at most `maxAge`, by the clock the caller passes.
/// - Only complete, plain answers are kept: `200`, no `Set-Cookie`, at most `maxBody` bytes.
///
/// Why it exists: a console page or an API client reads the same lists again and again between writes; a list
/// of 50 rows costs ~50 µs of SQLite and as much again of JSON or HTML, a remembered answer one hash lookup.
package final class ResponseCache<Key: Hashable & Sendable>: Sendable {
    package static var maxAge: TimeInterval { RememberedAnswer.lifetime }
    package static var maxBody: Int { 1 << 20 }

    private struct Entry: Sendable {
        let response: Response
        let storedAt: Date
    }
    private let entries: GenerationCache<Key, Entry>
    private let enabled: Bool

    /// Reads running now, by key and generation, with the requests waiting for their answer.
    private struct Flight: Hashable, Sendable {
        let key: Key
        let generation: UInt64
    }
    private let flights = Mutex<[Flight: [CheckedContinuation<Response?, Never>]]>([:])

    /// `capacity`: the bytes of bodies held at most (the cache starts over when full); 0 remembers nothing and
    /// shares nothing (every read runs: the long way, for measuring).
    package init(capacity: Int) {
        entries = GenerationCache(capacity: capacity)
        enabled = capacity > 0
    }

    /// The remembered answer for `key`, if the stores are still at `generation` and it is fresh at `now`.
    package func answer(_ key: Key, generation: UInt64, now: Date) -> Response? {
        guard let e = entries.lookup(key, generation: generation) else { return nil }
        return RememberedAnswer.isFresh(storedAt: e.storedAt, now: now) ? e.response : nil
    }

    /// Remembers `response` (its body written now) when it is a plain successful answer.
    package func remember(_ response: inout Response, _ key: Key, generation: UInt64, now: Date) {
        guard response.status == 200, response.headers["set-cookie"] == nil, !response.closeConnection,
            response.bodySource == nil
        else { return }
        response.materializeBody()
        let size = response.body.count
        guard size <= Self.maxBody else { return }
        entries.store(Entry(response: response, storedAt: now), for: key, generation: generation, cost: size + 256)
    }

    /// Runs `read` unless the same read (key and generation) is already running; then waits for that one's answer
    /// instead. Why: when an answer goes stale (a write, or its age), every connection asking for it misses at
    /// once, and 64 copies of one 200 µs read made a 15 ms stall. A waiter shares an answer read from a snapshot
    /// at least as new as the generation it saw, so it misses no write it could know of.
    /// A read that throws hands nothing to its waiters: each runs the read itself.
    package func coalescing(
        _ key: Key, generation: UInt64, _ read: () async throws -> Response
    ) async rethrows -> Response {
        guard enabled else { return try await read() }
        let flight = Flight(key: key, generation: generation)
        let leads = flights.withLock { f -> Bool in
            guard f[flight] == nil else { return false }
            f[flight] = []
            return true
        }
        if !leads {
            let shared: Response? = await withCheckedContinuation { c in
                let waiting = flights.withLock { f -> Bool in
                    guard f[flight] != nil else { return false }
                    f[flight]?.append(c)
                    return true
                }
                if !waiting { c.resume(returning: nil) }
            }
            if let shared { return shared }
            return try await read()  // the first failed, or finished before this one could wait: read again
        }
        var answer: Response?
        defer {
            let waiters = flights.withLock { f in f.removeValue(forKey: flight) ?? [] }
            for w in waiters { w.resume(returning: answer) }
        }
        let read = try await read()
        answer = read
        return read
    }

    /// Entries held now (tests).
    package var count: Int { entries.count }
}
