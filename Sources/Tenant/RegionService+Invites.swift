import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

/// The `invites` columns an `InviteView` is read from, in select order.
enum InviteColumn: Int, TableColumns {
    case id, orgID, email, roles, ssoOnly, firstName, lastName, userVariables, startingPage, apps, inviterID,
        inviterName
    case status, version, createdAt, expiresAt

    var sql: String {
        switch self {
        case .id: return "id"
        case .orgID: return "org_id"
        case .email: return "email"
        case .roles: return "roles"
        case .ssoOnly: return "sso_only"
        case .firstName: return "first_name"
        case .lastName: return "last_name"
        case .userVariables: return "user_vars"
        case .startingPage: return "starting_page"
        case .apps: return "apps"
        case .inviterID: return "inviter_id"
        case .inviterName: return "inviter_name"
        case .status: return "status"
        case .version: return "version"
        case .createdAt: return "created_at"
        case .expiresAt: return "expires_at"
        }
    }
}

extension RegionService {
    static let inviteColumns = InviteColumn.list()
    /// Built once: a SELECT list generated per call cost more than the indexed read it was for.
    static let pendingForEmailSQL =
        "SELECT \(InviteColumn.list("i")), o.name FROM invites i JOIN orgs o ON o.id = i.org_id WHERE i.email = ? AND"
        + " i.status = 'pending' AND i.expires_at > ? AND o.status = 'active' ORDER BY i.created_at DESC"

    func inviteView(_ s: Statement, now: Date) -> InviteView {
        typealias C = InviteColumn
        let expires = Self.date(s.int(C.expiresAt))
        return InviteView(
            id: s.string(C.id), orgID: s.string(C.orgID), email: s.string(C.email),
            roles: JSONColumn.readList(s.string(C.roles)),
            ssoOnly: s.bool(C.ssoOnly), firstName: s.string(C.firstName), lastName: s.string(C.lastName),
            userVariables: JSONColumn.readMap(s.string(C.userVariables)),
            startingPage: StartingPage(rawValue: s.string(C.startingPage)) ?? .studio,
            apps: JSONColumn.readGrants(s.string(C.apps)),
            inviterID: s.string(C.inviterID), inviterName: s.string(C.inviterName),
            status: InviteStatus.effective(stored: s.string(C.status), expiresAt: expires, now: now),
            version: s.int(C.version), createdAt: Self.date(s.int(C.createdAt)), expiresAt: expires)
    }

    func loadInvite(_ conn: SQLConnection, id: String, now: Date) throws -> InviteView? {
        var out: InviteView?
        try conn.forEach("SELECT \(Self.inviteColumns) FROM invites WHERE id = ?", [id]) {
            out = inviteView($0, now: now)
        }
        return out
    }

    /// The link as the invitation mail carries it: with the proof that whoever opens it reads the mailbox.
    /// Only mail gets this form; every link shown to an inviter or region admin is `link(for:)`.
    func mailLink(for invite: InviteView) -> String {
        settings.publicBaseURL + "/invite/" + tokens.mailed(link(for: invite).token)
    }

    /// Mails the invited address a code that proves it, for sign-up through a copied link. The token must still
    /// open a pending invite (same checks as accepting).
    package func sendInviteCode(token: String) async throws {
        let claims = try verifiedClaims(token)
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        try await db.write { conn in
            let (inv, orgName) = try self.openInvite(conn, claims, now: now)
            try self.enqueueMail(
                conn, org: try OrgID.stored(inv.orgID), kind: "invite_code", to: inv.email,
                payload: [
                    "invite": inv.id, "version": String(inv.version), "org": orgName,
                    "slot": String(InviteTokens.slot(now)),
                ], at: nowS)
        }
    }

    /// Mails `email` the code that proves the address for linking it to `orgID`'s identity provider. Only the
    /// gateway calls this (internal route); the code itself is derived from the shared key ring at send time.
    /// An SSO settings change, in the org's audit log (only the gateway calls this, with its signed identity).
    package func recordSSOChange(_ c: SSOChangeRecord) async throws {
        guard let id = OrgID(c.orgID), id.region == region, c.actorID.utf8.count <= 200, c.summary.count <= 20 else {
            throw Refusal.notFound.error
        }
        let now = Int(clock.now().timeIntervalSince1970)
        try await db.write { conn in
            guard try conn.first("SELECT 1 FROM orgs WHERE id = ?", [c.orgID]) != nil else {
                throw Refusal.notFound.error
            }
            try self.audit(
                conn, org: id, at: now, actor: c.actorID, action: c.action.rawValue, target: c.orgID,
                c.summary.mapValues { String($0.prefix(300)) })
        }
    }

