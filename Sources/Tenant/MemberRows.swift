import Foundation
import Store
import TenantAPI
import TenantDomain

/// Writing and reading member rows, including their search index entries and role rows, so every path that
/// changes a member keeps `members`, `member_roles`, `member_tri` and `member_chars` in step.
enum MemberRows {
    /// The `members` columns a `Loaded` row is read from, in select order.
    enum Column: Int, TableColumns {
        case rowid, accountID, email, firstName, lastName, roles, userVariables, startingPage, ssoOnly, joinedAt
        case lastActive, appCount, nameKey, agency, deactivatedAt

        var sql: String {
            switch self {
            case .rowid: return "rowid"
            case .accountID: return "account_id"
            case .email: return "email"
            case .firstName: return "first_name"
            case .lastName: return "last_name"
            case .roles: return "roles"
            case .userVariables: return "user_vars"
            case .startingPage: return "starting_page"
            case .ssoOnly: return "sso_only"
            case .joinedAt: return "joined_at"
            case .lastActive: return "last_active"
            case .appCount: return "app_count"
            case .nameKey: return "name_key"
            case .agency: return "agency_id"
            case .deactivatedAt: return "deactivated_at"
            }
        }
    }

    static let columns = Column.list("m")

    struct NewMember {
        var orgID: String
        var accountID: String
        var email: String
        var firstName: String
        var lastName: String
        var roles: [String]
        var userVariables: [String: String]
        var startingPage: StartingPage
        var ssoOnly: Bool
        var joinedAt: Int
    }

    static func searchText(first: String, last: String, email: String) -> String {
        "\(first) \(last) \(email)".lowercased()
    }

    static func nameKey(first: String, last: String, email: String) -> String {
        let name = "\(first) \(last)".trimmingCharacters(in: .whitespaces)
        return (name.isEmpty ? email : name + " " + email).lowercased()
    }

    /// One token per character, hex-coded, so one- and two-character terms become exact phrase queries.
    static func charTokens(_ s: String) -> String {
        s.unicodeScalars.map { "x" + String($0.value, radix: 16) }.joined(separator: " ")
    }

    @discardableResult
    static func insert(_ conn: SQLConnection, _ m: NewMember) throws -> Int64 {
        let text = searchText(first: m.firstName, last: m.lastName, email: m.email)
        let inserted = try conn.first(
            """
            INSERT INTO members (org_id, account_id, email, first_name, last_name, roles, user_vars, starting_page, \
            sso_only,
                                 joined_at, last_active, app_count, name_key, search_text)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?) RETURNING rowid
            """,
            [
                m.orgID, m.accountID, m.email, m.firstName, m.lastName, JSONColumn.list(m.roles),
                JSONColumn.map(m.userVariables), m.startingPage.rawValue, m.ssoOnly, m.joinedAt,
                nameKey(first: m.firstName, last: m.lastName, email: m.email), text,
            ])
        guard case .integer(let rowid) = inserted?[0] else {
            throw StoreError(code: 1, message: "INSERT INTO members returned no rowid")
        }
        try setRoles(conn, orgID: try OrgID.stored(m.orgID), rowid: rowid, roles: m.roles, updateColumn: false)
        try indexText(conn, rowid: rowid, text: text)
        return rowid
    }

    static func setRoles(
        _ conn: SQLConnection, orgID: OrgID, rowid: Int64, roles: [String], updateColumn: Bool = true
    ) throws {
        if updateColumn {
            try conn.run("UPDATE members SET roles = ? WHERE rowid = ?", [JSONColumn.list(roles), rowid])
            try conn.run("DELETE FROM member_roles WHERE member_rowid = ?", [rowid])
        }
        for r in Set(roles) {
            try conn.run(
                "INSERT INTO member_roles (org_id, role_id, member_rowid) VALUES (?, ?, ?)", [orgID, r, rowid])
        }
    }

    static func setNames(_ conn: SQLConnection, rowid: Int64, first: String, last: String, email: String) throws {
        let text = searchText(first: first, last: last, email: email)
        try conn.run(
            "UPDATE members SET first_name = ?, last_name = ?, name_key = ?, search_text = ? WHERE rowid = ?",
            [first, last, nameKey(first: first, last: last, email: email), text, rowid])
        try unindexText(conn, rowid: rowid)
        try indexText(conn, rowid: rowid, text: text)
    }

    /// SQLite's search indexes are tables of their own, kept here; PostgreSQL's (pg_trgm) index
    /// `members.search_text` itself.
    private static func indexText(_ conn: SQLConnection, rowid: Int64, text: String) throws {
        guard conn.dialect == .sqlite else { return }
        try conn.run("INSERT INTO member_tri (rowid, t) VALUES (?, ?)", [rowid, text])
        try conn.run("INSERT INTO member_chars (rowid, t) VALUES (?, ?)", [rowid, charTokens(text)])
    }

    private static func unindexText(_ conn: SQLConnection, rowid: Int64) throws {
        guard conn.dialect == .sqlite else { return }
        try conn.run("DELETE FROM member_tri WHERE rowid = ?", [rowid])
        try conn.run("DELETE FROM member_chars WHERE rowid = ?", [rowid])
    }

