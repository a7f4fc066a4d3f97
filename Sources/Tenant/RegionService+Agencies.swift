import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

/// Agencies (see `AgencyRules`): the region's register kept by its admin, requests from orgs, the agencies working
/// for an org, the agency grant (apps to existing agency people at once, an invite carrying apps and affiliation to
/// others), and taking access back — per person, per app, or for a whole agency at once.
extension RegionService {
    // MARK: - The register (region admin)

    package func listAgencies(_ caller: Caller, region: String) async throws -> [AgencyView] {
        try requireRegionAdmin(caller, region)
        return try await db.read { conn in
            try conn.query(
                "SELECT a.id, a.name, a.domains, a.created_at, (SELECT count(*) FROM org_agencies o WHERE o.agency_id ="
                    + " a.id) AS n FROM agencies a ORDER BY a.name, a.id"
            ).map { Self.agency($0, orgCount: $0.int("n")) }
        }
    }

    package func createAgency(_ caller: Caller, region: String, body: AgencyBody) async throws -> AgencyView {
        try requireRegionAdmin(caller, region)
        let (name, domains) = try Self.validAgency(body, requireAll: true)
        let now = nowSeconds
        let id = randomID("agy_")
        return try await db.write { conn in
            try Self.refuseTakenDomains(conn, domains ?? [], except: nil)
            try conn.run(
                "INSERT INTO agencies (id, name, domains, created_at) VALUES (?, ?, ?, ?)",
                [id, name ?? "", JSONColumn.list(domains ?? []), now])
            return AgencyView(id: id, name: name ?? "", domains: domains ?? [], createdAt: Self.date(now), orgCount: 0)
        }
    }

    package func updateAgency(
        _ caller: Caller, region: String, agency: String, body: AgencyBody
    ) async throws
        -> AgencyView
    {
        try requireRegionAdmin(caller, region)
        let (name, domains) = try Self.validAgency(body, requireAll: false)
        return try await db.write { conn in
            guard var a = try Self.loadAgency(conn, agency) else { throw Self.noSuchAgency }
            if let domains { try Self.refuseTakenDomains(conn, domains, except: agency) }
            a = AgencyView(
                id: a.id, name: name ?? a.name, domains: domains ?? a.domains, createdAt: a.createdAt,
                orgCount: a.orgCount)
            try conn.run(
                "UPDATE agencies SET name = ?, domains = ? WHERE id = ?", [a.name, JSONColumn.list(a.domains), agency])
            return a
        }
    }

    /// Deletes an agency nobody uses: refused (409) while it works for an org or has people anywhere.
    package func deleteAgency(_ caller: Caller, region: String, agency: String) async throws {
        try requireRegionAdmin(caller, region)
        try await db.write { conn in
            guard try Self.loadAgency(conn, agency) != nil else { throw Self.noSuchAgency }
            let orgs = try conn.first("SELECT count(*) FROM org_agencies WHERE agency_id = ?", [agency])?.int(0) ?? 0
            let people = try conn.first("SELECT count(*) FROM members WHERE agency_id = ?", [agency])?.int(0) ?? 0
            guard orgs == 0 && people == 0 else {
                throw GatehouseError(
                    .init("agency_in_use"), status: 409,
                    "This agency works for \(orgs) organization(s) and has \(people) member(s); remove it from those"
                        + " organizations first.")
            }
            try conn.run("UPDATE agency_requests SET agency_id = NULL WHERE agency_id = ?", [agency])
            try conn.run("DELETE FROM agencies WHERE id = ?", [agency])
        }
    }

    package func listAgencyRequests(
        _ caller: Caller, region: String, status: AgencyRequestStatus?
    ) async throws -> [AgencyRequestView] {
        try requireRegionAdmin(caller, region)
        return try await db.read { conn in
            try Self.requests(conn, org: nil, status: status)
        }
    }