    package func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws {
        guard let id = OrgID(orgID), id.region == region, Email.isValid(email), subject.utf8.count <= 200 else {
            throw Refusal.notFound.error
        }
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        try await db.write { conn in
            guard let org = try conn.first("SELECT name FROM orgs WHERE id = ? AND status = 'active'", [orgID]) else {
                throw Refusal.notFound.error
            }
            try self.enqueueMail(
                conn, org: id, kind: "sso_link_code", to: Email.normalize(email),
                payload: ["org": org.string("name") ?? "", "subject": subject, "slot": String(InviteTokens.slot(now))],
                at: nowS)
        }
    }

    /// The link an inviter may see and copy ("copy link"): it opens the invite, but proves no address.
    package func link(for invite: InviteView) -> InviteLink {
        let token = tokens.issue(
            inviteID: invite.id, orgID: invite.orgID, region: region, version: invite.version,
            expiresAt: Int(invite.expiresAt.timeIntervalSince1970))
        return InviteLink(token: token, url: settings.publicBaseURL + "/invite/" + token, expiresAt: invite.expiresAt)
    }

    // MARK: - Create

    /// Invites many addresses at once. Each address gets its own outcome; invalid addresses, existing members
    /// and addresses with a live pending invite are reported without failing the others. Invites, their audit
    /// events and their mail (outbox) are written in one transaction.
    package func createInvites(_ caller: Caller, org: OrgID, request: InviteRequest) async throws -> InviteBatchResult {
        let parsed: InviteAddressParser.Parsed
        switch request.emails {
        case .list(let l):
            guard l.count <= settings.maxInvitesPerRequest else { throw tooMany() }
            parsed = InviteAddressParser.parse(list: l)
        case .text(let t):
            guard t.utf8.count <= settings.maxInvitesPerRequest * 256 else { throw tooMany() }
            parsed = InviteAddressParser.parse(text: t)
        }
        guard parsed.valid.count + parsed.invalid.count <= settings.maxInvitesPerRequest else { throw tooMany() }
        guard !parsed.valid.isEmpty || !parsed.invalid.isEmpty else {
            throw GatehouseError.validation("Give at least one email address.")
        }
        if request.roles.isEmpty { throw Refusal.noRoles.error }
        if let vars = request.userVariables, let r = UserVariables.validate(vars) { throw r.error }
        try PersonName.validate(request.firstName, request.lastName)
        if (request.firstName != nil || request.lastName != nil) && parsed.valid.count > 1 {
            throw GatehouseError.validation("First and last name can be given only when inviting one address.")
        }
        let apps = request.apps ?? []
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        let expires = nowS + Int(settings.inviteTTL)
        let randomness = SecureRandom.bytes(20 * parsed.valid.count)
        let ids = (0..<parsed.valid.count).map { "inv_" + IDs.random(Array(randomness[($0 * 20)..<($0 * 20 + 20)])) }
        return try await db.write { conn in
            let a = try self.access(conn, org, caller)
            // Agency people invite through the agency grant only (to their agency's domains).
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            let roles = try self.resolveRoles(request.roles, a.catalog)
            try Rules.invite(a.actor, roles: roles).orThrow()
            if !apps.isEmpty {
                try Rules.requires(.appsGrant, a.actor).orThrow()
                for g in apps
                where try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [org, g.app]) == nil {
                    throw GatehouseError.validation("Unknown app `\(g.app)`.")
                }
            }
            let emailsJSON = JSONColumn.list(parsed.valid)
            var members = Set<String>()
            var pending = Set<String>()
            let listed = conn.dialect.jsonArray("?", as: "j")
            try conn.forEach(
                "SELECT email FROM members WHERE org_id = ? AND email IN (SELECT value FROM \(listed))",
                [org, emailsJSON]
            ) { members.insert($0.string(0)) }
            try conn.forEach(
                "SELECT email FROM invites WHERE org_id = ? AND status = 'pending' AND expires_at > ? AND email IN"
                    + " (SELECT value FROM \(listed))",
                [org, nowS, emailsJSON]
            ) { pending.insert($0.string(0)) }
            var results: [InviteOutcome] = []
            results.reserveCapacity(parsed.valid.count + parsed.invalid.count)
            let rolesJSON = JSONColumn.list(roles.map(\.id))
            let varsJSON = JSONColumn.map(request.userVariables ?? [:])
            let appsJSON = JSONColumn.grants(apps)
            let page = (request.startingPage ?? .studio).rawValue
            let inviterName = caller.inviterName
            var invited = 0
            // Prepared once for the loop: a 10,000-address request runs these 30,000 times.
            let insertInvite = try conn.prepare(
                """
                INSERT INTO invites (id, org_id, email, roles, sso_only, first_name, last_name, user_vars, \
                starting_page, apps,
                                     inviter_id, inviter_name, status, version, created_at, expires_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?)
                """)
            let insertMail = try conn.prepare(
                "INSERT INTO outbox (org_id, kind, recipient, payload, created_at, next_attempt_at) VALUES (?,"
                    + " 'invite', ?, ?, ?, ?)"
            )
            let insertAudit = try conn.prepare(
                "INSERT INTO audit_events (org_id, at, actor, action, target, summary) VALUES (?, ?, ?,"
                    + " 'invite.created', ?, ?)"
            )
            let roleNames = JSONText.quote(roles.map(\.name).joined(separator: ", "))
            let roleIDs = JSONText.quote(roles.map(\.id).joined(separator: ","))
            let mailTail =
                ",\"inviter\":\(JSONText.quote(inviterName)),\"inviterEmail\":\(JSONText.quote(caller.email)),"
                + "\"org\":\(JSONText.quote(a.name)),\"roles\":\(roleNames),\"version\":\"1\"}"
            // Only inserts from here on: on PostgreSQL they are pipelined (results read in groups).
            try conn.batch {
                for (i, email) in parsed.valid.enumerated() {
                    if members.contains(email) {
                        results.append(InviteOutcome(email: email, result: .alreadyMember, inviteID: nil))
                        continue
                    }
                    if pending.contains(email) {
                        results.append(InviteOutcome(email: email, result: .alreadyInvited, inviteID: nil))
                        continue
                    }
                    let id = ids[i]
                    // Names given with the request win; else a pasted `Name <address>` names its invitee.
                    let pasted = parsed.names[email]
                    let given = (request.firstName ?? "") + (request.lastName ?? "") != ""
                    try insertInvite.execute([
                        id, org, email, rolesJSON, request.ssoOnly ?? false,
                        given ? request.firstName ?? "" : pasted?.first ?? "",
                        given ? request.lastName ?? "" : pasted?.last ?? "", varsJSON,
                        page, appsJSON, caller.accountID, inviterName, nowS, expires, nowS,
                    ])
                    try insertMail.execute([org, email, "{\"invite\":\"\(id)\"" + mailTail, nowS, nowS])
                    try insertAudit.execute([
                        org, nowS, caller.accountID, email, "{\"invite\":\"\(id)\",\"roles\":\(roleIDs)}",
                    ])
                    results.append(InviteOutcome(email: email, result: .invited, inviteID: id))
                    invited += 1
                }
            }
            for bad in parsed.invalid { results.append(InviteOutcome(email: bad, result: .invalid, inviteID: nil)) }
            for dup in parsed.duplicates {
                results.append(InviteOutcome(email: dup, result: .duplicate, inviteID: nil))
            }
            return InviteBatchResult(invited: invited, results: results)
        }
    }

    private func tooMany() -> GatehouseError {
        GatehouseError(
            .payloadTooLarge, status: 413, "At most \(settings.maxInvitesPerRequest) addresses in one request.")
    }

    // MARK: - List, resend, revoke, link

    package func listInvites(
        _ caller: Caller, org: OrgID, status: String?, cursor: String?, limit: Int = 50
    ) async throws -> InvitePage {
        if let status, InviteStatus(rawValue: status) == nil {
            throw GatehouseError.validation("`status` must be pending, joined, expired or revoked.")
        }
        guard (1...settings.maxPageSize).contains(limit) else {
            throw GatehouseError.validation("`limit` must be 1–\(settings.maxPageSize).")
        }
        var after: (Int, String)?
        if let cursor {
            guard let d = Base64URL.decode(cursor), let s = String(bytes: d, encoding: .utf8),
                let bar = s.firstIndex(of: "|"),
                let t = Int(s[..<bar])
            else { throw GatehouseError.badRequest("The cursor is not valid; start again from the first page.") }
            after = (t, String(s[s.index(after: bar)...]))
        }
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        let start = after
        return try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .membersView)
            var cond = ["org_id = ?"]
            var b: [any SQLBindable] = [org]
            if let agency = a.agency {  // agency people: their agency's invites only
                cond.append("agency_id = ?")
                b.append(agency)
            }
            switch status {
            case "pending":
                cond.append("status = 'pending' AND expires_at > ?")
                b.append(nowS)
            case "expired":
                cond.append("status = 'pending' AND expires_at <= ?")
                b.append(nowS)
            case "joined": cond.append("status = 'joined'")
            case "revoked": cond.append("status = 'revoked'")
            case "declined": cond.append("status = 'declined'")
            default: break
            }
            if let start {
                cond.append("(created_at, id) < (?, ?)")
                b.append(start.0)
                b.append(start.1)
            }
            var out: [InviteView] = []
            try conn.forEach(
                "SELECT \(Self.inviteColumns) FROM invites WHERE \(cond.joined(separator: " AND ")) ORDER BY"
                    + " created_at DESC, id DESC LIMIT \(limit + 1)",
                b
            ) {
                out.append(self.inviteView($0, now: now))
            }
            var next: String?
            if out.count > limit {
                out.removeLast()
                if let last = out.last {
                    next = Base64URL.encode(Array("\(Int(last.createdAt.timeIntervalSince1970))|\(last.id)".utf8))
                }
            }
            return InvitePage(invites: out, nextCursor: next)
        }
    }

    /// Loads an invite of `org` that the caller may manage: `members.invite` and the grant ceiling over its roles.
    func manageableInvite(
        _ conn: SQLConnection, _ caller: Caller, org: OrgID, invite: String, now: Date
    ) throws -> (OrgAccess, InviteView) {
        let a = try access(conn, org, caller, requiring: .membersInvite)
        try AgencyRules.staffOnly(try agencyActor(conn, a)).orThrow()
        guard let inv = try loadInvite(conn, id: invite, now: now), inv.orgID == org.raw else {
            throw GatehouseError.notFound("No such invite.")
        }
        try Rules.grantCeiling(a.actor, roles: inv.roles.compactMap { a.catalog.role($0) }).orThrow()
        return (a, inv)
    }

    /// A new expiry and a new version: links sent before stop working.
    package func resendInvite(_ caller: Caller, org: OrgID, invite: String) async throws -> InviteView {
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        return try await db.write { conn in
            let (a, inv) = try self.manageableInvite(conn, caller, org: org, invite: invite, now: now)
            guard inv.status == .pending || inv.status == .expired else {
                throw GatehouseError(
                    .inviteNotPending, status: 409,
                    "Only pending or expired invites can be resent; this one is \(inv.status.rawValue).")
            }
            try conn.run(
                "UPDATE invites SET version = version + 1, expires_at = ?, updated_at = ? WHERE id = ?",
                [nowS + Int(self.settings.inviteTTL), nowS, invite])
            try self.enqueueMail(
                conn, org: org, kind: "invite_resent", to: inv.email,
                payload: [
                    "invite": invite, "version": String(inv.version + 1), "org": a.name, "inviter": inv.inviterName,
                    "inviterEmail": try conn.first(
                        "SELECT email FROM members WHERE org_id = ? AND account_id = ?",
                        [org, inv.inviterID])?.string("email") ?? "",
                ], at: nowS)
            try self.audit(
                conn, org: org, at: nowS, actor: caller.accountID, action: "invite.resent", target: inv.email,
                ["invite": invite, "version": String(inv.version + 1)])
            guard let updated = try self.loadInvite(conn, id: invite, now: now) else { throw GatehouseError.notFound() }
            return updated
        }
    }

    package func revokeInvite(_ caller: Caller, org: OrgID, invite: String) async throws {
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        try await db.write { conn in
            let (_, inv) = try self.manageableInvite(conn, caller, org: org, invite: invite, now: now)
            guard inv.status == .pending || inv.status == .expired else {
                throw GatehouseError(
                    .inviteNotPending, status: 409, "This invite is already \(inv.status.rawValue).")
            }
            try conn.run("UPDATE invites SET status = 'revoked', updated_at = ? WHERE id = ?", [nowS, invite])
            try self.audit(
                conn, org: org, at: nowS, actor: caller.accountID, action: "invite.revoked", target: inv.email,
                ["invite": invite])
        }
    }

    /// "Copy invite link": the token of the invite's current version, derived again (never stored).
    package func inviteLink(_ caller: Caller, org: OrgID, invite: String) async throws -> InviteLink {
        let now = clock.now()
        let inv = try await db.read { conn in
            try self.manageableInvite(conn, caller, org: org, invite: invite, now: now).1
        }
        guard inv.status == .pending else {
            throw GatehouseError(
                inv.status == .expired ? .inviteExpired : inv.status == .joined ? .inviteUsed : .inviteRevoked,
                status: 410,
                inv.status == .expired
                    ? "This invite has expired; resend it to get a new link."
                    : "This invite is \(inv.status.rawValue); there is no link to copy.")
        }
        return link(for: inv)
    }

    // MARK: - The invitee's side (called by the gateway)

    /// Why a verified token no longer opens its invite.
    static func stateRefusal(_ inv: InviteView, claims: InviteTokenClaims) -> GatehouseError? {
        if inv.version != claims.version {
            return GatehouseError(
                .inviteSuperseded, status: 410,
                "A newer invitation was sent for this address; use the link in the latest email.")
        }
        switch inv.status {
        case .pending: return nil
        case .expired:
            return GatehouseError.inviteExpired
        case .revoked:
            return GatehouseError(
                .inviteRevoked, status: 410,
                "This invitation was withdrawn. Ask the organization for a new one.")
        case .declined:
            return GatehouseError(
                .inviteDeclined, status: 410,
                "This invitation was declined. Ask the organization for a new one if you changed your mind.")
        case .joined:
            return GatehouseError(
                .inviteUsed, status: 410,
                "This invitation has already been used. Sign in to reach the organization.")
        }
    }

    func verifiedClaims(_ token: String) throws -> InviteTokenClaims {
        switch tokens.verify(token, now: clock.now()) {
        case .success(let c):
            guard c.region == region else {
                throw GatehouseError.inviteInvalid
            }
            return c
        case .failure(.expired):
            throw GatehouseError.inviteExpired
        case .failure:
            throw GatehouseError.inviteInvalid
        }
    }

    /// The invite a verified token opens, with its org's name, or the reason it no longer opens.
    func openInvite(_ conn: SQLConnection, _ claims: InviteTokenClaims, now: Date) throws -> (InviteView, String) {
        guard let inv = try loadInvite(conn, id: claims.inviteID, now: now), inv.orgID == claims.orgID,
            let org = try conn.first("SELECT name, status FROM orgs WHERE id = ?", [inv.orgID])
        else {
            throw GatehouseError.inviteInvalid
        }
        if let e = Self.stateRefusal(inv, claims: claims) { throw e }
        if OrgStatus(stored: org.string("status") ?? "") == .suspended { throw Refusal.orgSuspended.error }
        return (inv, org.string("name") ?? "")
    }

    /// The invite behind a token, with its org's name, for the "Join Acme as Manager?" page.
    package func inviteForToken(_ token: String) async throws -> (invite: InviteView, orgName: String) {
        let claims = try verifiedClaims(token)
        let now = clock.now()
        return try await db.read { conn in try self.openInvite(conn, claims, now: now) }
    }

    /// Accepts an invite for a verified account: checks MAC, expiry, status, version and email (rule 8), then
    /// creates the membership with everything the invite carried and marks the invite joined — once, even when
    /// two accepts race (the second finds it joined).
    package func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult {
        let claims = try verifiedClaims(request.token)
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        return try await db.write { conn in
            let (inv, orgName) = try self.openInvite(conn, claims, now: now)
            try Rules.inviteEmailMatches(inviteEmail: inv.email, accountEmail: request.email).orThrow()
            if try conn.first(
                "SELECT 1 FROM members WHERE org_id = ? AND account_id = ?", [inv.orgID, request.accountID]) != nil
            {
                throw GatehouseError(
                    .alreadyMember, status: 409, "You are already a member of this organization.")
            }
            return try self.join(
                conn, inv, orgName: orgName, accountID: request.accountID, firstName: request.firstName,
                lastName: request.lastName, at: nowS)
        }
    }

    /// Makes the invite's person a member (roles, variables, starting page, SSO-only, app grants), marks the
    /// invite joined, queues the "you were added" mail and audits it. Shared by invite links and SSO sign-in.
    func join(
        _ conn: SQLConnection, _ inv: InviteView, orgName: String, accountID: String, firstName: String?,
        lastName: String?,
        at nowS: Int, via: String = "link"
    ) throws -> AcceptInviteResult {
        let first = inv.firstName.isEmpty ? (firstName ?? "") : inv.firstName
        let last = inv.lastName.isEmpty ? (lastName ?? "") : inv.lastName
        let rowid = try MemberRows.insert(
            conn,
            .init(
                orgID: inv.orgID, accountID: accountID, email: inv.email, firstName: first, lastName: last,
                roles: inv.roles, userVariables: inv.userVariables, startingPage: inv.startingPage,
                ssoOnly: inv.ssoOnly, joinedAt: nowS))
        // An agency invite makes an agency person: the affiliation travels with the invite.
        try conn.run(
            "UPDATE members SET agency_id = (SELECT agency_id FROM invites WHERE id = ?) WHERE rowid = ?",
            [inv.id, rowid])
        for g in inv.apps
        where try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND id = ?", [inv.orgID, g.app]) != nil {
            try conn.run(
                "INSERT INTO app_grants (org_id, app_id, member_rowid, role, granted_at) VALUES (?, ?, ?, ?, ?)"
                    + " ON CONFLICT (org_id, app_id, member_rowid) DO UPDATE SET role = excluded.role,"
                    + " granted_at = excluded.granted_at",
                [inv.orgID, g.app, rowid, g.role.rawValue, nowS])
        }
        try MemberRows.recountApps(conn, rowid: rowid)
        try conn.run("UPDATE members SET last_active = ? WHERE rowid = ?", [nowS, rowid])
        try conn.run(
            "UPDATE invites SET status = 'joined', joined_account_id = ?, updated_at = ? WHERE id = ?",
            [accountID, nowS, inv.id])
        try enqueueMail(
            conn, org: try OrgID.stored(inv.orgID), kind: "added", to: inv.email,
            payload: ["org": orgName, "roleIDs": inv.roles.joined(separator: ",")],
            at: nowS)
        try audit(
            conn, org: try OrgID.stored(inv.orgID), at: nowS, actor: accountID, action: "invite.accepted",
            target: inv.email,
            ["invite": inv.id, "roles": inv.roles.joined(separator: ","), "via": via])
        guard let m = try MemberRows.load(conn, orgID: try OrgID.stored(inv.orgID), accountID: accountID) else {
            throw GatehouseError.internalError(detail: "member vanished")
        }
        return AcceptInviteResult(
            orgID: inv.orgID,
            member: MemberRows.view(m, apps: try MemberRows.grants(conn, rowids: [rowid])[rowid] ?? []),
            startingPage: inv.startingPage)
    }

    /// Declining marks the invite declined, for a verified account whose email matches, through a link that
    /// still opens the invite: the token's MAC, expiry, status and version are checked exactly as for accepting,
    /// so a link superseded by a resend can decline nothing.
    package func declineInvite(token: String, accountID: String, email: String) async throws {
        let claims = try verifiedClaims(token)
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        try await db.write { conn in
            let (inv, _) = try self.openInvite(conn, claims, now: now)
            let inviteID = inv.id
            try Rules.inviteEmailMatches(inviteEmail: inv.email, accountEmail: email).orThrow()
            try conn.run("UPDATE invites SET status = 'declined', updated_at = ? WHERE id = ?", [nowS, inviteID])
            try self.audit(
                conn, org: try OrgID.stored(inv.orgID), at: nowS, actor: accountID, action: "invite.declined",
                target: inv.email,
                ["invite": inviteID])
        }
    }

    /// Live pending invites for an address in this region (the gateway shows them as notifications).
    package func pendingInvites(email: String) async throws -> [(invite: InviteView, orgName: String)] {
        let now = clock.now()
        return try await db.read { conn in try self.pendingInvites(conn, email: email, now: now) }
    }

    func pendingInvites(
        _ conn: SQLConnection, email: String, now: Date
    ) throws -> [(invite: InviteView, orgName: String)] {
        var out: [(invite: InviteView, orgName: String)] = []
        try conn.forEach(Self.pendingForEmailSQL, [Email.normalize(email), Int(now.timeIntervalSince1970)]) {
            out.append((self.inviteView($0, now: now), $0.string(InviteColumn.next)))
        }
        return out
    }
}