    static func delete(_ conn: SQLConnection, rowid: Int64) throws {
        try unindexText(conn, rowid: rowid)
        try conn.run("DELETE FROM members WHERE rowid = ?", [rowid])
    }

    /// A member row as read with `columns` (without apps).
    struct Loaded {
        let rowid: Int64
        let accountID: String
        let email: String
        let firstName: String
        let lastName: String
        let roles: [String]
        let userVariables: [String: String]
        let startingPage: StartingPage
        let ssoOnly: Bool
        let joinedAt: Int
        let lastActive: Int
        let appCount: Int
        let nameKey: String
        /// The agency this member belongs to (agency people), nil for org staff.
        let agency: String?
        /// Deactivated by the org's directory (SCIM): listed, let in nowhere.
        var deactivated = false
    }

    static func read(_ s: Statement) -> Loaded {
        typealias C = Column
        return Loaded(
            rowid: s.int64(C.rowid), accountID: s.string(C.accountID), email: s.string(C.email),
            firstName: s.string(C.firstName), lastName: s.string(C.lastName),
            roles: JSONColumn.readList(s.string(C.roles)),
            userVariables: JSONColumn.readMap(s.string(C.userVariables)),
            startingPage: StartingPage(rawValue: s.string(C.startingPage)) ?? .studio, ssoOnly: s.bool(C.ssoOnly),
            joinedAt: s.int(C.joinedAt), lastActive: s.int(C.lastActive), appCount: s.int(C.appCount),
            nameKey: s.string(C.nameKey), agency: s.isNull(C.agency.rawValue) ? nil : s.string(C.agency),
            deactivated: !s.isNull(C.deactivatedAt.rawValue))
    }

    static func load(_ conn: SQLConnection, orgID: OrgID, accountID: String) throws -> Loaded? {
        var out: Loaded?
        try conn.forEach(
            "SELECT \(columns) FROM members m WHERE m.org_id = ? AND m.account_id = ?", [orgID, accountID]
        ) { out = read($0) }
        return out
    }

    /// "First Last", or the address when no name is known.
    static func displayName(_ m: Loaded) -> String {
        let n = [m.firstName, m.lastName].filter { !$0.isEmpty }.joined(separator: " ")
        return n.isEmpty ? m.email : n
    }

    /// The member with this address in the org, if any.
    static func load(_ conn: SQLConnection, email: String, orgID: OrgID) throws -> Loaded? {
        var out: Loaded?
        try conn.forEach("SELECT \(columns) FROM members m WHERE m.org_id = ? AND m.email = ?", [orgID, email]) {
            out = read($0)
        }
        return out
    }

    /// App grants of the given members, by rowid.
    static func grants(_ conn: SQLConnection, rowids: [Int64]) throws -> [Int64: [AppGrant]] {
        guard !rowids.isEmpty else { return [:] }
        var out: [Int64: [AppGrant]] = [:]
        for chunk in stride(from: 0, to: rowids.count, by: 500) {
            let part = Array(rowids[chunk..<min(chunk + 500, rowids.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
            try conn.forEach(
                "SELECT member_rowid, app_id, role FROM app_grants WHERE member_rowid IN (\(marks)) ORDER BY app_id",
                part
            ) { s in
                out[s.int64(0), default: []].append(
                    AppGrant(app: s.string(1), role: AppRole(rawValue: s.string(2)) ?? .viewer))
            }
        }
        return out
    }

    static func view(_ m: Loaded, apps: [AppGrant]) -> MemberView {
        MemberView(
            id: m.accountID, email: m.email, firstName: m.firstName, lastName: m.lastName, roles: m.roles,
            userVariables: m.userVariables, startingPage: m.startingPage, ssoOnly: m.ssoOnly, apps: apps,
            appCount: m.appCount, joinedAt: RegionService.date(m.joinedAt),
            lastActive: m.lastActive > 0 ? RegionService.date(m.lastActive) : nil, agency: m.agency,
            deactivated: m.deactivated ? true : nil)
    }

    static func recountApps(_ conn: SQLConnection, rowid: Int64) throws {
        try conn.run(
            "UPDATE members SET app_count = (SELECT count(*) FROM app_grants WHERE member_rowid = ?) WHERE rowid = ?",
            [rowid, rowid])
    }

    /// Rule 6: a removed member's keys, or their keys for a revoked app, die at once.
    static func revokeKeys(
        _ conn: SQLConnection, orgID: OrgID, accountID: String, app: String?, at: Int, reason: String
    ) throws {
        if let app {
            try conn.run(
                "UPDATE api_keys SET revoked_at = ?, revoked_reason = ? WHERE org_id = ? AND account_id = ? AND"
                    + " app_id = ? AND revoked_at IS NULL",
                [at, reason, orgID, accountID, app])
        } else {
            try conn.run(
                "UPDATE api_keys SET revoked_at = ?, revoked_reason = ? WHERE org_id = ? AND account_id = ? AND"
                    + " revoked_at IS NULL",
                [at, reason, orgID, accountID])
        }
    }
}
