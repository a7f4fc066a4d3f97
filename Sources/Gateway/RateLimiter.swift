import Foundation
import GatehouseCore
import Synchronization

/// Fixed-window counters per key (an account's email, a client address), in memory. A key over its limit
/// is refused with the seconds until its window ends, for `Retry-After`.
package final class RateLimiter: Sendable {
    package struct Limit: Sendable {
        package var count: Int
        package var window: TimeInterval
        package init(count: Int, window: TimeInterval) {
            self.count = count
            self.window = window
        }
    }

    private struct Window {
        var start: TimeInterval
        var used: Int
    }
    private let windows = Mutex<[String: Window]>([:])
    let clock: any WallClock

    package init(clock: any WallClock) { self.clock = clock }

    /// Counts one attempt for every key; returns nil when all are within their limits, else the wait in seconds.
    package func attempt(_ keys: [(String, Limit)]) -> Int? {
        let now = clock.now().timeIntervalSince1970
        return windows.withLock { w in
            if w.count > 100_000 { w = w.filter { now - $0.value.start < 3600 } }
            var wait: Int?
            for (key, limit) in keys {
                var win = w[key] ?? Window(start: now, used: 0)
                if now - win.start >= limit.window { win = Window(start: now, used: 0) }
                win.used += 1
                w[key] = win
                if win.used > limit.count {
                    wait = max(wait ?? 0, Int((win.start + limit.window - now).rounded(.up)))
                    Metrics.shared.increment("gatehouse_rate_limited_total", [("limit", Self.kind(key))])
                }
            }
            return wait
        }
    }

    /// The wait for any of `keys` already over its limit, without counting an attempt (failures are counted
    /// with `attempt` only when they happen, so successful sign-ins never lock anyone out).
    package func peek(_ keys: [(String, Limit)]) -> Int? {
        let now = clock.now().timeIntervalSince1970
        return windows.withLock { w in
            var wait: Int?
            for (key, limit) in keys {
                guard let win = w[key], now - win.start < limit.window, win.used >= limit.count else { continue }
                wait = max(wait ?? 0, Int((win.start + limit.window - now).rounded(.up)))
            }
            return wait
        }
    }

    // MARK: Growing delays

    /// Failures of one key with a delay that doubles after the free ones: 1 s, 2 s, 4 s … up to `cap`. Used
    /// per (account, client): a person's own browser recovers in seconds, an attacker elsewhere cannot lock
    /// them out, and guessing from one place slows down exponentially.
    package struct Backoff: Sendable {
        package var free: Int
        package var cap: TimeInterval
        /// Failures are forgotten after this long without one.
        package var forget: TimeInterval
        package init(free: Int = 5, cap: TimeInterval = 900, forget: TimeInterval = 900) {
            self.free = free
            self.cap = cap
            self.forget = forget
        }
    }
    private struct Failures {
        var count: Int
        var last: TimeInterval
        var until: TimeInterval
    }
    private let failures = Mutex<[String: Failures]>([:])

    /// Seconds to wait before `key` may try again, or nil.
    /// A key's kind for a metric label: the part before the first `:` (`pw`, `reset-client`), never what
    /// follows (addresses, emails, invite ids).
    static func kind(_ key: String) -> String {
        let k = key.prefix { $0 != ":" }
        return k.count <= 32 && k.allSatisfy({ $0.isLetter || $0 == "-" || $0 == "_" }) ? String(k) : "other"
    }

    package func delay(_ key: String, _ policy: Backoff) -> Int? {
        let now = clock.now().timeIntervalSince1970
        let wait = failures.withLock { f -> Int? in
            guard let e = f[key], now - e.last < policy.forget, e.until > now else { return nil }
            return Int((e.until - now).rounded(.up))
        }
        if wait != nil { Metrics.shared.increment("gatehouse_rate_limited_total", [("limit", Self.kind(key))]) }
        return wait
    }

    package func fail(_ key: String, _ policy: Backoff) {
        let now = clock.now().timeIntervalSince1970
        failures.withLock { f in
            if f.count > 100_000 { f = f.filter { now - $0.value.last < policy.forget } }
            var e =
                f[key].flatMap { now - $0.last < policy.forget ? $0 : nil } ?? Failures(count: 0, last: now, until: 0)
            e.count += 1
            e.last = now
            if e.count > policy.free { e.until = now + min(policy.cap, pow(2, Double(e.count - policy.free - 1))) }
            f[key] = e
        }
    }

    package func reset(_ key: String) { _ = failures.withLock { $0.removeValue(forKey: key) } }

    package static func refusal(_ seconds: Int) -> GatehouseError {
        GatehouseError(
            .rateLimited, status: 429, "Too many attempts. Try again in \(seconds) seconds.",
            headers: [("Retry-After", String(seconds))])
    }
}
