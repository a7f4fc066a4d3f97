import Crypto
import Foundation
import GatehouseCore
import Store
import Synchronization
import TenantAPI
import TenantDomain

/// Settings of a region tenant.
package struct RegionSettings: Sendable {
    /// How long an invite link stays valid (72 h by default).
    package var inviteTTL: TimeInterval = 72 * 3600
    /// Base of the links in invite mail and "copy link": `<base>/invite/<token>`.
    package var publicBaseURL = "http://127.0.0.1:8080"
    /// Most addresses in one invite request, and most members in one bulk change.
    package var maxInvitesPerRequest = ListLimits.invites
    package var maxBulkMembers = ListLimits.bulkMembers
    package var maxPageSize = 200
    package init() {}
}

/// One region's tenant service: every org of the region, in the region's own SQLite database.
///
/// Each write runs in one `BEGIN IMMEDIATE` transaction on the store's writer thread: the rows are read, the
/// rules (`Rules`, pure functions) decide, the change and its audit event (and outbox mail) are written, and
/// the transaction commits — or nothing at all happens.
package final class RegionService: Sendable {
    package let region: Region
    package let db: Database
    let clock: any WallClock
    package let tokens: InviteTokens
    package let settings: RegionSettings
    /// Members' last use of their org, written in batches (see `ActivityRecorder`).
    package let activity: ActivityRecorder
    /// Membership rows for `orgNow`, current until the next committed write.
    let accessRows = GenerationCache<AccessRowKey, MemberAccessRow?>(capacity: 50_000)
    /// API-key answers by token digest, current until the next committed write.
    let apiKeyAnswers = GenerationCache<[UInt8], APIKeyAnswer?>(capacity: 50_000)
    /// `accountOverviewNow` answers with the time they were read, current until the next committed write.
    let overviews = GenerationCache<OverviewKey, (AccountOverview, Date)>(capacity: 20_000)

    package init(
        region: Region, db: Database, clock: any WallClock = SystemClock(), tokens: InviteTokens,
        settings: RegionSettings = RegionSettings()
    ) {
        self.region = region
        self.db = db
        self.activity = ActivityRecorder(db: db)
        self.clock = clock
        self.tokens = tokens
        self.settings = settings
    }

    package static func openDatabase(path: String, options: Database.Options = Database.Options()) throws -> Database {
        try Database(path: path, migrations: RegionSchema.migrations, options: options)
    }

    var nowSeconds: Int { Int(clock.now().timeIntervalSince1970) }

    func randomID(_ prefix: String) -> String { prefix + IDs.random(SecureRandom.bytes(20)) }
}

// MARK: - Access

/// An org as the caller may act on it: the org row, the caller as a rules actor, and the org's roles.
/// The row behind every org access check.
struct MemberAccessRow: Sendable {
    let name: String
    let status: OrgStatus
    let created: Int
    let rowid: Int64
    let roles: String
    let ssoOnly: Bool
    /// The agency this membership is affiliated with (agency people: `AgencyRules`), nil for org staff.
    var agency: String? = nil
}

/// Bearer-key answers (and refusals) by token digest, valid only while no write has committed in this region
/// since they were read (`GenerationCache`). Never holds a secret, only its SHA-256.
struct APIKeyAnswer: Sendable, Equatable {
    let org: String
    let accountID: String
    let app: String?
}

/// Membership rows (and "not a member" answers) for the hottest read, valid only while no write has committed in
/// this region since they were read (`GenerationCache`): a removal, a role change or a suspension is seen by the
/// very next request.
struct AccessRowKey: Hashable, Sendable {
    let org: OrgID
    let account: String
}

struct OverviewKey: Hashable, Sendable {
    let accountID: String
    let email: String
}

/// Thrown by `evaluate` without a connection when the answer needs the store (a custom role).
struct NeedsStore: Error {}

struct OrgAccess {
    let orgID: String
    let name: String
    let status: OrgStatus
    let createdAt: Int
    let actor: Rules.Actor
    let actorRowID: Int64
    let catalog: RoleCatalog
    /// The caller's agency, when they are agency people (see `AgencyRules`).
    var agency: String? = nil
}

