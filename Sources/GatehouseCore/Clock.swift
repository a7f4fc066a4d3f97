import Foundation
import Synchronization

/// Where "now" comes from. Expiry, timeouts and token checks take a clock so tests can move time by hand.
package protocol WallClock: Sendable {
    func now() -> Date
}

/// The real clock.
package struct SystemClock: WallClock {
    package init() {}
    package func now() -> Date { Date() }
}

/// A clock tests set and advance by hand.
package final class ManualClock: WallClock {
    private let current: Mutex<Date>
    package init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }
    package func now() -> Date { current.withLock { $0 } }
    package func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
    package func set(_ date: Date) { current.withLock { $0 = date } }
}

/// Monotonic milliseconds for timeouts (never goes backwards when the wall clock is set).
package enum Monotonic {
    package static func millis() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }
    package static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
