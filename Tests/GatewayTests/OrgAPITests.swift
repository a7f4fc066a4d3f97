import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import TenantAPI
import TenantDomain
import Testing

/// `OrgAPI`, the console's typed view of the region API: the same answers and refusals an API client gets,
/// through the same forward, in one process and across processes.
@Suite("OrgAPI: typed region calls")
struct OrgAPITests {
    @Test(arguments: [false, true])
    func typedAnswersAndTheRegionsRefusals(split: Bool) async throws {
        let f = try GatewayFixture(split: split)
        let (org, _, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let olga = try await #require(try f.app.gateway.accounts.find(email: "olga@acme.test"))
        let caller = Caller(accountID: olga.id, email: olga.email, displayName: olga.displayName)
        let api = OrgAPI(
            tenant: try f.app.gateway.regions.tenant(forOrg: org), org: org, caller: caller, requestID: "t",
            remoteAddress: "10.0.0.9")
        #expect(try await api.roles().map(\.id).contains("owner"))
        #expect(try await api.members([("limit", "50")]).members.map(\.email) == ["olga@acme.test"])
        let pending = try await api.invites([("status", "pending")]).invites
        #expect(pending.map(\.email) == ["mia@acme.test"])
        let app = try await api.createApp(name: "Reports")
        // The four starting pages are apps of every org, beside the one made here.
        #expect(
            Set(try await api.apps().map(\.name)) == ["Agent Console", "Console", "Portal", "Reports", "Studio"])
        // The region's refusals arrive as the GatehouseError an API client would see (code and status).
        await #expect(throws: GatehouseError(.init(Refusal.notYourself.code), status: 403, "")) {
            try await api.grant(app: app.id, member: olga.id, role: .admin)
        }
        await #expect(throws: GatehouseError.notFound()) { _ = try await api.member("acc_nobody") }
        let renamed = try await api.rename("Acme Renamed")
        #expect(renamed.name == "Acme Renamed" && renamed.status == .active)
        // A bulk refusal is an answer (who blocked it), not an error.
        let bulk = try await api.bulk(BulkRequest(action: .remove, members: [olga.id]))
        #expect(!bulk.applied && bulk.refusals.first?.code == Refusal.notYourself.code)
    }
}
