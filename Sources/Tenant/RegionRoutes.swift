import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The region tenants' JSON API under `/api/v1`. The caller comes from `callers` (the gateway's verified
/// identity); every handler decodes strictly, calls the region service of the org's region, and answers JSON.
public enum RegionRoutes {
    public static func register(on b: RouterBuilder, directory: RegionDirectory, callers: @escaping CallerProvider) {
        @Sendable func org(_ ctx: RequestContext) throws -> (RegionService, String) {
            let id = try ctx.parameter("org")
            return (try directory.service(forOrg: id), id)
        }
        @Sendable func int(_ ctx: RequestContext, _ name: String, default d: Int) throws -> Int {
            guard let raw = ctx.query(name) else { return d }
            guard let n = Int(raw) else { throw GatehouseError.validation("`\(name)` must be an integer.") }
            return n
        }

        // Org
        b.get("/api/v1/orgs/:org") { ctx in
            let (s, id) = try org(ctx)
            // An indexed read on the calling thread: the hottest read of the API skips the hop to a reader thread.
            let view = try s.orgNow(try await callers(ctx), org: id)
            return Response(status: 200, headers: ["Content-Type": "application/json"], body: view.jsonBytes)
        }
        b.patch("/api/v1/orgs/:org") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(try await s.renameOrg(caller, org: id, name: try ctx.decode(RenameRequest.self).name))
        }

