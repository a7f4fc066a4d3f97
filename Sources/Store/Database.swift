import Foundation
import GatehouseCore
import Synchronization

/// One SQLite database: a single writer connection plus a pool of WAL readers, so reads never wait on a write.
///
/// - `write { db in }` runs on the writer's own thread inside `BEGIN IMMEDIATE`; it commits when the closure
///   returns and rolls back when it throws. With `synchronous=FULL` (the default) a write that returned has
///   reached the disk.
/// - `read { db in }` runs on a reader connection inside a deferred transaction, so everything it reads comes
///   from one snapshot even while the writer commits.
/// - `readNow` runs a read on the caller's thread: only for short indexed lookups on hot paths (a WAL reader
///   never waits for the writer).
///
/// Blocking SQLite work never runs on an event loop through `read`/`write`: they hop to dedicated threads.
package final class Database: Sendable {
    /// SQLite's `synchronous`: `FULL` makes every acknowledged write durable across power loss (the default);
    /// `NORMAL` in WAL mode can lose the last commits on power loss but never corrupts (tests, benchmarks).
    package enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    package struct Options: Sendable {
        package var readers: Int
        /// `FULL` survives power loss; `NORMAL` survives a process crash (kill -9) but not power loss.
        package var synchronous: Synchronous
        package init(readers: Int = 4, synchronous: Synchronous = .full) {
            self.readers = readers
            self.synchronous = synchronous
        }
    }

    package let path: String
    private let writer: Mutex<SQLiteConnectionBox>
    private let writeQueue: DispatchQueue
    private let readQueue: DispatchQueue
    private let idleReaders: Mutex<[SQLiteConnectionBox]>
    private let options: Options
    /// Migrations applied by this open (for tests and start-up logs).
    package let appliedMigrations: [Int]

    package init(path: String, migrations: [Migration], options: Options = Options()) throws {
        self.path = path
        self.options = options
        let w = try SQLiteConnection(path: path, readOnly: false)
        try w.execute("PRAGMA journal_mode=WAL")
        try w.execute("PRAGMA synchronous=\(options.synchronous.rawValue)")
        try w.execute("PRAGMA foreign_keys=ON")
        try w.execute("PRAGMA temp_store=MEMORY")
        // A larger page cache keeps a big transaction (10,000 invites) from spilling pages to the file mid-way,
        // and memory-mapped reads skip a copy per page.
        try w.execute("PRAGMA cache_size=-32768")
        // Checkpoints normally run on their own connection and thread (see `startCheckpointing`), not inside
        // the commit of whichever write crossed the threshold; the automatic one stays as a backstop at 40 MB.
        try w.execute("PRAGMA wal_autocheckpoint=10000")
        try w.execute("PRAGMA mmap_size=268435456")
        let stamp = ISO8601DateFormatter().string(from: Date())
        appliedMigrations = try Migrator.migrate(w, migrations, now: stamp)
        writer = Mutex(SQLiteConnectionBox(w))
        writeQueue = DispatchQueue(label: "gatehouse.store.writer")
        readQueue = DispatchQueue(label: "gatehouse.store.readers", attributes: .concurrent)
        var readers: [SQLiteConnectionBox] = []
        for _ in 0..<max(1, options.readers) { readers.append(SQLiteConnectionBox(try Database.openReader(path))) }
        idleReaders = Mutex(readers)
    }

    deinit { stopFlag.set() }

    private static func openReader(_ path: String) throws -> SQLiteConnection {
        let r = try SQLiteConnection(path: path, readOnly: true)
        try r.execute("PRAGMA foreign_keys=ON")
        try r.execute("PRAGMA cache_size=-16384")
        try r.execute("PRAGMA mmap_size=268435456")
        return r
    }

    /// Runs `body` in a write transaction on the writer thread.
    package func write<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            writeQueue.async {
                c.resume(with: Result { try self.writeNow(body) })
            }
        }
    }

    /// Counts this process's committed write transactions. A cache of read results tagged with the value seen
    /// before reading is current while the value has not moved (a store has one writing process).
    private let commits = Atomic<UInt64>(0)
    package var writeGeneration: UInt64 { commits.load(ordering: .acquiring) }

    /// Runs `body` in a write transaction on the calling thread (tools, tests, start-up). Blocks.
    package func writeNow<T>(_ body: (SQLiteConnection) throws -> T) throws -> T {
        try writer.withLock { box in
            let db = box.connection
            try db.execute("BEGIN IMMEDIATE")
            do {
                let result = try body(db)
                try db.execute("COMMIT")
                commits.add(1, ordering: .releasing)
                return result
            } catch {
                if db.isInTransaction { try? db.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Starts a background thread that checkpoints the write-ahead log every `interval` seconds (PASSIVE: it
    /// never blocks readers or the writer). Called once per database by the process that owns it.
    private let checkpointer = Mutex<Bool>(false)
    private let stopFlag = StopFlag()
    package func startCheckpointing(every interval: Double = 1) {
        guard
            checkpointer.withLock({ started in
                defer { started = true }
                return !started
            })
        else { return }
        let path = self.path
        let flag = stopFlag
        let thread = Thread {
            guard let conn = try? SQLiteConnection(path: path, readOnly: false) else { return }
            while !flag.isSet {
                Thread.sleep(forTimeInterval: interval)
                try? conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
        }
        thread.name = "gatehouse-checkpoint"
        thread.start()
    }

    /// Copies the write-ahead log into the main file and truncates it (backups, tests that read the file).
    package func checkpoint() throws {
        try writer.withLock { try $0.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Runs `body` in a read transaction (one snapshot) on a reader thread.
    package func read<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            readQueue.async {
                c.resume(with: Result { try self.readNow(body) })
            }
        }
    }

    /// Runs `body` in a read transaction on the calling thread. For short indexed reads only.
    /// - Parameter singleStatement: `body` runs exactly one statement, which is its own consistent snapshot,
    ///   so the explicit BEGIN/COMMIT is skipped.
    package func readNow<T>(singleStatement: Bool = false, _ body: (SQLiteConnection) throws -> T) throws -> T {
        let box = try idleReaders.withLock { $0.popLast() } ?? SQLiteConnectionBox(Database.openReader(path))
        defer { idleReaders.withLock { if $0.count < max(1, options.readers) * 4 { $0.append(box) } } }
        let db = box.connection
        if singleStatement { return try body(db) }
        // Prepared (and cached) rather than sqlite3_exec: this runs on hot paths, several times per request.
        try db.run("BEGIN")
        defer { _ = try? db.run("COMMIT") }
        return try body(db)
    }
}

/// Tells the checkpoint thread that its database is gone.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Moves a connection between threads under a lock or through the idle pool; never used by two threads at once.
final class SQLiteConnectionBox: @unchecked Sendable {
    let connection: SQLiteConnection
    init(_ c: SQLiteConnection) { connection = c }
}