// MARK: - The first owner's invitation, for the region admin

extension RegionService {
    /// The org's latest owner invitation while the org has no owner yet: the region admin who provisioned it may
    /// resend it (a new link; the old one dies) or copy its link (a copied link, as any, signs up only with a code
    /// mailed to the address). Once the org has an owner, its invitations are the owner's to manage.
    private func ownerInvite(_ conn: SQLConnection, _ org: OrgID, now: Date) throws -> InviteView {
        guard org.region == region, try conn.first("SELECT 1 FROM orgs WHERE id = ?", [org]) != nil else {
            throw GatehouseError.notFound("No such organization in this region.")
        }
        if try conn.first("SELECT 1 FROM member_roles WHERE org_id = ? AND role_id = 'owner' LIMIT 1", [org]) != nil {
            throw GatehouseError(
                .init("org_has_owner"), status: 409,
                "This organization has an owner; its invitations are theirs to manage.")
        }
        guard
            let id = try conn.first(
                "SELECT i.id FROM invites i, \(conn.dialect.jsonArray("i.roles", as: "j")) WHERE i.org_id = ? AND"
                    + " j.value = 'owner' AND i.status = 'pending' ORDER BY i.created_at DESC LIMIT 1", [org]
            )?.string(0),
            let inv = try loadInvite(conn, id: id, now: now)
        else {
            throw GatehouseError.notFound("This organization has no owner invitation waiting.")
        }
        return inv
    }

