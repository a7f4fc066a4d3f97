import Foundation
import GatehouseCore
import GatehouseTesting
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Web

// The region tenant benchmark (release build): one request inviting 10,000 addresses, and the members list of
// an org with 100,000 members — page 1 sorted by last active and filtered by every kind of search term, later
// pages by cursor, and single-member lookups. Everything goes through the router in memory, so the figures are
// server time: JSON decoding, rules, SQLite, JSON encoding. The store runs with synchronous=FULL (the default).

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    return s[min(s.count - 1, Int(Double(s.count - 1) * p))]
}

let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-bench-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
// Removed explicitly before every exit (top-level `defer` does not run on `exit`).
func cleanUp() { try? FileManager.default.removeItem(atPath: dir) }
let tokens = try InviteTokens.loadOrCreate(directory: dir + "/keys")
// POSTGRES_URL: the same in PostgreSQL (a fresh schema in that database).
let postgres = ProcessInfo.processInfo.environment["POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
let db = try RegionService.openDatabase(
    path: postgres ?? dir + "/eu.db",
    options: .init(
        readers: 4, synchronous: ProcessInfo.processInfo.environment["BENCH_SYNC"] == "NORMAL" ? .normal : .full,
        schema: postgres.map { _ in "bench\(UInt32.random(in: 0...UInt32.max))" }))
db.startCheckpointing()
let service = RegionService(region: .eu, db: db, tokens: tokens)
let builder = RouterBuilder(logger: Logger(label: "bench", sink: .discard))
RegionRoutes.register(on: builder, directory: RegionDirectory([service]), callers: UnverifiedTestCaller.provider)
let client = TestClient(try builder.build())
let clock = ContinuousClock()

func call(_ caller: Caller, _ method: String, _ path: String, _ body: String? = nil) async -> Response {
    let h: HTTPHeaders = [UnverifiedTestCaller.header: UnverifiedTestCaller.value(caller)]
    if let body { return await client.send(method, path, json: body, headers: h) }
    return await client.send(method, path, headers: h)
}

let ops = Caller(accountID: "ops", email: "ops@example.com", regionAdminOf: .eu)
let owner = Caller(accountID: "owner", email: "owner@example.com", displayName: "Owner")
func newOrg(_ name: String) async throws -> OrgID {
    let p = try await service.provisionOrg(
        ops, region: "eu", request: ProvisionRequest(name: name, ownerEmail: "owner@example.com"))
    _ = try await service.acceptInvite(
        AcceptInviteRequest(
            token: service.link(for: p.ownerInvite).token, accountID: "owner", email: "owner@example.com"))
    return OrgID(p.org.id)!
}

// 1. One request inviting 10,000 addresses.
let inviteOrg = try await newOrg("Invites Inc")
let addresses = (0..<10_000).map { "\"person\($0)@bulk-example.com\"" }.joined(separator: ",")
let inviteBody =
    "{\"emails\":[\(addresses)],\"roles\":[\"member\"],\"userVariables\":{\"team\":\"import\"},\"startingPage\":\"studio\"}"
var inviteTimes: [Double] = []
for round in 0..<3 {
    let org = round == 0 ? inviteOrg : try await newOrg("Invites \(round)")
    let t0 = clock.now
    let r = await call(owner, "POST", "/api/v1/orgs/\(org)/invites", inviteBody)
    inviteTimes.append(ms(clock.now - t0))
    guard r.status == 201, r.bodyText.contains("\"invited\":10000") else {
        fatalError("invite failed: \(r.status) \(r.bodyText.prefix(300))")
    }
}
let outboxRows = try db.readNow {
    try $0.first("SELECT count(*) FROM outbox WHERE org_id = ?", [inviteOrg])?.int(0) ?? 0
}
print(
    String(
        format: "invite 10,000 addresses in one request: median %.0f ms (runs: %@), outbox rows %d",
        percentile(inviteTimes, 0.5),
        inviteTimes.map { String(format: "%.0f", $0) }.joined(separator: ", "), outboxRows))

if ProcessInfo.processInfo.environment["BENCH_ONLY"] == "invites" {
    let emails = (0..<10_000).map { "direct\($0)@bulk-example.com" }
    for round in 0..<3 {
        let org = try await newOrg("Direct \(round)")
        let t = clock.now
        _ = try await service.createInvites(
            owner, org: org, request: InviteRequest(emails: .list(emails), roles: ["member"]))
        print(String(format: "  service call only: %.0f ms", ms(clock.now - t)))
    }
    cleanUp()
    exit(0)
}

// 2. 100,000 members in one org.
let org = try await newOrg("Big Co")
let firsts = [
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "John", "Katherine", "Tim",
    "Radia",
    "Vint", "Hedy", "Edsger", "Donald", "Leslie", "Niklaus", "Sophie", "Yukihiro", "Guido", "Bjarne", "Anders", "Rob",
]
let lasts = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "McCarthy",
    "Johnson",
    "Berners", "Perlman", "Cerf", "Lamarr", "Dijkstra", "Knuth", "Lamport", "Wirth", "Wilson", "Matsumoto", "Rossum",
    "Stroustrup", "Hejlsberg", "Pike",
]
let domains = ["example.com", "corp.io", "mail.org", "acme.co", "globex.net", "initech.dev"]
var rng = SystemRandomNumberGenerator()
var batch: [ImportedMember] = []
let base = Int(Date().timeIntervalSince1970) - 365 * 86400
let t0 = clock.now
for i in 0..<100_000 {
    let f = firsts[i % firsts.count]
    let l = lasts[(i / firsts.count) % lasts.count]
    batch.append(
        ImportedMember(
            accountID: "acct\(i)", email: "\(f.lowercased()).\(l.lowercased())\(i)@\(domains[i % domains.count])",
            firstName: f, lastName: l, roles: [i % 10 == 0 ? "manager" : "member"],
            lastActive: base + Int.random(in: 0..<(365 * 86400), using: &rng),
            appCount: Int.random(in: 0..<8, using: &rng)))
    if batch.count == 10_000 {
        try await service.importMembers(org: org, batch)
        batch.removeAll(keepingCapacity: true)
    }
}
// One unusual member for the rare terms.
try await service.importMembers(
    org: org,
    [
        ImportedMember(
            accountID: "rare1", email: "xq.zephyrine@quux.example", firstName: "Zéphyrine",
            lastName: "Qwxyz", roles: ["member"], lastActive: base, appCount: 1)
    ])
