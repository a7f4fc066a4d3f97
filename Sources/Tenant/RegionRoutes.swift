import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The region tenants' JSON API under `/api/v1`. The caller comes from `callers` (the gateway's verified
/// identity); every handler decodes strictly, calls the region service of the org's region, and answers JSON.
package enum RegionRoutes {
    package static func register(on b: RouterBuilder, directory: RegionDirectory, callers: @escaping CallerProvider) {
        // Every org route: the org's service, the org and the caller resolved once, by the group's middleware.
        let orgs = b.group("/api/v1/orgs/:org", OrgScopeMiddleware(directory: directory, callers: callers))
        let regions = b.group("/api/v1/regions/:region", CallerMiddleware(callers: callers))
        @Sendable func int(_ ctx: RequestContext, _ name: String, default d: Int) throws -> Int {
            guard let raw = ctx.query(name) else { return d }
            guard let n = Int(raw) else { throw GatehouseError.validation("`\(name)` must be an integer.") }
            return n
        }

        // Org
        orgs.get("") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            // The hottest read of the API: from memory, or one indexed read (on this thread when reads are local).
            let view = try await s.org(caller, org: id)
            return try .json(view)
        }
        orgs.post("/transfer") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.transferOwnership(caller, org: id, toEmail: try ctx.decode(TransferRequest.self).email))
        }
        orgs.delete("") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.deleteOwnOrg(caller, org: id, confirmName: try ctx.decode(DeleteOrgRequest.self).confirmName)
            return Response(status: 204)
        }
        orgs.patch("") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.renameOrg(caller, org: id, name: try ctx.decode(RenameRequest.self).name))
        }

        // Members
        orgs.get("/members") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            var q = RegionService.MemberListQuery()
            q.search = ctx.query("q")
            q.role = ctx.query("role")
            q.status = ctx.query("status")
            q.sort = ctx.query("sort") ?? "name"
            q.order = ctx.query("order") ?? "asc"
            q.cursor = ctx.query("cursor")
            q.limit = try int(ctx, "limit", default: 50)
            return try .json(try await s.listMembers(caller, org: id, query: q))
        }
        orgs.post("/members/bulk") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let result = try await s.bulk(caller, org: id, request: try ctx.decode(BulkRequest.self))
            return try .json(result, status: result.applied ? 200 : 409)
        }
        orgs.post("/members/copy") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return .text(try await s.copyEmails(caller, org: id, members: try ctx.decode(MemberSelection.self).members))
        }
        orgs.get("/members/:member") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.member(caller, org: id, member: try ctx.parameter("member")))
        }
        orgs.get("/members/:member/permissions") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.permissions(caller, org: id, member: try ctx.parameter("member")))
        }
        orgs.patch("/members/:member") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.updateMember(
                    caller, org: id, member: try ctx.parameter("member"), patch: try ctx.decode(MemberPatch.self)))
        }
        orgs.delete("/members/:member") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.removeMember(caller, org: id, member: try ctx.parameter("member"))
            return Response(status: 204)
        }

        // Invites
        orgs.post("/invites") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let result = try await s.createInvites(caller, org: id, request: try ctx.decode(InviteRequest.self))
            return try .json(result, status: result.invited > 0 ? 201 : 200)
        }
        orgs.get("/invites") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.listInvites(
                    caller, org: id, status: ctx.query("status"), cursor: ctx.query("cursor"),
                    limit: try int(ctx, "limit", default: 50)))
        }
        orgs.post("/invites/:invite/resend") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.resendInvite(caller, org: id, invite: try ctx.parameter("invite")))
        }
        orgs.post("/invites/:invite/revoke") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.revokeInvite(caller, org: id, invite: try ctx.parameter("invite"))
            return Response(status: 204)
        }
        orgs.get("/invites/:invite/link") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.inviteLink(caller, org: id, invite: try ctx.parameter("invite")))
        }

        // Roles
        orgs.get("/roles") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.listRoles(caller, org: id))
        }
        orgs.post("/roles") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.createRole(caller, org: id, request: try ctx.decode(RoleRequest.self)), status: 201)
        }
        orgs.patch("/roles/:role") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.updateRole(
                    caller, org: id, role: try ctx.parameter("role"), request: try ctx.decode(RoleRequest.self)))
        }
        orgs.delete("/roles/:role") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.deleteRole(caller, org: id, role: try ctx.parameter("role"))
            return Response(status: 204)
        }

        // Apps
        orgs.get("/apps") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.listApps(caller, org: id))
        }
        orgs.post("/apps") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.createApp(caller, org: id, name: try ctx.decode(AppRequest.self).name), status: 201)
        }
        orgs.patch("/apps/:app") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let patch = try ctx.decode(AppPatch.self)
            // A rename alone keeps its own path (`apps.create`, as before); anything else is the gateway's fields.
            if let name = patch.name, patch.slug == nil, patch.upstream == nil, patch.rule == nil {
                return try .json(try await s.renameApp(caller, org: id, app: try ctx.parameter("app"), name: name))
            }
            return try .json(try await s.updateApp(caller, org: id, app: try ctx.parameter("app"), patch: patch))
        }
        orgs.get("/apps/:app/export") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let (file, zip) = try await s.exportApp(caller, org: id, app: try ctx.parameter("app"))
            return Response(
                status: 200,
                headers: [
                    "Content-Type": "application/zip", "Content-Disposition": "attachment; filename=\"\(file)\"",
                    "Cache-Control": "no-store",
                ], body: zip)
        }
        orgs.post("/apps/import") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.importApp(caller, org: id, zip: ctx.request.body), status: 201)
        }
        orgs.post("/apps/:app/view-as") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let body = try ctx.decode(ViewAsBody.self)
            try await s.recordAppViewAs(
                caller, org: id, app: try ctx.parameter("app"), member: body.member, started: body.started)
            return Response(status: 204)
        }
        orgs.get("/apps/:app/check") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            guard let member = ctx.query("member") else { throw GatehouseError.validation("`member` is required.") }
            return try .json(try await s.checkEntry(caller, org: id, app: try ctx.parameter("app"), member: member))
        }
        orgs.delete("/apps/:app") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.deleteApp(caller, org: id, app: try ctx.parameter("app"))
            return Response(status: 204)
        }
        orgs.post("/apps/:app/grants") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let g = try ctx.decode(GrantRequest.self)
            try await s.grantApp(caller, org: id, app: try ctx.parameter("app"), member: g.member, role: g.role)
            return Response(status: 204)
        }
        orgs.delete("/apps/:app/grants/:member") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.revokeApp(
                caller, org: id, app: try ctx.parameter("app"), member: try ctx.parameter("member"))
            return Response(status: 204)
        }

        // API keys
        orgs.get("/apikeys") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.listAPIKeys(caller, org: id))
        }
        orgs.post("/apikeys") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.createAPIKey(caller, org: id, request: try ctx.decode(APIKeyRequest.self)), status: 201
            ).noStore()
        }
        orgs.delete("/apikeys/:key") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.revokeAPIKey(caller, org: id, key: try ctx.parameter("key"))
            return Response(status: 204)
        }

        // Audit
        @Sendable func auditQuery(_ ctx: RequestContext) throws -> RegionService.AuditQuery {
            var q = RegionService.AuditQuery()
            q.action = ctx.query("action")
            q.actor = ctx.query("actor")
            q.target = ctx.query("target")
            q.cursor = ctx.query("cursor")
            q.limit = try int(ctx, "limit", default: 50)
            return q
        }
        orgs.get("/audit") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.auditEvents(caller, org: id, query: try auditQuery(ctx)))
        }
        orgs.get("/audit/export") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let body = try await s.exportAudit(caller, org: id, query: try auditQuery(ctx))
            return Response(
                status: 200,
                headers: [
                    "Content-Type": "application/x-ndjson",
                    "Content-Disposition": "attachment; filename=\"audit-\(id).jsonl\"",
                ], body: body)
        }

        // Agencies of the org (staff with apps.grant; agency people pass on access through `/grants` only)
        orgs.get("/agencies") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.orgAgencies(caller, org: id))
        }
        orgs.get("/agencies/register") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.agencyRegister(caller, org: id))
        }
        orgs.post("/agencies") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.addAgency(caller, org: id, agency: try ctx.decode(AgencyAddBody.self).agency)
            return Response(status: 204)
        }
        orgs.delete("/agencies/:agency") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            let people = try await s.removeAgency(caller, org: id, agency: try ctx.parameter("agency"))
            return try .json(people)
        }
        orgs.post("/agencies/:agency/grants") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.agencyGrant(
                    caller, org: id, agency: try ctx.parameter("agency"),
                    request: try ctx.decode(AgencyGrantRequest.self)))
        }
        orgs.post("/agencies/:agency/revoke") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.agencyRevoke(
                caller, org: id, agency: try ctx.parameter("agency"), body: try ctx.decode(AgencyRevokeBody.self))
            return Response(status: 204)
        }
        orgs.get("/agency-requests") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.orgAgencyRequests(caller, org: id))
        }
        orgs.post("/agency-requests") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.requestAgency(caller, org: id, body: try ctx.decode(AgencyBody.self)), status: 201)
        }

        // Region admins
        regions.get("/agencies") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(try await s.listAgencies(try ctx.caller(), region: try ctx.parameter("region")))
        }
        regions.post("/agencies") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.createAgency(
                    try ctx.caller(), region: try ctx.parameter("region"), body: try ctx.decode(AgencyBody.self)),
                status: 201)
        }
        regions.patch("/agencies/:agency") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.updateAgency(
                    try ctx.caller(), region: try ctx.parameter("region"), agency: try ctx.parameter("agency"),
                    body: try ctx.decode(AgencyBody.self)))
        }
        regions.delete("/agencies/:agency") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            try await s.deleteAgency(
                try ctx.caller(), region: try ctx.parameter("region"), agency: try ctx.parameter("agency"))
            return Response(status: 204)
        }
        regions.get("/agency-requests") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            let status = try ctx.query("status").map {
                guard let st = AgencyRequestStatus(rawValue: $0) else {
                    throw GatehouseError.validation("`status` must be pending, approved or declined.")
                }
                return st
            }
            return try .json(
                try await s.listAgencyRequests(try ctx.caller(), region: try ctx.parameter("region"), status: status))
        }
        regions.post("/agency-requests/:request/:decision") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            let decision = try ctx.parameter("decision")
            guard decision == "approve" || decision == "decline" else { throw GatehouseError.notFound() }
            let body = ctx.request.body.isEmpty ? AgencyDecisionBody() : try ctx.decode(AgencyDecisionBody.self)
            return try .json(
                try await s.decideAgencyRequest(
                    try ctx.caller(), region: try ctx.parameter("region"), request: try ctx.parameter("request"),
                    approve: decision == "approve", body: body))
        }

        // Region admins
        regions.get("/orgs") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.listOrgs(
                    try ctx.caller(), region: try ctx.parameter("region"), cursor: ctx.query("cursor"),
                    limit: try int(ctx, "limit", default: 50)))
        }
        regions.post("/orgs") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.provisionOrg(
                    try ctx.caller(), region: try ctx.parameter("region"),
                    request: try ctx.decode(ProvisionRequest.self)),
                status: 201)
        }
        regions.get("/orgs/:org") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.regionOrg(try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID()))
        }
        regions.post("/orgs/:org/suspend") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.setOrgStatus(
                    try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID(),
                    suspended: true))
        }
        regions.post("/orgs/:org/reactivate") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.setOrgStatus(
                    try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID(),
                    suspended: false))
        }
        // The first owner's invitation while the org has none: resend it, or copy its link.
        regions.post("/orgs/:org/owner-invite/resend") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.resendOwnerInvite(
                    try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID()))
        }
        regions.get("/orgs/:org/owner-invite/link") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.ownerInviteLink(try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID())
            )
        }
        regions.delete("/orgs/:org") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            try await s.deleteOrg(
                try ctx.caller(), region: try ctx.parameter("region"), org: try ctx.orgID(),
                confirmName: try ctx.decode(DeleteOrgRequest.self).confirmName)
            return Response(status: 204)
        }
    }
}
