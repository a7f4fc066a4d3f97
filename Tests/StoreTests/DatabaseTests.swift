import Foundation
import GatehouseCore
import Store
import Testing

private func tempPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("gh-store-\(UUID().uuidString).db").path
}

private func cleanup(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

private let schema = [
    Migration(
        1, "accounts",
        sql:
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, balance INTEGER NOT NULL)"
            + " STRICT;"
    ),
    Migration(
        2, "notes",
        sql:
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts(id), body"
            + " TEXT) STRICT;"
    ),
]

struct Boom: Error {}

@Suite("SQLite store")
struct DatabaseTests {
    @Test func opensInWALWithForeignKeys() throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(path: path, migrations: schema)
        let mode = try db.readNow { try $0.first("PRAGMA journal_mode")?.string(0) }
        #expect(mode == "wal")
        #expect(throws: StoreError.self) {
            try db.writeNow { try $0.run("INSERT INTO notes (account, body) VALUES (?, ?)", [999, "orphan"]) }
        }
    }

    /// A second process holding the write lock (here a second `Database` on the same file) makes the writer wait;
    /// every retry is counted per store, and the write still happens once the lock is free.
    @Test func busyRetriesAreWaitedOutAndCounted() async throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(path: path, migrations: schema)
        db.metricsName = "busytest"
        let other = try Database(path: path, migrations: schema)
        let holding = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? other.writeNow { conn in
                try conn.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["held@x", 1])
                holding.signal()
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        holder.start()
        holding.wait()
        try db.writeNow { try $0.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["waited@x", 2]) }
        #expect(try db.readNow { try $0.first("SELECT count(*) FROM accounts")?.int(0) } == 2)
        let text = await Metrics.shared.render()
        let line = text.split(separator: "\n").first {
            $0.hasPrefix("gatehouse_store_busy_retries_total{store=\"busytest\"}")
        }
        let count = line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        #expect(count >= 1, "\(line ?? "no line")")
    }

    @Test func migrationsRunOnceAndInOrder() throws {
        let path = tempPath()
        defer { cleanup(path) }
        let first = try Database(path: path, migrations: schema)
        #expect(first.appliedMigrations == [1, 2])
        let again = try Database(path: path, migrations: schema)
        #expect(again.appliedMigrations == [])
        let extra = schema + [Migration(3, "index", sql: "CREATE INDEX notes_account ON notes(account);")]
        let third = try Database(path: path, migrations: extra)
        #expect(third.appliedMigrations == [3])
        let rows = try third.readNow { try $0.query("SELECT version FROM schema_migrations ORDER BY version") }
        #expect(rows.compactMap { $0.int(0) } == [1, 2, 3])
    }

    @Test func failedMigrationLeavesNoTrace() throws {
        let path = tempPath()
        defer { cleanup(path) }
        let broken = schema + [Migration(3, "broken", sql: "CREATE TABLE t3 (x INTEGER); THIS IS NOT SQL;")]
        #expect(throws: StoreError.self) { _ = try Database(path: path, migrations: broken) }
        let db = try Database(path: path, migrations: schema)
        let tables = try db.readNow { try $0.query("SELECT name FROM sqlite_master WHERE name = 't3'") }
        #expect(tables.isEmpty)
    }

    @Test func refusesADatabaseFromANewerBinary() throws {
        let path = tempPath()
        defer { cleanup(path) }
        _ = try Database(path: path, migrations: schema + [Migration(9, "future", sql: "CREATE TABLE f (x);")])
        #expect(throws: StoreError.self) { _ = try Database(path: path, migrations: schema) }
    }

    @Test func rollbackOnErrorLeavesNoPartialWrite() async throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(path: path, migrations: schema)
        try await db.write { try $0.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["a@x", 10]) }
        await #expect(throws: Boom.self) {
            try await db.write { conn in
                try conn.run("UPDATE accounts SET balance = balance - 5 WHERE email = ?", ["a@x"])
                try conn.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["b@x", 5])
                throw Boom()
            }
        }
        // A constraint failure half-way rolls back the earlier statements too.
        await #expect(throws: StoreError.self) {
            try await db.write { conn in
                try conn.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["c@x", 1])
                try conn.run("INSERT INTO accounts (email, balance) VALUES (?, ?)", ["a@x", 1])
            }
        }
        let rows = try await db.read { try $0.query("SELECT email, balance FROM accounts ORDER BY email") }
        #expect(rows.map { "\($0.string("email") ?? "")=\($0.int("balance") ?? -1)" } == ["a@x=10"])
    }

    @Test func typedBindingsRoundTrip() throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(
            path: path,
            migrations: [Migration(1, "t", sql: "CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")])
        let evil = "x'); DROP TABLE t; --"
        try db.writeNow {
            try $0.run(
                "INSERT INTO t VALUES (?, ?, ?, ?, ?)", [Int64.max, 1.5, evil, [UInt8]([0, 1, 255]), String?.none])
        }
        let row = try #require(try db.readNow { try $0.first("SELECT * FROM t") })
        #expect(row[0] == .integer(Int64.max))
        #expect(row[1] == .real(1.5))
        #expect(row[2] == .text(evil))
        #expect(row[3] == .blob([0, 1, 255]))
        #expect(row[4] == .null)
        #expect(throws: StoreError.self) { try db.writeNow { try $0.run("INSERT INTO t VALUES (?, ?)", [1, 2]) } }
    }

    @Test func readersSeeConsistentSnapshotsWhileTheWriterCommits() async throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(path: path, migrations: schema)
        // Two accounts whose balances always sum to 1000; the writer moves money between them.
        try db.writeNow {
            try $0.run("INSERT INTO accounts (email, balance) VALUES ('a', 1000)")
            try $0.run("INSERT INTO accounts (email, balance) VALUES ('b', 0)")
        }
        let writer = Task {
            for i in 0..<300 {
                try await db.write { conn in
                    try conn.run("UPDATE accounts SET balance = balance - 1 WHERE email = 'a'")
                    if i % 7 == 0 { usleep(200) }  // widen the window between the two updates
                    try conn.run("UPDATE accounts SET balance = balance + 1 WHERE email = 'b'")
                }
            }
        }
        var snapshots = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    var seen = 0
                    for _ in 0..<150 {
                        let (a, b) = try await db.read { conn -> (Int, Int) in
                            let a = try conn.first("SELECT balance FROM accounts WHERE email = 'a'")?.int(0) ?? -1
                            usleep(50)  // the writer commits in between; the snapshot must not move
                            let b = try conn.first("SELECT balance FROM accounts WHERE email = 'b'")?.int(0) ?? -1
                            return (a, b)
                        }
                        #expect(a + b == 1000, "torn read: \(a) + \(b)")
                        seen += 1
                    }
                    return seen
                }
            }
            for try await n in group { snapshots += n }
        }
        try await writer.value
        #expect(snapshots == 600)
        let final = try db.readNow { try $0.first("SELECT balance FROM accounts WHERE email = 'b'")?.int(0) }
        #expect(final == 300)
    }

    @Test func readsDoNotWaitForAnOpenWrite() async throws {
        let path = tempPath()
        defer { cleanup(path) }
        let db = try Database(path: path, migrations: schema)
        try db.writeNow { try $0.run("INSERT INTO accounts (email, balance) VALUES ('a', 1)") }
        let writing = Task {
            try await db.write { conn in
                try conn.run("UPDATE accounts SET balance = 2")
                usleep(1_500_000)  // hold the write transaction open
            }
        }
        try await Task.sleep(nanoseconds: 100_000_000)
        let started = Date()
        let seen = try await db.read { try $0.first("SELECT balance FROM accounts")?.int(0) }
        // A read that waited would take the writer's remaining 1.4 s; 1 s leaves room for a busy machine (the
        // whole suite runs in parallel on two cores) without letting a wait through.
        #expect(Date().timeIntervalSince(started) < 1.0, "a read waited for the writer")
        #expect(seen == 1, "a read saw an uncommitted write")
        try await writing.value
        #expect(try db.readNow { try $0.first("SELECT balance FROM accounts")?.int(0) } == 2)
    }
}