extension RegionService {
    /// Resolves the org for a member caller. Unknown org, an org of another region, and an org the caller is not
    /// a member of all answer the same 404 (rule 10: existence does not leak). A suspended org refuses.
    /// - Parameter fullCatalog: false when only the caller's own permissions matter (then custom roles are read
    ///   only if the caller holds one); true whenever other members' or requested roles will be resolved.
    func access(
        _ conn: SQLConnection, _ orgID: OrgID, _ caller: Caller, fullCatalog: Bool = true
    ) throws -> OrgAccess {
        try checkScope(orgID, caller)
        return try evaluate(try memberRow(conn, orgID, caller.accountID), conn, orgID, caller, fullCatalog: fullCatalog)
    }

    /// Before any row is read: the org must be of this region; an SSO session answers only for its own org (as
    /// if signed out elsewhere, whether or not the org exists); an API key knows its own org only (404).
    func checkScope(_ orgID: OrgID, _ caller: Caller) throws {
        guard orgID.region == region else { throw Refusal.notFound.error }
        if let home = caller.authMethod.ssoOrg, home != orgID.raw {
            throw Refusal.orgSignInRequired(orgID.raw).error
        }
        guard caller.scopeOrg == nil || caller.scopeOrg == orgID.raw else { throw Refusal.notFound.error }
    }

    /// What an app-scoped API key may do in its org: read it, and nothing that changes members, roles or keys.
    static let appKeyCeiling: PermissionSet = [.orgView, .membersView, .dataEdit]

    /// The caller's membership row in the org (nil: not a member, or no such org).
    func memberRow(_ conn: SQLConnection, _ orgID: OrgID, _ accountID: String) throws -> MemberAccessRow? {
        var found: MemberAccessRow?
        try conn.forEach(
            """
            SELECT o.name, o.status, o.created_at, m.rowid, m.roles, m.sso_only, m.agency_id FROM orgs o \
            JOIN members m ON m.org_id = o.id
            WHERE o.id = ? AND m.account_id = ? AND m.deactivated_at IS NULL
            """, [orgID, accountID]
        ) { s in
            found = MemberAccessRow(
                name: s.string(0), status: OrgStatus(stored: s.string(1)), created: s.int(2), rowid: s.int64(3),
                roles: s.string(4),
                ssoOnly: s.int(5) != 0, agency: s.isNull(6) ? nil : s.string(6))
        }
        return found
    }

    /// The checks every org request makes, on a membership row. `conn` is needed only to read custom roles.
    func evaluate(
        _ found: MemberAccessRow?, _ conn: SQLConnection?, _ orgID: OrgID, _ caller: Caller, fullCatalog: Bool
    ) throws -> OrgAccess {
        guard let org = found else { throw Refusal.notFound.error }
        if org.status == .suspended { throw Refusal.orgSuspended.error }
        // Rule 9 and the IdP's reach: an SSO-only membership opens only to a session this org's SSO made.
        try Rules.reach(caller.authMethod, org: orgID.raw, ssoOnly: org.ssoOnly).orThrow()
        activity.note(org: orgID, account: caller.accountID, at: Int(clock.now().timeIntervalSince1970))
        let roles = JSONColumn.readList(org.roles)
        // Custom roles are read only when needed: most requests come from members holding built-in roles.
        let catalog: RoleCatalog
        if !fullCatalog && roles.allSatisfy({ Role.builtIn($0) != nil }) {
            catalog = RoleCatalog(custom: [])
        } else if let conn {
            catalog = try loadCatalog(conn, orgID)
        } else {
            throw NeedsStore()
        }
        var permissions = catalog.permissions(of: roles)
        if caller.scopeApp != nil { permissions = permissions.intersection(Self.appKeyCeiling) }
        return OrgAccess(
            orgID: orgID.raw, name: org.name, status: org.status, createdAt: org.created,
            actor: Rules.Actor(accountID: caller.accountID, permissions: permissions),
            actorRowID: org.rowid, catalog: catalog, agency: org.agency)
    }

    /// Like `access`, and the caller must hold `permission` (403 when they are a member without it).
    func access(
        _ conn: SQLConnection, _ orgID: OrgID, _ caller: Caller, requiring permission: Permission,
        fullCatalog: Bool = true
    ) throws -> OrgAccess {
        let a = try access(conn, orgID, caller, fullCatalog: fullCatalog)
        try Rules.requires(permission, a.actor).orThrow()
        return a
    }