    /// Approves (`approve`) or declines a request: the agency is created (or the named existing one used) and
    /// starts working for the org; either way the request is closed, audited in the org, and its requester mailed.
    package func decideAgencyRequest(
        _ caller: Caller, region: String, request id: String, approve: Bool, body: AgencyDecisionBody
    ) async throws -> AgencyRequestView {
        try requireRegionAdmin(caller, region)
        let reason = (body.reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard reason.count <= 500 else { throw GatehouseError.validation("`reason` must be at most 500 characters.") }
        let now = nowSeconds
        let newID = randomID("agy_")
        return try await db.write { conn in
            guard let r = try Self.requests(conn, org: nil, status: nil, id: id).first else {
                throw GatehouseError.notFound("No such request.")
            }
            guard r.status == .pending else {
                throw GatehouseError(
                    .init("request_decided"), status: 409, "This request was already \(r.status.rawValue).")
            }
            let org = try OrgID.stored(r.orgID)
            var agencyID: String?
            if approve {
                if let existing = body.agencyID {
                    guard try Self.loadAgency(conn, existing) != nil else { throw Self.noSuchAgency }
                    agencyID = existing
                } else {
                    try Self.refuseTakenDomains(conn, r.domains, except: nil)
                    try conn.run(
                        "INSERT INTO agencies (id, name, domains, created_at) VALUES (?, ?, ?, ?)",
                        [newID, r.name, JSONColumn.list(r.domains), now])
                    agencyID = newID
                }
                try conn.run(
                    "INSERT INTO org_agencies (org_id, agency_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [org, agencyID!, now])
            }
            try conn.run(
                "UPDATE agency_requests SET status = ?, agency_id = ?, reason = ?, decided_at = ? WHERE id = ?",
                [approve ? "approved" : "declined", agencyID, reason, now, id])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID,
                action: approve ? "agency.request_approved" : "agency.request_declined", target: agencyID ?? id,
                ["name": r.name, "reason": reason])
            try self.enqueueMail(
                conn, org: org, kind: "agency_request", to: r.requesterEmail,
                payload: [
                    "org": r.orgName, "agency": r.name, "approved": approve ? "1" : "0", "reason": reason,
                ], at: now)
            guard let decided = try Self.requests(conn, org: nil, status: nil, id: id).first else {
                throw GatehouseError.notFound("No such request.")
            }
            return decided
        }
    }

    // MARK: - An org's agencies (staff with apps.grant)

    /// The agencies working for the org, each with its people there (members and open agency invites). Agency
    /// people get their own agency only (the people they can see anyway).
    package func orgAgencies(_ caller: Caller, org: OrgID) async throws -> [OrgAgencyView] {
        let now = nowSeconds
        return try await db.read { conn in
            let a = try self.agencyActor(conn, org, caller)
            if let mine = a.agency {
                try Rules.requires(.membersView, a.base).orThrow()
                return try self.orgAgencyViews(conn, org: org, now: now, only: mine)
            }
            try AgencyRules.manageAgencies(a).orThrow()
            return try self.orgAgencyViews(conn, org: org, now: now)
        }
    }

    func orgAgencyViews(_ conn: SQLConnection, org: OrgID, now: Int, only: String? = nil) throws -> [OrgAgencyView] {
        var agencies: [AgencyView] = []
        try conn.forEach(
            "SELECT a.id, a.name, a.domains, a.created_at FROM org_agencies o JOIN agencies a ON a.id = o.agency_id"
                + " WHERE o.org_id = ? ORDER BY a.name, a.id", [org]
        ) {
            agencies.append(
                AgencyView(
                    id: $0.string(0), name: $0.string(1), domains: JSONColumn.readList($0.string(2)),
                    createdAt: Self.date($0.int(3))))
        }
        if let only { agencies = agencies.filter { $0.id == only } }
        var people: [String: [AgencyPerson]] = [:]
        var rows: [MemberRows.Loaded] = []
        try conn.forEach(
            "SELECT \(MemberRows.columns) FROM members m WHERE m.org_id = ? AND m.agency_id IS NOT NULL ORDER BY"
                + " m.name_key", [org]
        ) { rows.append(MemberRows.read($0)) }
        let grants = try MemberRows.grants(conn, rowids: rows.map(\.rowid))
        for m in rows {
            let name = [m.firstName, m.lastName].filter { !$0.isEmpty }.joined(separator: " ")
            people[m.agency ?? "", default: []].append(
                AgencyPerson(
                    memberID: m.accountID, inviteID: nil, email: m.email, name: name.isEmpty ? m.email : name,
                    status: "joined", apps: grants[m.rowid] ?? []))
        }
        try conn.forEach(
            "SELECT id, email, first_name, last_name, apps, expires_at, agency_id FROM invites WHERE org_id = ? AND"
                + " status = 'pending' AND agency_id IS NOT NULL ORDER BY email", [org]
        ) {
            let name = [$0.string(2), $0.string(3)].filter { !$0.isEmpty }.joined(separator: " ")
            people[$0.string(6), default: []].append(
                AgencyPerson(
                    memberID: nil, inviteID: $0.string(0), email: $0.string(1),
                    name: name.isEmpty ? $0.string(1) : name,
                    status: $0.int(5) > now ? "pending" : "expired", apps: JSONColumn.readGrants($0.string(4))))
        }
        return agencies.map { OrgAgencyView(agency: $0, people: people[$0.id] ?? []) }
    }

    /// The region's register, for choosing an agency to add (staff with apps.grant).
    package func agencyRegister(_ caller: Caller, org: OrgID) async throws -> [AgencyView] {
        try await db.read { conn in
            try AgencyRules.manageAgencies(try self.agencyActor(conn, org, caller)).orThrow()
            return try conn.query("SELECT id, name, domains, created_at FROM agencies ORDER BY name, id").map {
                Self.agency($0, orgCount: nil)
            }
        }
    }

    package func addAgency(_ caller: Caller, org: OrgID, agency: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            try AgencyRules.manageAgencies(try self.agencyActor(conn, org, caller)).orThrow()
            guard let a = try Self.loadAgency(conn, agency) else { throw Self.noSuchAgency }
            guard
                try conn.run(
                    "INSERT INTO org_agencies (org_id, agency_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [org, agency, now]) == 1
            else { return }
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "agency.added", target: agency,
                ["name": a.name])
        }
    }

