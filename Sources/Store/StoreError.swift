/// A store failure: SQLite's result code or PostgreSQL's SQLSTATE, the engine's message and the statement text.
/// Bound values are never included (they may be secrets or personal data).
package struct StoreError: Error, Sendable, CustomStringConvertible {
    /// SQLite's extended result code; for PostgreSQL, the SQLite code of the same meaning (19 for a constraint,
    /// 5 for a serialization failure or deadlock, 1 otherwise), so callers ask one question of either engine.
    package let code: Int32
    package let message: String
    package let sql: String?
    /// PostgreSQL's five-character SQLSTATE (`23505` unique violation …), nil for SQLite.
    package let sqlState: String?

    package init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        sqlState = nil
    }

    package init(postgresState state: String, message: String, sql: String?) {
        sqlState = state
        self.message = message
        self.sql = sql
        if state.hasPrefix("23") {
            code = 19
        } else if state == "40001" || state == "40P01" || state == "55P03" {
            code = 5
        } else {
            code = 1
        }
    }

    /// SQLITE_CONSTRAINT and its extended codes (unique, foreign key, check…); PostgreSQL class 23.
    package var isConstraintViolation: Bool { code & 0xFF == 19 }
    /// SQLITE_BUSY or SQLITE_LOCKED; PostgreSQL serialization failure, deadlock or lock not available.
    package var isBusy: Bool { code & 0xFF == 5 || code & 0xFF == 6 }
    /// The connection to the database server is gone (PostgreSQL class 08, or a server shutting down).
    package var isConnectionLost: Bool { sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57P") } ?? false }

    package var description: String {
        let head = sqlState.map { "PostgreSQL error \($0): \(message)" } ?? "SQLite error \(code): \(message)"
        return head + (sql.map { " in `\($0.prefix(200))`" } ?? "")
    }

    /// A database written by a newer Gatehouse (it lists migrations this binary does not know).
    package static func superseded(_ version: Int) -> StoreError {
        StoreError(
            code: -1,
            message: "the database has migration \(version), which this binary does not know; refusing to open it")
    }
}
