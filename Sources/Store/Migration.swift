/// One schema step. Versions are positive and strictly increasing; each runs once, in its own `BEGIN IMMEDIATE`
/// transaction together with its `schema_migrations` row, so a failed step leaves no trace.
package struct Migration: Sendable {
    package let version: Int
    package let name: String
    package let apply: @Sendable (SQLiteConnection) throws -> Void

    package init(_ version: Int, _ name: String, sql: String) {
        self.version = version
        self.name = name
        self.apply = { try $0.execute(sql) }
    }

    package init(_ version: Int, _ name: String, apply: @escaping @Sendable (SQLiteConnection) throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }
}

enum Migrator {
    static func migrate(_ db: SQLiteConnection, _ migrations: [Migration], now: String) throws -> [Int] {
        try db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                + " applied_at TEXT NOT NULL)"
        )
        let applied = Set(try db.query("SELECT version FROM schema_migrations").compactMap { $0.int(0) })
        let known = Set(migrations.map(\.version))
        if let unknown = applied.subtracting(known).max(), unknown > (known.max() ?? 0) {
            throw StoreError.superseded(unknown)
        }
        var ran: [Int] = []
        for m in migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(m.version) {
            try db.execute("BEGIN IMMEDIATE")
            do {
                try m.apply(db)
                try db.run(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [m.version, m.name, now])
                try db.execute("COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw error
            }
            ran.append(m.version)
        }
        return ran
    }
}
