import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

/// The members list query: search (case-insensitive substring of name or email), role filter, sort by name,
/// number of apps or last active in either order, keyset pagination with an opaque cursor.
///
/// Plan: the search index (`member_tri` for terms of 3+ characters, `member_chars` for 1–2) first counts
/// candidates, stopping at `rareLimit`. Few candidates (a rare term, or none): fetch exactly those rows and
/// sort them. Many: walk the sort index and test each row's text, which finds a page after a short walk
/// because matches are dense. Either way the final filter is `instr` on the stored text, so the index only
/// narrows and never decides.
struct MemberSearch {
    enum Sort: String {
        case name, apps
        case lastActive = "last_active"
    }
    enum ActivityStatus: String { case active, inactive, never }
    static let activeWindow = 30 * 86400

    var orgID: OrgID
    var term: String?
    var role: String?
    /// Activity status: `active` (seen in the last 30 days), `inactive` (seen before that), `never` (never seen).
    var status: ActivityStatus?
    var now = 0
    var sort: Sort = .name
    var descending = false
    var limit = 50
    var after: Cursor?

    static let rareLimit = 2000

    struct Cursor: Codable, Equatable, JSONWritable {
        var s: String
        var d: Bool
        var v: String  // the sort value (text, or a decimal integer)
        var r: Int64

        func writeJSON(to w: inout JSONWriter) {
            w.beginObject()
            w.field("d", d)
            w.field("r", Int(r))
            w.field("s", s)
            w.field("v", v)
            w.endObject()
        }
    }

    var sortColumn: String {
        switch sort {
        case .name: return "m.name_key"
        case .apps: return "m.app_count"
        case .lastActive: return "m.last_active"
        }
    }

    static func decodeCursor(_ s: String) throws -> Cursor {
        guard s.utf8.count <= 1024, let data = Base64URL.decode(s),
            let c = try? JSONDecoder().decode(Cursor.self, from: data)
        else {
            throw GatehouseError.badRequest("The cursor is not valid; start again from the first page.")
        }
        return c
    }

    static func encodeCursor(_ c: Cursor) -> String {
        Base64URL.encode(c.jsonBytes)
    }

    func run(_ conn: SQLConnection) throws -> ([MemberRows.Loaded], String?) {
        if let after, after.s != sort.rawValue || after.d != descending {
            throw GatehouseError.badRequest(
                "The cursor belongs to another sort order; start again from the first page.")
        }
        var conditions = ["m.org_id = ?"]
        var bindings: [any SQLBindable] = [orgID]
        let dir = descending ? "DESC" : "ASC"
        if let after {
            conditions.append("(\(sortColumn), m.rowid) \(descending ? "<" : ">") (?, ?)")
            if sort == .name { bindings.append(after.v) } else { bindings.append(Int(after.v) ?? 0) }
            bindings.append(after.r)
        }
        let needle = term.map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        var source = "members m"
        var sourceBindings: [any SQLBindable] = []
        if let needle, conn.dialect == .postgres {
            // PostgreSQL: a trigram index (pg_trgm) on the text answers LIKE '%term%' for terms of 3+ characters;
            // shorter ones walk the sort index, as the dense case does on SQLite.
            conditions.append("m.search_text LIKE ? ESCAPE '!'")
            bindings.append("%" + Self.likeEscaped(needle) + "%")
        } else if let needle {
            let (table, match) = Self.ftsQuery(needle)
            let candidates =
                try conn.first(
                    "SELECT count(*) FROM (SELECT rowid FROM \(table) WHERE \(table) MATCH ? LIMIT"
                        + " \(Self.rareLimit + 1))",
                    [match])?.int(0) ?? 0
            if candidates <= Self.rareLimit {
                // Few candidates: start from them. CROSS JOIN fixes the loop order, so SQLite looks each
                // candidate up by rowid and sorts the handful, instead of walking the sort index.
                source =
                    "(SELECT rowid AS cand FROM \(table) WHERE \(table) MATCH ?) c CROSS JOIN members m ON m.rowid ="
                    + " c.cand"
                sourceBindings = [match]
            }
            conditions.append("instr(m.search_text, ?) > 0")
            bindings.append(needle)
        }
        switch status {
        case .active:
            conditions.append("m.last_active >= ?")
            bindings.append(now - Self.activeWindow)
        case .inactive:
            conditions.append("m.last_active > 0 AND m.last_active < ?")
            bindings.append(now - Self.activeWindow)
        case .never: conditions.append("m.last_active = 0")
        case nil: break
        }
        if let role {
            conditions.append("m.rowid IN (SELECT member_rowid FROM member_roles WHERE org_id = ? AND role_id = ?)")
            bindings.append(orgID)
            bindings.append(role)
        }
        bindings = sourceBindings + bindings
        let sql =
            "SELECT \(MemberRows.columns) FROM \(source) WHERE \(conditions.joined(separator: " AND ")) ORDER BY"
            + " \(sortColumn) \(dir), m.rowid \(dir) LIMIT \(limit + 1)"
        var rows: [MemberRows.Loaded] = []
        try conn.forEach(sql, bindings) { rows.append(MemberRows.read($0)) }
        var next: String?
        if rows.count > limit {
            rows.removeLast()
            if let last = rows.last {
                let v: String
                switch sort {
                case .name: v = last.nameKey
                case .apps: v = String(last.appCount)
                case .lastActive: v = String(last.lastActive)
                }
                next = Self.encodeCursor(Cursor(s: sort.rawValue, d: descending, v: v, r: last.rowid))
            }
        }
        return (rows, next)
    }

    /// A term as a LIKE pattern's literal part (`!` escapes `%`, `_` and itself).
    static func likeEscaped(_ s: String) -> String {
        var out = ""
        for c in s {
            if c == "%" || c == "_" || c == "!" { out.append("!") }
            out.append(c)
        }
        return out
    }

    /// The index and FTS5 query for a term: a quoted trigram phrase, or a phrase of hex character tokens.
    static func ftsQuery(_ needle: String) -> (String, String) {
        if needle.unicodeScalars.count >= 3 {
            return ("member_tri", "\"" + needle.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
        }
        return ("member_chars", "\"" + MemberRows.charTokens(needle) + "\"")
    }
}
