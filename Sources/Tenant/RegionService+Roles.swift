import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

extension RegionService {
    package func listRoles(_ caller: Caller, org: OrgID) async throws -> [RoleView] {
        try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .orgView)
            var counts: [String: Int] = [:]
            try conn.forEach("SELECT role_id, n FROM role_counts WHERE org_id = ?", [org]) {
                counts[$0.string(0)] = $0.int(1)
            }
            return a.catalog.all.map {
                RoleView(
                    id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: $0.builtIn,
                    memberCount: counts[$0.id] ?? 0)
            }
        }
    }

    func validRoleRequest(_ r: RoleRequest) throws -> (String, PermissionSet) {
        let name = try DisplayName.validated(r.name, max: 60)
        guard !r.permissions.isEmpty else { throw GatehouseError.validation("Pick at least one permission.") }
        // Counted as sent: duplicates are harmless, but a list longer than the catalogue is not a role anyone meant.
        guard r.permissions.count <= ListLimits.permissions else {
            throw GatehouseError.validation("A role has at most \(ListLimits.permissions) permissions.")
        }
        return (name, Set(r.permissions))
    }

    /// One check for create and rename: no other role (built-in names included, any case) has this name or id.
    static func checkRoleName(_ name: String, id: String, in catalog: RoleCatalog, except: String?) throws {
        if catalog.all.contains(where: { $0.id != except && ($0.id == id || $0.name.lowercased() == name.lowercased()) }
        ) {
            throw GatehouseError.conflict("A role called \(name) already exists.")
        }
    }

    package func createRole(_ caller: Caller, org: OrgID, request: RoleRequest) async throws -> RoleView {
        let (name, perms) = try validRoleRequest(request)
        var slug = String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
        while slug.contains("--") { slug = slug.replacingOccurrences(of: "--", with: "-") }
        slug = slug.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        let id = "custom-" + (slug.isEmpty ? "role" : String(slug.prefix(40)))
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            try Rules.defineRole(a.actor, permissions: perms).orThrow()
            try Self.checkRoleName(name, id: id, in: a.catalog, except: nil)
            try conn.run(
                "INSERT INTO custom_roles (org_id, id, name, permissions, created_at) VALUES (?, ?, ?, ?, ?)",
                [org, id, name, JSONColumn.list(perms.sorted().map(\.rawValue)), now])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "role.created", target: id,
                ["name": name, "permissions": perms.sorted().map(\.rawValue).joined(separator: ",")])
            return RoleView(id: id, name: name, permissions: perms.sorted(), builtIn: false, memberCount: 0)
        }
    }

    package func updateRole(_ caller: Caller, org: OrgID, role: String, request: RoleRequest) async throws -> RoleView {
        let (name, perms) = try validRoleRequest(request)
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let existing = a.catalog.role(role) else { throw GatehouseError.notFound("No such role.") }
            guard !existing.builtIn else {
                throw GatehouseError.conflict("Built-in roles cannot be changed; create a custom role instead.")
            }
            // Both the old and the new permission sets must be within the actor's reach.
            try Rules.defineRole(a.actor, permissions: perms.union(existing.permissions)).orThrow()
            try Self.checkRoleName(name, id: role, in: a.catalog, except: role)
            try conn.run(
                "UPDATE custom_roles SET name = ?, permissions = ? WHERE org_id = ? AND id = ?",
                [name, JSONColumn.list(perms.sorted().map(\.rawValue)), org, role])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "role.updated", target: role,
                [
                    "permissions.before": existing.permissions.sorted().map(\.rawValue).joined(separator: ","),
                    "permissions.after": perms.sorted().map(\.rawValue).joined(separator: ","),
                ])
            let n =
                try conn.first("SELECT count(*) FROM member_roles WHERE org_id = ? AND role_id = ?", [org, role])?.int(
                    0) ?? 0
            return RoleView(id: role, name: name, permissions: perms.sorted(), builtIn: false, memberCount: n)
        }
    }

    /// A role in use (by members or pending invites) cannot be deleted; the refusal says how many hold it.
    package func deleteRole(_ caller: Caller, org: OrgID, role: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let existing = a.catalog.role(role) else { throw GatehouseError.notFound("No such role.") }
            guard !existing.builtIn else { throw GatehouseError.conflict("Built-in roles cannot be deleted.") }
            try Rules.defineRole(a.actor, permissions: existing.permissions).orThrow()
            let members =
                try conn.first("SELECT count(*) FROM member_roles WHERE org_id = ? AND role_id = ?", [org, role])?.int(
                    0) ?? 0
            let invites =
                try conn.first(
                    "SELECT count(*) FROM invites, \(conn.dialect.jsonArray("invites.roles", as: "j")) WHERE org_id = ?"
                        + " AND status ="
                        + " 'pending' AND j.value = ?",
                    [org, role])?.int(0) ?? 0
            if members + invites > 0 {
                throw GatehouseError(
                    .roleInUse, status: 409,
                    "\(existing.name) is held by \(members) member(s) and \(invites) pending invite(s); give them"
                        + " another role first."
                )
            }
            try conn.run("DELETE FROM custom_roles WHERE org_id = ? AND id = ?", [org, role])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "role.deleted", target: role,
                ["name": existing.name])
        }
    }

    // MARK: - Audit log

    package struct AuditQuery: Sendable {
        package var action: String?
        package var actor: String?
        package var target: String?
        package var cursor: String?
        package var limit = 50
        package init() {}
    }

    package func auditEvents(_ caller: Caller, org: OrgID, query q: AuditQuery) async throws -> AuditPage {
        guard (1...settings.maxPageSize).contains(q.limit) else {
            throw GatehouseError.validation("`limit` must be 1–\(settings.maxPageSize).")
        }
        let before: Int?
        if let c = q.cursor {
            guard let d = Base64URL.decode(c), let n = Int(String(decoding: d, as: UTF8.self)) else {
                throw GatehouseError.badRequest("The cursor is not valid.")
            }
            before = n
        } else {
            before = nil
        }
        return try await db.read { conn in
            _ = try self.access(conn, org, caller, requiring: .auditView)
            var events = try self.auditRows(conn, org: org, q, before: before, limit: q.limit + 1)
            var next: String?
            if events.count > q.limit {
                events.removeLast()
                next = events.last.map { Base64URL.encode(Array(String($0.id).utf8)) }
            }
            let names = try self.auditNames(conn, org: org, Set(events.flatMap { [$0.actor, $0.target] }))
            for i in events.indices {
                // Org-level actions by someone who is not a member are the region admin's.
                events[i].actorName =
                    names[events[i].actor]
                    ?? (["org.provisioned", "org.suspended", "org.reactivated"].contains(events[i].action)
                        ? "Region admin" : nil)
                // A removed member is gone from the tables; the event kept their address.
                events[i].targetName = names[events[i].target] ?? events[i].summary["email"]
            }
            return AuditPage(events: events, nextCursor: next)
        }
    }

    /// Every matching event as JSON lines, newest first.
    package func exportAudit(_ caller: Caller, org: OrgID, query q: AuditQuery) async throws -> [UInt8] {
        try await db.read { conn in
            _ = try self.access(conn, org, caller, requiring: .auditView)
            let enc = JSONEncoder()
            enc.outputFormatting = .sortedKeys
            enc.dateEncodingStrategy = .iso8601
            var out: [UInt8] = []
            for e in try self.auditRows(conn, org: org, q, before: nil, limit: 1_000_000) {
                out.append(contentsOf: try enc.encode(e))
                out.append(10)
            }
            return out
        }
    }

    /// Names for the ids a page of audit events mentions: members (name and email), apps, custom roles, API
    /// keys and the org itself, looked up in one pass per table (a page is at most `maxPageSize` events).
    func auditNames(_ conn: SQLConnection, org: OrgID, _ ids: Set<String>) throws -> [String: String] {
        var names: [String: String] = [:]
        let list = Array(ids)
        guard !list.isEmpty else { return names }
        let marks = Array(repeating: "?", count: list.count).joined(separator: ", ")
        var binds: [any SQLBindable] = [org]
        binds.append(contentsOf: list as [any SQLBindable])
        try conn.forEach(
            "SELECT account_id, email, first_name, last_name FROM members WHERE org_id = ? AND account_id IN"
                + " (\(marks))",
            binds
        ) {
            let name = [$0.string(2), $0.string(3)].filter { !$0.isEmpty }.joined(separator: " ")
            names[$0.string(0)] = name.isEmpty ? $0.string(1) : "\(name) (\($0.string(1)))"
        }
        for (table, label) in [("apps", "app"), ("custom_roles", "role"), ("api_keys", "API key")] {
            try conn.forEach("SELECT id, name FROM \(table) WHERE org_id = ? AND id IN (\(marks))", binds) {
                names[$0.string(0)] = "\($0.string(1)) (\(label))"
            }
        }
        for r in Role.builtIns where ids.contains(r.id) && names[r.id] == nil { names[r.id] = "\(r.name) (role)" }
        // Someone since removed: the removal event kept their address.
        let gone = list.filter { names[$0] == nil }
        if !gone.isEmpty {
            let marks = Array(repeating: "?", count: gone.count).joined(separator: ", ")
            var b: [any SQLBindable] = [org]
            b.append(contentsOf: gone as [any SQLBindable])
            try conn.forEach(
                "SELECT target, summary FROM audit_events WHERE org_id = ? AND action = 'member.removed' AND target IN"
                    + " (\(marks))", b
            ) {
                if let email = JSONColumn.readMap($0.string(1))["email"] { names[$0.string(0)] = "\(email) (removed)" }
            }
        }
        try conn.forEach("SELECT id, name FROM orgs WHERE id = ?", [org]) {
            if ids.contains($0.string(0)) { names[$0.string(0)] = $0.string(1) }
        }
        return names
    }

    func auditRows(
        _ conn: SQLConnection, org: OrgID, _ q: AuditQuery, before: Int?, limit: Int
    ) throws -> [AuditEventView] {
        var cond = ["org_id = ?"]
        var b: [any SQLBindable] = [org]
        if let before {
            cond.append("id < ?")
            b.append(before)
        }
        if let a = q.action {
            cond.append("action = ?")
            b.append(a)
        }
        if let a = q.actor {
            cond.append("actor = ?")
            b.append(a)
        }
        if let t = q.target {
            cond.append("target = ?")
            b.append(t)
        }
        var out: [AuditEventView] = []
        try conn.forEach(
            "SELECT id, at, actor, action, target, summary FROM audit_events WHERE"
                + " \(cond.joined(separator: " AND ")) ORDER BY id DESC LIMIT \(limit)",
            b
        ) {
            out.append(
                AuditEventView(
                    id: $0.int(0), at: Self.date($0.int(1)), actor: $0.string(2), action: $0.string(3),
                    target: $0.string(4),
                    summary: JSONColumn.readMap($0.string(5))))
        }
        return out
    }
}
