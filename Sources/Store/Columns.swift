/// A table's columns as an enum, in the order a query selects them: the SELECT list is generated from it and rows
/// are read through it, so the list and the reader cannot drift apart (no `s.string(12)` against a string).
///
///     enum InviteColumn: Int, TableColumns { case id, orgID … ; var sql: String { … } }
///     "SELECT \(InviteColumn.list) FROM invites …"  →  s.string(InviteColumn.email)
package protocol TableColumns: RawRepresentable, CaseIterable where RawValue == Int, AllCases: RandomAccessCollection {
    /// The column's SQL name.
    var sql: String { get }
}

extension TableColumns {
    /// Every column, comma-separated, optionally qualified with a table alias (`i.id, i.org_id, …`).
    package static func list(_ alias: String? = nil) -> String {
        allCases.map { (alias.map { $0 + "." } ?? "") + $0.sql }.joined(separator: ", ")
    }

    /// The position of the first column after these (for a query that selects more after the list).
    package static var next: Int { allCases.count }
}

extension Statement {
    package func int<C: TableColumns>(_ c: C) -> Int { int(c.rawValue) }
    package func int64<C: TableColumns>(_ c: C) -> Int64 { int64(c.rawValue) }
    package func string<C: TableColumns>(_ c: C) -> String { string(c.rawValue) }
    package func bool<C: TableColumns>(_ c: C) -> Bool { int(c.rawValue) != 0 }
}
