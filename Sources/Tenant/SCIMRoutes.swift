import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// SCIM 2.0 under `/scim/v2/orgs/:org` (answers `application/scim+json`, errors in SCIM's shape), and the org's
/// SCIM tokens under `/api/v1/orgs/:org/scim-tokens`. The caller of a SCIM route is the token the gateway
/// checked (`Caller.scim`); the region re-reads it in every transaction.
package enum SCIMRoutes {
    static let contentType = "application/scim+json"

    package static func register(on b: RouterBuilder, directory: RegionDirectory, callers: @escaping CallerProvider) {
        let orgs = b.group("/api/v1/orgs/:org", OrgScopeMiddleware(directory: directory, callers: callers))
        orgs.get("/scim-tokens") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(try await s.listSCIMTokens(caller, org: id))
        }
        orgs.post("/scim-tokens") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            return try .json(
                try await s.createSCIMToken(caller, org: id, request: try ctx.decode(SCIMTokenRequest.self)),
                status: 201)
        }
        orgs.delete("/scim-tokens/:token") { ctx in
            let (s, id, caller) = try ctx.orgScope()
            try await s.revokeSCIMToken(caller, org: id, token: try ctx.parameter("token"))
            return Response(status: 204)
        }

        let scim = b.group("/scim/v2/orgs/:org", SCIMScope(directory: directory, callers: callers))
        scim.get("/ServiceProviderConfig") { ctx in
            let (s, org, _) = try ctx.orgScope()
            return answer(SCIMDiscovery.serviceProviderConfig(base(s, org)))
        }
        scim.get("/ResourceTypes") { ctx in
            let (s, org, _) = try ctx.orgScope()
            let all = SCIMDiscovery.resourceTypes(base(s, org))
            return answer(SCIMDiscovery.list(all))
        }
        scim.get("/ResourceTypes/:id") { ctx in
            let (s, org, _) = try ctx.orgScope()
            let id = try ctx.parameter("id")
            guard let t = SCIMDiscovery.resourceTypes(base(s, org)).first(where: { ($0["id"] as? String) == id }) else {
                throw SCIMError(404, nil, "No such resource type.")
            }
            return answer(t)
        }
        scim.get("/Schemas") { ctx in
            let (s, org, _) = try ctx.orgScope()
            return answer(SCIMDiscovery.list(SCIMDiscovery.schemas(base(s, org))))
        }
        scim.get("/Schemas/:id") { ctx in
            let (s, org, _) = try ctx.orgScope()
            let id = try ctx.parameter("id")
            guard let t = SCIMDiscovery.schemas(base(s, org)).first(where: { ($0["id"] as? String) == id }) else {
                throw SCIMError(404, nil, "No such schema.")
            }
            return answer(t)
        }

        // Users
        scim.get("/Users") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let r = try await s.scimListUsers(caller, org: org, query: try query(ctx), base: base(s, org))
            return answer(r.value, shaped: ctx)
        }
        scim.post("/Users") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            // The account the gateway found or made for userName; only the gateway sets it (it rebuilds the query).
            guard let account = ctx.query("account"), !account.isEmpty else {
                throw SCIMError(400, "invalidValue", "The user's account could not be determined.")
            }
            let r = try await s.scimCreateUser(
                caller, org: org, accountID: account, body: try body(ctx), base: base(s, org))
            return answer(r.value, status: 201, shaped: ctx)
        }
        // SCIM search by POST (RFC 7644 §3.4.3): the query in the body.
        scim.post("/Users/.search") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let (q, attrs, excluded) = try searchBody(ctx)
            let r = try await s.scimListUsers(caller, org: org, query: q, base: base(s, org))
            return answer(SCIMProjection.apply(r.value, attributes: attrs, excluded: excluded))
        }
        scim.post("/Groups/.search") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let (q, attrs, excluded) = try searchBody(ctx)
            let r = try await s.scimListGroups(
                caller, org: org, query: q, withMembers: wantsMembers(attrs, excluded), base: base(s, org))
            return answer(SCIMProjection.apply(r.value, attributes: attrs, excluded: excluded))
        }
        // Search across every resource type (users first, then groups).
        scim.post("/.search") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let (q, attrs, excluded) = try searchBody(ctx)
            var all = q
            all.startIndex = 1
            all.count = 1000
            let users = try await s.scimListUsers(caller, org: org, query: all, base: base(s, org)).value
            let groups = try await s.scimListGroups(
                caller, org: org, query: all, withMembers: wantsMembers(attrs, excluded),
                base: base(s, org)
            ).value
            let resources =
                ((users["Resources"] as? [[String: Any]]) ?? []) + ((groups["Resources"] as? [[String: Any]]) ?? [])
            let start = max(1, q.startIndex)
            let page = Array(resources.dropFirst(start - 1).prefix(min(max(0, q.count), 1000)))
            let total = ((users["totalResults"] as? Int) ?? 0) + ((groups["totalResults"] as? Int) ?? 0)
            return answer(
                SCIMProjection.apply(
                    [
                        "schemas": [RegionService.scimList], "totalResults": total, "startIndex": start,
                        "itemsPerPage": page.count, "Resources": page,
                    ], attributes: attrs, excluded: excluded))
        }
        scim.get("/Users/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let r = try await s.scimGetUser(caller, org: org, id: try ctx.parameter("id"), base: base(s, org))
            return try notModified(ctx, r.value) ?? answer(r.value, shaped: ctx)
        }
        scim.put("/Users/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let replacement = SCIMObject(try body(ctx))
            let r = try await s.scimReplaceUser(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org), resetAbsent: false
            ) { _ in replacement.value }
            return answer(r.value, shaped: ctx)
        }
        scim.patch("/Users/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let ops = SCIMObject(try body(ctx))
            let r = try await s.scimReplaceUser(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org), resetAbsent: true
            ) { current in try SCIMPatch.apply(ops.value, to: current) }
            return answer(r.value, shaped: ctx)
        }
        scim.delete("/Users/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            try await s.scimDeleteUser(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org))
            return Response(status: 204)
        }

        // Groups (the org's roles)
        scim.get("/Groups") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let members = wantsMembers(ctx.query("attributes"), ctx.query("excludedAttributes"))
            let r = try await s.scimListGroups(
                caller, org: org, query: try query(ctx), withMembers: members, base: base(s, org))
            return answer(r.value, shaped: ctx)
        }
        scim.get("/Groups/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let r = try await s.scimGetGroup(caller, org: org, id: try ctx.parameter("id"), base: base(s, org))
            return try notModified(ctx, r.value) ?? answer(r.value, shaped: ctx)
        }
        scim.patch("/Groups/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let ops = SCIMObject(try body(ctx))
            let r = try await s.scimChangeGroup(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org)
            ) { current in try SCIMPatch.apply(ops.value, to: current) }
            return answer(r.value, shaped: ctx)
        }
        scim.put("/Groups/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let replacement = SCIMObject(try body(ctx))
            let r = try await s.scimChangeGroup(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org)
            ) { _ in replacement.value }
            return answer(r.value, shaped: ctx)
        }
        scim.post("/Groups") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            let r = try await s.scimCreateGroup(caller, org: org, body: try body(ctx), base: base(s, org))
            return answer(r.value, status: 201, shaped: ctx)
        }
        scim.delete("/Groups/:id") { ctx in
            let (s, org, caller) = try ctx.orgScope()
            try await s.scimDeleteGroup(
                caller, org: org, id: try ctx.parameter("id"), ifMatch: ctx.request.headers["if-match"],
                base: base(s, org))
            return Response(status: 204)
        }
        // Anything else under SCIM: its 404, in SCIM's shape.
        scim.any("/*") { _ in throw SCIMError(404, nil, "There is no such SCIM endpoint.") }
    }

    /// Whether a group list should carry members (large for big roles): not when excluded or not asked for.
    static func wantsMembers(_ attributes: String?, _ excluded: String?) -> Bool {
        !(excluded ?? "").lowercased().contains("members")
            && (attributes.map { $0.lowercased().contains("members") } ?? true)
    }

    static func base(_ s: RegionService, _ org: OrgID) -> String {
        s.settings.publicBaseURL + "/scim/v2/orgs/" + org.raw
    }

    static func query(_ ctx: RequestContext) throws -> RegionService.SCIMQuery {
        var q = RegionService.SCIMQuery()
        q.filter = ctx.query("filter")
        if let raw = ctx.query("startIndex") {
            guard let n = Int(raw) else { throw SCIMError(400, "invalidValue", "`startIndex` must be an integer.") }
            q.startIndex = n
        }
        if let raw = ctx.query("count") {
            guard let n = Int(raw) else { throw SCIMError(400, "invalidValue", "`count` must be an integer.") }
            q.count = n
        }
        return q
    }

    /// A `.search` body: the query, and the attributes to return or leave out.
    static func searchBody(_ ctx: RequestContext) throws -> (RegionService.SCIMQuery, String?, String?) {
        let o = try body(ctx)
        func list(_ k: String) -> String? {
            if let a = o[k] as? [String] { return a.joined(separator: ",") }
            return o[k] as? String
        }
        var q = RegionService.SCIMQuery()
        q.filter = o["filter"] as? String
        if let n = o["startIndex"] as? Int { q.startIndex = n }
        if let n = o["count"] as? Int { q.count = n }
        return (q, list("attributes"), list("excludedAttributes"))
    }

    static func body(_ ctx: RequestContext) throws -> [String: Any] {
        guard !ctx.request.body.isEmpty,
            let o = try? JSONSerialization.jsonObject(with: Data(ctx.request.body)) as? [String: Any]
        else { throw SCIMError(400, "invalidSyntax", "The body must be a JSON object.") }
        return o
    }

    /// GET with `If-None-Match` equal to the current version: 304.
    static func notModified(_ ctx: RequestContext, _ resource: [String: Any]) throws -> Response? {
        guard let inm = ctx.request.headers["if-none-match"],
            let v = (resource["meta"] as? [String: Any])?["version"] as? String,
            inm.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }).contains(v)
        else { return nil }
        var r = Response(status: 304)
        r.headers.set("ETag", v)
        return r
    }

    static func answer(_ object: [String: Any], status: Int = 200, shaped ctx: RequestContext? = nil) -> Response {
        var value = object
        if let ctx {
            value = SCIMProjection.apply(
                value, attributes: ctx.query("attributes"), excluded: ctx.query("excludedAttributes"))
        }
        var r = Response(status: status, headers: ["Content-Type": contentType], body: SCIMObject(value).bytes)
        if let v = (object["meta"] as? [String: Any])?["version"] as? String { r.headers.set("ETag", v) }
        if status == 201, let loc = (object["meta"] as? [String: Any])?["location"] as? String {
            r.headers.set("Location", loc)
        }
        return r
    }

    static func error(_ e: SCIMError) -> Response { e.response }
}

