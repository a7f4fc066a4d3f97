internal import CSQLite

/// One SQLite connection. Not thread-safe and deliberately not `Sendable`: it is reachable only inside the
/// closures of `Database.read`/`write`, which run it on one thread at a time.
package final class SQLiteConnection {
    let handle: OpaquePointer
    private var cache: [String: Statement] = [:]
    package let path: String

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
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements with no bindings (schema, pragmas).
    package func execute(_ sql: String) throws {
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
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, sql) }
        let s = Statement(stmt, connection: self, sql: sql)
        cache[sql] = s
        return s
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    @discardableResult
    package func run(_ sql: String, _ bindings: [any SQLBindable] = []) throws -> Int {
        let s = try prepare(sql)
        try s.bind(bindings)
        while try s.step() {}
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

    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    package var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    func error(_ rc: Int32, _ sql: String?) -> StoreError {
        StoreError(code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

@available(*, unavailable)
extension SQLiteConnection: Sendable {}
