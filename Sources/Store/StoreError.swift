/// A SQLite failure: the result code, SQLite's message and the statement text. Bound values are never included
/// (they may be secrets or personal data).
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public let message: String
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// SQLITE_CONSTRAINT and its extended codes (unique, foreign key, check…).
    public var isConstraintViolation: Bool { code & 0xFF == 19 }
    /// SQLITE_BUSY or SQLITE_LOCKED.
    public var isBusy: Bool { code & 0xFF == 5 || code & 0xFF == 6 }

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " in `\($0.prefix(200))`" } ?? "")
    }

    /// A database written by a newer Gatehouse (it lists migrations this binary does not know).
    public static func superseded(_ version: Int) -> StoreError {
        StoreError(
            code: -1,
            message: "the database has migration \(version), which this binary does not know; refusing to open it")
    }
}
