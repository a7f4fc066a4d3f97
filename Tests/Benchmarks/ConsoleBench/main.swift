import App
import Foundation
import GatehouseCore
// Console page server time: the members page (first page) of an org with 10,000 members, rendered by the
// whole all-in-one app in memory (session cookie → console → region through RegionTenant → HTML), release
// build. Prints p50/p95 of 200 requests for the default page and for a search.
//   swift run -c release ConsoleBench
import GatehouseTesting
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Web

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-console-bench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: dir) }
var config = GatehouseConfig()
config.dataDirectory = dir
config.scryptLogN = 10
config.mail.transport = .off
let app = try GatehouseApp(config: config, logSink: .discard)
let g = app.gateway
guard let eu = app.regions.services[.eu] else { fatalError("no eu region") }

let owner = try await g.accounts.create(email: "owner@bench.test", firstName: "Olga", lastName: "Owner", password: nil)
let ops = Caller(accountID: "ops", email: "ops@bench.test", regionAdminOf: .eu)
let provisioned = try await eu.provisionOrg(
    ops, region: "eu", request: ProvisionRequest(name: "Bench", ownerEmail: owner.email))
_ = try await eu.acceptInvite(
    AcceptInviteRequest(token: eu.link(for: provisioned.ownerInvite).token, accountID: owner.id, email: owner.email))
let org = provisioned.org.id
let first = ["Ada", "Bo", "Cy", "Di", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"]
let last = ["Lovelace", "Nakamura", "Okafor", "Schmidt", "Silva"]
var batch: [ImportedMember] = []
for i in 0..<10_000 {
    batch.append(
        ImportedMember(
            accountID: "acc_\(i)", email: "person\(i)@bench.test", firstName: first[i % 10],
            lastName: last[i % 5] + "\(i)",
            roles: [i % 7 == 0 ? "manager" : "member"], lastActive: 1_790_000_000 + i * 60, appCount: i % 4))
}
try await eu.importMembers(org: OrgID(org)!, batch)
let (token, _) = try await g.sessions.create(accountID: owner.id, method: .password)
let client = TestClient(app.router)
let headers: HTTPHeaders = ["Host": "bench", "Cookie": "gh_session=\(token)"]
let clock = ContinuousClock()

func measure(_ path: String) async -> (Double, Double, Int) {
    var times: [Double] = []
    var size = 0
    for _ in 0..<200 {
        let t0 = clock.now
        let r = await client.send("GET", path, headers: headers)
        let d = clock.now - t0
        guard r.status == 200 else {
            print("\(path): HTTP \(r.status)")
            exit(1)
        }
        size = r.body.count
        times.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
    }
    times.sort()
    return (times[100], times[190], size)
}
for (label, path) in [
    ("members, first page (50 of 10,001)", "/console/\(org)/members"),
    ("members, search \"ada\"", "/console/\(org)/members?q=ada"),
    ("members, by last active desc", "/console/\(org)/members?sort=last_active&order=desc"),
    ("invites", "/console/\(org)/invites"),
] {
    let (p50, p95, size) = await measure(path)
    print(String(format: "%@: p50 %.2f ms, p95 %.2f ms (%d bytes)", label, p50, p95, size))
}
