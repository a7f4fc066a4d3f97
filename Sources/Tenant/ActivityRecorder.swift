import Foundation
import Store
import Synchronization
import TenantDomain

/// Remembers when members last used their org and writes it in batches, so "last active" stays current
/// without turning every read into a write. Noting is a dictionary update under a lock; `flush` writes all
/// pending times in one transaction (every 15 s in a running server, and on demand in tests). At most one
/// flush interval of activity can be lost in a crash: last-active is a hint, not an acknowledged write.
package final class ActivityRecorder: Sendable {
    private struct Key: Hashable {
        let org: OrgID
        let account: String
    }
    private let pending = Mutex<[Key: Int]>([:])
    private let db: Database

    init(db: Database) { self.db = db }

    func note(org: OrgID, account: String, at: Int) {
        let key = Key(org: org, account: account)
        pending.withLock { p in
            if p.count < 200_000 || p[key] != nil { p[key] = max(p[key] ?? 0, at) }
        }
    }

    /// Writes the pending times; returns how many members were updated.
    @discardableResult
    package func flush() throws -> Int {
        let batch = pending.withLock { p -> [Key: Int] in
            let taken = p
            p.removeAll(keepingCapacity: true)
            return taken
        }
        guard !batch.isEmpty else { return 0 }
        return try db.writeNow { conn in
            let update = try conn.prepare(
                "UPDATE members SET last_active = ? WHERE org_id = ? AND account_id = ? AND last_active < ?")
            // Monotonic (`last_active < ?`): replicas flushing the same member in any order keep the latest time.
            try conn.batch { for (k, t) in batch { try update.execute([t, k.org, k.account, t]) } }
            return batch.count
        }
    }

    package func startFlushing(every interval: Double = 15) {
        let thread = Thread { [weak self] in
            while let recorder = self {
                Thread.sleep(forTimeInterval: interval)
                _ = try? recorder.flush()
            }
        }
        thread.name = "gatehouse-activity"
        thread.start()
    }
}
