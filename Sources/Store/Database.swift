import Foundation
import GatehouseCore
import Synchronization

/// One store: a SQLite file (the embedded default) or a PostgreSQL database (scale-out), behind one interface.
///
/// - `write { db in }` runs on the store's writer thread inside a transaction; it commits when the closure
///   returns and rolls back when it throws. SQLite: `BEGIN IMMEDIATE`, with `synchronous=FULL` (the default) a
///   write that returned has reached the disk. PostgreSQL: the transaction first takes the store's advisory
///   transaction lock, so writers of one store run one at a time across every process, as SQLite's single writer
///   does. Why a lock and not SERIALIZABLE with retries: every rule that reads then writes (last owner, grant
///   ceiling, racing invite accepts, bulk all-or-none, API-key death on removal) was written for one writer at a
///   time, and a write closure may do work that is not safe to repeat (it hands out tokens, queues mail); with the
///   lock taken first, each statement's snapshot (READ COMMITTED) sees every write committed before it, and
///   nothing is ever run twice. Writes are short (milliseconds), and each region has its own store and lock.
/// - `read { db in }` runs on a reader connection inside a read-only transaction, so everything it reads comes
///   from one snapshot even while a writer commits (SQLite WAL; PostgreSQL REPEATABLE READ).
/// - `readNow` runs a read on the caller's thread: only for short indexed lookups on hot paths. On PostgreSQL a
///   read is a network round trip, so paths on an event loop ask `readsAreLocal` first and take the async way.
///
/// `writeGeneration` moves whenever the store changes: this process's commits at once, other processes' commits
/// through PostgreSQL's LISTEN/NOTIFY (each write transaction notifies the store's channel), so every cache tagged
/// with it is invalidated across gateways and replicas within milliseconds. While the listening connection is
/// down the generation moves every 250 ms, which bounds the staleness of every cache by that instead.
package final class Database: Sendable {
    /// SQLite's `synchronous`: `FULL` makes every acknowledged write durable across power loss (the default);
    /// `NORMAL` in WAL mode can lose the last commits on power loss but never corrupts (tests, benchmarks).
    /// PostgreSQL's durability is the server's (`synchronous_commit`).
    package enum Synchronous: String, Sendable, CaseIterable {
        case full = "FULL"
        case normal = "NORMAL"
    }

    package struct Options: Sendable {
        package var readers: Int
        /// `FULL` survives power loss; `NORMAL` survives a process crash (kill -9) but not power loss.
        package var synchronous: Synchronous
        /// PostgreSQL: the schema the store's tables live in (created when missing); nil for the URL's default
        /// search path. Lets several stores share one database.
        package var schema: String?
        package init(readers: Int = 4, synchronous: Synchronous = .full, schema: String? = nil) {
            self.readers = readers
            self.synchronous = synchronous
            self.schema = schema
        }
    }

    /// The SQLite file, or the PostgreSQL URL without its password (safe to log).
    package let path: String
    package let dialect: SQLDialect
    /// SQLite reads are local and take microseconds: hot paths may run them on the calling thread.
    package var readsAreLocal: Bool { dialect == .sqlite }
    /// How to open another connection (the PostgreSQL URL may carry a password: never logged or shown).
    private let open: @Sendable () throws -> SQLConnection
    private let writer: Mutex<ConnectionBox>
    private let writeQueue: DispatchQueue
    private let readQueue: DispatchQueue
    private let idleReaders: Mutex<[ConnectionBox]>
    private let options: Options
    /// PostgreSQL: the advisory lock writers take and the channel commits are announced on.
    private let lockKey: Int64
    private let channel: String
    /// Migrations applied by this open (for tests and start-up logs).
    package let appliedMigrations: [Int]
    /// Whether other processes' commits reach `writeGeneration` yet (always for SQLite; for PostgreSQL once the
    /// listener has LISTENed to the store's channel, which then moves the generation once).
    package var isListening: Bool { listening?.isListening ?? true }

    /// PostgreSQL: this store's subscription to its commit channel.
    private let listening: PostgresListener.Subscription?
    /// The location as given (a PostgreSQL URL may carry a password: never logged; see `path`).
    private let location: String

    /// Opens (creating when new) the store at `location`: a SQLite file path, or a `postgres://` URL.
    package init(path location: String, migrations: [Migration], options: Options = Options()) throws {
        self.options = options
        self.location = location
        let label = StoreLabel("store")
        metricsLabel = label
        let stamp = ISO8601DateFormatter().string(from: Date())
        if PostgresURL.isPostgres(location) {
            dialect = .postgres
            let schema = options.schema
            open = { try SQLConnection(postgres: location, schema: schema) }
            let scoped = try SQLConnection(postgres: location, schema: schema)
            path = scoped.path + (schema.map { " (schema \($0))" } ?? "")
            appliedMigrations = try Migrator.migrate(scoped, migrations, now: stamp, schema: schema)
            writer = Mutex(ConnectionBox(scoped))
            let name = schema ?? "public"
            lockKey = Database.fnv1a(name)
            channel = "gatehouse_" + String(UInt64(bitPattern: lockKey), radix: 16)
        } else {
            dialect = .sqlite
            path = location
            lockKey = 0
            channel = ""
            let w = try SQLConnection(path: location, readOnly: false)
            w.countBusyRetries(as: label)
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
            appliedMigrations = try Migrator.migrate(w, migrations, now: stamp)
            writer = Mutex(ConnectionBox(w))
            open = { try Database.openReader(location) }
        }
        writeQueue = DispatchQueue(label: "gatehouse.store.writer")
        readQueue = DispatchQueue(label: "gatehouse.store.readers", attributes: .concurrent)
        // SQLite readers are opened now; PostgreSQL's on first use (each is a server process).
        var readers: [ConnectionBox] = []
        if dialect == .sqlite {
            for _ in 0..<max(1, options.readers) { readers.append(ConnectionBox(try open())) }
        }
        idleReaders = Mutex(readers)
        if dialect == .postgres {
            listening = PostgresListener.subscribe(location, channel: channel, counter: commits)
        } else {
            listening = nil
        }
    }

    deinit {
        stopFlag.set()
        listening?.cancel()
    }

    /// The same store opened again (another process starting, a restart), running `migrations`.
    package func reopen(migrations: [Migration]) throws -> Database {
        try Database(path: location, migrations: migrations, options: options)
    }

    private static func openReader(_ path: String) throws -> SQLConnection {
        let r = try SQLConnection(path: path, readOnly: true)
        try r.execute("PRAGMA foreign_keys=ON")
        try r.execute("PRAGMA cache_size=-16384")
        try r.execute("PRAGMA mmap_size=268435456")
        return r
    }

    /// FNV-1a, 64 bits: a stable number for a name (the advisory lock key and channel of a store).
    static func fnv1a(_ s: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return Int64(bitPattern: h)
    }

    /// Runs `body` in a write transaction on the writer thread.
    package func write<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            writeQueue.async {
                c.resume(with: Result { try self.writeNow(body) })
            }
        }
    }

    /// Counts committed write transactions (this process's, and on PostgreSQL every process's as announced). A
    /// cache of read results tagged with the value seen before reading is current while the value has not moved.
    private let commits = CommitCounter()
    package var writeGeneration: UInt64 { commits.value }

    /// Runs `body` in a write transaction on the calling thread (tools, tests, start-up). Blocks.
    /// The store's name in metrics (`gateway`, `eu`…): set by whoever opened it.
    package var metricsName: String {
        get { metricsLabel.name }
        set { metricsLabel.name = newValue }
    }
    private let metricsLabel: StoreLabel

    package func writeNow<T>(_ body: (SQLConnection) throws -> T) throws -> T {
        assert(readsAreLocal || !LoopThread.isCurrent, "a PostgreSQL write on an event loop (\(path))")
        let started = Monotonic.nanos()
        defer {
            Metrics.shared.observe(
                "gatehouse_store_write_seconds", [("store", metricsName)],
                seconds: Double(Monotonic.nanos() &- started) / 1e9)
        }
        return try writer.withLock { box in
            if box.connection.isBroken { box.connection.reconnect() }
            let db = box.connection
            if dialect == .postgres {
                // A connection the server dropped (restart, failover) is found out here, before anything of this
                // transaction ran: connect again and begin once more. A failure later is the caller's to see
                // (the outcome of a COMMIT whose answer was lost is not known, so it is never repeated).
                do {
                    try db.execute("BEGIN; SELECT pg_advisory_xact_lock(\(lockKey))")
                } catch let e as StoreError where e.isConnectionLost {
                    db.reconnect()
                    try db.execute("BEGIN; SELECT pg_advisory_xact_lock(\(lockKey))")
                }
            } else {
                try db.execute("BEGIN IMMEDIATE")
            }
            do {
                let result = try body(db)
                if dialect == .postgres {
                    try db.execute("NOTIFY \(channel), '\(commits.token)'; COMMIT")
                } else {
                    try db.execute("COMMIT")
                }
                commits.bump()
                return result
            } catch {
                if db.isInTransaction { try? db.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Starts a background thread that checkpoints the write-ahead log every `interval` seconds (PASSIVE: it
    /// never blocks readers or the writer). Called once per database by the process that owns it. SQLite only.
    private let checkpointer = Mutex<Bool>(false)
    private let stopFlag = StopFlag()
    package func startCheckpointing(every interval: Double = 1) {
        guard dialect == .sqlite,
            checkpointer.withLock({ started in
                defer { started = true }
                return !started
            })
        else { return }
        let path = self.path
        let flag = stopFlag
        let thread = Thread {
            guard let conn = try? SQLConnection(path: path, readOnly: false) else { return }
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
        guard dialect == .sqlite else { return }
        try writer.withLock { try $0.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    /// Runs one statement by itself, outside the writers' lock (PostgreSQL: autocommit on a pool connection;
    /// SQLite: a write of its own). For inserts whose unique constraint is the whole rule, such as replay
    /// memories: two processes inserting the same key at once, exactly one changes a row. Returns rows changed.
    package func runAlone(_ sql: String, _ bindings: [any SQLBindable]) throws -> Int {
        guard dialect == .postgres else { return try writeNow { try $0.run(sql, bindings) } }
        // Never repeated after a lost connection: whether the statement ran is then unknown.
        let changed = try withReader { try $0.run(sql, bindings) }
        commits.bump()
        return changed
    }

    /// A short indexed read from code that may be on an event loop: on the calling thread when reads are local
    /// (SQLite: microseconds, no thread hop), on a reader thread otherwise (PostgreSQL: a network round trip must
    /// never hold an event loop).
    package func lookup<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        if readsAreLocal { return try readNow(body) }
        return try await read(body)
    }

    /// `runAlone` on a reader thread (PostgreSQL) or as a write of its own (SQLite), never on the caller's.
    package func runAlone(_ sql: String, _ bindings: [any SQLBindable]) async throws -> Int {
        guard dialect == .postgres else { return try await write { try $0.run(sql, bindings) } }
        let (statement, values) = (sql, bindings)
        return try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
            readQueue.async { c.resume(with: Result { try self.runAlone(statement, values) }) }
        }
    }

    /// Runs `body` in a read transaction (one snapshot) on a reader thread.
    package func read<T: Sendable>(_ body: @escaping @Sendable (SQLConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            readQueue.async {
                c.resume(with: Result { try self.readNow(body) })
            }
        }
    }

    /// Runs `body` in a read transaction on the calling thread. For short indexed reads only.
    /// - Parameter singleStatement: `body` runs exactly one statement, which is its own consistent snapshot,
    ///   so the explicit BEGIN/COMMIT is skipped.
    package func readNow<T>(singleStatement: Bool = false, _ body: (SQLConnection) throws -> T) throws -> T {
        guard dialect == .postgres else {
            return try withReader { db in
                if singleStatement { return try body(db) }
                // Prepared (and cached) rather than sqlite3_exec: this runs on hot paths, several times per request.
                try db.run("BEGIN")
                defer { _ = try? db.run("COMMIT") }
                return try body(db)
            }
        }
        func attempt(_ db: SQLConnection) throws -> T {
            if singleStatement { return try body(db) }
            try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            defer { try? db.execute("COMMIT") }
            return try body(db)
        }
        return try withReader { db in
            do {
                return try attempt(db)
            } catch let e as StoreError where e.isConnectionLost {
                // A read may be repeated: the pooled connection was dropped by the server (restart, failover).
                db.reconnect()
                return try attempt(db)
            }
        }
    }

    /// A reader connection from the pool (opened when none is idle), returned afterwards unless broken.
    private func withReader<T>(_ body: (SQLConnection) throws -> T) throws -> T {
        assert(readsAreLocal || !LoopThread.isCurrent, "a PostgreSQL read on an event loop (\(path))")
        let box = try idleReaders.withLock { $0.popLast() } ?? ConnectionBox(open())
        if box.connection.isBroken { box.connection.reconnect() }
        defer {
            idleReaders.withLock {
                // SQLite keeps extra readers for bursts; a PostgreSQL connection is a server process, so only
                // `readers` stay open.
                let keep = dialect == .sqlite ? max(1, options.readers) * 4 : max(1, options.readers)
                if $0.count < keep, !box.connection.isBroken { $0.append(box) }
            }
        }
        return try body(box.connection)
    }
}

/// A store's commit count, shared with its listening thread (which must not keep the store itself alive).
final class CommitCounter: Sendable {
    private let count = Atomic<UInt64>(0)
    /// Names this store's commits in their notifications (PostgreSQL), so its own are not counted twice.
    let token = UUID().uuidString
    var value: UInt64 { count.load(ordering: .acquiring) }
    func bump() { count.add(1, ordering: .releasing) }
}

/// Tells the checkpoint thread that its database is gone.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// Moves a connection between threads under a lock or through the idle pool; never used by two threads at once.
final class ConnectionBox: @unchecked Sendable {
    let connection: SQLConnection
    init(_ c: SQLConnection) { connection = c }
}
