import Foundation
import GatehouseCore
import HTTP
import Net
import TenantAPI
import TenantDomain
import Web

/// A region in another process (`gatehouse region --region eu`), reached over HTTP with every request signed
/// by `ForwardedIdentity`. A region that cannot be reached makes its own calls fail with 503
/// `region_unavailable`; the other regions are untouched.
package final class RemoteRegionTenant: RegionTenant {
    package let region: Region
    let client: HTTPClient
    let keys: KeyRing
    let clock: any WallClock

    package init(
        region: Region, baseURL: String, keys: KeyRing, clock: any WallClock = SystemClock(), caFile: String? = nil
    ) throws {
        self.region = region
        self.keys = keys
        self.clock = clock
        client = try HTTPClient(baseURL: baseURL, caFile: caFile)
    }

    var unavailable: GatehouseError {
        GatehouseError(
            .regionUnavailable, status: 503,
            "The \(region.rawValue.uppercased()) region cannot be reached right now; organizations in other regions"
                + " are not affected. Try again in a moment.",
            headers: [("Retry-After", "5")])
    }

    /// Response headers worth passing back to the client.
    static let relayedHeaders: Set<String> = [
        "content-type", "content-disposition", "allow", "retry-after", "location", "cache-control",
    ]

    func send(
        method: String, target: String, contentType: String?, body: [UInt8], caller: Caller, requestID: String
    ) async throws -> HTTPClientResponse {
        var headers: [(String, String)] = [
            (
                ForwardedIdentity.header,
                ForwardedIdentity.sign(
                    method: method, target: target, body: body, caller: caller,
                    keys: keys, now: clock.now())
            )
        ]
        if let contentType { headers.append(("Content-Type", contentType)) }
        if !requestID.isEmpty { headers.append(("X-Request-Id", requestID)) }
        do {
            return try await client.send(method: method, target: target, headers: headers, body: body)
        } catch is NetError {
            throw unavailable
        }
    }

    package func forward(_ request: Request, caller: Caller) async throws -> Response {
        let r = try await send(
            method: request.method, target: request.target, contentType: request.headers["content-type"],
            body: request.body,
            caller: caller, requestID: request.id)
        var response = Response(status: r.status, body: r.body)
        for (n, v) in r.headers where Self.relayedHeaders.contains(n) { response.headers.add(n, v) }
        return response
    }

    /// A typed internal call: JSON in, JSON out; a region's error answer is rethrown as the same error.
    func call<In: Encodable, Out: Decodable>(_ path: String, _ body: In, as: Out.Type) async throws -> Out {
        let bytes = Array(try JSONCoding.encoder().encode(body))
        let r = try await send(
            method: "POST", target: path, contentType: "application/json", body: bytes,
            caller: RegionEndpoint.gatewayCaller, requestID: "")
        guard (200..<300).contains(r.status) else { throw Self.error(from: r) }
        if Out.self == Empty.self, let e = Empty() as? Out { return e }
        do { return try JSONCoding.decoder().decode(Out.self, from: Data(r.body)) } catch {
            throw GatehouseError(.regionUnavailable, status: 502, "The region answered something unexpected.")
        }
    }

    struct Empty: Codable {}
    static func error(from r: HTTPClientResponse) -> GatehouseError {
        Response.decodeError(r.body, status: r.status)
            ?? GatehouseError(.regionUnavailable, status: 502, "The region answered with status \(r.status).")
    }

    package func authenticateSCIMToken(_ token: String) async throws -> SCIMTokenIdentity? {
        try await call(
            RegionEndpoint.authenticateSCIMToken.path, RegionEndpoint.TokenBody(token: token),
            as: RegionEndpoint.OptionalValue<SCIMTokenIdentity>.self
        ).value
    }

    package func authenticateAPIKey(_ key: String) async throws -> APIKeyIdentity? {
        try await call(
            RegionEndpoint.authenticateAPIKey.path, ["key": key],
            as: RegionEndpoint.OptionalValue<APIKeyIdentity>.self
        ).value
    }

    package func inviteForToken(_ token: String) async throws -> InviteWithOrg {
        try await call(RegionEndpoint.lookupInvite.path, ["token": token], as: InviteWithOrg.self)
    }

    package func acceptInvite(_ request: AcceptInviteRequest) async throws -> AcceptInviteResult {
        try await call(RegionEndpoint.acceptInvite.path, request, as: AcceptInviteResult.self)
    }

    package func declineInvite(_ request: DeclineInviteRequest) async throws {
        _ = try await call(RegionEndpoint.declineInvite.path, request, as: Empty.self)
    }

    package func sendInviteCode(token: String) async throws {
        _ = try await call(RegionEndpoint.sendInviteCode.path, ["token": token], as: Empty.self)
    }

    package func sendSSOLinkCode(orgID: String, email: String, subject: String) async throws {
        _ = try await call(
            RegionEndpoint.sendSSOLinkCode.path,
            RegionEndpoint.LinkCodeBody(orgID: orgID, email: email, subject: subject), as: Empty.self)
    }

    package func recordSSOChange(_ change: SSOChangeRecord) async throws {
        _ = try await call(RegionEndpoint.recordSSOChange.path, change, as: Empty.self)
    }

    package func overview(accountID: String, email: String) async throws -> AccountOverview {
        try await call(
            RegionEndpoint.overview.path, RegionEndpoint.OverviewBody(accountID: accountID, email: email),
            as: AccountOverview.self)
    }

    package func memberships(accountID: String) async throws -> [MembershipSummary] {
        try await call(RegionEndpoint.memberships.path, ["accountID": accountID], as: [MembershipSummary].self)
    }

    package func ssoSignIn(_ request: SSOSignInRequest) async throws -> SSOSignInResult {
        try await call(RegionEndpoint.ssoSignIn.path, request, as: SSOSignInResult.self)
    }

    package func appEntry(
        orgID: String, slug: String, caller: Caller, asMember: String?
    ) async throws
        -> AppEntryAnswer
    {
        try await call(
            RegionEndpoint.appEntry.path,
            RegionEndpoint.AppEntryBody(orgID: orgID, slug: slug, caller: caller, asMember: asMember),
            as: AppEntryAnswer.self)
    }

    package func standing(orgID: String, caller: Caller) async throws -> OrgStanding {
        try await call(
            RegionEndpoint.standing.path, RegionEndpoint.StandingBody(orgID: orgID, caller: caller),
            as: OrgStanding.self)
    }
}