        // Members
        b.get("/api/v1/orgs/:org/members") { ctx in
            let (s, id) = try org(ctx)
            var q = RegionService.MemberListQuery()
            q.search = ctx.query("q")
            q.role = ctx.query("role")
            q.status = ctx.query("status")
            q.sort = ctx.query("sort") ?? "name"
            q.order = ctx.query("order") ?? "asc"
            q.cursor = ctx.query("cursor")
            q.limit = try int(ctx, "limit", default: 50)
            return try .json(try await s.listMembers(try await callers(ctx), org: id, query: q))
        }
        b.post("/api/v1/orgs/:org/members/bulk") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            let result = try await s.bulk(caller, org: id, request: try ctx.decode(BulkRequest.self))
            return try .json(result, status: result.applied ? 200 : 409)
        }
        b.post("/api/v1/orgs/:org/members/copy") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return .text(try await s.copyEmails(caller, org: id, members: try ctx.decode(MemberSelection.self).members))
        }
        b.get("/api/v1/orgs/:org/members/:member") { ctx in
            let (s, id) = try org(ctx)
            return try .json(try await s.member(try await callers(ctx), org: id, member: try ctx.parameter("member")))
        }
        b.get("/api/v1/orgs/:org/members/:member/permissions") { ctx in
            let (s, id) = try org(ctx)
            return try .json(
                try await s.permissions(try await callers(ctx), org: id, member: try ctx.parameter("member")))
        }
        b.patch("/api/v1/orgs/:org/members/:member") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(
                try await s.updateMember(
                    caller, org: id, member: try ctx.parameter("member"), patch: try ctx.decode(MemberPatch.self)))
        }
        b.delete("/api/v1/orgs/:org/members/:member") { ctx in
            let (s, id) = try org(ctx)
            try await s.removeMember(try await callers(ctx), org: id, member: try ctx.parameter("member"))
            return Response(status: 204)
        }

        // Invites
        b.post("/api/v1/orgs/:org/invites") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            let result = try await s.createInvites(caller, org: id, request: try ctx.decode(InviteRequest.self))
            return Response(
                status: result.invited > 0 ? 201 : 200, headers: ["Content-Type": "application/json"],
                body: result.jsonBytes)
        }
        b.get("/api/v1/orgs/:org/invites") { ctx in
            let (s, id) = try org(ctx)
            return try .json(
                try await s.listInvites(
                    try await callers(ctx), org: id, status: ctx.query("status"), cursor: ctx.query("cursor"),
                    limit: try int(ctx, "limit", default: 50)))
        }
        b.post("/api/v1/orgs/:org/invites/:invite/resend") { ctx in
            let (s, id) = try org(ctx)
            return try .json(
                try await s.resendInvite(try await callers(ctx), org: id, invite: try ctx.parameter("invite")))
        }
        b.post("/api/v1/orgs/:org/invites/:invite/revoke") { ctx in
            let (s, id) = try org(ctx)
            try await s.revokeInvite(try await callers(ctx), org: id, invite: try ctx.parameter("invite"))
            return Response(status: 204)
        }
        b.get("/api/v1/orgs/:org/invites/:invite/link") { ctx in
            let (s, id) = try org(ctx)
            return try .json(
                try await s.inviteLink(try await callers(ctx), org: id, invite: try ctx.parameter("invite")))
        }

        // Roles
        b.get("/api/v1/orgs/:org/roles") { ctx in
            let (s, id) = try org(ctx)
            return try .json(try await s.listRoles(try await callers(ctx), org: id))
        }
        b.post("/api/v1/orgs/:org/roles") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(
                try await s.createRole(caller, org: id, request: try ctx.decode(RoleRequest.self)), status: 201)
        }
        b.patch("/api/v1/orgs/:org/roles/:role") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(
                try await s.updateRole(
                    caller, org: id, role: try ctx.parameter("role"), request: try ctx.decode(RoleRequest.self)))
        }
        b.delete("/api/v1/orgs/:org/roles/:role") { ctx in
            let (s, id) = try org(ctx)
            try await s.deleteRole(try await callers(ctx), org: id, role: try ctx.parameter("role"))
            return Response(status: 204)
        }

        // Apps
        b.get("/api/v1/orgs/:org/apps") { ctx in
            let (s, id) = try org(ctx)
            return try .json(try await s.listApps(try await callers(ctx), org: id))
        }
        b.post("/api/v1/orgs/:org/apps") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(
                try await s.createApp(caller, org: id, name: try ctx.decode(AppRequest.self).name), status: 201)
        }
        b.post("/api/v1/orgs/:org/apps/:app/grants") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            let g = try ctx.decode(GrantRequest.self)
            try await s.grantApp(caller, org: id, app: try ctx.parameter("app"), member: g.member, role: g.role)
            return Response(status: 204)
        }
        b.delete("/api/v1/orgs/:org/apps/:app/grants/:member") { ctx in
            let (s, id) = try org(ctx)
            try await s.revokeApp(
                try await callers(ctx), org: id, app: try ctx.parameter("app"), member: try ctx.parameter("member"))
            return Response(status: 204)
        }

        // API keys
        b.get("/api/v1/orgs/:org/apikeys") { ctx in
            let (s, id) = try org(ctx)
            return try .json(try await s.listAPIKeys(try await callers(ctx), org: id))
        }
        b.post("/api/v1/orgs/:org/apikeys") { ctx in
            let (s, id) = try org(ctx)
            let caller = try await callers(ctx)
            return try .json(
                try await s.createAPIKey(caller, org: id, request: try ctx.decode(APIKeyRequest.self)), status: 201
            ).noStore()
        }
        b.delete("/api/v1/orgs/:org/apikeys/:key") { ctx in
            let (s, id) = try org(ctx)
            try await s.revokeAPIKey(try await callers(ctx), org: id, key: try ctx.parameter("key"))
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
        b.get("/api/v1/orgs/:org/audit") { ctx in
            let (s, id) = try org(ctx)
            return try .json(try await s.auditEvents(try await callers(ctx), org: id, query: try auditQuery(ctx)))
        }
        b.get("/api/v1/orgs/:org/audit/export") { ctx in
            let (s, id) = try org(ctx)
            let body = try await s.exportAudit(try await callers(ctx), org: id, query: try auditQuery(ctx))
            return Response(
                status: 200,
                headers: [
                    "Content-Type": "application/x-ndjson",
                    "Content-Disposition": "attachment; filename=\"audit-\(id).jsonl\"",
                ], body: body)
        }

        // Region admins
        b.get("/api/v1/regions/:region/orgs") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.listOrgs(
                    try await callers(ctx), region: try ctx.parameter("region"), cursor: ctx.query("cursor"),
                    limit: try int(ctx, "limit", default: 50)))
        }
        b.post("/api/v1/regions/:region/orgs") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            let caller = try await callers(ctx)
            return try .json(
                try await s.provisionOrg(
                    caller, region: try ctx.parameter("region"), request: try ctx.decode(ProvisionRequest.self)),
                status: 201)
        }
        b.post("/api/v1/regions/:region/orgs/:org/suspend") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.setOrgStatus(
                    try await callers(ctx), region: try ctx.parameter("region"), org: try ctx.parameter("org"),
                    suspended: true))
        }
        b.post("/api/v1/regions/:region/orgs/:org/reactivate") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            return try .json(
                try await s.setOrgStatus(
                    try await callers(ctx), region: try ctx.parameter("region"), org: try ctx.parameter("org"),
                    suspended: false))
        }
        b.delete("/api/v1/regions/:region/orgs/:org") { ctx in
            let s = try directory.service(forRegion: try ctx.parameter("region"))
            let caller = try await callers(ctx)
            try await s.deleteOrg(
                caller, region: try ctx.parameter("region"), org: try ctx.parameter("org"),
                confirmName: try ctx.decode(DeleteOrgRequest.self).confirmName)
            return Response(status: 204)
        }
    }
}
