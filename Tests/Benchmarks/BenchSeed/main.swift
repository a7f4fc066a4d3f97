import App
import Foundation
import GatehouseCore
import Tenant
import TenantAPI
import TenantDomain

// Seeds a data directory for the route matrix (Tests/Benchmarks/matrix.sh), through the same services the
// server runs, then exits; the server is started on the directory afterwards. Realistic data: an EU org with
// 10,000 members and 2,000 pending invites, its owner a person in 5 orgs across 3 regions, an API key, an app,
// audit events, a SCIM token. Prints one JSON object: the org, a member id, the session token, the API key, the
// SCIM token. BENCH_MEMBERS sets the number of members (10,000 by default; Tests/Benchmarks/scim.sh uses 100,000).
// With a config file, its stores are used (PostgreSQL for the matrix's POSTGRES_URL runs).
//   swift run -c release BenchSeed <data-dir> [config.json]
guard (2...3).contains(CommandLine.arguments.count) else {
    FileHandle.standardError.write(Data("usage: BenchSeed <data-dir> [config.json]\n".utf8))
    exit(2)
}
var config =
    CommandLine.arguments.count == 3 ? try GatehouseConfig.load(path: CommandLine.arguments[2]) : GatehouseConfig()
config.dataDirectory = CommandLine.arguments[1]
config.scryptLogN = 10
config.mail.transport = .off
let app = try GatehouseApp(config: config, logSink: .discard)
let g = app.gateway
func region(_ r: Region) -> RegionService { app.regions.services[r]! }

let owner = try await g.accounts.create(
    email: "owner@bench.test", firstName: "Olga", lastName: "Owner", password: "bench-password-1")
let ownerCaller = Caller(accountID: owner.id, email: owner.email, displayName: "Olga Owner")
func org(_ name: String, in r: Region) async throws -> OrgID {
    let s = region(r)
    let p = try await s.provisionOrg(
        Caller(accountID: "ops", email: "ops@bench.test", regionAdminOf: r), region: r.rawValue,
        request: ProvisionRequest(name: name, ownerEmail: owner.email))
    _ = try await s.acceptInvite(
        AcceptInviteRequest(token: s.link(for: p.ownerInvite).token, accountID: owner.id, email: owner.email))
    return OrgID(p.org.id)!
}
let big = try await org("Bench Big", in: .eu)
for (name, r) in [("Bench EU 2", Region.eu), ("Bench US 1", .us), ("Bench US 2", .us), ("Bench APAC", .apac)] {
    _ = try await org(name, in: r)
}
let eu = region(.eu)
let first = ["Ada", "Bo", "Cy", "Di", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo"]
let last = ["Lovelace", "Nakamura", "Okafor", "Schmidt", "Silva"]
let memberCount = Int(ProcessInfo.processInfo.environment["BENCH_MEMBERS"] ?? "") ?? 10_000
try await eu.importMembers(
    org: big,
    (0..<memberCount).map { i in
        ImportedMember(
            accountID: "acc_\(i)", email: "person\(i)@bench.test", firstName: first[i % 10],
            lastName: last[i % 5] + "\(i)", roles: [i % 7 == 0 ? "manager" : "member"],
            lastActive: 1_790_000_000 + i * 60, appCount: i % 4)
    })
_ = try await eu.createInvites(
    ownerCaller, org: big,
    request: InviteRequest(emails: .list((0..<2_000).map { "invitee\($0)@bench.test" }), roles: ["member"]))
let app1 = try await eu.createApp(ownerCaller, org: big, name: "Portal")
try await eu.grantApp(ownerCaller, org: big, app: app1.id, member: "acc_42", role: .editor)
let key = try await eu.createAPIKey(ownerCaller, org: big, request: APIKeyRequest(name: "bench"))
let scim = try await eu.createSCIMToken(ownerCaller, org: big, request: SCIMTokenRequest(name: "bench"))
// A steady state: the invitations went out long ago. Left queued, the server would spend the benchmark
// delivering 2,000 mails, each a write that makes every remembered answer stale.
for r in Region.allCases {
    _ = try region(r).db.writeNow { try $0.run("UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL", [1_790_000_000]) }
}
let (token, _) = try await g.sessions.create(accountID: owner.id, method: .password)
let out: [String: String] = [
    "org": big.raw, "member": "acc_42", "session": token, "apiKey": key.secret ?? "", "owner": owner.id,
    "scimToken": scim.secret ?? "",
]
print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
