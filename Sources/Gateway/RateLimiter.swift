import Foundation
import Synchronization
import GatehouseCore

/// Fixed-window counters per key (an account's email, a client address), in memory. A key over its limit
/// is refused with the seconds until its window ends, for `Retry-After`.
public final class RateLimiter: Sendable {
    public struct Limit: Sendable {
        public var count: Int
        public var window: TimeInterval
        public init(count: Int, window: TimeInterval) {
            self.count = count
            self.window = window
        }
    }

    private struct Window { var start: TimeInterval; var used: Int }
    private let windows = Mutex<[String: Window]>([:])
    let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    /// Counts one attempt for every key; returns nil when all are within their limits, else the wait in seconds.
    public func attempt(_ keys: [(String, Limit)]) -> Int? {
        let now = clock.now().timeIntervalSince1970
        return windows.withLock { w in
            if w.count > 100_000 { w = w.filter { now - $0.value.start < 3600 } }
            var wait: Int?
            for (key, limit) in keys {
                var win = w[key] ?? Window(start: now, used: 0)
                if now - win.start >= limit.window { win = Window(start: now, used: 0) }
                win.used += 1
                w[key] = win
                if win.used > limit.count { wait = max(wait ?? 0, Int((win.start + limit.window - now).rounded(.up))) }
            }
            return wait
        }
    }

    public static func refusal(_ seconds: Int) -> GatehouseError {
        GatehouseError(.rateLimited, status: 429, "Too many attempts. Try again in \(seconds) seconds.", headers: [("Retry-After", String(seconds))])
    }
}