/// The SCIM routes' middleware: the org and its region's service, the caller, and every refusal in SCIM's error
/// shape (a GatehouseError too: 401, 404 and the like keep their status).
struct SCIMScope: Middleware {
    let directory: RegionDirectory
    let callers: CallerProvider

    func handle(_ context: RequestContext, next: Handler) async throws -> Response {
        do {
            guard let org = OrgID(try context.parameter("org")) else {
                throw SCIMError(404, nil, "No such organization.")
            }
            let service = try directory.service(forOrg: org.raw)
            var ctx = context
            ctx[OrgScopeKey.self] = OrgScope(service: service, org: org, caller: try await callers(context))
            return try await next(ctx)
        } catch let e as SCIMError {
            return SCIMRoutes.error(e)
        } catch let e as GatehouseError {
            return SCIMRoutes.error(SCIMError(e.status, e.status == 409 ? "uniqueness" : nil, e.message))
        }
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) on a resource or a list's resources. `id` and
/// `schemas` are always returned.
enum SCIMProjection {
    static func apply(_ o: [String: Any], attributes: String?, excluded: String?) -> [String: Any] {
        guard attributes != nil || excluded != nil else { return o }
        if let resources = o["Resources"] as? [[String: Any]] {
            var list = o
            list["Resources"] = resources.map { apply($0, attributes: attributes, excluded: excluded) }
            return list
        }
        let split = { (s: String) in
            s.split(separator: ",").map { SCIMFilter.path(String($0).trimmingCharacters(in: .whitespaces)) }
        }
        var out = o
        if let attributes {
            let wanted = split(attributes)
            out = [:]
            for (k, v) in o {
                let key = k.lowercased()
                if key == "id" || key == "schemas" {
                    out[k] = v
                    continue
                }
                let paths = wanted.filter { $0.first == key }
                if paths.contains(where: { $0.count == 1 }) {
                    out[k] = v
                } else if !paths.isEmpty, let sub = v as? [String: Any] {
                    let subs = Set(paths.compactMap { $0.count > 1 ? $0[1] : nil })
                    out[k] = sub.filter { subs.contains($0.key.lowercased()) }
                } else if !paths.isEmpty, let arr = v as? [[String: Any]] {
                    let subs = Set(paths.compactMap { $0.count > 1 ? $0[1] : nil })
                    out[k] = arr.map { $0.filter { subs.contains($0.key.lowercased()) } }
                }
            }
        }
        if let excluded {
            for p in split(excluded) {
                guard let key = out.keys.first(where: { $0.lowercased() == p.first }), key != "id", key != "schemas"
                else { continue }
                if p.count == 1 {
                    out[key] = nil
                } else if var sub = out[key] as? [String: Any] {
                    sub = sub.filter { $0.key.lowercased() != p[1] }
                    out[key] = sub
                }
            }
        }
        return out
    }
}

/// PATCH operations (RFC 7644 §3.5.2) applied to a resource's JSON: add, replace, remove; with a path
/// (`active`, `name.givenName`, `members`, `members[value eq "…"]`, `emails[type eq "work"].value`, URN-prefixed
/// extension attributes) or without (the value's attributes, each a path, as Entra ID and Okta send).
enum SCIMPatch {
    static func apply(_ body: [String: Any], to resource: [String: Any]) throws -> [String: Any] {
        let schemas = (body["schemas"] as? [String]) ?? []
        guard schemas.contains("urn:ietf:params:scim:api:messages:2.0:PatchOp") else {
            throw SCIMError(400, "invalidSyntax", "A PATCH body names the PatchOp schema.")
        }
        guard let ops = (body["Operations"] ?? body["operations"]) as? [[String: Any]], !ops.isEmpty, ops.count <= 1000
        else {
            throw SCIMError(400, "invalidSyntax", "`Operations` must list 1–1000 operations.")
        }
        var r = resource
        for op in ops {
            guard let kind = (op["op"] as? String)?.lowercased(), ["add", "replace", "remove"].contains(kind) else {
                throw SCIMError(400, "invalidSyntax", "Each operation's `op` is add, replace or remove.")
            }
            let value = op["value"]
            if let path = op["path"] as? String, !path.isEmpty {
                try apply(kind, path: path, value: value, to: &r)
            } else {
                guard kind != "remove", let attrs = value as? [String: Any] else {
                    throw SCIMError(400, "noTarget", "An operation without a path takes an object of attributes.")
                }
                for (k, v) in attrs { try apply(kind, path: k, value: v, to: &r) }
            }
        }
        return r
    }

