import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

extension RegionService {
    /// Agency people see the people of their own agency only; everyone else is as unknown as an unknown id.
    static func sees(_ a: OrgAccess, _ m: MemberRows.Loaded) -> Bool {
        a.agency == nil || a.agency == m.agency
    }

    package struct MemberListQuery: Sendable {
        package var search: String?
        package var role: String?
        /// `active` (seen in the last 30 days), `inactive`, or `never`.
        package var status: String?
        package var sort = "name"
        package var order = "asc"
        package var cursor: String?
        package var limit = 50
        package init() {}
    }

    package func listMembers(_ caller: Caller, org: OrgID, query q: MemberListQuery) async throws -> MemberPage {
        guard let sort = MemberSearch.Sort(rawValue: q.sort) else {
            throw GatehouseError.validation("`sort` must be name, apps or last_active.")
        }
        guard q.order == "asc" || q.order == "desc" else {
            throw GatehouseError.validation("`order` must be asc or desc.")
        }
        guard (1...settings.maxPageSize).contains(q.limit) else {
            throw GatehouseError.validation("`limit` must be 1–\(settings.maxPageSize).")
        }
        if let s = q.search, s.count > 100 { throw GatehouseError.validation("`q` must be at most 100 characters.") }
        let cursor = try q.cursor.map(MemberSearch.decodeCursor)
        if let raw = q.status, MemberSearch.ActivityStatus(rawValue: raw) == nil {
            throw GatehouseError.validation("`status` must be active, inactive or never.")
        }
        let status = q.status.flatMap(MemberSearch.ActivityStatus.init(rawValue:))
        let now = nowSeconds
        return try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .membersView)
            if let role = q.role, a.catalog.role(role) == nil {
                throw GatehouseError.validation("Unknown role `\(role)`.")
            }
            // Agency people see their own agency only (AgencyRules.sees).
            var search = MemberSearch(
                orgID: org, term: q.search, role: q.role, status: status, now: now, sort: sort,
                descending: q.order == "desc", limit: q.limit, after: cursor)
            search.agency = a.agency
            let (rows, next) = try search.run(conn)
            let grants = try MemberRows.grants(conn, rowids: rows.map(\.rowid))
            return MemberPage(members: rows.map { MemberRows.view($0, apps: grants[$0.rowid] ?? []) }, nextCursor: next)
        }
    }

    package func member(_ caller: Caller, org: OrgID, member: String) async throws -> MemberView {
        try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .membersView)
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            return MemberRows.view(m, apps: try MemberRows.grants(conn, rowids: [m.rowid])[m.rowid] ?? [])
        }
    }

    /// The member's effective permissions and a "view as" evaluation of what they may do.
    package func permissions(_ caller: Caller, org: OrgID, member: String) async throws -> PermissionsView {
        try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .membersView)
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            let perms = a.catalog.permissions(of: m.roles)
            return PermissionsView(
                member: member, roles: m.roles, permissions: perms.sorted(),
                allowed: Rules.evaluate(Rules.Actor(accountID: member, permissions: perms)))
        }
    }

    package func updateMember(
        _ caller: Caller, org: OrgID, member: String, patch: MemberPatch
    ) async throws -> MemberView {
        if let vars = patch.userVariables, let r = UserVariables.validate(vars) { throw r.error }
        try PersonName.validate(patch.firstName, patch.lastName)
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            let targetPerms = a.catalog.permissions(of: m.roles)
            var summary: [String: String] = [:]
            if let roles = patch.roles {
                let new = try self.resolveRoles(roles, a.catalog)
                let old = m.roles.compactMap { a.catalog.role($0) }
                let owners = try self.ownerCount(conn, org)
                let ownersAfter =
                    owners - (m.roles.contains("owner") ? 1 : 0) + (new.contains { $0.id == "owner" } ? 1 : 0)
                try Rules.changeRoles(
                    a.actor, targetAccountID: member, targetPermissions: targetPerms, from: old, to: new,
                    ownersAfter: ownersAfter
                ).orThrow()
                try MemberRows.setRoles(conn, orgID: org, rowid: m.rowid, roles: new.map(\.id))
                summary["roles.before"] = m.roles.joined(separator: ",")
                summary["roles.after"] = new.map(\.id).joined(separator: ",")
            }
            let otherFields =
                patch.userVariables != nil || patch.startingPage != nil || patch.firstName != nil
                || patch.lastName != nil || patch.ssoOnly != nil
            if otherFields {
                try Rules.editMember(a.actor, targetAccountID: member, targetPermissions: targetPerms).orThrow()
            }
            if let vars = patch.userVariables {
                try conn.run("UPDATE members SET user_vars = ? WHERE rowid = ?", [JSONColumn.map(vars), m.rowid])
                summary["userVariables"] = vars.keys.sorted().joined(separator: ",")
            }
            if let page = patch.startingPage {
                try conn.run("UPDATE members SET starting_page = ? WHERE rowid = ?", [page.rawValue, m.rowid])
                summary["startingPage"] = page.rawValue
            }
            if let sso = patch.ssoOnly {
                try conn.run("UPDATE members SET sso_only = ? WHERE rowid = ?", [sso, m.rowid])
                summary["ssoOnly"] = sso ? "true" : "false"
            }
            if patch.firstName != nil || patch.lastName != nil {
                try MemberRows.setNames(
                    conn, rowid: m.rowid, first: patch.firstName ?? m.firstName, last: patch.lastName ?? m.lastName,
                    email: m.email)
                summary["name"] = "\(patch.firstName ?? m.firstName) \(patch.lastName ?? m.lastName)"
            }
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "member.updated", target: member, summary)
            guard let updated = try MemberRows.load(conn, orgID: org, accountID: member) else {
                throw GatehouseError.notFound()
            }
            return MemberRows.view(updated, apps: try MemberRows.grants(conn, rowids: [m.rowid])[m.rowid] ?? [])
        }
    }

    /// Hands the org over (`org.transfer`, owners only): the member named by `email` becomes an owner and the
    /// caller an admin, in one transaction, audited. A member, not an invitee; not yourself.
    package func transferOwnership(_ caller: Caller, org: OrgID, toEmail email: String) async throws -> MemberView {
        let now = nowSeconds
        let address = Email.normalize(email)
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            try Rules.requires(.orgTransfer, a.actor).orThrow()
            guard
                let accountID = try conn.first(
                    "SELECT account_id FROM members WHERE org_id = ? AND email = ?", [org, address])?.string(0),
                let target = try MemberRows.load(conn, orgID: org, accountID: accountID)
            else {
                throw GatehouseError.validation("\(address) is not a member of this organization; invite them first.")
            }
            guard target.accountID != caller.accountID else {
                throw GatehouseError.validation("You already own this organization; name another member.")
            }
            guard let me = try MemberRows.load(conn, orgID: org, accountID: caller.accountID) else {
                throw GatehouseError.forbidden("Only a member who owns the organization can hand it over.")
            }
            try MemberRows.setRoles(conn, orgID: org, rowid: target.rowid, roles: ["owner"])
            try MemberRows.setRoles(conn, orgID: org, rowid: me.rowid, roles: ["admin"])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "org.transferred", target: accountID,
                ["from": caller.accountID, "roles.before": target.roles.joined(separator: ",")])
            guard let updated = try MemberRows.load(conn, orgID: org, accountID: accountID) else {
                throw GatehouseError.notFound()
            }
            return MemberRows.view(
                updated, apps: try MemberRows.grants(conn, rowids: [target.rowid])[target.rowid] ?? [])
        }
    }

    package func removeMember(_ caller: Caller, org: OrgID, member: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            try Rules.removeMember(
                a.actor, targetAccountID: member, targetPermissions: a.catalog.permissions(of: m.roles),
                targetIsOwner: m.roles.contains("owner"), ownersBefore: try self.ownerCount(conn, org)
            ).orThrow()
            try self.remove(conn, org: org, m, at: now, actor: caller.accountID)
        }
    }

    /// Rule 6: the membership, its grants and its keys go at once; the data the member created stays.
    func remove(_ conn: SQLConnection, org: OrgID, _ m: MemberRows.Loaded, at: Int, actor: String) throws {
        try MemberRows.revokeKeys(conn, orgID: org, accountID: m.accountID, app: nil, at: at, reason: "member_removed")
        try MemberRows.delete(conn, rowid: m.rowid)
        try audit(
            conn, org: org, at: at, actor: actor, action: "member.removed", target: m.accountID,
            ["email": m.email, "roles": m.roles.joined(separator: ",")])
    }

    /// Rule 7: every selected member is checked first; if any is refused nothing changes and every refusal is
    /// reported with its member.
    package func bulk(_ caller: Caller, org: OrgID, request: BulkRequest) async throws -> BulkResult {
        // Counted as sent (duplicates included), before anything is read.
        guard request.members.count <= settings.maxBulkMembers else {
            throw GatehouseError(.payloadTooLarge, status: 413, "At most \(settings.maxBulkMembers) members at once.")
        }
        let ids = Array(NSOrderedSet(array: request.members).compactMap { $0 as? String })
        guard !ids.isEmpty else { throw GatehouseError.validation("Select at least one member.") }
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            var refusals: [BulkRefusal] = []
            var loaded: [MemberRows.Loaded] = []
            for id in ids {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: id) else {
                    refusals.append(BulkRefusal(member: id, code: "not_found", message: "No such member."))
                    continue
                }
                loaded.append(m)
            }
            var owners = try self.ownerCount(conn, org)
            let newRoles: [Role]
            switch request.action {
            case .changeRoles:
                newRoles = try self.resolveRoles(request.roles ?? [], a.catalog)
                if newRoles.isEmpty { throw Refusal.noRoles.error }
            case .grantApp, .revokeApp:
                newRoles = []
                guard let app = request.app else { throw GatehouseError.validation("`app` is required.") }
                guard try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [org, app]) != nil else {
                    throw GatehouseError.validation("Unknown app `\(app)`.")
                }
                if request.action == .grantApp && request.appRole == nil {
                    throw GatehouseError.validation("`appRole` is required.")
                }
            case .remove:
                newRoles = []
            }
            for m in loaded {
                let targetPerms = a.catalog.permissions(of: m.roles)
                let decision: Decision
                switch request.action {
                case .changeRoles:
                    let after =
                        owners - (m.roles.contains("owner") ? 1 : 0) + (newRoles.contains { $0.id == "owner" } ? 1 : 0)
                    decision = Rules.changeRoles(
                        a.actor, targetAccountID: m.accountID, targetPermissions: targetPerms,
                        from: m.roles.compactMap { a.catalog.role($0) }, to: newRoles, ownersAfter: after)
                    if decision.isAllowed { owners = after }
                case .remove:
                    decision = Rules.removeMember(
                        a.actor, targetAccountID: m.accountID, targetPermissions: targetPerms,
                        targetIsOwner: m.roles.contains("owner"), ownersBefore: owners)
                    if decision.isAllowed && m.roles.contains("owner") { owners -= 1 }
                case .grantApp, .revokeApp:
                    decision = Rules.changeAppAccess(
                        a.actor, targetAccountID: m.accountID, targetPermissions: targetPerms)
                }
                if let r = decision.refusal {
                    refusals.append(BulkRefusal(member: m.accountID, code: r.code, message: r.message))
                }
            }
            if !refusals.isEmpty { return BulkResult(applied: false, count: 0, refusals: refusals) }
            for m in loaded {
                switch request.action {
                case .changeRoles:
                    try MemberRows.setRoles(conn, orgID: org, rowid: m.rowid, roles: newRoles.map(\.id))
                    try self.audit(
                        conn, org: org, at: now, actor: caller.accountID, action: "member.updated", target: m.accountID,
                        [
                            "roles.before": m.roles.joined(separator: ","),
                            "roles.after": newRoles.map(\.id).joined(separator: ","), "bulk": "true",
                        ])
                case .remove:
                    try self.remove(conn, org: org, m, at: now, actor: caller.accountID)
                case .grantApp:
                    try self.grant(
                        conn, org: org, app: request.app ?? "", member: m, role: request.appRole ?? .viewer, at: now,
                        actor: caller.accountID)
                case .revokeApp:
                    try self.revoke(conn, org: org, app: request.app ?? "", member: m, at: now, actor: caller.accountID)
                }
            }
            return BulkResult(applied: true, count: loaded.count, refusals: [])
        }
    }

    /// The emails of the selected members, one per line ("copy emails").
    package func copyEmails(_ caller: Caller, org: OrgID, members: [String]) async throws -> String {
        guard members.count <= settings.maxBulkMembers else {
            throw GatehouseError(.payloadTooLarge, status: 413, "At most \(settings.maxBulkMembers) members at once.")
        }
        return try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .membersView)
            var out: [String] = []
            for id in members {
                if let m = try MemberRows.load(conn, orgID: org, accountID: id), Self.sees(a, m) { out.append(m.email) }
            }
            return out.joined(separator: "\n")
        }
    }
}

