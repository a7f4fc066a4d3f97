import Crypto
import Foundation
import GatehouseCore
import GatehouseTesting
import Gateway
import HTTP
import Net
import Tenant
import TenantAPI
import TenantDomain
import Testing

@Suite("Forwarding: signed identity, remote regions, a region down")
struct ForwardingTests {
    static let keys = KeyRing(
        active: .init(id: "k1", secret: Array(repeating: 7, count: 32)),
        others: [.init(id: "k0", secret: Array(repeating: 3, count: 32))])
    static let ann = Caller(accountID: "acc_ann", email: "ann@x.test", displayName: "Ann", authMethod: .password)

    enum Tamper: String, CaseIterable, Sendable {
        case none, missing, malformed, unknownKey, otherKeyMAC, method, target, body, identity, staleOld, staleFuture,
            replayed
    }

    @Test(arguments: Tamper.allCases) func theRegionAcceptsOnlyFreshUntamperedSignatures(_ t: Tamper) async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let verifier = ForwardedIdentityVerifier(keys: Self.keys, clock: clock)
        let body = Array(#"{"name":"x"}"#.utf8)
        var method = "PATCH"
        var target = "/api/v1/orgs/org_eu_abcdefgh"
        var sentBody = body
        var header: String? = ForwardedIdentity.sign(
            method: method, target: target, body: body, caller: Self.ann, keys: Self.keys, now: clock.now())
        var expected: String?
        switch t {
        case .none: break
        case .missing:
            header = nil
            expected = "identity_missing"
        case .malformed:
            header = "gi1.k1.x"
            expected = "identity_malformed"
        case .unknownKey:
            header = header!.replacingOccurrences(of: "gi1.k1.", with: "gi1.k9.")
            expected = "identity_unknown_key"
        case .otherKeyMAC:
            header = header!.replacingOccurrences(of: "gi1.k1.", with: "gi1.k0.")
            expected = "identity_bad_signature"
        case .method:
            method = "DELETE"
            expected = "identity_bad_signature"
        case .target:
            target += "/members/acc_x"
            expected = "identity_bad_signature"
        case .body:
            sentBody = Array(#"{"name":"y"}"#.utf8)
            expected = "identity_bad_signature"
        case .identity:
            // Swap in an identity claiming region-admin rights; the MAC still covers the original one.
            var p = header!.split(separator: ".").map(String.init)
            let forged = Caller(accountID: "acc_ann", email: "ann@x.test", regionAdminOf: .eu)
            p[4] = Base64URL.encode(try JSONEncoder().encode(forged))
            header = p.joined(separator: ".")
            expected = "identity_bad_signature"
        case .staleOld:
            clock.advance(by: 31)
            expected = "identity_stale"
        case .staleFuture:
            clock.advance(by: -31)
            expected = "identity_stale"
        case .replayed:
            _ = try await verifier.verify(method: method, target: target, body: body, header: header)
            expected = "identity_replayed"
        }
        do {
            let caller = try await verifier.verify(method: method, target: target, body: sentBody, header: header)
            #expect(expected == nil, "accepted a request that should be refused")
            #expect(caller == Self.ann)
        } catch let e as GatehouseError {
            #expect(e.code.slug == expected, "\(t): \(e.code.slug)")
            #expect(e.status == 401)
        }
    }

    @Test func withinTheWindowIsAccepted() async throws {
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let verifier = ForwardedIdentityVerifier(keys: Self.keys, clock: clock)
        let h = ForwardedIdentity.sign(
            method: "GET", target: "/a", body: [], caller: Self.ann, keys: Self.keys, now: clock.now())
        clock.advance(by: 30)
        #expect(try await verifier.verify(method: "GET", target: "/a", body: [], header: h) == Self.ann)
    }

    /// Two replicas of a region sharing its store: a signed request one accepted is refused by the other (its
    /// nonce is a row with a unique key), and by the first as before. Run on the suite's engine.
    @Test func aRequestReplayedToAnotherReplicaIsRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-nonce-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (location, options) = TestStores.location(dir + "/eu.db", options: .init(readers: 1, synchronous: .normal))
        let store = try RegionService.openDatabase(path: location, options: options)
        let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
        let (a, b) = (
            ForwardedIdentityVerifier(keys: Self.keys, clock: clock, shared: store),
            ForwardedIdentityVerifier(keys: Self.keys, clock: clock, shared: store)
        )
        let h = ForwardedIdentity.sign(
            method: "GET", target: "/a", body: [], caller: Self.ann, keys: Self.keys, now: clock.now())
        #expect(try await a.verify(method: "GET", target: "/a", body: [], header: h) == Self.ann)
        for replica in [b, a] {
            do {
                _ = try await replica.verify(method: "GET", target: "/a", body: [], header: h)
                Issue.record("a replayed request was accepted")
            } catch let e as GatehouseError {
                #expect(e.code.slug == "identity_replayed" && e.status == 401)
            }
        }
    }

