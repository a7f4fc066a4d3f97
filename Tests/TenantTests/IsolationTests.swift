import Foundation
import GatehouseCore
import Store
import Tenant
import TenantAPI
import TenantDomain
import Testing

@Suite("Tenant isolation and region admins")
struct IsolationTests {
    @Test func anotherOrgLooksExactlyLikeNoOrg() async throws {
        let f = try TenantFixture()
        let acme = try await f.makeOrg("Acme")
        let globex = try await f.makeOrg("Globex", owner: "boss")
        let intruder = TenantFixture.caller("owner")  // owner of Acme, nothing in Globex
        let unknown = "org_eu_zzzzzzzzzzzzzzzz"
        for path in ["", "/members", "/members/boss", "/invites", "/roles", "/apps", "/apikeys", "/audit"] {
            let forbidden = await f.call(intruder, "GET", "/api/v1/orgs/\(globex)\(path)")
            let missing = await f.call(intruder, "GET", "/api/v1/orgs/\(unknown)\(path)")
            #expect(forbidden.status == 404, "\(path)")
            #expect(forbidden.body == missing.body, "existence leaks through \(path)")
        }
        #expect(await f.call(intruder, "PATCH", "/api/v1/orgs/\(globex)", #"{"name":"Pwned"}"#).status == 404)
        #expect(await f.call(intruder, "DELETE", "/api/v1/orgs/\(globex)/members/boss").status == 404)
        // Acme's ids do not work inside Globex either.
        _ = acme
        let boss = TenantFixture.caller("boss")
        #expect(await f.call(boss, "GET", "/api/v1/orgs/\(globex)/members/owner").status == 404)
        // Malformed or foreign-region ids are unknown too.
        for bad in ["org_mars_abcdefghij", "nonsense", "org_us_abcdefghijklmnop"] {
            #expect(await f.call(intruder, "GET", "/api/v1/orgs/\(bad)").status == 404)
        }
    }

    @Test func regionAdminsActOnlyInTheirRegion() async throws {
        let f = try TenantFixture()
        let eu = TenantFixture.caller("ops-eu", admin: .eu)
        let us = TenantFixture.caller("ops-us", admin: .us)
        let p = await f.call(
            eu, "POST", "/api/v1/regions/eu/orgs", #"{"name":"Euro","ownerEmail":"Founder@Example.com"}"#)
        #expect(p.status == 201)
        let org = try #require(((p.json as? [String: Any])?["org"] as? [String: Any])?["id"] as? String)
        #expect(org.hasPrefix("org_eu_"))
        #expect(((p.json as? [String: Any])?["ownerInvite"] as? [String: Any])?["roles"] as? [String] == ["owner"])
        #expect(
            await f.call(us, "POST", "/api/v1/regions/eu/orgs", #"{"name":"X","ownerEmail":"a@example.com"}"#).status
                == 403)
        #expect(await f.call(us, "GET", "/api/v1/regions/eu/orgs").status == 403)
        #expect(await f.call(us, "POST", "/api/v1/regions/eu/orgs/\(org)/suspend").status == 403)
        #expect(await f.call(us, "POST", "/api/v1/regions/us/orgs/\(org)/suspend").status == 404)
        #expect(await f.call(TenantFixture.caller("nobody"), "GET", "/api/v1/regions/eu/orgs").status == 403)
        // A region admin is not a member: no member data.
        #expect(await f.call(eu, "GET", "/api/v1/orgs/\(org)/members").status == 404)
        let list = await f.call(eu, "GET", "/api/v1/regions/eu/orgs")
        #expect(((list.json as? [String: Any])?["orgs"] as? [[String: Any]])?.first?["memberCount"] as? Int == 0)
    }

    @Test func suspendedOrgsRefuseEverythingButRegionAdmins() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        let ops = TenantFixture.caller("ops", admin: .eu)
        #expect(await f.call(ops, "POST", "/api/v1/regions/eu/orgs/\(org)/suspend").status == 200)
        let r = await f.call(TenantFixture.caller("owner"), "GET", "/api/v1/orgs/\(org)")
        #expect(r.status == 403 && r.body.contains("org_suspended"))
        #expect(
            await f.call(
                TenantFixture.caller("owner"), "POST", "/api/v1/orgs/\(org)/invites",
                #"{"emails":["a@example.com"],"roles":["member"]}"#
            ).status == 403)
        #expect(await f.call(ops, "POST", "/api/v1/regions/eu/orgs/\(org)/reactivate").status == 200)
        #expect(await f.call(TenantFixture.caller("owner"), "GET", "/api/v1/orgs/\(org)").status == 200)
    }

    @Test func deletingAnOrgRemovesAllItsData() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        try await f.add([("mel", "member")], to: org)
        let ops = TenantFixture.caller("ops", admin: .eu)
        #expect(await f.call(ops, "DELETE", "/api/v1/regions/eu/orgs/\(org)", #"{"confirmName":"acme"}"#).status == 422)
        #expect(await f.call(ops, "DELETE", "/api/v1/regions/eu/orgs/\(org)", #"{"confirmName":"Acme"}"#).status == 204)
        let leftovers = try f.service(.eu).db.readNow { conn in
            try [
                "orgs WHERE id", "members WHERE org_id", "invites WHERE org_id", "audit_events WHERE org_id",
                "outbox WHERE org_id", "member_roles WHERE org_id",
            ]
            .map { try conn.first("SELECT count(*) FROM \($0) = ?", [org])?.int(0) ?? -1 }.reduce(0, +)
                + (conn.dialect == .sqlite ? try conn.first("SELECT count(*) FROM member_tri")?.int(0) ?? -1 : 0)
        }
        #expect(leftovers == 0)
    }

    @Test func anEUOrgsDataNeverReachesTheOtherRegionsFiles() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Eurostar Ltd", owner: "eurofounder")
        try await f.add([("eurosecret", "member")], to: org, by: "eurofounder", first: "Marianne")
        _ = try await f.makeOrg("Yankee", region: .us, owner: "yank")
        for r in Region.allCases {
            try f.service(r).db.checkpoint()
        }
        func contains(_ region: Region, _ needle: String) throws -> Bool {
            let db = f.service(region).db
            if db.dialect == .postgres {
                // Each region's store is its own database (here its own schema): every row of every table, as text.
                return try db.readNow { conn in
                    try conn.query(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                    ).compactMap { $0.string(0) }.contains { table in
                        try conn.first(
                            "SELECT 1 FROM \"\(table)\" x WHERE strpos(CAST(x AS text), ?) > 0", [needle]) != nil
                    }
                }
            }
            return ["", "-wal"].contains { suffix in
                guard let data = FileManager.default.contents(atPath: "\(f.dir)/\(region.rawValue).db\(suffix)") else {
                    return false
                }
                return data.range(of: Data(needle.utf8)) != nil
            }
        }
        for needle in [org.raw, "Eurostar Ltd", "eurosecret@example.com", "Marianne"] {
            #expect(try contains(.eu, needle), "\(needle) should be in eu.db")
            #expect(try !contains(.us, needle), "\(needle) leaked into us.db")
            #expect(try !contains(.apac, needle), "\(needle) leaked into apac.db")
        }
    }
}

