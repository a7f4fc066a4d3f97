import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

extension RegionService {
    /// Lets a SAML-verified account in: an existing member, a pending invite for that email (accepted now), or
    /// JIT provisioning with the org's default role. Anyone else is refused with a clear reason.
    package func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult {
        guard let id = OrgID(request.orgID), id.region == region else { throw Refusal.notFound.error }
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        return try await db.write { conn in
            guard let org = try conn.first("SELECT name, status FROM orgs WHERE id = ?", [request.orgID]) else {
                throw Refusal.notFound.error
            }
            let orgName = org.string("name") ?? ""
            if OrgStatus(stored: org.string("status") ?? "") != .active { throw Refusal.orgSuspended.error }
            if let m = try conn.first(
                "SELECT starting_page, deactivated_at FROM members WHERE org_id = ? AND account_id = ?",
                [request.orgID, request.accountID])
            {
                // Deactivated (by the org's directory, over SCIM): still listed, let in nowhere.
                guard m.int("deactivated_at") == nil else {
                    throw GatehouseError(
                        .notMember, status: 403,
                        "Your access to \(orgName) is deactivated. Ask an administrator of \(orgName) if this is wrong."
                    )
                }
                try conn.run(
                    "UPDATE members SET last_active = ? WHERE org_id = ? AND account_id = ?",
                    [nowS, request.orgID, request.accountID])
                return SSOSignInResult(
                    outcome: "member", orgName: orgName,
                    startingPage: StartingPage(rawValue: m.string("starting_page") ?? "") ?? .studio)
            }
            var pending: InviteView?
            try conn.forEach(
                "SELECT \(Self.inviteColumns) FROM invites WHERE org_id = ? AND email = ? AND status = 'pending' AND"
                    + " expires_at > ? ORDER BY created_at DESC LIMIT 1",
                [request.orgID, Email.normalize(request.email), nowS]
            ) { pending = self.inviteView($0, now: now) }
            if let inv = pending {
                let joined = try self.join(
                    conn, inv, orgName: orgName, accountID: request.accountID, firstName: request.firstName,
                    lastName: request.lastName, at: nowS, via: "sso")
                return SSOSignInResult(outcome: "invite_accepted", orgName: orgName, startingPage: joined.startingPage)
            }
            guard let role = request.jitRole else {
                throw GatehouseError(
                    .notMember, status: 403,
                    "You signed in as \(request.email), who is not a member of \(orgName). Ask an administrator of"
                        + " \(orgName) to invite you."
                )
            }
            let catalog = try self.loadCatalog(conn, id)
            guard let jit = catalog.role(role), !Rules.isOwnerLevel(jit) else {
                throw GatehouseError(
                    .ssoMisconfigured, status: 409,
                    "Automatic provisioning for \(orgName) names a role that does not exist; ask an administrator to"
                        + " fix the SSO settings."
                )
            }
            var vars = request.userVariables
            if UserVariables.validate(vars) != nil { vars = [:] }
            let rowid = try MemberRows.insert(
                conn,
                .init(
                    orgID: request.orgID, accountID: request.accountID, email: Email.normalize(request.email),
                    firstName: request.firstName, lastName: request.lastName, roles: [role], userVariables: vars,
                    startingPage: .studio, ssoOnly: false, joinedAt: nowS))
            try conn.run("UPDATE members SET last_active = ? WHERE rowid = ?", [nowS, rowid])
            try self.audit(
                conn, org: id, at: nowS, actor: request.accountID, action: "member.provisioned",
                target: Email.normalize(request.email),
                ["via": "sso", "roles": role])
            return SSOSignInResult(outcome: "provisioned", orgName: orgName, startingPage: .studio)
        }
    }

    /// The caller's permissions in an org, with the same refusals as any org request (404 for strangers,
    /// suspended, SSO-only).
    package func standing(orgID: String, caller: Caller) async throws -> OrgStanding {
        guard let id = OrgID(orgID) else { throw Refusal.notFound.error }
        return try await db.read { conn in
            let a = try self.access(conn, id, caller)
            return OrgStanding(
                orgID: orgID, orgName: a.name, permissions: a.actor.permissions.map(\.rawValue).sorted(),
                jitAssignableRoles: a.catalog.all.filter { Rules.jitRole(a.actor, role: $0).isAllowed }.map(\.id),
                agency: a.agency)
        }
    }
}
