import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain
import Testing

@testable import Tenant

/// Agencies through the region API: the register and requests (region admin), the agency grant, and the limits
/// of agency people as the region enforces them — their view is their agency, they pass on only what they hold,
/// to their agency only, and their keys die with their access.
@Suite("Agencies: register, requests, grants, isolation")
struct AgencyTests {
    static let owner = TenantFixture.caller("owner")
    static let mona = TenantFixture.caller("mona")
    static let mel = TenantFixture.caller("mel")
    static let ops = TenantFixture.caller("ops", admin: .eu)

    struct World {
        let f: TenantFixture
        let org: OrgID
        let apps: [String: String]
        var o: String { "/api/v1/orgs/\(org)" }
    }

    static func world() async throws -> World {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        try await f.add([("mona", "manager"), ("mel", "member")], to: org)
        var apps: [String: String] = [:]
        for name in ["Web", "Ads", "CRM"] {
            let r = await f.call(owner, "POST", "/api/v1/orgs/\(org)/apps", "{\"name\":\"\(name)\"}")
            apps[name.lowercased()] = (r.json as? [String: Any])?["id"] as? String
        }
        return World(f: f, org: org, apps: apps)
    }

    /// Registers an agency through the region admin and adds it to the org; returns its id.
    static func agency(_ w: World, _ name: String, domain: String) async throws -> String {
        let r = await w.f.call(
            ops, "POST", "/api/v1/regions/eu/agencies", "{\"name\":\"\(name)\",\"domains\":[\"\(domain)\"]}")
        #expect(r.status == 201, "\(r.body)")
        let id = try #require((r.json as? [String: Any])?["id"] as? String)
        #expect(await w.f.call(owner, "POST", "\(w.o)/agencies", "{\"agency\":\"\(id)\"}").status == 204)
        return id
    }

    /// Accepts the pending invite of `email` as account `id`.
    static func accept(_ w: World, _ email: String, as id: String) async throws {
        let s = w.f.service(.eu)
        let inv = try #require(try await s.pendingInvites(email: email).first?.invite)
        _ = try await s.acceptInvite(AcceptInviteRequest(token: s.link(for: inv).token, accountID: id, email: email))
    }

    static func grant(
        _ w: World, by caller: Caller, agency: String, apps: [String], role: String, emails: String
    ) async -> (status: Int, results: [String: String], body: String) {
        let list = apps.map { "\"\(w.apps[$0] ?? $0)\"" }.joined(separator: ",")
        let r = await w.f.call(
            caller, "POST", "\(w.o)/agencies/\(agency)/grants",
            "{\"apps\":[\(list)],\"role\":\"\(role)\",\"emails\":\"\(emails)\"}")
        var out: [String: String] = [:]
        for e in ((r.json as? [String: Any])?["results"] as? [[String: Any]]) ?? [] {
            out[e["email"] as? String ?? ""] = e["result"] as? String
        }
        return (r.status, out, r.body)
    }