print(String(format: "seeded 100,001 members in %.1f s", ms(clock.now - t0) / 1000))
if postgres != nil {
    // The steady state a server reaches by itself (autovacuum): statistics and the visibility map that lets the
    // members list walk its index without visiting the table.
    try db.readNow(singleStatement: true) { try $0.execute("VACUUM ANALYZE") }
    print("PostgreSQL: VACUUM ANALYZE after seeding (what autovacuum does in a running server)")
}

func measure(_ label: String, runs: Int = 40, _ path: () -> String) async -> Double {
    var times: [Double] = []
    var status = 0
    var bytes = 0
    for _ in 0..<runs {
        let p = path()
        let s = clock.now
        let r = await call(owner, "GET", p)
        times.append(ms(clock.now - s))
        status = r.status
        bytes = r.body.count
    }
    let p50 = percentile(times, 0.5)
    print(
        String(
            format: "  %@: p50 %.2f ms, p90 %.2f ms (status %d, %d bytes)", label, p50, percentile(times, 0.9), status,
            bytes))
    return p50
}

print("members page 1 (50 per page), sorted by last active, newest first:")
let terms: [(String, String)] = [
    ("no search", ""), ("common 3+ (\"son\")", "son"), ("common word (\"lovelace\")", "lovelace"),
    ("1 char common (\"a\")", "a"), ("2 chars common (\"an\")", "an"), ("domain (\"@corp.io\")", "@corp.io"),
    ("medium (\"grace.hopper1\")", "grace.hopper1"), ("rare (\"zephyrine\")", "zephyrine"),
    ("rare 1 char (\"é\")", "é"), ("rare 2 chars (\"xq\")", "xq"), ("no match (\"zzqqx\")", "zzqqx"),
    ("no match 2 chars (\"qz\")", "qz"), ("exact id-like (\"acct99999\" — not in text)", "acct99999"),
]
var worstPage1 = 0.0
for (label, term) in terms {
    let q = term.isEmpty ? "" : "&q=" + FormDecoding.percentEncode(term)
    worstPage1 = max(worstPage1, await measure(label) { "/api/v1/orgs/\(org)/members?sort=last_active&order=desc\(q)" })
}

print("later pages by cursor:")
var worstLater = 0.0
for (label, term) in [("no search", ""), ("common (\"son\")", "son"), ("1 char (\"a\")", "a")] {
    let q = term.isEmpty ? "" : "&q=" + FormDecoding.percentEncode(term)
    var cursors: [String] = []
    var cursor: String? = nil
    for _ in 0..<41 {
        let r = await call(
            owner, "GET",
            "/api/v1/orgs/\(org)/members?sort=last_active&order=desc\(q)" + (cursor.map { "&cursor=\($0)" } ?? ""))
        cursor = (try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])?["nextCursor"] as? String
        guard let c = cursor else { break }
        cursors.append(c)
    }
    var i = 0
    worstLater = max(
        worstLater,
        await measure("\(label), pages 2–41") {
            defer { i += 1 }
            return "/api/v1/orgs/\(org)/members?sort=last_active&order=desc\(q)&cursor=\(cursors[i % cursors.count])"
        })
}
worstPage1 = max(
    worstPage1, await measure("page 1 sorted by name (no search)") { "/api/v1/orgs/\(org)/members?sort=name" })
worstPage1 = max(
    worstPage1,
    await measure("page 1 sorted by number of apps, with \"son\"") {
        "/api/v1/orgs/\(org)/members?sort=apps&order=desc&q=son"
    })
var j = 0

print("member lookup:")
let lookup = await measure("GET /members/:id", runs: 500) {
    j += 1
    return "/api/v1/orgs/\(org)/members/acct\((j * 7919) % 100_000)"
}
print(
    String(
        format: "SUMMARY invite10k_ms=%.0f page1_worst_p50_ms=%.2f later_pages_worst_p50_ms=%.2f lookup_p50_ms=%.3f",
        percentile(inviteTimes, 0.5), worstPage1, worstLater, lookup))
cleanUp()
