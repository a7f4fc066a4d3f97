/// A SQLite failure: the result code, SQLite's message and the statement text. Bound values are never included
/// (they may be secrets or personal data).
package struct StoreError: Error, Sendable, CustomStringConvertible {
    package let code: Int32
    package let message: String
    package let sql: String?

    package init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// SQLITE_CONSTRAINT and its extended codes (unique, foreign key, check…).
    package var isConstraintViolation: Bool { code & 0xFF == 19 }
    /// SQLITE_BUSY or SQLITE_LOCKED.
    package var isBusy: Bool { code & 0xFF == 5 || code & 0xFF == 6 }

    package var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " in `\($0.prefix(200))`" } ?? "")
    }

    /// A database written by a newer Gatehouse (it lists migrations this binary does not know).
    package static func superseded(_ version: Int) -> StoreError {
        StoreError(
            code: -1,
            message: "the database has migration \(version), which this binary does not know; refusing to open it")
    }
}