// MARK: - Import

/// A member brought in by an operator's import (migration from another system), not through an invite.
package struct ImportedMember: Sendable {
    package var accountID: String
    package var email: String
    package var firstName: String
    package var lastName: String
    package var roles: [String]
    package var lastActive: Int
    package var appCount: Int
    package init(
        accountID: String, email: String, firstName: String, lastName: String, roles: [String], lastActive: Int,
        appCount: Int
    ) {
        self.accountID = accountID
        self.email = email
        self.firstName = firstName
        self.lastName = lastName
        self.roles = roles
        self.lastActive = lastActive
        self.appCount = appCount
    }
}

extension RegionService {
    /// Imports members in one transaction, with their search index entries.
    /// - Warning: an operator tool: it applies no member rules (no grant ceiling, no invite). Never expose it to org users.
    package func importMembers(org: OrgID, _ members: [ImportedMember]) async throws {
        let now = nowSeconds
        try await db.write { conn in
            guard try conn.first("SELECT 1 FROM orgs WHERE id = ?", [org]) != nil else {
                throw GatehouseError.notFound("No such organization.")
            }
            for m in members {
                let rowid = try MemberRows.insert(
                    conn,
                    .init(
                        orgID: org.raw, accountID: m.accountID, email: Email.normalize(m.email), firstName: m.firstName,
                        lastName: m.lastName, roles: m.roles, userVariables: [:], startingPage: .studio,
                        ssoOnly: false, joinedAt: now))
                try conn.run(
                    "UPDATE members SET last_active = ?, app_count = ? WHERE rowid = ?",
                    [m.lastActive, m.appCount, rowid])
            }
            try self.audit(
                conn, org: org, at: now, actor: "operator", action: "members.imported", target: org.raw,
                ["count": String(members.count)])
        }
    }
}