@Suite("Bad input changes nothing")
struct BadInputTests {
    /// Names of things travel into mail and pages (app and role names in invite mails, org names everywhere): a
    /// control character, a line break or a direction override is refused wherever a name is set, as in people's
    /// names, and nothing changes. (Found by schemathesis: an app name with U+000F was accepted.)
    @Test func namesOfThingsRefuseControlCharacters() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        let owner = TenantFixture.caller("owner")
        let ops = TenantFixture.caller("ops-eu", admin: .eu)
        let o = "/api/v1/orgs/\(org)"
        let app = try #require(
            (await f.call(owner, "POST", "\(o)/apps", #"{"name":"Portal2"}"#).json as? [String: Any])?["id"])
        for bad in ["a\\u000fb", "line\\nbreak", "tab\\there", "del\\u007f", "rtl\\u202Eevil", "bell\\u0007"] {
            let cases: [(Caller, String, String, String)] = [
                (owner, "POST", "\(o)/apps", #"{"name":"\#(bad)"}"#),
                (owner, "PATCH", "\(o)/apps/\(app)", #"{"name":"\#(bad)"}"#),
                (owner, "PATCH", o, #"{"name":"\#(bad)"}"#),
                (owner, "POST", "\(o)/roles", #"{"name":"\#(bad)","permissions":["org.view"]}"#),
                (owner, "POST", "\(o)/apikeys", #"{"name":"\#(bad)"}"#),
                (owner, "POST", "\(o)/agency-requests", #"{"name":"\#(bad)","domains":["agency.test"]}"#),
                (ops, "POST", "/api/v1/regions/eu/agencies", #"{"name":"\#(bad)","domains":["agency2.test"]}"#),
                (ops, "POST", "/api/v1/regions/eu/orgs", #"{"name":"\#(bad)","ownerEmail":"x@acme.test"}"#),
            ]
            for (who, method, path, body) in cases {
                let r = await f.call(who, method, path, body)
                #expect(r.status == 422, "\(method) \(path) \(body): \(r.status) \(r.body)")
            }
        }
        // The owner's name given with a new org follows people's names' rules (found by schemathesis: 101 characters
        // were accepted).
        for first in [String(repeating: "n", count: 101), "Ol\\u0000ga", "Ol\\u202Ega"] {
            let r = await f.call(
                ops, "POST", "/api/v1/regions/eu/orgs",
                #"{"name":"Globex","ownerEmail":"x@globex.test","ownerFirstName":"\#(first)"}"#)
            #expect(r.status == 422, "\(first): \(r.status)")
            let last = await f.call(
                ops, "POST", "/api/v1/regions/eu/orgs",
                #"{"name":"Globex","ownerEmail":"x@globex.test","ownerLastName":"\#(first)"}"#)
            #expect(last.status == 422, "\(first): \(last.status)")
        }
        let apps = await f.call(owner, "GET", "\(o)/apps")
        #expect(!apps.body.contains("\\u000f") && !apps.body.contains("\\u202e"))
    }

    @Test func everyEndpointAnswersBadInputWithTheErrorShape() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        try await f.add([("mel", "member")], to: org)
        let owner = TenantFixture.caller("owner")
        let o = "/api/v1/orgs/\(org)"
        let huge = "[" + (0..<10_001).map { "\"u\($0)@example.com\"" }.joined(separator: ",") + "]"
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "\(o)/invites", "{not json", 400, "invalid_json"),
            ("POST", "\(o)/invites", #"{"emails":["a@example.com"]}"#, 422, "validation_failed"),
            ("POST", "\(o)/invites", #"{"emails":["a@example.com"],"roles":"member"}"#, 422, "validation_failed"),
            ("POST", "\(o)/invites", #"{"emails":42,"roles":["member"]}"#, 422, "validation_failed"),
            ("POST", "\(o)/invites", #"{"emails":["a@example.com"],"roles":[]}"#, 422, "roles_required"),
            ("POST", "\(o)/invites", #"{"emails":["a@example.com"],"roles":["wizard"]}"#, 422, "validation_failed"),
            (
                "POST", "\(o)/invites", #"{"emails":["a@example.com"],"roles":["member"],"startingPage":"moon"}"#, 422,
                "validation_failed"
            ),
            (
                "POST", "\(o)/invites",
                #"{"emails":["a@example.com"],"roles":["member"],"apps":[{"app":"nope","role":"viewer"}]}"#, 422,
                "validation_failed"
            ),
            ("POST", "\(o)/invites", #"{"emails":[],"roles":["member"]}"#, 422, "validation_failed"),
            ("POST", "\(o)/invites", "{\"emails\":\(huge),\"roles\":[\"member\"]}", 413, "payload_too_large"),
            (
                "POST", "\(o)/invites", #"{"emails":["a@example.com"],"roles":["member"],"userVariables":{"":"x"}}"#,
                422, "invalid_user_variables"
            ),
            ("PATCH", "\(o)/members/mel", #"{"roles":["member"],"ssoOnly":"yes"}"#, 422, "validation_failed"),
            ("PATCH", "\(o)/members/nobody", #"{"roles":["member"]}"#, 404, "not_found"),
            ("PATCH", "\(o)", #"{"name":""}"#, 422, "validation_failed"),
            ("PATCH", "\(o)", #"{"name":123}"#, 422, "validation_failed"),
            ("POST", "\(o)/members/bulk", #"{"action":"explode","members":["mel"]}"#, 422, "validation_failed"),
            ("POST", "\(o)/members/bulk", #"{"action":"remove","members":[]}"#, 422, "validation_failed"),
            (
                "POST", "\(o)/members/bulk",
                #"{"action":"grant_app","members":["mel"],"app":"none","appRole":"viewer"}"#, 422, "validation_failed"
            ),
            ("GET", "\(o)/members?sort=shoe", nil, 422, "validation_failed"),
            ("GET", "\(o)/members?limit=0", nil, 422, "validation_failed"),
            ("GET", "\(o)/members?limit=ten", nil, 422, "validation_failed"),
            ("GET", "\(o)/members?cursor=%%%", nil, 400, "bad_request"),
            ("GET", "\(o)/members?role=wizard", nil, 422, "validation_failed"),
            ("GET", "\(o)/invites?status=lost", nil, 422, "validation_failed"),
            ("POST", "\(o)/invites/inv_nope/resend", nil, 404, "not_found"),
            ("POST", "\(o)/roles", #"{"name":"R","permissions":["root.everything"]}"#, 422, "validation_failed"),
            ("POST", "\(o)/apps", #"{"name":""}"#, 422, "validation_failed"),
            ("POST", "\(o)/apps/app_none/grants", #"{"member":"mel","role":"viewer"}"#, 404, "not_found"),
            ("POST", "\(o)/apikeys", #"{"name":"k","app":"app_none"}"#, 422, "validation_failed"),
            ("DELETE", "\(o)/apikeys/key_none", nil, 404, "not_found"),
            ("POST", "/api/v1/regions/mars/orgs", #"{"name":"X","ownerEmail":"a@example.com"}"#, 404, "not_found"),
        ]
        let before = try f.auditCount()
        let invitesBefore = try f.service(.eu).db.readNow { try $0.first("SELECT count(*) FROM invites")?.int(0) ?? 0 }
        for (method, path, body, status, code) in cases {
            let r = await f.call(owner, method, path, body)
            #expect(
                r.status == status, "\(method) \(path) \(body?.prefix(80) ?? ""): \(r.status) \(r.body.prefix(200))")
            #expect(r.body.contains("\"code\":\"\(code)\""), "\(method) \(path): \(r.body.prefix(200))")
            #expect((r.json as? [String: Any])?["error"] != nil)
        }
        #expect(try f.auditCount() == before)
        #expect(
            try f.service(.eu).db.readNow { try $0.first("SELECT count(*) FROM invites")?.int(0) ?? 0 } == invitesBefore
        )
        // No caller at all: 401.
        #expect(await f.call(nil, "GET", o).status == 401)
    }
}
