import Foundation
import Synchronization

/// Values remembered while a store is unchanged. Every entry is tagged with the store's write generation
/// (`Database.writeGeneration`) read *before* the value was read, so any write committed since makes every
/// entry stale at once: a removal, a role change or a revocation is seen by the very next request, with no
/// per-key invalidation to forget. A value stored under an older generation than the cache holds is dropped
/// (it may predate a write the cache has already seen).
///
/// Why one generation for the whole store, not per key: writes are rare next to reads, and a per-key scheme
/// would have to know every read a write can change (a role rename changes every member row that shows it).
/// Memory is bounded by `capacity` (in the units of each entry's `cost`): when full, the cache starts over.
package final class GenerationCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entries {
        var generation: UInt64 = 0
        var values: [Key: Value] = [:]
        var cost = 0
    }
    private let entries = Mutex(Entries())
    private let capacity: Int

    package init(capacity: Int) { self.capacity = capacity }

    /// The value stored for `key` under `generation`, if the cache is still at that generation.
    package func lookup(_ key: Key, generation: UInt64) -> Value? {
        entries.withLock { e in e.generation == generation ? e.values[key] : nil }
    }

    /// Remembers `value`, read after `generation` was; dropped if the cache has moved past that generation.
    package func store(_ value: Value, for key: Key, generation: UInt64, cost: Int = 1) {
        entries.withLock { e in
            if e.generation != generation {
                guard generation > e.generation else { return }
                e = Entries(generation: generation)
            }
            if e.cost + cost > capacity { e = Entries(generation: generation) }
            guard cost <= capacity else { return }
            if e.values.updateValue(value, forKey: key) == nil { e.cost += cost }
        }
    }

    /// Entries held now (tests).
    package var count: Int { entries.withLock { $0.values.count } }
}

/// How long a remembered answer lives even when nothing was written: some answers change with time alone (an
/// invitation expires, "active in the last 30 days" moves). One value for every such cache.
package enum RememberedAnswer {
    package static let lifetime: TimeInterval = 1

    /// Whether something stored at `storedAt` may still be given out at `now` (never when the clock went back).
    package static func isFresh(storedAt: Date, now: Date) -> Bool {
        let age = now.timeIntervalSince(storedAt)
        return age >= 0 && age < lifetime
    }
}