    @Test func aRequestIsApprovedOrDeclinedByTheRegionAdminAndTheRequesterIsTold() async throws {
        let w = try await Self.world()
        let f = w.f
        // Staff with apps.grant ask; a member may not; bad input is a clear 422.
        #expect(
            await f.call(Self.mel, "POST", "\(w.o)/agency-requests", #"{"name":"Blue","domains":["blue.test"]}"#)
                .status == 403)
        #expect(
            await f.call(Self.mona, "POST", "\(w.o)/agency-requests", #"{"name":"Blue","domains":["not a domain"]}"#)
                .status == 422)
        let asked = await f.call(
            Self.mona, "POST", "\(w.o)/agency-requests", #"{"name":"Blue Agency","domains":["Blue.test"]}"#)
        #expect(asked.status == 201, "\(asked.body)")
        let requestID = try #require((asked.json as? [String: Any])?["id"] as? String)
        let declined = await f.call(
            Self.mona, "POST", "\(w.o)/agency-requests", #"{"name":"Shady","domains":["shady.test"]}"#)
        let declinedID = try #require((declined.json as? [String: Any])?["id"] as? String)
        // Only the region's admin sees and decides them.
        #expect(await f.call(Self.owner, "GET", "/api/v1/regions/eu/agency-requests").status == 403)
        #expect(
            await f.call(TenantFixture.caller("us", admin: .us), "GET", "/api/v1/regions/eu/agency-requests").status
                == 403)
        let pending = await f.call(Self.ops, "GET", "/api/v1/regions/eu/agency-requests?status=pending")
        #expect(
            Set((pending.json as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []) == [
                "Shady", "Blue Agency",
            ])
        let approved = await f.call(Self.ops, "POST", "/api/v1/regions/eu/agency-requests/\(requestID)/approve")
        #expect(approved.status == 200 && (approved.json as? [String: Any])?["status"] as? String == "approved")
        let agency = try #require((approved.json as? [String: Any])?["agencyID"] as? String)
        #expect(
            await f.call(
                Self.ops, "POST", "/api/v1/regions/eu/agency-requests/\(declinedID)/decline",
                #"{"reason":"Not a partner of ours."}"#
            ).status == 200)
        #expect(
            await f.call(Self.ops, "POST", "/api/v1/regions/eu/agency-requests/\(declinedID)/approve").status == 409)
        // The agency works for the org now; both decisions are audited and mailed to the requester.
        let agencies = await f.call(Self.owner, "GET", "\(w.o)/agencies")
        #expect(
            (agencies.json as? [[String: Any]])?.compactMap { ($0["agency"] as? [String: Any])?["id"] as? String } == [
                agency
            ])
        let audit = await f.call(Self.owner, "GET", "\(w.o)/audit?limit=10")
        let actions = ((audit.json as? [String: Any])?["events"] as? [[String: Any]])?.map { $0["action"] as? String }
        #expect(actions?.prefix(2) == ["agency.request_declined", "agency.request_approved"])
        let mails = try f.service(.eu).db.readNow {
            try $0.query("SELECT recipient, payload FROM outbox WHERE kind = 'agency_request' ORDER BY id")
        }
        #expect(mails.map { $0.string("recipient") } == ["mona@example.com", "mona@example.com"])
        #expect(mails.last?.string("payload")?.contains("Not a partner of ours.") == true)
        // The register refuses a domain another agency has, and deleting an agency in use.
        #expect(
            await f.call(Self.ops, "POST", "/api/v1/regions/eu/agencies", #"{"name":"Copy","domains":["blue.test"]}"#)
                .status == 409)
        #expect(await f.call(Self.ops, "DELETE", "/api/v1/regions/eu/agencies/\(agency)").status == 409)
    }

    @Test func agencyPeopleSeeTheirAgencyOnlyAndPassOnOnlyWhatTheyHold() async throws {
        let w = try await Self.world()
        let f = w.f
        let blue = try await Self.agency(w, "Blue", domain: "blue.test")
        let red = try await Self.agency(w, "Red", domain: "red.test")
        // The grant: newcomers are invited (apps and affiliation on accept), staff are pointed elsewhere.
        let first = await Self.grant(
            w, by: Self.owner, agency: blue, apps: ["web", "ads"], role: "editor",
            emails: "Ann A <ann@blue.test>, mel@example.com")
        #expect(first.status == 200, "\(first.body)")
        #expect(first.results == ["ann@blue.test": "invited", "mel@example.com": "staff_member"])
        _ = await Self.grant(w, by: Self.owner, agency: blue, apps: ["ads"], role: "viewer", emails: "ben@blue.test")
        _ = await Self.grant(w, by: Self.owner, agency: red, apps: ["web"], role: "admin", emails: "rita@red.test")
        // Someone already a member, with an address of the agency, becomes its person as the apps are granted.
        #expect(
            await f.call(Self.owner, "POST", "\(w.o)/invites", #"{"emails":["dora@blue.test"],"roles":["viewer"]}"#)
                .status == 201)
        try await Self.accept(w, "dora@blue.test", as: "dora")
        let dora = await Self.grant(
            w, by: Self.owner, agency: blue, apps: ["web"], role: "viewer", emails: "dora@blue.test")
        #expect(dora.results == ["dora@blue.test": "granted"], "\(dora.body)")
        let doraView = await f.call(Self.owner, "GET", "\(w.o)/members/dora")
        #expect((doraView.json as? [String: Any])?["agency"] as? String == blue)
        try await Self.accept(w, "ann@blue.test", as: "ann")
        try await Self.accept(w, "ben@blue.test", as: "ben")
        try await Self.accept(w, "rita@red.test", as: "rita")
        let ann = TenantFixture.caller("ann")
        let me = await f.call(ann, "GET", "\(w.o)/members/ann")
        #expect((me.json as? [String: Any])?["agency"] as? String == blue)
        #expect(((me.json as? [String: Any])?["apps"] as? [[String: Any]])?.count == 2)

        // Her view: her agency's people, her apps, her agency's invites.
        let list = await f.call(ann, "GET", "\(w.o)/members")
        let ids = ((list.json as? [String: Any])?["members"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        #expect(Set(ids ?? []) == ["ann", "ben", "dora"])
        let unknown = await f.call(ann, "GET", "\(w.o)/members/nobody")
        for other in ["mel", "rita", "owner"] {
            let r = await f.call(ann, "GET", "\(w.o)/members/\(other)")
            #expect(r.status == 404 && r.body == unknown.body, "\(other): \(r.body)")
            #expect(await f.call(ann, "GET", "\(w.o)/members/\(other)/permissions").status == 404)
        }
        let apps = await f.call(ann, "GET", "\(w.o)/apps")
        #expect(Set((apps.json as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []) == ["Web", "Ads"])
        #expect((apps.json as? [[String: Any]])?.allSatisfy { $0["memberCount"] == nil } == true, "no counts of others")
        let invites = await f.call(ann, "GET", "\(w.o)/invites")
        let inviteEmails = ((invites.json as? [String: Any])?["invites"] as? [[String: Any]])?.compactMap {
            $0["email"] as? String
        }
        #expect(Set(inviteEmails ?? []) == ["ann@blue.test", "ben@blue.test"])

        // Passing on: what she holds, up to her role, to her agency only.
        func give(_ app: String, _ role: String, to: String) async -> (Int, String) {
            let r = await f.call(
                ann, "POST", "\(w.o)/apps/\(w.apps[app] ?? app)/grants", "{\"member\":\"\(to)\",\"role\":\"\(role)\"}")
            return (r.status, r.body)
        }
        #expect(await give("web", "viewer", to: "ben").0 == 204)
        #expect(await give("web", "editor", to: "ben").0 == 204)
        let above = await give("web", "admin", to: "ben")
        #expect(above.0 == 403 && above.1.contains("app_role_above_yours"))
        let notHers = await give("crm", "viewer", to: "ben")
        #expect(notHers.0 == 403 && notHers.1.contains("app_not_yours"))
        let outsider = await give("web", "viewer", to: "rita")
        #expect(outsider.0 == 404 && outsider.1 == unknown.body.replacingOccurrences(of: "nobody", with: "rita"))
        #expect(await give("web", "viewer", to: "mel").0 == 404)
        // No org roles, no ordinary invites, no removals, no agency management.
        #expect(
            await f.call(ann, "PATCH", "\(w.o)/members/ben", #"{"roles":["viewer"]}"#).body.contains("agency_limits"))
        #expect(
            await f.call(ann, "POST", "\(w.o)/invites", #"{"emails":["x@blue.test"],"roles":["member"]}"#).status == 403
        )
        #expect(await f.call(ann, "DELETE", "\(w.o)/members/ben").status == 403)
        // Her Agency tab: her agency only, with its people.
        let mine = await f.call(ann, "GET", "\(w.o)/agencies")
        let views = mine.json as? [[String: Any]]
        #expect(views?.compactMap { ($0["agency"] as? [String: Any])?["id"] as? String } == [blue])
        #expect(!mine.body.contains("rita@red.test") && !mine.body.contains("Red"))
        #expect(await f.call(ann, "GET", "\(w.o)/agencies/register").status == 403)
        #expect(await f.call(ann, "POST", "\(w.o)/agencies", "{\"agency\":\"\(red)\"}").status == 403)
        #expect(await f.call(ann, "DELETE", "\(w.o)/agencies/\(blue)").status == 403)
        // Her agency grant: colleagues (her agency's domain) only, her apps only, her agency only.
        let hers = await Self.grant(
            w, by: ann, agency: blue, apps: ["web"], role: "viewer", emails: "carl@blue.test, eve@evil.test")
        #expect(hers.results == ["carl@blue.test": "invited", "eve@evil.test": "refused"], "\(hers.body)")
        #expect(hers.body.contains("not in one of your agency"))
        let redGrant = await Self.grant(w, by: ann, agency: red, apps: ["web"], role: "viewer", emails: "x@red.test")
        #expect(redGrant.status == 404 && redGrant.body.contains("No such agency"))
        let tooHigh = await Self.grant(w, by: ann, agency: blue, apps: ["web"], role: "admin", emails: "dan@blue.test")
        #expect(tooHigh.results == ["dan@blue.test": "refused"])
    }

    @Test func revokingAndRemovingKillAccessAndKeysAtOnce() async throws {
        let w = try await Self.world()
        let f = w.f
        let blue = try await Self.agency(w, "Blue", domain: "blue.test")
        _ = await Self.grant(
            w, by: Self.owner, agency: blue, apps: ["web", "ads"], role: "editor", emails: "ann@blue.test")
        _ = await Self.grant(w, by: Self.owner, agency: blue, apps: ["ads"], role: "viewer", emails: "ben@blue.test")
        try await Self.accept(w, "ann@blue.test", as: "ann")
        try await Self.accept(w, "ben@blue.test", as: "ben")
        _ = await Self.grant(w, by: Self.owner, agency: blue, apps: ["web"], role: "viewer", emails: "cat@blue.test")
        let ann = TenantFixture.caller("ann")
        // An org role that may create keys (staff choose agency people's org roles; they cannot).
        #expect(
            await f.call(
                Self.owner, "POST", "\(w.o)/roles",
                #"{"name":"Agency dev","permissions":["org.view","members.view","apikeys.create"]}"#
            ).status == 201)
        #expect(
            await f.call(Self.owner, "PATCH", "\(w.o)/members/ann", #"{"roles":["custom-agency-dev"]}"#).status == 200)
        let key = await f.call(ann, "POST", "\(w.o)/apikeys", #"{"name":"ann's script"}"#)
        #expect(key.status == 201, "\(key.body)")
        func keyRevoked() throws -> Bool {
            try f.service(.eu).db.readNow {
                try $0.first("SELECT revoked_at FROM api_keys WHERE account_id = 'ann'")?.int(0) != nil
            }
        }
        #expect(try !keyRevoked())
        // Taking one app back ends her keys (they acted for the apps she was given).
        #expect(await f.call(Self.owner, "DELETE", "\(w.o)/apps/\(w.apps["web"]!)/grants/ann").status == 204)
        #expect(try keyRevoked())
        // Revoke in bulk is all or nothing: a manager may; a refusal for one changes nobody.
        let bad = await f.call(
            Self.mel, "POST", "\(w.o)/agencies/\(blue)/revoke", #"{"members":["ann","ben"]}"#)
        #expect(bad.status == 403)
        #expect(
            await f.call(Self.mona, "POST", "\(w.o)/agencies/\(blue)/revoke", #"{"members":["ben","nobody"]}"#)
                .status == 404)
        let benApps = await f.call(Self.owner, "GET", "\(w.o)/members/ben")
        #expect(((benApps.json as? [String: Any])?["apps"] as? [[String: Any]])?.count == 1, "unchanged")
        // Removing the agency: every one of its people loses every app at once; its open invites die.
        let removed = await f.call(Self.owner, "DELETE", "\(w.o)/agencies/\(blue)")
        #expect(removed.status == 200)
        let named = (removed.json as? [[String: Any]])?.compactMap { $0["email"] as? String }
        #expect(Set(named ?? []) == ["ann@blue.test", "ben@blue.test", "cat@blue.test"])
        for who in ["ann", "ben"] {
            let m = await f.call(Self.owner, "GET", "\(w.o)/members/\(who)")
            #expect(((m.json as? [String: Any])?["apps"] as? [[String: Any]])?.isEmpty == true, "\(who)")
        }
        #expect(try await f.service(.eu).pendingInvites(email: "cat@blue.test").isEmpty)
        #expect((await f.call(Self.owner, "GET", "\(w.o)/agencies")).body == "[]")
        let audit = await f.call(Self.owner, "GET", "\(w.o)/audit?action=agency.removed")
        #expect(audit.body.contains("\"people\":\"3\""))
        // Unused now, the region admin may delete it.
        #expect(await f.call(Self.ops, "DELETE", "/api/v1/regions/eu/agencies/\(blue)").status == 409, "people remain")
    }
}

/// The four starting pages are apps of every org: made with a new org, and by migration 10 for orgs that existed.
@Suite("Starting pages as apps")
struct StartingPageAppsTests {
    @Test func everyOrgHasItsStartingPagesAsApps() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        let s = f.service(.eu)
        func slugs(_ db: Database) throws -> [String] {
            try db.readNow { conn in
                try conn.query("SELECT slug FROM apps WHERE org_id = ? ORDER BY slug", [org]).compactMap {
                    $0.string("slug")
                }
            }
        }
        #expect(try slugs(s.db) == ["agent-console", "console", "portal", "studio"])
        // An org from before migration 10 gets them when the store opens.
        _ = try s.db.writeNow { conn in
            try conn.run("DELETE FROM apps WHERE org_id = ?", [org])
            try conn.run("DELETE FROM schema_migrations WHERE version = 10")
        }
        let reopened = try s.db.reopen(migrations: RegionSchema.migrations)
        #expect(try slugs(reopened) == ["agent-console", "console", "portal", "studio"])
    }
}
