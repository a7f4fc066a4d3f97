/// One schema step. Versions are positive and strictly increasing; each runs once, in its own transaction together
/// with its `schema_migrations` row, so a failed step leaves no trace.
///
/// A step has a SQLite form and, for stores that may live in PostgreSQL, a PostgreSQL form (types, identity
/// columns and indexes differ; the tables and columns the queries see are the same). On PostgreSQL the
/// migrations of a database run under an advisory lock, so replicas starting together apply each step once.
package struct Migration: Sendable {
    package let version: Int
    package let name: String
    package let apply: @Sendable (SQLConnection) throws -> Void

    /// `postgres`: the step's PostgreSQL form; nil translates the SQLite form (`PostgresDDL`), which suits plain
    /// tables, columns and indexes.
    package init(_ version: Int, _ name: String, sql: String, postgres: String? = nil) {
        self.version = version
        self.name = name
        self.apply = { conn in
            switch conn.dialect {
            case .sqlite: try conn.execute(sql)
            case .postgres:
                let text: String
                do {
                    text = try postgres ?? PostgresDDL.translate(sql)
                } catch {
                    throw StoreError(code: 1, message: "migration \(version) (\(name)): \(error)")
                }
                if !text.isEmpty { try conn.execute(text) }
            }
        }
    }

    package init(_ version: Int, _ name: String, apply: @escaping @Sendable (SQLConnection) throws -> Void) {
        self.version = version
        self.name = name
        self.apply = apply
    }
}

enum Migrator {
    /// Any 64-bit number the whole database agrees on: the lock every migrating PostgreSQL store takes.
    static let postgresLock = 0x6761_7465_6873

    /// `schema` (PostgreSQL): created first, under the same lock (two replicas creating it at once would
    /// collide even with IF NOT EXISTS).
    static func migrate(
        _ db: SQLConnection, _ migrations: [Migration], now: String, schema: String? = nil
    ) throws
        -> [Int]
    {
        guard db.dialect == .postgres else { return try migrateLocked(db, migrations, now: now) }
        try db.execute("SELECT pg_advisory_lock(\(postgresLock))")
        defer { try? db.execute("SELECT pg_advisory_unlock(\(postgresLock))") }
        if let schema { try db.execute("CREATE SCHEMA IF NOT EXISTS \(PostgresURL.quoteIdentifier(schema))") }
        return try migrateLocked(db, migrations, now: now)
    }

    private static func migrateLocked(_ db: SQLConnection, _ migrations: [Migration], now: String) throws -> [Int] {
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
            try db.execute(db.dialect == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN")
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