    /// Region admin operations: the caller must be a region admin of this region, else 403 (no org facts given).
    func requireRegionAdmin(_ caller: Caller, _ region: String) throws {
        guard let r = Region(rawValue: region) else { throw GatehouseError.notFound("No such region.") }
        guard caller.regionAdminOf == r, r == self.region else {
            throw GatehouseError.forbidden("Only an admin of the \(r.rawValue) region can do that.")
        }
    }

    func loadCatalog(_ conn: SQLConnection, _ orgID: OrgID) throws -> RoleCatalog {
        let rows = try conn.query(
            "SELECT id, name, permissions FROM custom_roles WHERE org_id = ? ORDER BY id", [orgID])
        return RoleCatalog(
            custom: rows.map {
                Role(
                    id: $0.string("id") ?? "", name: $0.string("name") ?? "",
                    permissions: Set(
                        JSONColumn.readList($0.string("permissions") ?? "[]").compactMap(Permission.init(rawValue:))),
                    builtIn: false)
            })
    }

    /// Resolves role ids against the catalog; unknown ids are a 422 naming them.
    func resolveRoles(_ ids: [String], _ catalog: RoleCatalog) throws -> [Role] {
        guard ids.count <= ListLimits.roles else {
            throw GatehouseError.validation("At most \(ListLimits.roles) roles in one request.")
        }
        var out: [Role] = []
        var seen = Set<String>()
        for id in ids where !seen.contains(id) {
            seen.insert(id)
            guard let r = catalog.role(id) else { throw GatehouseError.validation("Unknown role `\(id)`.") }
            out.append(r)
        }
        return out
    }

    func ownerCount(_ conn: SQLConnection, _ orgID: OrgID) throws -> Int {
        try conn.first("SELECT count(*) FROM member_roles WHERE org_id = ? AND role_id = 'owner'", [orgID])?.int(0) ?? 0
    }

    static func date(_ seconds: Int) -> Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
}

// MARK: - Audit

extension RegionService {
    /// Appends an audit event in the caller's transaction: it commits or rolls back with the change it records.
    func audit(
        _ conn: SQLConnection, org: OrgID, at: Int, actor: String, action: String, target: String,
        _ summary: [String: String] = [:]
    ) throws {
        try conn.run(
            "INSERT INTO audit_events (org_id, at, actor, action, target, summary) VALUES (?, ?, ?, ?, ?, ?)",
            [org, at, actor, action, target, JSONColumn.map(summary)])
    }

    /// Queues a mail in the caller's transaction (the sender delivers it after commit, with retries).
    func enqueueMail(
        _ conn: SQLConnection, org: OrgID, kind: String, to: String, payload: [String: String], at: Int
    ) throws {
        try conn.run(
            "INSERT INTO outbox (org_id, kind, recipient, payload, created_at, next_attempt_at) VALUES (?, ?, ?, ?,"
                + " ?, ?)",
            [org, kind, to, JSONColumn.map(payload), at, at])
    }
}

/// App grants in an invite row: written by hand (a 10,000-address invite writes one per row).
extension JSONColumn {
    package static func grants(_ g: [AppGrant]) -> String {
        "[" + g.map { "{\"app\":\(JSONText.quote($0.app)),\"role\":\"\($0.role.rawValue)\"}" }.joined(separator: ",")
            + "]"
    }
    package static func readGrants(_ s: String) -> [AppGrant] {
        if s == "[]" { return [] }
        return read([AppGrant].self, s) ?? []
    }
}

extension OrgID {
    /// An id this region wrote itself (a row, a value it built): one that does not parse is a corrupted store,
    /// answered as a 500, never as another org.
    static func stored(_ s: String) throws -> OrgID {
        guard let id = OrgID(s) else { throw GatehouseError.internalError(detail: "stored org id does not parse") }
        return id
    }
}

/// An org id binds as its text: the store keeps ids as TEXT.
extension OrgID: SQLBindable {
    package var sqlValue: SQLValue { .text(raw) }
}