    package func resendOwnerInvite(_ caller: Caller, region: String, org: OrgID) async throws -> InviteLink {
        try requireRegionAdmin(caller, region)
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        let updated = try await db.write { conn in
            let inv = try self.ownerInvite(conn, org, now: now)
            try conn.run(
                "UPDATE invites SET version = version + 1, expires_at = ?, updated_at = ? WHERE id = ?",
                [nowS + Int(self.settings.inviteTTL), nowS, inv.id])
            let name = try conn.first("SELECT name FROM orgs WHERE id = ?", [org])?.string(0) ?? ""
            try self.enqueueMail(
                conn, org: org, kind: "invite_resent", to: inv.email,
                payload: [
                    "invite": inv.id, "version": String(inv.version + 1), "org": name, "inviter": inv.inviterName,
                    "inviterEmail": caller.email,
                ], at: nowS)
            try self.audit(
                conn, org: org, at: nowS, actor: caller.accountID, action: "invite.resent", target: inv.email,
                ["invite": inv.id, "version": String(inv.version + 1), "by": "region admin"])
            guard let updated = try self.loadInvite(conn, id: inv.id, now: now) else {
                throw GatehouseError.notFound()
            }
            return updated
        }
        return link(for: updated)
    }

    package func ownerInviteLink(_ caller: Caller, region: String, org: OrgID) async throws -> InviteLink {
        try requireRegionAdmin(caller, region)
        let now = clock.now()
        let inv = try await db.read { conn in try self.ownerInvite(conn, org, now: now) }
        guard inv.status == .pending else {
            throw GatehouseError(
                .inviteExpired, status: 410, "The owner's invitation has expired; resend it to get a new link.")
        }
        return link(for: inv)
    }
}