    static func key(_ o: [String: Any], _ name: String) -> String {
        o.keys.first { $0.lowercased() == name.lowercased() } ?? name
    }

    static func apply(_ kind: String, path raw: String, value: Any?, to r: inout [String: Any]) throws {
        // attr[filter].sub  or  attr[filter]  or  a.b  or  urn:…:attr
        var path = raw
        var filter: SCIMFilter?
        var subAfter: String?
        if let open = path.firstIndex(of: "["), let close = path.lastIndex(of: "]"), open < close {
            do {
                filter = try SCIMFilter.parse(String(path[path.index(after: open)..<close]))
            } catch { throw SCIMError(400, "invalidPath", "The path `\(raw)` has a bad filter.") }
            let after = path[path.index(after: close)...]
            subAfter = after.hasPrefix(".") ? String(after.dropFirst()) : nil
            path = String(path[..<open])
        }
        // A path naming an extension itself (its whole URN) is one top-level attribute.
        let known = [RegionService.scimGatehouse, RegionService.scimEnterprise].map { $0.lowercased() }
        let parts = known.contains(path.lowercased()) ? [path.lowercased()] : SCIMFilter.path(path)
        guard let first = parts.first else { throw SCIMError(400, "invalidPath", "An empty path.") }
        let top = key(r, first)
        if let filter {
            // Multi-valued attribute elements matched by the filter.
            var arr = (r[top] as? [[String: Any]]) ?? []
            if kind == "remove" && subAfter == nil {
                arr.removeAll { filter.matches($0) }
            } else {
                for i in arr.indices where filter.matches(arr[i]) {
                    if let sub = subAfter {
                        if kind == "remove" { arr[i][key(arr[i], sub)] = nil } else { arr[i][key(arr[i], sub)] = value }
                    } else if let v = value as? [String: Any] {
                        for (k, x) in v { arr[i][key(arr[i], k)] = x }
                    }
                }
            }
            r[top] = arr
            return
        }
        if parts.count == 1 {
            switch kind {
            case "remove":
                if let removeList = value as? [[String: Any]], var arr = r[top] as? [[String: Any]] {
                    let ids = Set(removeList.compactMap { $0["value"] as? String })
                    arr.removeAll { ids.contains(($0["value"] as? String) ?? "") }
                    r[top] = arr
                } else {
                    r[top] = nil
                }
            case "add":
                if let adds = value as? [Any], let arr = r[top] as? [Any] {
                    r[top] = arr + adds
                } else if let adds = value as? [String: Any], var obj = r[top] as? [String: Any] {
                    for (k, v) in adds { obj[key(obj, k)] = v }
                    r[top] = obj
                } else {
                    r[top] = value
                }
            default:
                if let adds = value as? [String: Any], var obj = r[top] as? [String: Any], top.lowercased() != "members"
                {
                    for (k, v) in adds { obj[key(obj, k)] = v }
                    r[top] = obj
                } else {
                    r[top] = value
                }
            }
            return
        }
        // a.b (one level under an object, including an extension's attribute).
        var obj = (r[top] as? [String: Any]) ?? [:]
        let sub = key(obj, parts[1])
        if kind == "remove" { obj[sub] = nil } else { obj[sub] = value }
        r[top] = obj
    }
}
