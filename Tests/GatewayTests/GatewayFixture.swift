import App
import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import HTTP
import Server
import Tenant
import TenantAPI
import TenantDomain
import Testing
import Web

/// The whole app with a manual clock and cheap scrypt parameters: gateway + three regions in memory, or
/// (`split`) a gateway-only app in memory whose regions are region-only apps behind real HTTP servers on
/// loopback, reached through signed forwarding — the four-process layout inside one test process.
final class GatewayFixture: @unchecked Sendable {
    let dir: String
    let clock = ManualClock(Date())
    let app: GatehouseApp
    let client: TestClient
    /// Every log line of the app (in memory), for checks on what is logged and what is not.
    let log = LogSink.memory()
    var regionApps: [Region: GatehouseApp] = [:]
    var regionServers: [Region: HTTPServer] = [:]
    /// The DNS server domain verification asks (TXT records set by the test).
    let dns: TestDNS

    /// The configuration the app was made from (in-process layout).
    private(set) var config = GatehouseConfig()

    init(split: Bool = false) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-gw-\(UUID().uuidString)").path
        var c = GatehouseConfig()
        c.dataDirectory = dir
        c.scryptLogN = 10
        c.storeSynchronous = .normal
        if let url = TestStores.postgresURL {
            c.storeBackend = .postgres
            c.storeReaders = 1
            c.storeSchemaPrefix = TestStores.freshPrefix()
            for name in ["gateway"] + Region.allCases.map(\.rawValue) { c.databases[name] = url }
        }
        c.mail.transport = .off
        c.appUpstreams = ["127.0.0.1:*"]  // test upstreams listen on loopback
        dns = try TestDNS()
        c.ssoDNSResolver = dns.address
        if split {
            c.keysDirectory = dir + "/keys"
            for region in Region.allCases {
                var rc = c
                rc.dataDirectory = dir + "/region-" + region.rawValue
                let regionApp = try GatehouseApp(config: rc, role: .region(region), logSink: .discard, clock: clock)
                let server = HTTPServer(
                    configuration: ServerConfiguration(host: "127.0.0.1", port: 0, eventLoops: 1, accessLog: false),
                    responder: regionApp.router, logSink: .discard)
                c.regionURLs[region] = "http://127.0.0.1:\(try server.start())"
                regionApps[region] = regionApp
                regionServers[region] = server
            }
            c.dataDirectory = dir + "/gateway"
            app = try GatehouseApp(config: c, role: .gateway, logSink: log, clock: clock)
        } else {
            // No background writers (the 15 s activity flush): a write at a moment the test does not choose would
            // make tests of remembered answers depend on timing (they ran long enough on PostgreSQL to see one).
            // Tests that need a flush call it.
            app = try GatehouseApp(config: c, logSink: log, clock: clock, startBackground: false)
        }
        config = c
        client = TestClient(app.router)
        // PostgreSQL: every store listens for other processes' commits before a test starts (the first LISTEN
        // moves the generation once; tests of what is remembered must not see that mid-way).
        let stores =
            [app.gatewayStore]
            + Region.allCases.compactMap { (regionApps[$0]?.regions ?? app.regions).services[$0]?.db }
        let deadline = Date().addingTimeInterval(5)
        while !stores.allSatisfy(\.isListening) && Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// A second app over the same stores and keys with no answer cache: an oracle for what the first must answer.
    func uncachedTwin() throws -> GatehouseApp {
        var c = config
        c.answerCache = false
        return try GatehouseApp(config: c, logSink: .discard, clock: clock, startBackground: false)
    }

    /// The service of a region, wherever it runs.
    func service(_ region: Region) throws -> RegionService {
        if let s = regionApps[region]?.regions.services[region] ?? app.regions.services[region] { return s }
        throw GatehouseError.notFound("no region \(region)")
    }

    /// Stops a region's server (split mode): its orgs become unreachable.
    func stopRegion(_ region: Region) {
        regionServers[region]?.shutdown()
        regionServers[region] = nil
    }

    deinit {
        for s in regionServers.values { s.shutdown() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func browser(_ address: String = "10.0.0.1") -> Browser { Browser(client: client, address: address) }

    /// Claims `domain` for `org` as `admin` and proves it through the test DNS server, as an org admin would.
    func verifyDomain(_ domain: String, org: String, admin: Browser) async throws {
        let claim = await admin.call("POST", "/api/v1/orgs/\(org)/sso/domains", "{\"domain\":\"\(domain)\"}")
        #expect(claim.status == 201, "\(claim.body)")
        dns.setTXT(
            try #require(claim.json["recordName"] as? String), [try #require(claim.json["recordValue"] as? String)])
        let verified = await admin.call("POST", "/api/v1/orgs/\(org)/sso/domains/\(domain)/verify")
        #expect(verified.status == 200 && verified.json["verified"] as? Bool == true, "\(verified.body)")
    }

    /// An EU region admin (`ops@x.test`), made through the bootstrap path, as a caller of the region services.
    func euRegionAdmin() async throws -> Caller {
        _ = try await app.gateway.bootstrapRegionAdmin(email: "ops@x.test", region: .eu)
        let account = try await #require(try app.gateway.accounts.find(email: "ops@x.test"))
        return Caller(accountID: account.id, email: account.email, regionAdminOf: .eu)
    }
}

/// A cookie-keeping client, like a browser plus the console's script (which sends the CSRF header).
final class Browser: @unchecked Sendable {
    let client: TestClient
    let address: String
    var cookie: String?
    var csrf: String?
    var bearer: String?

    init(client: TestClient, address: String) {
        self.client = client
        self.address = address
    }

    @discardableResult
    func call(
        _ method: String, _ path: String, _ json: String? = nil, csrf sendCSRF: Bool = true
    ) async -> (status: Int, body: String, json: [String: Any], headers: HTTPHeaders) {
        var h: HTTPHeaders = [:]
        if let cookie { h.set("Cookie", "\(Sessions.cookieName)=\(cookie)") }
        if let csrf, sendCSRF { h.set("X-CSRF-Token", csrf) }
        if let bearer { h.set("Authorization", "Bearer \(bearer)") }
        var req = Request(
            method: method, target: path, headers: ["Host": "test"], body: Array((json ?? "").utf8), id: "t",
            remoteAddress: address)
        for f in h { req.headers.set(f.name, f.value) }
        if json != nil { req.headers.set("Content-Type", "application/json") }
        let r = await client.responder.respond(to: req)
        for v in r.headers.values("Set-Cookie") where v.hasPrefix(Sessions.cookieName + "=") {
            let value = String(v.dropFirst(Sessions.cookieName.count + 1).prefix { $0 != ";" })
            cookie = value.isEmpty ? nil : value
        }
        if r.headers["Content-Type"]?.hasPrefix("text/html") == true {
            PageTests.expectNoEscapedMarkup(r.bodyText, path)
        }
        let obj = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
        if let t = obj["csrfToken"] as? String { csrf = t }
        return (r.status, r.bodyText, obj, r.headers)
    }
}

extension RegionService {
    /// The invite token as the invitation mail carries it (with the proof of the address), for tests that
    /// follow the link from the mail. `link(for:).token` is the copied link, which proves nothing.
    func mailedToken(for invite: InviteView) -> String { tokens.mailed(link(for: invite).token) }
}
