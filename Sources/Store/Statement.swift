internal import CSQLite

/// A prepared statement with typed bindings and column reads. Owned by its connection's cache.
package final class Statement {
    let stmt: OpaquePointer
    unowned let connection: SQLiteConnection
    let sql: String
    /// Column names, read once per prepared statement (rows share the array instead of allocating names each).
    private(set) lazy var names: [String] = (0..<columnCount).map(columnName)

    init(_ stmt: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.stmt = stmt
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    package func bind(_ values: [any SQLBindable]) throws {
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
        sqlite3_reset(stmt)
        try bind(values)
        while try step() {}
        sqlite3_reset(stmt)
    }

    /// Advances; true when a row is available.
    package func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let e = connection.error(rc, sql)
        sqlite3_reset(stmt)
        throw e
    }

    package var columnCount: Int { Int(sqlite3_column_count(stmt)) }

    package func int(_ i: Int) -> Int { Int(sqlite3_column_int64(stmt, Int32(i))) }
    package func int64(_ i: Int) -> Int64 { sqlite3_column_int64(stmt, Int32(i)) }
    package func double(_ i: Int) -> Double { sqlite3_column_double(stmt, Int32(i)) }
    package func isNull(_ i: Int) -> Bool { sqlite3_column_type(stmt, Int32(i)) == SQLITE_NULL }

    package func string(_ i: Int) -> String {
        guard let p = sqlite3_column_text(stmt, Int32(i)) else { return "" }
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
    }

    package func optionalString(_ i: Int) -> String? { isNull(i) ? nil : string(i) }

    package func blob(_ i: Int) -> [UInt8] {
        let n = Int(sqlite3_column_bytes(stmt, Int32(i)))
        guard n > 0, let p = sqlite3_column_blob(stmt, Int32(i)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }

    package func value(_ i: Int) -> SQLValue {
        switch sqlite3_column_type(stmt, Int32(i)) {
        case SQLITE_INTEGER: return .integer(int64(i))
        case SQLITE_FLOAT: return .real(double(i))
        case SQLITE_TEXT: return .text(string(i))
        case SQLITE_BLOB: return .blob(blob(i))
        default: return .null
        }
    }

    package func columnName(_ i: Int) -> String { String(cString: sqlite3_column_name(stmt, Int32(i))) }

    func row() -> Row {
        let n = columnCount
        var values: [SQLValue] = []
        values.reserveCapacity(n)
        for i in 0..<n { values.append(value(i)) }
        return Row(names: names, values: values)
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
