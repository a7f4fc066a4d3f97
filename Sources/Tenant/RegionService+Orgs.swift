import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

extension RegionService {
    /// A fast path for hot reads: the org as a member sees it, read on the calling thread (an indexed lookup).
    package func orgNow(_ caller: Caller, org: OrgID) throws -> OrgView {
        try checkScope(org, caller)
        let generation = db.writeGeneration
        if let known = try rememberedOrgView(caller, org, generation) { return known }
        return try db.readNow(singleStatement: true) { try self.readOrgView($0, caller, org, generation) }
    }

    /// The same from an async handler: the read on a reader thread unless reads are local.
    package func org(_ caller: Caller, org: OrgID) async throws -> OrgView {
        try checkScope(org, caller)
        let generation = db.writeGeneration
        if let known = try rememberedOrgView(caller, org, generation) { return known }
        return try await db.lookup { try self.readOrgView($0, caller, org, generation) }
    }

    /// From the membership row remembered for this generation, when it decides without the store.
    private func rememberedOrgView(_ caller: Caller, _ org: OrgID, _ generation: UInt64) throws -> OrgView? {
        guard let cached = accessRows.lookup(AccessRowKey(org: org, account: caller.accountID), generation: generation),
            let a = try? evaluateOrNeedsStore(cached, org, caller)
        else { return nil }
        try Rules.requires(.orgView, a.actor).orThrow()
        return OrgView(
            id: a.orgID, name: a.name, region: region, status: a.status, createdAt: Self.date(a.createdAt),
            memberCount: nil)
    }

    /// No explicit transaction: `access` is one SELECT, plus one for the org's custom roles when the caller holds
    /// one. A role changed between the two can only make a custom role unknown (refused), never grant more than
    /// either version did, and this view shows only the org's own fields.
    private func readOrgView(
        _ conn: SQLConnection, _ caller: Caller, _ org: OrgID, _ generation: UInt64
    ) throws
        -> OrgView
    {
        let row = try memberRow(conn, org, caller.accountID)
        accessRows.store(row, for: AccessRowKey(org: org, account: caller.accountID), generation: generation)
        let a = try evaluate(row, conn, org, caller, fullCatalog: false)
        try Rules.requires(.orgView, a.actor).orThrow()
        return OrgView(
            id: a.orgID, name: a.name, region: region, status: a.status, createdAt: Self.date(a.createdAt),
            memberCount: nil)
    }

    /// `evaluate` without a store: nil when the member holds a custom role (then the store is read).
    private func evaluateOrNeedsStore(_ row: MemberAccessRow?, _ org: OrgID, _ caller: Caller) throws -> OrgAccess? {
        do { return try evaluate(row, nil, org, caller, fullCatalog: false) } catch is NeedsStore {
            return nil
        }
    }

    /// Every membership of an account in this region, with its org (for `/api/v1/me` and the org picker).
    package func memberships(accountID: String) async throws -> [MembershipSummary] {
        try await db.read { conn in try self.memberships(conn, accountID: accountID) }
    }

    func memberships(_ conn: SQLConnection, accountID: String) throws -> [MembershipSummary] {
        var out: [MembershipSummary] = []
        try conn.forEach(
            """
            SELECT o.id, o.name, o.status, m.roles, m.sso_only, m.starting_page FROM members m JOIN orgs o ON o.id \
            = m.org_id
            WHERE m.account_id = ? AND m.deactivated_at IS NULL ORDER BY o.name
            """, [accountID]
        ) {
            out.append(
                MembershipSummary(
                    orgID: $0.string(0), orgName: $0.string(1), region: self.region,
                    status: OrgStatus(stored: $0.string(2)),
                    roles: JSONColumn.readList($0.string(3)), ssoOnly: $0.int(4) != 0,
                    startingPage: StartingPage(rawValue: $0.string(5)) ?? .studio))
        }
        return out
    }

    /// What a person's home page and `/me` need from this region, in one read: their memberships and the live
    /// invitations for their address.
    package func accountOverview(accountID: String, email: String) async throws -> AccountOverview {
        let now = clock.now()
        return try await db.read { conn in try self.accountOverview(conn, accountID: accountID, email: email, now: now)
        }
    }

    /// The same read on the caller's thread (two indexed queries): what `/me` uses when the region is in this
    /// process.
    /// Every page load asks it, so the answer is remembered until this region's next write, and for at most a
    /// second (an invitation's expiry changes it without a write).
    package func accountOverviewNow(accountID: String, email: String) throws -> AccountOverview {
        let now = clock.now()
        let key = OverviewKey(accountID: accountID, email: email)
        let generation = db.writeGeneration
        if let (known, at) = overviews.lookup(key, generation: generation),
            RememberedAnswer.isFresh(storedAt: at, now: now)
        {
            return known
        }
        let answer = try db.readNow { conn in
            try self.accountOverview(conn, accountID: accountID, email: email, now: now)
        }
        overviews.store((answer, now), for: key, generation: generation)
        return answer
    }