    /// Removes an agency from the org, atomically: every one of its people loses every app of the org and every
    /// API key (rule 6), its open invites are revoked, and it stops working for the org. The people stay members
    /// with their agency limits (an admin removes them from the org if wanted).
    package func removeAgency(_ caller: Caller, org: OrgID, agency: String) async throws -> [AgencyPerson] {
        let now = nowSeconds
        return try await db.write { conn in
            let actor = try self.agencyActor(conn, org, caller)
            try AgencyRules.manageAgencies(actor).orThrow()
            guard let view = try self.orgAgencyViews(conn, org: org, now: now, only: agency).first else {
                throw Self.noSuchAgency
            }
            for p in view.people {
                if let id = p.memberID, let m = try MemberRows.load(conn, orgID: org, accountID: id) {
                    for g in p.apps {
                        try self.revoke(conn, org: org, app: g.app, member: m, at: now, actor: caller.accountID)
                    }
                    try MemberRows.revokeKeys(
                        conn, orgID: org, accountID: id, app: nil, at: now, reason: "agency_removed")
                } else if let invite = p.inviteID {
                    try conn.run(
                        "UPDATE invites SET status = 'revoked', version = version + 1, updated_at = ? WHERE id = ?",
                        [now, invite])
                }
            }
            try conn.run("DELETE FROM org_agencies WHERE org_id = ? AND agency_id = ?", [org, agency])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "agency.removed", target: agency,
                ["name": view.agency.name, "people": String(view.people.count)])
            return view.people
        }
    }

    /// Asks the region admin to register an agency the org cannot find.
    package func requestAgency(_ caller: Caller, org: OrgID, body: AgencyBody) async throws -> AgencyRequestView {
        let (name, domains) = try Self.validAgency(body, requireAll: true)
        let now = nowSeconds
        let id = randomID("agr_")
        return try await db.write { conn in
            let a = try self.agencyActor(conn, org, caller)
            try AgencyRules.manageAgencies(a).orThrow()
            let open =
                try conn.first("SELECT count(*) FROM agency_requests WHERE org_id = ? AND status = 'pending'", [org])?
                .int(0) ?? 0
            guard open < 20 else {
                throw GatehouseError(
                    .init("too_many_requests"), status: 429, "This organization has 20 requests waiting already.")
            }
            try conn.run(
                "INSERT INTO agency_requests (id, org_id, name, domains, requested_by, requester_email, status,"
                    + " created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)",
                [id, org, name ?? "", JSONColumn.list(domains ?? []), caller.accountID, caller.email, now])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "agency.requested", target: id,
                ["name": name ?? "", "domains": (domains ?? []).joined(separator: ",")])
            guard let r = try Self.requests(conn, org: org, status: nil, id: id).first else {
                throw GatehouseError.notFound("No such request.")
            }
            return r
        }
    }

    package func orgAgencyRequests(_ caller: Caller, org: OrgID) async throws -> [AgencyRequestView] {
        try await db.read { conn in
            try AgencyRules.manageAgencies(try self.agencyActor(conn, org, caller)).orThrow()
            return try Self.requests(conn, org: org, status: nil)
        }
    }

    // MARK: - Granting and taking back

    static var tooManyAgencyPeople: GatehouseError {
        .validation("At most \(ListLimits.agencyPeople) addresses at once.")
    }
    static var agencyAppCount: GatehouseError { .validation("Choose 1–\(ListLimits.agencyApps) apps.") }

    /// The agency grant: for each address, an agency member of this agency gets the apps at once; someone not in
    /// the org gets an invite (72 hours) that grants the apps and the affiliation on accept. Staff with
    /// `apps.grant` grant for any agency working for the org; agency people for their own, to addresses in its
    /// domains, with apps they hold at least at `role`. Per-address results; each address all or nothing.
    package func agencyGrant(
        _ caller: Caller, org: OrgID, agency: String, request: AgencyGrantRequest
    ) async throws -> AgencyGrantResult {
        let parsed: InviteAddressParser.Parsed
        switch request.emails {
        case .list(let l):
            guard l.count <= ListLimits.agencyPeople else { throw Self.tooManyAgencyPeople }
            parsed = InviteAddressParser.parse(list: l)
        case .text(let t):
            guard t.utf8.count <= ListLimits.agencyPeople * 256 else { throw Self.tooManyAgencyPeople }
            parsed = InviteAddressParser.parse(text: t)
        }
        guard !parsed.valid.isEmpty || !parsed.invalid.isEmpty else {
            throw GatehouseError.validation("Give at least one email address.")
        }
        guard parsed.valid.count + parsed.invalid.count <= ListLimits.agencyPeople else {
            throw Self.tooManyAgencyPeople
        }
        guard !request.apps.isEmpty, request.apps.count <= ListLimits.agencyApps else { throw Self.agencyAppCount }
        let apps = Array(Set(request.apps)).sorted()
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        let expires = nowS + 72 * 3600
        return try await db.write { conn in
            let actor = try self.agencyActor(conn, org, caller)
            guard
                try conn.first("SELECT 1 FROM org_agencies WHERE org_id = ? AND agency_id = ?", [org, agency]) != nil,
                let ag = try Self.loadAgency(conn, agency)
            else { throw Self.noSuchAgency }
            // An agency person asking for another agency learns nothing about it.
            if let mine = actor.agency, mine != agency { throw Self.noSuchAgency }
            for app in apps where try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [org, app]) == nil {
                throw GatehouseError.validation("Unknown app `\(app)`.")
            }
            let orgName = try conn.first("SELECT name FROM orgs WHERE id = ?", [org])?.string(0) ?? ""
            let catalog = try self.loadCatalog(conn, org)
            var results: [AgencyGrantOutcome] = []
            for email in parsed.valid {
                if case .refuse(let r) = AgencyRules.agencyInvite(
                    actor, agency: agency, agencyDomains: ag.domains, email: email, apps: apps, role: request.role)
                {
                    results.append(.init(email: email, result: .refused, message: r.message))
                    continue
                }
                if var m = try MemberRows.load(conn, email: email, orgID: org) {
                    // A member already, with an address of this agency: staff make them its people (affiliated)
                    // as they grant. Anyone else of the staff keeps their standing; apps come from their panel.
                    let domain = String(email.split(separator: "@").last ?? "")
                    if m.agency == nil, actor.agency == nil, ag.domains.contains(domain) {
                        if let r = AgencyRules.grantApp(
                            actor, try self.agencyTarget(conn, m, catalog: catalog), app: apps[0], role: request.role
                        ).refusal {
                            results.append(.init(email: email, result: .refused, message: r.message))
                            continue
                        }
                        try conn.run("UPDATE members SET agency_id = ? WHERE rowid = ?", [agency, m.rowid])
                        try self.audit(
                            conn, org: org, at: nowS, actor: caller.accountID, action: "agency.affiliated",
                            target: m.accountID, ["agency": agency])
                        m = try MemberRows.load(conn, orgID: org, accountID: m.accountID) ?? m
                    }
                    guard let theirs = m.agency else {
                        results.append(
                            .init(
                                email: email, result: .staffMember,
                                message: "A member of the organization's own staff: give apps from their panel."))
                        continue
                    }
                    guard theirs == agency else {
                        results.append(
                            .init(email: email, result: .otherAgency, message: "A member of another agency."))
                        continue
                    }
                    let target = try self.agencyTarget(conn, m, catalog: catalog)
                    if let refusal = apps.lazy.compactMap({
                        AgencyRules.grantApp(actor, target, app: $0, role: request.role).refusal
                    }).first {
                        results.append(.init(email: email, result: .refused, message: refusal.message))
                        continue
                    }
                    for app in apps {
                        try self.grant(
                            conn, org: org, app: app, member: m, role: request.role, at: nowS, actor: caller.accountID)
                    }
                    results.append(.init(email: email, result: .granted))
                    continue
                }
                if try conn.first(
                    "SELECT 1 FROM invites WHERE org_id = ? AND email = ? AND status = 'pending' AND expires_at > ?",
                    [org, email, nowS]) != nil
                {
                    results.append(.init(email: email, result: .alreadyInvited))
                    continue
                }
                let id = "inv_" + IDs.random(SecureRandom.bytes(20))
                let pasted = parsed.names[email]
                try conn.run(
                    """
                    INSERT INTO invites (id, org_id, email, roles, sso_only, first_name, last_name, user_vars, \
                    starting_page, apps, inviter_id, inviter_name, status, version, created_at, expires_at, \
                    updated_at, agency_id)
                    VALUES (?, ?, ?, ?, 0, ?, ?, '{}', ?, ?, ?, ?, 'pending', 1, ?, ?, ?, ?)
                    """,
                    [
                        id, org, email, JSONColumn.list(["member"]), pasted?.first ?? "", pasted?.last ?? "",
                        StartingPage.studio.rawValue,
                        JSONColumn.grants(apps.map { AppGrant(app: $0, role: request.role) }), caller.accountID,
                        caller.inviterName, nowS, expires, nowS, agency,
                    ])
                try self.enqueueMail(
                    conn, org: org, kind: "invite", to: email,
                    payload: [
                        "invite": id, "version": "1", "org": orgName, "inviter": caller.inviterName,
                        "inviterEmail": caller.email, "agency": ag.name,
                    ], at: nowS)
                try self.audit(
                    conn, org: org, at: nowS, actor: caller.accountID, action: "invite.created", target: email,
                    ["invite": id, "roles": "member", "agency": agency, "apps": apps.joined(separator: ",")])
                results.append(.init(email: email, result: .invited, inviteID: id))
            }
            for bad in parsed.invalid { results.append(.init(email: bad, result: .invalid)) }
            for dup in parsed.duplicates { results.append(.init(email: dup, result: .duplicate)) }
            return AgencyGrantResult(results: results)
        }
    }

    /// Takes app access from agency people of `agency`, all or nothing: every (person, app) is checked first; if
    /// one is refused nothing changes. Their API keys die with it (rule 6: an agency person's keys act for the apps
    /// they were given).
    package func agencyRevoke(_ caller: Caller, org: OrgID, agency: String, body: AgencyRevokeBody) async throws {
        guard !body.members.isEmpty, body.members.count <= ListLimits.agencyPeople else {
            throw GatehouseError.validation("Choose 1–\(ListLimits.agencyPeople) people.")
        }
        if let apps = body.apps, apps.count > ListLimits.agencyApps { throw Self.agencyAppCount }
        let now = nowSeconds
        try await db.write { conn in
            let actor = try self.agencyActor(conn, org, caller)
            if let mine = actor.agency, mine != agency { throw Self.noSuchAgency }
            let catalog = try self.loadCatalog(conn, org)
            var work: [(MemberRows.Loaded, [String])] = []
            for id in body.members {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: id), m.agency == agency else {
                    throw GatehouseError.notFound("No such member.")
                }
                let target = try self.agencyTarget(conn, m, catalog: catalog)
                let apps = (body.apps ?? target.apps.keys.sorted()).filter { target.apps[$0] != nil }
                for app in apps { try AgencyRules.revokeApp(actor, target, app: app).orThrow() }
                work.append((m, apps))
            }
            for (m, apps) in work where !apps.isEmpty {
                for app in apps {
                    try self.revoke(conn, org: org, app: app, member: m, at: now, actor: caller.accountID)
                }
                try MemberRows.revokeKeys(
                    conn, orgID: org, accountID: m.accountID, app: nil, at: now, reason: "app_revoked")
            }
        }
    }

    // MARK: - Helpers

    /// The caller as the agency rules see them: ordinary permissions, affiliation, and (agency people) the apps
    /// they hold.
    func agencyActor(_ conn: SQLConnection, _ org: OrgID, _ caller: Caller) throws -> AgencyRules.Actor {
        let a = try access(conn, org, caller)
        return try agencyActor(conn, a)
    }

    func agencyActor(_ conn: SQLConnection, _ a: OrgAccess) throws -> AgencyRules.Actor {
        guard a.agency != nil else { return AgencyRules.Actor(a.actor, agency: nil) }
        return AgencyRules.Actor(a.actor, agency: a.agency, apps: try Self.appRoles(conn, rowid: a.actorRowID))
    }

    /// The rules' view of a member acted on.
    func agencyTarget(
        _ conn: SQLConnection, _ m: MemberRows.Loaded, catalog: RoleCatalog
    ) throws
        -> AgencyRules.Target
    {
        AgencyRules.Target(
            accountID: m.accountID, agency: m.agency, permissions: catalog.permissions(of: m.roles),
            apps: try Self.appRoles(conn, rowid: m.rowid))
    }

    /// A member's app roles by app.
    static func appRoles(_ conn: SQLConnection, rowid: Int64) throws -> [String: AppRole] {
        let held = try MemberRows.grants(conn, rowids: [rowid])[rowid] ?? []
        return Dictionary(held.map { ($0.app, $0.role) }, uniquingKeysWith: { x, _ in x })
    }

    static let noSuchAgency = GatehouseError.notFound("No such agency.")

    static func agency(_ r: Row, orgCount: Int?) -> AgencyView {
        AgencyView(
            id: r.string("id") ?? "", name: r.string("name") ?? "",
            domains: JSONColumn.readList(r.string("domains") ?? "[]"), createdAt: date(r.int("created_at") ?? 0),
            orgCount: orgCount)
    }

    static func loadAgency(_ conn: SQLConnection, _ id: String) throws -> AgencyView? {
        try conn.first("SELECT id, name, domains, created_at FROM agencies WHERE id = ?", [id]).map {
            agency($0, orgCount: nil)
        }
    }

    /// A name of 1–100 characters and 1–20 plain domains (lower-cased, no duplicates); `requireAll` for creation.
    static func validAgency(_ b: AgencyBody, requireAll: Bool) throws -> (String?, [String]?) {
        let name = try b.name.map { try DisplayName.validated($0, max: 100) }
        if requireAll && name == nil { throw GatehouseError.validation("`name` is required.") }
        var domains: [String]?
        if let raw = b.domains {
            guard (1...ListLimits.agencyDomains).contains(raw.count) else {
                throw GatehouseError.validation("Give 1–\(ListLimits.agencyDomains) `domains`.")
            }
            var out: [String] = []
            for d in raw {
                let n = d.trimmingCharacters(in: .whitespaces).lowercased()
                guard n.contains("."), n.utf8.count <= 253, !n.hasSuffix("."), Email.isValid("x@" + n) else {
                    throw GatehouseError.validation("`\(d.prefix(80))` is not a plain domain (agency.example).")
                }
                if !out.contains(n) { out.append(n) }
            }
            domains = out
        } else if requireAll {
            throw GatehouseError.validation("`domains` is required: the agency's mail domains.")
        }
        return (name, domains)
    }

    /// A domain names one agency of the region: its people are recognised by it.
    static func refuseTakenDomains(_ conn: SQLConnection, _ domains: [String], except: String?) throws {
        for r in try conn.query("SELECT id, name, domains FROM agencies") where r.string("id") != except {
            let taken = Set(JSONColumn.readList(r.string("domains") ?? "[]")).intersection(domains)
            if let d = taken.first {
                throw GatehouseError(
                    .conflict, status: 409, "\(d) already belongs to the agency \(r.string("name") ?? "").")
            }
        }
    }

    static func requests(
        _ conn: SQLConnection, org: OrgID?, status: AgencyRequestStatus?, id: String? = nil
    ) throws -> [AgencyRequestView] {
        var cond: [String] = []
        var b: [any SQLBindable] = []
        if let org {
            cond.append("r.org_id = ?")
            b.append(org)
        }
        if let status {
            cond.append("r.status = ?")
            b.append(status.rawValue)
        }
        if let id {
            cond.append("r.id = ?")
            b.append(id)
        }
        let whereSQL = cond.isEmpty ? "" : " WHERE " + cond.joined(separator: " AND ")
        return try conn.query(
            "SELECT r.id, r.org_id, o.name AS org_name, r.name, r.domains, r.requester_email, r.status, r.agency_id,"
                + " r.reason, r.created_at, r.decided_at FROM agency_requests r JOIN orgs o ON o.id = r.org_id"
                + whereSQL + " ORDER BY r.created_at DESC, r.id LIMIT 500", b
        ).map {
            AgencyRequestView(
                id: $0.string("id") ?? "", orgID: $0.string("org_id") ?? "", orgName: $0.string("org_name") ?? "",
                name: $0.string("name") ?? "", domains: JSONColumn.readList($0.string("domains") ?? "[]"),
                requesterEmail: $0.string("requester_email") ?? "",
                status: AgencyRequestStatus(rawValue: $0.string("status") ?? "") ?? .pending,
                agencyID: $0.string("agency_id"), reason: $0.string("reason") ?? "",
                createdAt: date($0.int("created_at") ?? 0), decidedAt: $0.int("decided_at").map(date))
        }
    }
}
