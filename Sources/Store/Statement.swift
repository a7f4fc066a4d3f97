internal import CLibPQ
internal import CSQLite

/// A prepared statement with typed bindings and column reads. Owned by its connection's cache.
///
/// SQLite steps its statement row by row. PostgreSQL runs the prepared statement when it is first stepped and
/// walks the result (text format, binary for `bytea` parameters); the column readers read either.
package final class Statement {
    /// The SQLite statement, or nil for PostgreSQL.
    let stmt: OpaquePointer?
    unowned let connection: SQLConnection
    let sql: String
    /// Column names, read once per prepared statement (rows share the array instead of allocating names each).
    private(set) lazy var names: [String] = (0..<columnCount).map(columnName)
    // PostgreSQL: the prepared statement's name, its parameter count, the bound values, the result and the row.
    private let pgName: String
    private let pgParameters: Int
    private var pgValues: [SQLValue] = []
    private var pgResult: OpaquePointer?
    private var pgRow: Int32 = -1
    private var pgRows: Int32 = 0

    init(_ stmt: OpaquePointer, connection: SQLConnection, sql: String) {
        self.stmt = stmt
        self.connection = connection
        self.sql = sql
        pgName = ""
        pgParameters = 0
    }

    init(postgres name: String, parameters: Int, connection: SQLConnection, sql: String) {
        stmt = nil
        self.connection = connection
        self.sql = sql
        pgName = name
        pgParameters = parameters
    }

    deinit {
        if let stmt { sqlite3_finalize(stmt) }
        if let pgResult { PQclear(pgResult) }
    }

    func reset() {
        if let stmt {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
            return
        }
        pgClear()
        pgValues.removeAll(keepingCapacity: true)
    }

    private func pgClear() {
        if let pgResult { PQclear(pgResult) }
        pgResult = nil
        pgRow = -1
        pgRows = 0
    }

    package func bind(_ values: [any SQLBindable]) throws {
        guard let stmt else {
            guard pgParameters == values.count else {
                throw StoreError(code: 25, message: "expected \(pgParameters) bindings, got \(values.count)", sql: sql)
            }
            pgClear()
            pgValues = values.map(\.sqlValue)
            return
        }
        let expected = Int(sqlite3_bind_parameter_count(stmt))
        guard expected == values.count else {
            throw StoreError(code: 25, message: "expected \(expected) bindings, got \(values.count)", sql: sql)
        }
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch v.sqlValue {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .integer(let n): rc = sqlite3_bind_int64(stmt, idx, n)
            case .real(let d): rc = sqlite3_bind_double(stmt, idx, d)
            case .text(let s):
                var s = s
                rc = s.withUTF8 {
                    gh_sqlite3_bind_text_transient(
                        stmt, idx,
                        UnsafeRawPointer($0.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(
                            to: CChar.self), Int32($0.count))
                }
            case .blob(let b):
                rc = b.withUnsafeBytes {
                    gh_sqlite3_bind_blob_transient(
                        stmt, idx, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, Int32($0.count))
                }
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, sql) }
        }
    }

    /// Binds and runs a statement that returns no rows, then resets it for the next use (hot loops keep the
    /// `Statement` instead of looking it up by its text each time).
    package func execute(_ values: [any SQLBindable]) throws {
        if stmt == nil {
            try bind(values)
            if connection.inBatch {
                try pgSend()
                return
            }
            while try step() {}
            pgClear()
            return
        }
        sqlite3_reset(stmt)
        try bind(values)
        while try step() {}
        sqlite3_reset(stmt)
    }

    /// Advances; true when a row is available.
    package func step() throws -> Bool {
        guard let stmt else {
            if pgResult == nil { try pgRun() }
            pgRow += 1
            return pgRow < pgRows
        }
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let e = connection.error(rc, sql)
        sqlite3_reset(stmt)
        throw e
    }

    /// Sends the bound values (text, or binary for blobs, so `bytea` needs no escaping) and keeps the result.
    private func pgRun() throws {
        guard let pg = connection.pg else { return }
        guard !connection.inBatch else {
            throw StoreError(code: 21, message: "a query inside a batch (only Statement.execute is allowed)", sql: sql)
        }
        let (storage, lengths, formats, isNull) = pgEncodedValues()
        let count = Int32(storage.count)
        let res: OpaquePointer? = try withPointers(storage, isNull) { pointers in
            PQexecPrepared(pg, pgName, count, pointers, lengths, formats, 0)
        }
        do {
            try PostgresResult.check(res, pg, sql)
        } catch {
            PQclear(res)
            throw error
        }
        pgResult = res
        pgRow = -1
        pgRows = PQntuples(res)
        connection.pgChanges = Int(String(cString: PQcmdTuples(res))) ?? 0
    }

    /// Queues the statement in the connection's batch (its result is read later).
    private func pgSend() throws {
        let (storage, lengths, formats, isNull) = pgEncodedValues()
        let count = Int32(storage.count)
        try withPointers(storage, isNull) { pointers in
            try connection.sendPipelined(pgName, count, pointers, lengths, formats)
        }
        pgValues.removeAll(keepingCapacity: true)
    }

    private func pgEncodedValues() -> ([[UInt8]], [Int32], [Int32], [Bool]) {
        // Every value as bytes that outlive the call: text values NUL-terminated, blobs as they are.
        var storage: [[UInt8]] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        var isNull: [Bool] = []
        storage.reserveCapacity(pgValues.count)
        for v in pgValues {
            switch v {
            case .null:
                storage.append([])
                isNull.append(true)
                formats.append(0)
            case .integer(let n):
                storage.append(Array(String(n).utf8) + [0])
                isNull.append(false)
                formats.append(0)
            case .real(let d):
                storage.append(Array("\(d)".utf8) + [0])
                isNull.append(false)
                formats.append(0)
            case .text(let s):
                storage.append(Array(s.utf8) + [0])
                isNull.append(false)
                formats.append(0)
            case .blob(let b):
                storage.append(b)
                isNull.append(false)
                formats.append(1)
            }
            lengths.append(Int32(storage[storage.count - 1].count - (formats.last == 1 ? 0 : 1)))
        }
        return (storage, lengths, formats, isNull)
    }

    private func withPointers<R>(
        _ storage: [[UInt8]], _ isNull: [Bool], _ body: ([UnsafePointer<CChar>?]) throws -> R
    ) throws -> R {
        var pointers: [UnsafePointer<CChar>?] = []
        pointers.reserveCapacity(storage.count)
        func next(_ i: Int) throws -> R {
            if i == storage.count { return try body(pointers) }
            if isNull[i] {
                pointers.append(nil)
                return try next(i + 1)
            }
            return try storage[i].withUnsafeBufferPointer { buf in
                pointers.append(
                    UnsafeRawPointer(buf.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(
                        to: CChar.self))
                return try next(i + 1)
            }
        }
        return try next(0)
    }

    package var columnCount: Int {
        guard let stmt else { return pgResult.map { Int(PQnfields($0)) } ?? 0 }
        return Int(sqlite3_column_count(stmt))
    }

    // PostgreSQL column access: the text of column `i` in the current row, and its type.
    private func pgBytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        guard let r = pgResult, let p = PQgetvalue(r, pgRow, Int32(i)) else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        return UnsafeBufferPointer(
            start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: Int(PQgetlength(r, pgRow, Int32(i))))
    }

    private func pgInt(_ i: Int) -> Int64 {
        let b = pgBytes(i)
        guard let first = b.first else { return 0 }
        if first == UInt8(ascii: "t") { return 1 }
        if first == UInt8(ascii: "f") { return 0 }
        var n: Int64 = 0
        var negative = false
        for c in b {
            if c == UInt8(ascii: "-") {
                negative = true
            } else if c >= 48 && c <= 57 {
                n = n &* 10 &+ Int64(c - 48)
            } else {
                break  // a numeric's fraction
            }
        }
        return negative ? -n : n
    }

    package func int(_ i: Int) -> Int {
        guard let stmt else { return Int(pgInt(i)) }
        return Int(sqlite3_column_int64(stmt, Int32(i)))
    }
    package func int64(_ i: Int) -> Int64 {
        guard let stmt else { return pgInt(i) }
        return sqlite3_column_int64(stmt, Int32(i))
    }
    package func double(_ i: Int) -> Double {
        guard let stmt else { return Double(String(decoding: pgBytes(i), as: UTF8.self)) ?? 0 }
        return sqlite3_column_double(stmt, Int32(i))
    }
    package func isNull(_ i: Int) -> Bool {
        guard let stmt else { return pgResult.map { PQgetisnull($0, pgRow, Int32(i)) != 0 } ?? true }
        return sqlite3_column_type(stmt, Int32(i)) == SQLITE_NULL
    }

    package func string(_ i: Int) -> String {
        guard let stmt else { return String(decoding: pgBytes(i), as: UTF8.self) }
        guard let p = sqlite3_column_text(stmt, Int32(i)) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    package func optionalString(_ i: Int) -> String? { isNull(i) ? nil : string(i) }

    package func blob(_ i: Int) -> [UInt8] {
        guard let stmt else { return PostgresBytea.decode(pgBytes(i)) }
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        guard n > 0, let p = sqlite3_column_blob(stmt, Int32(i)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    package func value(_ i: Int) -> SQLValue {
        guard let stmt else {
            guard let r = pgResult, !isNull(i) else { return .null }
            switch PQftype(r, Int32(i)) {
            case 20, 21, 23, 26, 16: return .integer(pgInt(i))
            case 700, 701: return .real(double(i))
            case 1700:
                let text = string(i)
                return text.contains(".") ? .real(Double(text) ?? 0) : .integer(pgInt(i))
            case 17: return .blob(blob(i))
            default: return .text(string(i))
            }
        }
        switch sqlite3_column_type(stmt, Int32(i)) {
        case SQLITE_INTEGER: return .integer(int64(i))
        case SQLITE_FLOAT: return .real(double(i))
        case SQLITE_TEXT: return .text(string(i))
        case SQLITE_BLOB: return .blob(blob(i))
        default: return .null
        }
    }

    package func columnName(_ i: Int) -> String {
        guard let stmt else { return pgResult.flatMap { PQfname($0, Int32(i)) }.map { String(cString: $0) } ?? "" }
        return String(cString: sqlite3_column_name(stmt, Int32(i)))
    }

    func row() -> Row {
        let n = columnCount
        var values: [SQLValue] = []
        values.reserveCapacity(n)
        for i in 0..<n { values.append(value(i)) }
        return Row(names: names, values: values)
    }
}

/// `bytea` in libpq's text output: `\x` and two hex digits per byte.
enum PostgresBytea {
    static func decode(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        guard b.count >= 2, b[0] == UInt8(ascii: "\\"), b[1] == UInt8(ascii: "x") else { return Array(b) }
        func nibble(_ c: UInt8) -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return 0
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((b.count - 2) / 2)
        var i = 2
        while i + 1 < b.count {
            out.append(nibble(b[i]) << 4 | nibble(b[i + 1]))
            i += 2
        }
        return out
    }
}

@available(*, unavailable)
extension Statement: Sendable {}

/// One result row, detached from its statement.
package struct Row: Sendable {
    package let names: [String]
    package let values: [SQLValue]

    package subscript(_ i: Int) -> SQLValue { values[i] }
    package subscript(_ name: String) -> SQLValue { names.firstIndex(of: name).map { values[$0] } ?? .null }

    package func int(_ name: String) -> Int? {
        if case .integer(let v) = self[name] { return Int(v) }
        return nil
    }
    package func int(_ i: Int) -> Int? {
        if case .integer(let v) = values[i] { return Int(v) }
        return nil
    }
    package func string(_ name: String) -> String? {
        if case .text(let v) = self[name] { return v }
        return nil
    }
    package func string(_ i: Int) -> String? {
        if case .text(let v) = values[i] { return v }
        return nil
    }
    package func double(_ name: String) -> Double? {
        switch self[name] {
        case .real(let d): return d
        case .integer(let i): return Double(i)
        default: return nil
        }
    }
    package func blob(_ name: String) -> [UInt8]? {
        if case .blob(let v) = self[name] { return v }
        return nil
    }
    package func bool(_ name: String) -> Bool { int(name).map { $0 != 0 } ?? false }
}