    @Test func aRegionProcessRefusesUnsignedCallsOverTheNetwork() async throws {
        let f = try GatewayFixture(split: true)
        #expect(f.app.regions.services.isEmpty, "the gateway holds no region store in the split layout")
        let url = try #require(f.app.config.regionURLs[.eu])
        let client = try HTTPClient(baseURL: url)
        for path in ["/api/v1/regions/eu/orgs", "/internal/v1/memberships"] {
            let r = try await client.send(
                method: path.hasPrefix("/internal") ? "POST" : "GET", target: path,
                headers: [("Content-Type", "application/json")],
                body: Array(#"{"accountID":"acc_x"}"#.utf8))
            #expect(r.status == 401)
            #expect(String(decoding: r.body, as: UTF8.self).contains("identity_missing"))
        }
        // A signed request as a person cannot use the gateway-only internal endpoints.
        let target = "/internal/v1/memberships"
        let body = Array(#"{"accountID":"acc_x"}"#.utf8)
        let h = ForwardedIdentity.sign(
            method: "POST", target: target, body: body, caller: Self.ann,
            keys: try KeyRing.loadOrCreate(path: f.dir + "/keys/forwarding-keys.json"), now: f.clock.now())
        let r = try await client.send(
            method: "POST", target: target,
            headers: [(ForwardedIdentity.header, h), ("Content-Type", "application/json")], body: body)
        #expect(r.status == 403)
        // The same header again is a replay.
        let again = try await client.send(
            method: "POST", target: target,
            headers: [(ForwardedIdentity.header, h), ("Content-Type", "application/json")], body: body)
        #expect(again.status == 401 && String(decoding: again.body, as: UTF8.self).contains("identity_replayed"))
    }

    @Test func aRegionThatIsDownFailsOnlyItsOwnOrgs() async throws {
        let f = try GatewayFixture(split: true)
        // Two region admins, one org in EU and one in the US.
        var orgs: [Region: String] = [:]
        var admins: [Region: Browser] = [:]
        for (i, region) in [Region.eu, .us].enumerated() {
            let token = try await f.app.gateway.bootstrapRegionAdmin(
                email: "ops-\(region.rawValue)@x.test", region: region)
            let b = f.browser("10.9.0.\(i)")
            #expect(
                await b.call(
                    "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(token)\",\"password\":\"operator-pass-1\"}"
                ).status == 200)
            let r = await b.call(
                "POST", "/api/v1/regions/\(region.rawValue)/orgs", #"{"name":"Org","ownerEmail":"o@x.test"}"#)
            #expect(r.status == 201, "\(r.body)")
            orgs[region] = (r.json["org"] as? [String: Any])?["id"] as? String
            admins[region] = b
        }
        f.stopRegion(.eu)
        let euAdmin = try #require(admins[.eu])
        let usAdmin = try #require(admins[.us])
        let down = await euAdmin.call("GET", "/api/v1/regions/eu/orgs")
        #expect(down.status == 503)
        #expect(down.body.contains("region_unavailable"))
        #expect(down.headers["Retry-After"] != nil)
        let up = await usAdmin.call("GET", "/api/v1/regions/us/orgs")
        #expect(up.status == 200)
        #expect(up.body.contains(try #require(orgs[.us])))
        // /me still answers, and says which region could not be reached.
        let me = await usAdmin.call("GET", "/api/v1/me")
        #expect(me.status == 200)
        #expect(me.json["unavailableRegions"] as? [String] == ["eu"])
    }
}
