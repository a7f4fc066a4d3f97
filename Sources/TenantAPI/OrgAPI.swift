import Foundation
import GatehouseCore
import HTTP
import TenantDomain
import Web

/// One org's region API as typed calls, for code inside the gateway (the console) that acts as a person.
///
/// Why: the console used to speak HTTP to the region by hand — URL strings, `status == 204` checks, error bodies
/// re-parsed — and every page repeated it. Here each call is implemented once over `RegionTenant.forward` (so
/// every rule is still the region's, in this process or another), answers a DTO, and throws the region's
/// refusal as the same `GatehouseError` (code, status, message) an API client would get.
package struct OrgAPI: Sendable {
    package let tenant: any RegionTenant
    package let org: String
    package let caller: Caller
    /// The page request's id and client address, carried to the region for its logs.
    package let requestID: String
    package let remoteAddress: String
    /// How requests reach the region (the gateway wraps `tenant.forward` with its own bookkeeping).
    let forward: @Sendable (Request) async throws -> Response

    package init(
        tenant: any RegionTenant, org: String, caller: Caller, requestID: String, remoteAddress: String,
        forward: (@Sendable (Request) async throws -> Response)? = nil
    ) {
        self.tenant = tenant
        self.org = org
        self.caller = caller
        self.requestID = requestID
        self.remoteAddress = remoteAddress
        self.forward = forward ?? { [tenant, caller] in try await tenant.forward($0, caller: caller) }
    }

    // MARK: Reads

    package func roles() async throws -> [RoleView] { try await get("/roles") }
    package func apps() async throws -> [AppView] { try await get("/apps") }
    package func members(_ query: [(String, String)]) async throws -> MemberPage { try await get("/members", query) }
    package func member(_ id: String) async throws -> MemberView { try await get("/members/" + Self.segment(id)) }
    package func permissions(of id: String) async throws -> PermissionsView {
        try await get("/members/" + Self.segment(id) + "/permissions")
    }
    package func invites(_ query: [(String, String)]) async throws -> InvitePage { try await get("/invites", query) }
    package func inviteLink(_ id: String) async throws -> InviteLink {
        try await get("/invites/" + Self.segment(id) + "/link")
    }
    package func apiKeys() async throws -> [APIKeyView] { try await get("/apikeys") }
    package func scimTokens() async throws -> [SCIMTokenView] { try await get("/scim-tokens") }
    package func agencies() async throws -> [OrgAgencyView] { try await get("/agencies") }
    package func agencyRegister() async throws -> [AgencyView] { try await get("/agencies/register") }
    package func agencyRequests() async throws -> [AgencyRequestView] { try await get("/agency-requests") }
    package func audit(_ query: [(String, String)]) async throws -> AuditPage { try await get("/audit", query) }

    // MARK: Changes

    package func rename(_ name: String) async throws -> OrgView {
        try await send("PATCH", "", body: RenameRequest(name: name))
    }
    /// Hands the org to the member with `email` (owners: `org.transfer`); the caller becomes an admin.
    package func transfer(to email: String) async throws -> MemberView {
        try await send("POST", "/transfer", body: TransferRequest(email: email))
    }
    /// Deletes the org (owners: `org.delete`), confirmed by its name typed exactly.
    package func deleteOrg(confirmName: String) async throws {
        try await done("DELETE", "", body: DeleteOrgRequest(confirmName: confirmName))
    }
    package func updateMember(_ id: String, _ patch: MemberPatch) async throws -> MemberView {
        try await send("PATCH", "/members/" + Self.segment(id), body: patch)
    }
    /// A bulk change: applied to all or none. A refusal (409) is an answer here, not an error: it names who blocked it.
    package func bulk(_ request: BulkRequest) async throws -> BulkResult {
        let r = try await exchange("POST", "/members/bulk", body: request)
        guard (200..<300).contains(r.status) || r.status == 409,
            let result = try? JSONCoding.decode(BulkResult.self, from: r.body)
        else { throw Self.error(from: r) }
        return result
    }
    package func grant(app: String, member: String, role: AppRole) async throws {
        try await done("POST", "/apps/" + Self.segment(app) + "/grants", body: GrantRequest(member: member, role: role))
    }
    package func revoke(app: String, member: String) async throws {
        try await done("DELETE", "/apps/" + Self.segment(app) + "/grants/" + Self.segment(member))
    }
    package func createInvites(_ request: InviteRequest) async throws -> InviteBatchResult {
        try await send("POST", "/invites", body: request)
    }
    package func resendInvite(_ id: String) async throws {
        try await done("POST", "/invites/" + Self.segment(id) + "/resend")
    }
    package func revokeInvite(_ id: String) async throws {
        try await done("POST", "/invites/" + Self.segment(id) + "/revoke")
    }
    package func createApp(name: String) async throws -> AppView {
        try await send("POST", "/apps", body: AppRequest(name: name))
    }
    package func updateApp(_ id: String, _ patch: AppPatch) async throws -> AppView {
        try await send("PATCH", "/apps/" + Self.segment(id), body: patch)
    }
    package func recordViewAs(app: String, member: String, started: Bool) async throws {
        try await done(
            "POST", "/apps/" + Self.segment(app) + "/view-as", body: ViewAsBody(member: member, started: started))
    }
    /// Imports an app export (the ZIP's bytes as they came).
    package func importApp(zip: [UInt8]) async throws -> AppImportResult {
        let r = try await forward(
            Request(
                method: "POST", target: "/api/v1/orgs/" + Self.segment(org) + "/apps/import",
                headers: ["Host": "gatehouse", "Content-Type": "application/zip"], body: zip, id: requestID,
                remoteAddress: remoteAddress))
        guard (200..<300).contains(r.status) else { throw Self.error(from: r) }
        if let typed = r.value as? AppImportResult { return typed }
        do { return try JSONCoding.decode(AppImportResult.self, from: r.body) } catch {
            throw GatehouseError.internalError(detail: "region answer for the app import did not decode")
        }
    }
    package func checkApp(_ id: String, member: String) async throws -> AppCheckAnswer {
        try await get("/apps/" + Self.segment(id) + "/check", [("member", member)])
    }
    package func renameApp(_ id: String, name: String) async throws -> AppView {
        try await send("PATCH", "/apps/" + Self.segment(id), body: AppRequest(name: name))
    }
    package func deleteApp(_ id: String) async throws { try await done("DELETE", "/apps/" + Self.segment(id)) }
    package func updateRole(_ id: String, _ request: RoleRequest) async throws -> RoleView {
        try await send("PATCH", "/roles/" + Self.segment(id), body: request)
    }
    package func createRole(_ request: RoleRequest) async throws -> RoleView {
        try await send("POST", "/roles", body: request)
    }
    package func deleteRole(_ id: String) async throws { try await done("DELETE", "/roles/" + Self.segment(id)) }
    package func createAPIKey(_ request: APIKeyRequest) async throws -> APIKeyView {
        try await send("POST", "/apikeys", body: request)
    }
    package func revokeAPIKey(_ id: String) async throws { try await done("DELETE", "/apikeys/" + Self.segment(id)) }
    package func createSCIMToken(_ request: SCIMTokenRequest) async throws -> SCIMTokenView {
        try await send("POST", "/scim-tokens", body: request)
    }
    package func revokeSCIMToken(_ id: String) async throws {
        try await done("DELETE", "/scim-tokens/" + Self.segment(id))
    }
    package func addAgency(_ id: String) async throws {
        try await done("POST", "/agencies", body: AgencyAddBody(agency: id))
    }
    package func removeAgency(_ id: String) async throws -> [AgencyPerson] {
        try await send("DELETE", "/agencies/" + Self.segment(id), body: Optional<String>.none)
    }
    package func agencyGrant(_ agency: String, _ request: AgencyGrantRequest) async throws -> AgencyGrantResult {
        try await send("POST", "/agencies/" + Self.segment(agency) + "/grants", body: request)
    }
    package func agencyRevoke(_ agency: String, _ body: AgencyRevokeBody) async throws {
        try await done("POST", "/agencies/" + Self.segment(agency) + "/revoke", body: body)
    }
    package func requestAgency(_ body: AgencyBody) async throws -> AgencyRequestView {
        try await send("POST", "/agency-requests", body: body)
    }

    // MARK: The one implementation

    func get<T: Decodable>(_ path: String, _ query: [(String, String)] = []) async throws -> T {
        try await send("GET", path, query: query, body: Optional<String>.none)
    }

    func send<T: Decodable>(
        _ method: String, _ path: String, query: [(String, String)] = [], body: (some Encodable)?
    )
        async throws -> T
    {
        let r = try await exchange(method, path, query: query, body: body)
        guard (200..<300).contains(r.status) else { throw Self.error(from: r) }
        if let typed = r.value as? T { return typed }  // answered in this process: the value the body was written from
        do { return try JSONCoding.decode(T.self, from: r.body) } catch {
            throw GatehouseError.internalError(detail: "region answer for \(method) \(path) did not decode")
        }
    }

    func done(_ method: String, _ path: String, body: (some Encodable)? = Optional<String>.none) async throws {
        let r = try await exchange(method, path, body: body)
        guard (200..<300).contains(r.status) else { throw Self.error(from: r) }
    }

    func exchange(
        _ method: String, _ path: String, query: [(String, String)] = [], body: (some Encodable)?
    )
        async throws -> Response
    {
        var target = "/api/v1/orgs/" + Self.segment(org) + path
        if !query.isEmpty {
            target +=
                "?"
                + query.map { FormDecoding.percentEncode($0.0) + "=" + FormDecoding.percentEncode($0.1) }.joined(
                    separator: "&")
        }
        var headers: HTTPHeaders = ["Host": "gatehouse"]
        var bytes: [UInt8] = []
        if let body {
            bytes = Array(try JSONCoding.encoder().encode(body))
            headers.set("Content-Type", "application/json")
        }
        return try await forward(
            Request(
                method: method, target: target, headers: headers, body: bytes, id: requestID,
                remoteAddress: remoteAddress))
    }

    static func segment(_ s: String) -> String { FormDecoding.percentEncode(s) }

    /// The region's JSON error as the `GatehouseError` it was.
    package static func error(from r: Response) -> GatehouseError {
        Response.decodeError(r.body, status: r.status)
            ?? GatehouseError(
                .regionUnavailable, status: r.status >= 500 ? 502 : r.status,
                "The region answered with status \(r.status).")
    }
}
