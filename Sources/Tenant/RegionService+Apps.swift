import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

extension RegionService {
    package func listApps(_ caller: Caller, org: OrgID) async throws -> [AppView] {
        try await db.read { conn in
            let access = try self.access(conn, org, caller, requiring: .orgView)
            // Agency people see the apps they were given, never the org's others.
            let mine = access.agency == nil ? "" : " AND a.id IN (SELECT app_id FROM app_grants WHERE member_rowid = ?)"
            let binds: [any SQLBindable] = access.agency == nil ? [org] : [org, access.actorRowID]
            return try conn.query(
                """
                SELECT a.id, a.name, a.created_at, a.slug, a.upstream, a.rule, \
                (SELECT count(*) FROM app_grants g WHERE g.org_id = a.org_id AND g.app_id = a.id) AS n
                FROM apps a WHERE a.org_id = ?\(mine) ORDER BY a.name, a.id
                """, binds
            ).map {
                AppView(
                    id: $0.string("id") ?? "", name: $0.string("name") ?? "",
                    createdAt: Self.date($0.int("created_at") ?? 0),
                    memberCount: access.agency == nil ? $0.int("n") : nil  // how many others have it: not theirs
                ).with(
                    slug: $0.string("slug"), upstream: $0.string("upstream"), rule: Self.rule($0.string("rule") ?? "{}")
                )
            }
        }
    }

