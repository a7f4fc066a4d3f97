internal import CLibPQ
internal import CSQLite
import Foundation
import GatehouseCore
import Synchronization

/// Which SQL engine a connection speaks. Queries are written once, in the subset both engines share (`?`
/// placeholders, `ON CONFLICT … DO …`, `RETURNING`); the few places that differ ask `dialect` (member search,
/// JSON arrays) and the schema has one form per engine.
package enum SQLDialect: Sendable, Equatable {
    case sqlite
    case postgres
}

extension SQLDialect {
    /// A JSON array of strings (a bound `?` or a column) as a table source with one column, `value`, named `alias`:
    /// `… FROM invites i, \(dialect.jsonArray("i.roles", as: "j")) WHERE j.value = 'owner'`.
    package func jsonArray(_ expression: String, as alias: String) -> String {
        switch self {
        case .sqlite: return "json_each(\(expression)) \(alias)"
        case .postgres: return "json_array_elements_text(CAST(\(expression) AS json)) AS \(alias)(value)"
        }
    }
}

/// One database connection: SQLite (a file) or PostgreSQL (libpq). Not thread-safe and deliberately not
/// `Sendable`: it is reachable only inside the closures of `Database.read`/`write`, which run it on one thread at a
/// time.
package final class SQLConnection {
    /// The SQLite handle, or nil for PostgreSQL.
    let handle: OpaquePointer?
    /// The libpq connection (`PGconn *`), or nil for SQLite.
    let pg: OpaquePointer?
    private var cache: [String: Statement] = [:]
    /// A SQLite file path, or a PostgreSQL URL with any password removed (safe to log).
    package let path: String
    package var dialect: SQLDialect { pg == nil ? .sqlite : .postgres }
    /// Rows changed by the last statement run through this connection (PostgreSQL; SQLite asks its handle).
    var pgChanges = 0
    private var statementNumber = 0
    /// PostgreSQL: the session settings every (re)connection starts with.
    private let pgSetup: String

    init(path: String, readOnly: Bool) throws {
        var db: OpaquePointer?
        let flags =
            (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(code: rc, message: "\(msg) (\(path))")
        }
        handle = db
        pg = nil
        pgSetup = ""
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    /// Waits for a lock another connection holds as `sqlite3_busy_timeout(5000)` does (about 5 s in all), and counts
    /// every retry in `gatehouse_store_busy_retries_total` under `label` (which must outlive the connection: the
    /// `Database` that owns both keeps it).
    func countBusyRetries(as label: StoreLabel) {
        guard let handle else { return }
        sqlite3_busy_handler(handle, sqliteBusyHandler, Unmanaged.passUnretained(label).toOpaque())
    }

    /// Connects to PostgreSQL. `url` is a libpq connection URI (`postgres://user@host:5432/db?sslmode=verify-full`);
    /// the password comes from the URL or from libpq's environment (`PGPASSWORD`, `~/.pgpass`). `schema`, when set,
    /// leads the search path (a store in its own schema of a shared database).
    init(postgres url: String, schema: String?) throws {
        guard let conn = PQconnectdb(url) else { throw StoreError(code: -1, message: "libpq: out of memory") }
        path = PostgresURL.redacted(url)
        guard PQstatus(conn) == CONNECTION_OK else {
            let msg = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(conn)
            throw StoreError(
                postgresState: "08001", message: "cannot connect to PostgreSQL at \(path): \(msg)", sql: nil)
        }
        handle = nil
        pg = conn
        // Results in UTC and quiet notices, whatever the server's defaults; the store's schema first.
        var setup = "SET TIME ZONE 'UTC'; SET client_min_messages = warning;"
        if let schema { setup += " SET search_path TO \(PostgresURL.quoteIdentifier(schema)), public;" }
        pgSetup = setup
        try execute(setup)
    }

    deinit {
        cache.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        if let pg { PQfinish(pg) }
    }

    /// Runs one or more statements with no bindings (schema, pragmas, transaction control).
    package func execute(_ sql: String) throws {
        if let pg {
            let res = PQexec(pg, sql)
            defer { PQclear(res) }
            try PostgresResult.check(res, pg, sql)
            return
        }
        var err: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &err)
        if rc != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(err)
            throw StoreError(code: rc, message: msg, sql: sql)
        }
    }

    /// A prepared statement, cached by its text.
    package func prepare(_ sql: String) throws -> Statement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        let s: Statement
        if let pg {
            statementNumber += 1
            let name = "gh\(statementNumber)"
            let text = PostgresSQL.numberPlaceholders(sql)
            let res = PQprepare(pg, name, text, 0, nil)
            defer { PQclear(res) }
            try PostgresResult.check(res, pg, sql)
            let described = PQdescribePrepared(pg, name)
            defer { PQclear(described) }
            try PostgresResult.check(described, pg, sql)
            s = Statement(postgres: name, parameters: Int(PQnparams(described)), connection: self, sql: sql)
        } else {
            var stmt: OpaquePointer?
            let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
            guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
            s = Statement(stmt, connection: self, sql: sql)
        }
        cache[sql] = s
        return s
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    package func run(_ sql: String, _ bindings: [any SQLBindable] = []) throws -> Int {
        let s = try prepare(sql)
        try s.bind(bindings)
        while try s.step() {}
        if pg != nil { return pgChanges }
        return Int(sqlite3_changes(handle))
    }

    /// All rows of a query.
    package func query(_ sql: String, _ bindings: [any SQLBindable] = []) throws -> [Row] {
        let s = try prepare(sql)
        try s.bind(bindings)
        var rows: [Row] = []
        while try s.step() { rows.append(s.row()) }
        return rows
    }

    /// The first row of a query, or nil.
    package func first(_ sql: String, _ bindings: [any SQLBindable] = []) throws -> Row? {
        let s = try prepare(sql)
        try s.bind(bindings)
        let row = try s.step() ? s.row() : nil
        s.reset()
        return row
    }

    /// Calls `body` for each row without building an array (large scans).
    package func forEach(_ sql: String, _ bindings: [any SQLBindable] = [], _ body: (Statement) throws -> Void) throws {
        let s = try prepare(sql)
        try s.bind(bindings)
        while try s.step() { try body(s) }
    }

    /// PostgreSQL: statements sent in the current `batch` whose results have not been read yet.
    private(set) var pipelined = 0
    private(set) var inBatch = false

    /// Runs `body`, in which `Statement.execute` (statements that return no rows) only sends its statement on
    /// PostgreSQL: the results are read in groups, and the first error is thrown when `body` returns, before the
    /// transaction commits. A bulk write (10,000 invites: 30,000 inserts) then costs one round trip per group
    /// instead of one per statement. Nothing in `body` may read (a query inside is refused). SQLite runs `body`.
    package func batch<T>(_ body: () throws -> T) throws -> T {
        guard let pg, !inBatch else { return try body() }
        guard PQenterPipelineMode(pg) == 1 else { return try body() }
        inBatch = true
        pipelined = 0
        let result: Result<T, any Error> = Result { try body() }
        let drained = Result { try drainPipeline() }
        inBatch = false
        PQexitPipelineMode(pg)
        try drained.get()
        return try result.get()
    }

    /// Sends a pipeline sync and reads every result up to it; throws the first error.
    func drainPipeline() throws {
        guard let pg, inBatch else { return }
        guard PQpipelineSync(pg) == 1 else {
            throw StoreError(postgresState: "08006", message: String(cString: PQerrorMessage(pg)), sql: nil)
        }
        var first: StoreError?
        while true {
            guard let res = PQgetResult(pg) else {
                if PQstatus(pg) != CONNECTION_OK {
                    throw StoreError(postgresState: "08006", message: String(cString: PQerrorMessage(pg)), sql: nil)
                }
                continue
            }
            let status = PQresultStatus(res)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(res)
                break
            }
            if first == nil, status != PGRES_COMMAND_OK, status != PGRES_TUPLES_OK {
                do { try PostgresResult.check(res, pg, nil) } catch let e as StoreError { first = e }
            }
            PQclear(res)
        }
        pipelined = 0
        if let first { throw first }
    }

    /// Queues one prepared statement in the batch; every 500 the results so far are read (so neither side's
    /// buffers fill up).
    func sendPipelined(
        _ name: String, _ count: Int32, _ values: [UnsafePointer<CChar>?], _ lengths: [Int32], _ formats: [Int32]
    ) throws {
        guard let pg else { return }
        guard PQsendQueryPrepared(pg, name, count, values, lengths, formats, 0) == 1 else {
            throw StoreError(postgresState: "08006", message: String(cString: PQerrorMessage(pg)), sql: nil)
        }
        pipelined += 1
        if pipelined >= 500 { try drainPipeline() }
    }

    package var isInTransaction: Bool {
        if let pg { return PQtransactionStatus(pg) != PQTRANS_IDLE }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// A PostgreSQL connection the server closed (restart, failover, idle timeout); SQLite never breaks.
    var isBroken: Bool {
        guard let pg else { return false }
        return unready || PQstatus(pg) != CONNECTION_OK
    }

    /// Reconnects a PostgreSQL connection with the same parameters. Prepared statements and session settings
    /// are gone with the old session: the cache is emptied and the settings (search path) are made again; if
    /// they cannot be, the connection is left broken rather than pointed at the wrong schema.
    func reconnect() {
        guard let pg else { return }
        cache.removeAll()
        PQreset(pg)
        unready = PQstatus(pg) != CONNECTION_OK || (try? execute(pgSetup)) == nil
    }

    /// PostgreSQL: reconnected but without its session settings; treated as broken until a reconnect succeeds.
    private var unready = false

    /// PostgreSQL: waits up to `timeoutMillis` for notifications on the channels this connection LISTENs to and
    /// returns the notifications that arrived (channel and payload), or nil when the connection broke.
    func waitForNotifications(timeoutMillis: Int32) -> [(channel: String, payload: String)]? {
        guard let pg else { return [] }
        var fds = pollfd(fd: PQsocket(pg), events: Int16(POLLIN), revents: 0)
        guard fds.fd >= 0 else { return nil }
        if poll(&fds, 1, timeoutMillis) > 0 {
            guard PQconsumeInput(pg) == 1 else { return nil }
        }
        var notes: [(channel: String, payload: String)] = []
        while let note = PQnotifies(pg) {
            notes.append((String(cString: note.pointee.relname), String(cString: note.pointee.extra)))
            PQfreemem(note)
        }
        return notes
    }

    func error(_ rc: Int32, _ sql: String?) -> StoreError {
        StoreError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

@available(*, unavailable)
extension SQLConnection: Sendable {}

/// libpq results: success or a `StoreError` carrying the SQLSTATE.
enum PostgresResult {
    static func check(_ res: OpaquePointer?, _ conn: OpaquePointer, _ sql: String?) throws {
        let status = res.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = res.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
            let message =
                (res.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "M"))) }.map { String(cString: $0) })
                ?? String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StoreError(postgresState: state ?? "08006", message: message, sql: sql)
        }
    }
}

