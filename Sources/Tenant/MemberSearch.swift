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
    /// Only people of this agency (an agency person's own view; see `AgencyRules.sees`).
    var agency: String?
    /// Activity status: `active` (seen in the last 30 days), `inactive` (seen before that), `never` (never seen).
    var status: ActivityStatus?
    var now = 0
    var sort: Sort = .name
    var descending = false
    var limit = 50
    var after: Cursor?

    static let rareLimit = 2000
    /// PostgreSQL: rows in sort order a search first looks through for a full page (see `run`).
    static let probeRows = 4000

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
        let order = "ORDER BY \(sortColumn) \(dir), m.rowid \(dir)"
        if let after {
            conditions.append("(\(sortColumn), m.rowid) \(descending ? "<" : ">") (?, ?)")
            if sort == .name { bindings.append(after.v) } else { bindings.append(Int(after.v) ?? 0) }
            bindings.append(after.r)
        }
        // Filters other than the term: status and role, on the columns of `alias` (`m.`, or the probe's `w.`).
        func filterConditions(lastActive: String, rowid: String) -> ([String], [any SQLBindable]) {
            var f: [String] = []
            var b: [any SQLBindable] = []
            switch status {
            case .active:
                f.append("\(lastActive) >= ?")
                b.append(now - Self.activeWindow)
            case .inactive:
                f.append("\(lastActive) > 0 AND \(lastActive) < ?")
                b.append(now - Self.activeWindow)
            case .never: f.append("\(lastActive) = 0")
            case nil: break
            }
            if let role {
                f.append("\(rowid) IN (SELECT member_rowid FROM member_roles WHERE org_id = ? AND role_id = ?)")
                b.append(orgID)
                b.append(role)
            }
            if let agency {
                f.append("\(rowid) IN (SELECT rowid FROM members WHERE org_id = ? AND agency_id = ?)")
                b.append(orgID)
                b.append(agency)
            }
            return (f, b)
        }
        let (filters, filterBindings) = filterConditions(lastActive: "m.last_active", rowid: "m.rowid")
        let needle = term.map { $0.lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
        var source = "members m"
        var sourceBindings: [any SQLBindable] = []
        var answered: [MemberRows.Loaded]?
        if let needle, conn.dialect == .postgres {
            // PostgreSQL. First a probe: the next `probeRows` rows in sort order (an index-only walk, the index
            // carries the text), tested for the term; a full page among them is the answer (dense terms). Else
            // candidates from a GIN index (pg_trgm on the text for 3+ characters, the text's one- and
            // two-character pieces for shorter terms), counted up to `rareLimit`: few, start from them (OFFSET 0
            // keeps the planner from folding the subquery into a walk); many, walk the sort index testing each row
            // with `strpos`, which no index answers.
            // The middle query streams the ordered walk through the test and stops at a full page, so a common
            // term reads a few dozen index entries, a rare one at most `probeRows`.
            let (probeFilters, probeBindings) = filterConditions(lastActive: "w.la", rowid: "w.r")
            let probe =
                "SELECT \(MemberRows.columns) FROM (SELECT w.r FROM (SELECT m.rowid AS r, m.search_text AS t,"
                + " m.last_active AS la, \(sortColumn) AS s FROM members m WHERE"
                + " \(conditions.joined(separator: " AND ")) \(order) LIMIT \(Self.probeRows)) w WHERE"
                + " \((["strpos(w.t, ?) > 0"] + probeFilters).joined(separator: " AND ")) ORDER BY w.s \(dir), w.r \(dir)"
                + " LIMIT \(limit + 1)) x JOIN members m ON m.rowid = x.r \(order)"
            var probed: [MemberRows.Loaded] = []
            try conn.forEach(probe, bindings + [needle] + probeBindings) { probed.append(MemberRows.read($0)) }
            if probed.count > limit {
                answered = probed
            } else {
                let short = needle.unicodeScalars.count < 3
                let candidate = short ? "search_grams @> ARRAY[CAST(? AS text)]" : "search_text LIKE ? ESCAPE '!'"
                let term: any SQLBindable = short ? needle : "%" + Self.likeEscaped(needle) + "%"
                let candidates =
                    try conn.first(
                        "SELECT count(*) FROM (SELECT 1 FROM members WHERE org_id = ? AND \(candidate) LIMIT"
                            + " \(Self.rareLimit + 1)) c",
                        [orgID, term])?.int(0) ?? 0
                if candidates <= Self.rareLimit {
                    source =
                        "(SELECT rowid AS cand FROM members WHERE org_id = ? AND \(candidate) OFFSET 0) c JOIN members"
                        + " m ON m.rowid = c.cand"
                    sourceBindings = [orgID, term]
                }
                conditions.append("strpos(m.search_text, ?) > 0")
                bindings.append(needle)
            }
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
        if answered == nil {
            let sql =
                "SELECT \(MemberRows.columns) FROM \(source) WHERE \((conditions + filters).joined(separator: " AND "))"
                + " \(order) LIMIT \(limit + 1)"
            var found: [MemberRows.Loaded] = []
            try conn.forEach(sql, sourceBindings + bindings + filterBindings) { found.append(MemberRows.read($0)) }
            answered = found
        }
        var rows = answered ?? []
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