    package func createApp(_ caller: Caller, org: OrgID, name: String) async throws -> AppView {
        let name = try DisplayName.validated(name, max: 100)
        let now = nowSeconds
        let id = randomID("app_")
        return try await db.write { conn in
            _ = try self.access(conn, org, caller, requiring: .appsCreate)
            try conn.run("INSERT INTO apps (org_id, id, name, created_at) VALUES (?, ?, ?, ?)", [org, id, name, now])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "app.created", target: id, ["name": name])
            return AppView(id: id, name: name, createdAt: Self.date(now), memberCount: 0)
        }
    }

    /// Renames an app (`apps.create`).
    package func renameApp(_ caller: Caller, org: OrgID, app: String, name: String) async throws -> AppView {
        let name = try DisplayName.validated(name, max: 100)
        let now = nowSeconds
        return try await db.write { conn in
            _ = try self.access(conn, org, caller, requiring: .appsCreate)
            guard
                let row = try conn.first(
                    "SELECT created_at, (SELECT count(*) FROM app_grants g WHERE g.org_id = a.org_id AND g.app_id ="
                        + " a.id) FROM apps a WHERE org_id = ? AND id = ?", [org, app])
            else { throw GatehouseError.notFound("No such app.") }
            try conn.run("UPDATE apps SET name = ? WHERE org_id = ? AND id = ?", [name, org, app])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "app.renamed", target: app, ["name": name])
            return AppView(id: app, name: name, createdAt: Self.date(row.int(0) ?? 0), memberCount: row.int(1) ?? 0)
        }
    }

    /// Deletes an app (`apps.create`): everyone's access to it ends, and their keys scoped to it die (rule 6).
    /// All or nothing: refused when the caller could not revoke one of the grants themselves (a higher rank).
    package func deleteApp(_ caller: Caller, org: OrgID, app: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .appsCreate)
            guard try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [org, app]) != nil else {
                throw GatehouseError.notFound("No such app.")
            }
            var ids: [String] = []
            try conn.forEach(
                "SELECT m.account_id FROM app_grants g JOIN members m ON m.rowid = g.member_rowid WHERE g.org_id = ?"
                    + " AND g.app_id = ?", [org, app]
            ) { ids.append($0.string(0)) }
            let grantees = try ids.compactMap { try MemberRows.load(conn, orgID: org, accountID: $0) }
            for m in grantees {
                try Rules.changeAppAccess(
                    a.actor, targetAccountID: m.accountID, targetPermissions: a.catalog.permissions(of: m.roles)
                ).orThrow()
            }
            for m in grantees { try self.revoke(conn, org: org, app: app, member: m, at: now, actor: caller.accountID) }
            try conn.run("DELETE FROM apps WHERE org_id = ? AND id = ?", [org, app])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "app.deleted", target: app,
                ["grants": String(grantees.count)])
        }
    }

    package func grantApp(_ caller: Caller, org: OrgID, app: String, member: String, role: AppRole) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [org, app]) != nil else {
                throw GatehouseError.notFound("No such app.")
            }
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            // The ordinary rule for staff; agency people pass on only what they hold (AgencyRules).
            try AgencyRules.grantApp(
                try self.agencyActor(conn, a), try self.agencyTarget(conn, m, catalog: a.catalog), app: app, role: role
            ).orThrow()
            try self.grant(conn, org: org, app: app, member: m, role: role, at: now, actor: caller.accountID)
        }
    }

    package func revokeApp(_ caller: Caller, org: OrgID, app: String, member: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            try AgencyRules.revokeApp(
                try self.agencyActor(conn, a), try self.agencyTarget(conn, m, catalog: a.catalog), app: app
            ).orThrow()
            guard
                try conn.first(
                    "SELECT 1 FROM app_grants WHERE org_id = ? AND app_id = ? AND member_rowid = ?",
                    [org, app, m.rowid]) != nil
            else {
                throw GatehouseError.notFound("That member has no access to that app.")
            }
            try self.revoke(conn, org: org, app: app, member: m, at: now, actor: caller.accountID)
        }
    }

    func grant(
        _ conn: SQLConnection, org: OrgID, app: String, member m: MemberRows.Loaded, role: AppRole, at: Int,
        actor: String
    ) throws {
        try conn.run(
            """
            INSERT INTO app_grants (org_id, app_id, member_rowid, role, granted_at) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (org_id, app_id, member_rowid) DO UPDATE SET role = excluded.role
            """, [org, app, m.rowid, role.rawValue, at])
        try MemberRows.recountApps(conn, rowid: m.rowid)
        try audit(
            conn, org: org, at: at, actor: actor, action: "app.granted", target: m.accountID,
            ["app": app, "role": role.rawValue])
    }

    /// Rule 6: revoking an app kills the member's keys scoped to it.
    func revoke(
        _ conn: SQLConnection, org: OrgID, app: String, member m: MemberRows.Loaded, at: Int, actor: String
    ) throws {
        try conn.run(
            "DELETE FROM app_grants WHERE org_id = ? AND app_id = ? AND member_rowid = ?", [org, app, m.rowid])
        try MemberRows.recountApps(conn, rowid: m.rowid)
        // An agency person's keys act for the apps they were given: any of them taken back ends all their keys.
        try MemberRows.revokeKeys(
            conn, orgID: org, accountID: m.accountID, app: m.agency == nil ? app : nil, at: at, reason: "app_revoked")
        try audit(conn, org: org, at: at, actor: actor, action: "app.revoked", target: m.accountID, ["app": app])
    }

    // MARK: - API keys

    /// Creates a key for the caller (optionally scoped to an app they can use). The secret is returned once;
    /// only its SHA-256 is stored (the secret is 256 random bits, so a fast hash is enough).
    package func createAPIKey(_ caller: Caller, org: OrgID, request: APIKeyRequest) async throws -> APIKeyView {
        let name = try DisplayName.validated(request.name, max: 100)
        let now = nowSeconds
        let random = IDs.random(SecureRandom.bytes(20))
        let id = "key_" + random
        let secret = Base64URL.encode(SecureRandom.bytes(32))
        // `ghk_<region>_<random>_<secret>`: the region in the token lets the gateway route it without a lookup.
        let token = "ghk_\(region.rawValue)_\(random)_\(secret)"
        return try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .apikeysCreate)
            if let app = request.app {
                guard
                    try conn.first(
                        "SELECT 1 FROM app_grants WHERE org_id = ? AND app_id = ? AND member_rowid = ?",
                        [org, app, a.actorRowID]) != nil
                else {
                    throw GatehouseError.validation(
                        "You have no access to app `\(app)`, so a key cannot be scoped to it.")
                }
            }
            try conn.run(
                "INSERT INTO api_keys (id, org_id, account_id, app_id, name, secret_hash, created_at) VALUES (?, ?,"
                    + " ?, ?, ?, ?, ?)",
                [id, org, caller.accountID, request.app, name, Digest.sha256.hash(secret), now])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "apikey.created", target: id,
                ["name": name, "app": request.app ?? ""])
            return APIKeyView(
                id: id, name: name, memberID: caller.accountID, app: request.app, createdAt: Self.date(now),
                revokedAt: nil, revokedReason: nil, secret: token)
        }
    }

    /// Keys of the org: admins with `apikeys.create` see all; others see their own.
    package func listAPIKeys(_ caller: Caller, org: OrgID) async throws -> [APIKeyView] {
        try await db.read { conn in
            let a = try self.access(conn, org, caller)
            let all = a.actor.permissions.contains(.apikeysCreate)
            let rows = try conn.query(
                "SELECT id, name, account_id, app_id, created_at, revoked_at, revoked_reason FROM api_keys WHERE"
                    + " org_id = ? AND (? OR account_id = ?) ORDER BY created_at DESC, id",
                [org, all, caller.accountID])
            return rows.map {
                APIKeyView(
                    id: $0.string("id") ?? "", name: $0.string("name") ?? "", memberID: $0.string("account_id") ?? "",
                    app: $0.string("app_id"),
                    createdAt: Self.date($0.int("created_at") ?? 0), revokedAt: $0.int("revoked_at").map(Self.date),
                    revokedReason: $0.string("revoked_reason"), secret: nil)
            }
        }
    }

    package func revokeAPIKey(_ caller: Caller, org: OrgID, key: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard let row = try conn.first("SELECT account_id FROM api_keys WHERE org_id = ? AND id = ?", [org, key])
            else { throw GatehouseError.notFound("No such key.") }
            let holder = row.string("account_id") ?? ""
            let own = holder == caller.accountID
            if !own {
                // Another member's key: `apikeys.create`, and rule 2 (an admin cannot revoke an owner's keys).
                try Rules.requires(.apikeysCreate, a.actor).orThrow()
                let target = try MemberRows.load(conn, orgID: org, accountID: holder)
                try Rules.rankProtection(a.actor, target: a.catalog.permissions(of: target?.roles ?? [])).orThrow()
            }
            try conn.run(
                "UPDATE api_keys SET revoked_at = ?, revoked_reason = 'revoked' WHERE id = ? AND revoked_at IS NULL",
                [now, key])
            try self.audit(conn, org: org, at: now, actor: caller.accountID, action: "apikey.revoked", target: key)
        }
    }

    /// `authenticateAPIKey` from memory alone: its remembered answer while no write has committed in this region
    /// since, or nil ("ask `authenticateAPIKey`"). Never reads the store, so it may run on an event loop.
    package func knownAPIKey(_ token: String) -> (org: String, accountID: String, app: String?)?? {
        guard token.utf8.count < 200,
            let known = apiKeyAnswers.lookup(Digest.sha256.hash(token), generation: db.writeGeneration)
        else { return nil }
        return .some(known.map { ($0.org, $0.accountID, $0.app) })
    }

    /// What the gateway calls with a bearer token: the key's org and member, if the key is live, the member
    /// still belongs to the org, and (for an app-scoped key) still has the app.
    package func authenticateAPIKey(_ token: String) async throws -> (org: String, accountID: String, app: String?)? {
        // The secret is base64url and may itself contain "_": split off only the first three fields.
        let parts = token.split(separator: "_", maxSplits: 3, omittingEmptySubsequences: false)
        guard token.utf8.count < 200, parts.count == 4, parts[0] == "ghk", parts[1] == region.rawValue,
            parts[2].count == 20, parts[2].allSatisfy({ $0.isLetter || $0.isNumber })
        else { return nil }
        let id = "key_\(parts[2])"
        let secret = String(parts[3])
        // Answers are remembered per token digest, tagged with the write generation read first: any committed
        // write in this region (a revocation, a removal, a lost app grant) makes every entry stale at once, so a
        // dead key is refused by the very next request, as rule 6 wants.
        let digest = Digest.sha256.hash(token)
        let generation = db.writeGeneration
        if let known = apiKeyAnswers.lookup(digest, generation: generation) {
            return known.map { ($0.org, $0.accountID, $0.app) }
        }
        let answer = try await db.read { conn -> (org: String, accountID: String, app: String?)? in
            guard
                let row = try conn.first(
                    """
                    SELECT k.org_id, k.account_id, k.app_id, k.secret_hash, k.revoked_at,
                           (SELECT rowid FROM members m WHERE m.org_id = k.org_id AND m.account_id = k.account_id
                            AND m.deactivated_at IS NULL) AS \
                           member_rowid
                    FROM api_keys k WHERE k.id = ?
                    """, [id])
            else { return nil }
            guard ConstantTime.equals(row.blob("secret_hash") ?? [], Digest.sha256.hash(secret)),
                row.int("revoked_at") == nil, let rowid = row.int("member_rowid")
            else { return nil }
            if let app = row.string("app_id") {
                guard
                    try conn.first("SELECT 1 FROM app_grants WHERE app_id = ? AND member_rowid = ?", [app, rowid])
                        != nil
                else { return nil }
            }
            return (row.string("org_id") ?? "", row.string("account_id") ?? "", row.string("app_id"))
        }
        apiKeyAnswers.store(
            answer.map { APIKeyAnswer(org: $0.org, accountID: $0.accountID, app: $0.app) }, for: digest,
            generation: generation)
        return answer
    }
}