/// The one translation queries need: SQLite's `?` placeholders become `$1, $2, …` (outside string literals and
/// quoted names).
package enum PostgresSQL {
    package static func numberPlaceholders(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character? = nil
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// PostgreSQL connection URLs: what may be logged of them, and quoting for names.
package enum PostgresURL {
    package static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// The URL without its password (`postgres://app:secret@db/x` → `postgres://app:***@db/x`), and without any
    /// `password=` parameter.
    package static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        var rest = String(url[scheme.upperBound...])
        let hostEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        if let at = rest[..<hostEnd].lastIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") {
            rest.replaceSubrange(rest.index(after: colon)..<at, with: "***")
        }
        if let q = rest.firstIndex(of: "?") {
            let params = rest[rest.index(after: q)...].split(separator: "&").map { p in
                p.lowercased().hasPrefix("password=") ? "password=***" : String(p)
            }
            rest = String(rest[..<q]) + "?" + params.joined(separator: "&")
        }
        return String(url[..<scheme.upperBound]) + rest
    }

    package static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// A store's name for metrics (`gateway`, `eu`…), shared by the `Database` and its connections' busy handlers.
package final class StoreLabel: Sendable {
    private let value: Mutex<String>
    init(_ name: String) { value = Mutex(name) }
    package var name: String {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// SQLite's busy handler: 1 ms waits ten times, then 10 ms steps, giving up after about 5 s (as the timeout did).
private let sqliteBusyHandler: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { context, attempts in
    guard let context else { return 0 }
    let label = Unmanaged<StoreLabel>.fromOpaque(context).takeUnretainedValue()
    Metrics.shared.increment("gatehouse_store_busy_retries_total", [("store", label.name)])
    if attempts >= 510 { return 0 }
    usleep(attempts < 10 ? 1_000 : 10_000)
    return 1
}
