import Foundation
import GatehouseCore
import GatehouseTesting
import HTTP
import Store
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// Three regions on temp databases with a manual clock, the region API behind a router whose callers come
/// from `X-Test-Caller`, and helpers to build orgs with members.
final class TenantFixture: @unchecked Sendable {
    let dir: String
    let clock = ManualClock()
    let directory: RegionDirectory
    let client: TestClient
    let tokens: InviteTokens

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-tenant-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        tokens = try InviteTokens.loadOrCreate(directory: dir + "/keys")
        var services: [RegionService] = []
        for r in Region.allCases {
            let (location, options) = TestStores.location(
                "\(dir)/\(r.rawValue).db", options: .init(readers: 2, synchronous: .normal))
            let db = try RegionService.openDatabase(path: location, options: options)
            services.append(RegionService(region: r, db: db, clock: clock, tokens: tokens))
        }
        directory = RegionDirectory(services)
        let b = RouterBuilder(logger: Logger(label: "t", sink: .discard))
        RegionRoutes.register(on: b, directory: directory, callers: UnverifiedTestCaller.provider)
        client = TestClient(try b.build())
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func service(_ r: Region) -> RegionService { directory.services[r]! }

    static func caller(_ id: String, admin region: Region? = nil) -> Caller {
        Caller(accountID: id, email: "\(id)@example.com", displayName: id.capitalized, regionAdminOf: region)
    }

    /// Sends a request as `caller` and returns status and parsed JSON (or text).
    @discardableResult
    func call(
        _ caller: Caller?, _ method: String, _ path: String, _ json: String? = nil
    ) async -> (status: Int, body: String, json: Any?) {
        var headers: HTTPHeaders = [:]
        if let caller { headers.set(UnverifiedTestCaller.header, UnverifiedTestCaller.value(caller)) }
        let r: Response
        if let json {
            r = await client.send(method, path, json: json, headers: headers)
        } else {
            r = await client.send(method, path, headers: headers)
        }
        return (r.status, r.bodyText, try? JSONSerialization.jsonObject(with: Data(r.body)))
    }

    /// Provisions an org in `region` whose owner is `owner`, who accepts the owner invite.
    func makeOrg(_ name: String, region: Region = .eu, owner: String = "owner") async throws -> OrgID {
        let s = service(region)
        let p = try await s.provisionOrg(
            Self.caller("ops", admin: region), region: region.rawValue,
            request: ProvisionRequest(name: name, ownerEmail: "\(owner)@example.com"))
        _ = try await s.acceptInvite(
            AcceptInviteRequest(
                token: s.link(for: p.ownerInvite).token, accountID: owner, email: "\(owner)@example.com"))
        return try #require(OrgID(p.org.id))
    }

    /// Adds members by inviting and accepting: `[(accountID, role)]`.
    func add(
        _ members: [(String, String)], to org: OrgID, by inviter: String = "owner", region: Region = .eu,
        first: String? = nil
    ) async throws {
        let s = service(region)
        for (id, role) in members {
            let r = try await s.createInvites(
                Self.caller(inviter), org: org,
                request: InviteRequest(emails: .list(["\(id)@example.com"]), roles: [role], firstName: first))
            guard let inviteID = r.results.first?.inviteID else {
                throw GatehouseError.conflict("not invited: \(r.results)")
            }
            let page = try await s.listInvites(
                Self.caller(inviter), org: org, status: "pending", cursor: nil, limit: 200)
            guard let inv = page.invites.first(where: { $0.id == inviteID }) else { throw GatehouseError.notFound() }
            _ = try await s.acceptInvite(
                AcceptInviteRequest(token: s.link(for: inv).token, accountID: id, email: "\(id)@example.com"))
        }
    }

    func auditCount(_ region: Region = .eu) throws -> Int {
        try service(region).db.readNow { try $0.first("SELECT count(*) FROM audit_events")?.int(0) ?? 0 }
    }
}