    func accountOverview(
        _ conn: SQLConnection, accountID: String, email: String, now: Date
    ) throws -> AccountOverview {
        AccountOverview(
            memberships: try memberships(conn, accountID: accountID),
            pendingInvites: try pendingInvites(conn, email: email, now: now).map(pendingSummary))
    }

    /// An invitation as the invitee's home page lists it (with the link token, for the invitee only).
    func pendingSummary(_ p: (invite: InviteView, orgName: String)) -> PendingInviteSummary {
        PendingInviteSummary(
            inviteID: p.invite.id, orgID: p.invite.orgID, orgName: p.orgName, roles: p.invite.roles,
            inviterName: p.invite.inviterName, expiresAt: p.invite.expiresAt, token: link(for: p.invite).token)
    }

    static func validOrgName(_ name: String) throws -> String {
        guard let n = try? DisplayName.validated(name, max: 100) else {
            throw GatehouseError.validation(
                "The organization name must be 1–100 characters, without line breaks or control characters.")
        }
        return n
    }

    package func renameOrg(_ caller: Caller, org: OrgID, name: String) async throws -> OrgView {
        let name = try Self.validOrgName(name)
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .orgRename)
            try conn.run("UPDATE orgs SET name = ? WHERE id = ?", [name, org])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "org.renamed", target: org.raw,
                ["before": a.name, "after": name])
            return OrgView(
                id: org.raw, name: name, region: self.region, status: a.status, createdAt: Self.date(a.createdAt),
                memberCount: nil)
        }
    }

    // MARK: - Region admins

    /// Provisions an org in this region and invites its first owner (rule 5: the person it is created for
    /// becomes its owner, through an invite).
    package func provisionOrg(
        _ caller: Caller, region: String, request: ProvisionRequest
    ) async throws -> ProvisionResult {
        try requireRegionAdmin(caller, region)
        let name = try Self.validOrgName(request.name)
        try PersonName.validate(request.ownerFirstName, request.ownerLastName)
        let owner = Email.normalize(request.ownerEmail.trimmingCharacters(in: .whitespaces))
        guard Email.isValid(owner) else {
            throw GatehouseError.validation("`ownerEmail` is not a valid email address.")
        }
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        guard let orgID = OrgID.make(in: self.region, random: IDs.random(SecureRandom.bytes(16), length: 16)) else {
            throw GatehouseError.internalError(detail: "org id")
        }
        let inviteID = randomID("inv_")
        let inviterName = caller.inviterName
        return try await db.write { conn in
            try conn.run(
                "INSERT INTO orgs (id, name, status, created_at) VALUES (?, ?, 'active', ?)", [orgID.raw, name, nowS])
            try Self.addStartingPages(conn, org: orgID.raw, at: nowS)
            try conn.run(
                """
                INSERT INTO invites (id, org_id, email, roles, sso_only, first_name, last_name, user_vars, \
                starting_page, apps,
                                     inviter_id, inviter_name, status, version, created_at, expires_at, updated_at)
                VALUES (?, ?, ?, '["owner"]', 0, ?, ?, '{}', 'console', '[]', ?, ?, 'pending', 1, ?, ?, ?)
                """,
                [
                    inviteID, orgID.raw, owner, request.ownerFirstName ?? "", request.ownerLastName ?? "",
                    caller.accountID, inviterName,
                    nowS, nowS + Int(self.settings.inviteTTL), nowS,
                ])
            try self.enqueueMail(
                conn, org: orgID, kind: "invite", to: owner,
                payload: [
                    "invite": inviteID, "version": "1", "org": name, "inviter": inviterName,
                    "inviterEmail": caller.email,
                    "roles": "Owner",
                ], at: nowS)
            try self.audit(
                conn, org: orgID, at: nowS, actor: caller.accountID, action: "org.provisioned", target: orgID.raw,
                ["name": name, "owner": owner])
            guard let inv = try self.loadInvite(conn, id: inviteID, now: now) else {
                throw GatehouseError.internalError(detail: "invite vanished")
            }
            return ProvisionResult(
                org: OrgView(
                    id: orgID.raw, name: name, region: self.region, status: .active, createdAt: now, memberCount: 0),
                ownerInvite: inv, ownerInviteURL: self.link(for: inv).url)
        }
    }

    package func listOrgs(_ caller: Caller, region: String, cursor: String?, limit: Int = 50) async throws -> OrgPage {
        try requireRegionAdmin(caller, region)
        guard (1...settings.maxPageSize).contains(limit) else {
            throw GatehouseError.validation("`limit` must be 1–\(settings.maxPageSize).")
        }
        var after: String?
        if let cursor {
            guard let d = Base64URL.decode(cursor), let s = String(bytes: d, encoding: .utf8), OrgID(s) != nil else {
                throw GatehouseError.badRequest("The cursor is not valid; start again from the first page.")
            }
            after = s
        }
        let start = after ?? ""
        return try await db.read { conn in
            let roles = conn.dialect.jsonArray("i.roles", as: "j")
            var out: [OrgView] = []
            try conn.forEach(
                """
                SELECT \(Self.orgColumns),
                       (SELECT m.email FROM member_roles r JOIN members m ON m.rowid = r.member_rowid
                        WHERE r.org_id = o.id AND r.role_id = 'owner' ORDER BY m.rowid LIMIT 1),
                       (SELECT i.email || '\t' || i.expires_at FROM invites i, \(roles)
                        WHERE i.org_id = o.id AND i.status = 'pending' AND j.value = 'owner'
                        ORDER BY i.created_at DESC LIMIT 1)
                FROM orgs o WHERE o.id > ? ORDER BY o.id LIMIT \(limit + 1)
                """, [start]
            ) {
                var view = self.orgView($0)
                if let owner = $0.optionalString(5) {
                    view.owner = OwnerState(email: owner, joined: true, inviteExpiresAt: nil)
                } else if let pending = $0.optionalString(6) {
                    let parts = pending.split(separator: "\t")
                    view.owner = OwnerState(
                        email: String(parts.first ?? ""), joined: false,
                        inviteExpiresAt: parts.count > 1 ? Self.date(Int(parts[1]) ?? 0) : nil)
                }
                out.append(view)
            }
            var next: String?
            if out.count > limit {
                out.removeLast()
                next = out.last.map { Base64URL.encode(Array($0.id.utf8)) }
            }
            return OrgPage(orgs: out, nextCursor: next)
        }
    }

    /// The columns `orgView` reads, first in a region admin's org queries.
    static let orgColumns =
        "o.id, o.name, o.status, o.created_at, (SELECT count(*) FROM members m WHERE m.org_id = o.id)"

    func orgView(_ st: Statement) -> OrgView {
        OrgView(
            id: st.string(0), name: st.string(1), region: region, status: OrgStatus(stored: st.string(2)),
            createdAt: Self.date(st.int(3)), memberCount: st.int(4))
    }

    /// One org of the region as its region admin sees it (the delete confirmation names it).
    package func regionOrg(_ caller: Caller, region: String, org: OrgID) async throws -> OrgView {
        try requireRegionAdmin(caller, region)
        return try await db.read { conn in
            var found: OrgView?
            try conn.forEach("SELECT \(Self.orgColumns) FROM orgs o WHERE o.id = ?", [org]) {
                found = self.orgView($0)
            }
            guard let found else { throw Refusal.notFound.error }
            return found
        }
    }

    /// A suspended org refuses every call but region admin calls.
    package func setOrgStatus(_ caller: Caller, region: String, org: OrgID, suspended: Bool) async throws -> OrgView {
        try requireRegionAdmin(caller, region)
        let now = nowSeconds
        return try await db.write { conn in
            guard org.region == self.region,
                let row = try conn.first("SELECT name, created_at FROM orgs WHERE id = ?", [org])
            else {
                throw GatehouseError.notFound("No such organization in this region.")
            }
            try conn.run(
                "UPDATE orgs SET status = ? WHERE id = ?", [(suspended ? OrgStatus.suspended : .active).rawValue, org])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID,
                action: suspended ? "org.suspended" : "org.reactivated", target: org.raw)
            return OrgView(
                id: org.raw, name: row.string("name") ?? "", region: self.region,
                status: suspended ? .suspended : .active,
                createdAt: Self.date(row.int("created_at") ?? 0), memberCount: nil)
        }
    }

    /// Deletes an org and all its data; the caller types the org's name to confirm.
    package func deleteOrg(_ caller: Caller, region: String, org: OrgID, confirmName: String) async throws {
        try requireRegionAdmin(caller, region)
        try await db.write { conn in
            guard org.region == self.region,
                let row = try conn.first("SELECT name FROM orgs WHERE id = ?", [org])
            else {
                throw GatehouseError.notFound("No such organization in this region.")
            }
            guard row.string("name") == confirmName else {
                throw GatehouseError.validation("Type the organization's name exactly to confirm deletion.")
            }
            try Self.removeOrg(conn, org)
        }
    }

    /// An owner deletes their own org (`org.delete`, owners only), typing its name: the same removal as the
    /// region admin's, everything in one transaction.
    package func deleteOwnOrg(_ caller: Caller, org: OrgID, confirmName: String) async throws {
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            try Rules.requires(.orgDelete, a.actor).orThrow()
            guard a.name == confirmName else {
                throw GatehouseError.validation("Type the organization's name exactly to confirm deletion.")
            }
            try Self.removeOrg(conn, org)
        }
    }

    /// Everything of an org, gone (the search indexes have no foreign keys to cascade from).
    static func removeOrg(_ conn: SQLConnection, _ org: OrgID) throws {
        if conn.dialect == .sqlite {
            try conn.run("DELETE FROM member_tri WHERE rowid IN (SELECT rowid FROM members WHERE org_id = ?)", [org])
            try conn.run("DELETE FROM member_chars WHERE rowid IN (SELECT rowid FROM members WHERE org_id = ?)", [org])
        }
        try conn.run("DELETE FROM member_roles WHERE org_id = ?", [org])
        try conn.run("DELETE FROM audit_events WHERE org_id = ?", [org])
        try conn.run("DELETE FROM outbox WHERE org_id = ?", [org])
        try conn.run("DELETE FROM orgs WHERE id = ?", [org])
    }
}
