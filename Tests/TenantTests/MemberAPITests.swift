import Foundation
import GatehouseCore
import Tenant
import TenantAPI
import TenantDomain
import Testing

@Suite("Members API: rules, bulk, keys, search")
struct MemberAPITests {
    static let owner = TenantFixture.caller("owner")
    static let admin = TenantFixture.caller("adam")
    static let manager = TenantFixture.caller("mona")

    /// Acme with owner, an admin, a manager, two members and a viewer.
    static func acme(_ f: TenantFixture) async throws -> OrgID {
        let org = try await f.makeOrg("Acme")
        try await f.add(
            [("adam", "admin"), ("mona", "manager"), ("mel", "member"), ("max", "member"), ("vic", "viewer")], to: org)
        return org
    }

    /// The roles list reads counts kept by triggers; after every kind of change they equal a fresh count of the
    /// rows (the oracle), for each role including custom ones, and a deleted org leaves none behind.
    @Test func roleCountsFollowEveryChange() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        let s = f.service(.eu)
        func check(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            var oracle: [String: Int] = [:]
            try s.db.readNow { conn in
                try conn.forEach(
                    "SELECT role_id, count(*) FROM member_roles WHERE org_id = ? GROUP BY role_id", [org.raw]
                ) { oracle[$0.string(0)] = $0.int(1) }
            }
            let listed = try await s.listRoles(Self.owner, org: org)
            for r in listed {
                #expect(r.memberCount == oracle[r.id, default: 0], "\(step): \(r.id)", sourceLocation: sourceLocation)
            }
        }
        try await check("seeded")
        let custom = try await s.createRole(
            Self.owner, org: org, request: RoleRequest(name: "Auditors", permissions: [.auditView]))
        _ = await f.call(
            Self.owner, "PATCH", "/api/v1/orgs/\(org)/members/mel", #"{"roles":["member","\#(custom.id)"]}"#)
        try await check("custom role given")
        _ = await f.call(
            Self.owner, "POST", "/api/v1/orgs/\(org)/members/bulk",
            #"{"action":"change_roles","members":["max","vic"],"roles":["viewer"]}"#)
        try await check("bulk change")
        _ = await f.call(Self.owner, "DELETE", "/api/v1/orgs/\(org)/members/mel")
        try await check("member removed (cascade)")
        try await f.add([("newbie", "manager")], to: org)
        try await check("invite accepted")
        let ops = TenantFixture.caller("ops", admin: .eu)
        #expect(await f.call(ops, "DELETE", "/api/v1/regions/eu/orgs/\(org)", #"{"confirmName":"Acme"}"#).status == 204)
        let left = try s.db.readNow {
            try $0.first("SELECT count(*) FROM role_counts WHERE org_id = ?", [org.raw])?.int(0)
        }
        #expect(left == 0)
    }

    @Test func managerCannotMakeSomeoneAdminOrTouchAnAdmin() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        let before = try f.auditCount()
        let up = await f.call(Self.manager, "PATCH", "/api/v1/orgs/\(org)/members/mel", #"{"roles":["admin"]}"#)
        #expect(up.status == 403)
        #expect(up.body.contains("role_above_you"))
        let edit = await f.call(Self.manager, "PATCH", "/api/v1/orgs/\(org)/members/adam", #"{"firstName":"Hacked"}"#)
        #expect(edit.status == 403 && edit.body.contains("member_outranks_you"))
        let remove = await f.call(Self.manager, "DELETE", "/api/v1/orgs/\(org)/members/adam")
        #expect(remove.status == 403 && remove.body.contains("member_outranks_you"))
        let invite = await f.call(
            Self.manager, "POST", "/api/v1/orgs/\(org)/invites", #"{"emails":["x@example.com"],"roles":["admin"]}"#)
        #expect(invite.status == 403 && invite.body.contains("role_above_you"))
        #expect(try f.auditCount() == before, "a refused change must change nothing")
        // What a manager may do.
        let ok = await f.call(
            Self.manager, "PATCH", "/api/v1/orgs/\(org)/members/mel",
            #"{"roles":["viewer","member"],"userVariables":{"k":"v"},"startingPage":"console"}"#)
        #expect(ok.status == 200)
        #expect((ok.json as? [String: Any])?["roles"] as? [String] == ["viewer", "member"])
    }

    @Test func selfChangeAndLastOwner() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        #expect(
            await f.call(Self.admin, "PATCH", "/api/v1/orgs/\(org)/members/adam", #"{"roles":["owner"]}"#).body
                .contains("cannot_change_yourself"))
        #expect(
            await f.call(Self.owner, "DELETE", "/api/v1/orgs/\(org)/members/owner").body.contains(
                "cannot_change_yourself"))
        // Make adam owner, then adam may not remove the only other owner if that leaves none — there are two.
        #expect(
            await f.call(Self.owner, "PATCH", "/api/v1/orgs/\(org)/members/adam", #"{"roles":["owner"]}"#).status == 200
        )
        #expect(
            await f.call(Self.admin, "PATCH", "/api/v1/orgs/\(org)/members/owner", #"{"roles":["admin"]}"#).status
                == 200)
        // Now adam is the only owner; owner (now admin) cannot demote or remove him (outranked), and nobody can drop the last owner.
        let r = await f.call(
            TenantFixture.caller("owner"), "PATCH", "/api/v1/orgs/\(org)/members/adam", #"{"roles":["admin"]}"#)
        #expect(r.status == 403)
        let bulk = await f.call(
            Self.admin, "POST", "/api/v1/orgs/\(org)/members/bulk",
            #"{"action":"change_roles","members":["owner"],"roles":["member"]}"#)
        #expect(bulk.status == 200)
        let s = f.service(.eu)
        let decision = try await s.member(Self.admin, org: org, member: "adam")
        #expect(decision.roles == ["owner"])
        let last = await f.call(
            TenantFixture.caller("adam"), "PATCH", "/api/v1/orgs/\(org)/members/adam", #"{"roles":["admin"]}"#)
        #expect(last.body.contains("cannot_change_yourself"))
    }

    @Test func theLastOwnerCannotBeDemotedOrRemoved() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        // A custom role with every permission: its holder outranks nobody and is outranked by nobody, but holds
        // no owner role — so the only way rule 4 can bite through the API.
        let all = Permission.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ",")
        let created = await f.call(
            Self.owner, "POST", "/api/v1/orgs/\(org)/roles", "{\"name\":\"Super\",\"permissions\":[\(all)]}")
        let superRole = try #require((created.json as? [String: Any])?["id"] as? String)
        #expect(
            await f.call(Self.owner, "PATCH", "/api/v1/orgs/\(org)/members/adam", "{\"roles\":[\"\(superRole)\"]}")
                .status == 200)
        let before = try f.auditCount()
        let demote = await f.call(Self.admin, "PATCH", "/api/v1/orgs/\(org)/members/owner", #"{"roles":["admin"]}"#)
        #expect(demote.status == 409 && demote.body.contains("last_owner"))
        let remove = await f.call(Self.admin, "DELETE", "/api/v1/orgs/\(org)/members/owner")
        #expect(remove.status == 409 && remove.body.contains("last_owner"))
        let bulk = await f.call(
            Self.admin, "POST", "/api/v1/orgs/\(org)/members/bulk", #"{"action":"remove","members":["owner","mel"]}"#)
        #expect(bulk.status == 409 && bulk.body.contains("last_owner"))
        #expect(try f.auditCount() == before)
        // With a second owner, the first may go.
        #expect(
            await f.call(Self.admin, "PATCH", "/api/v1/orgs/\(org)/members/mona", #"{"roles":["owner"]}"#).status == 200
        )
        #expect(await f.call(Self.admin, "DELETE", "/api/v1/orgs/\(org)/members/owner").status == 204)
    }

    @Test func bulkIsAllOrNothingAndNamesWhoBlockedIt() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        let before = try f.auditCount()
        let r = await f.call(
            Self.manager, "POST", "/api/v1/orgs/\(org)/members/bulk",
            #"{"action":"change_roles","members":["mel","adam","max","ghost","mona"],"roles":["viewer"]}"#)
        #expect(r.status == 409)
        let refusals = ((r.json as? [String: Any])?["refusals"] as? [[String: Any]]) ?? []
        let byMember = Dictionary(
            refusals.map { ($0["member"] as? String ?? "", $0["code"] as? String ?? "") },
            uniquingKeysWith: { a, _ in a })
        #expect(byMember == ["adam": "member_outranks_you", "ghost": "not_found", "mona": "cannot_change_yourself"])
        #expect(try f.auditCount() == before)
        #expect(try await f.service(.eu).member(Self.owner, org: org, member: "mel").roles == ["member"])
        let ok = await f.call(
            Self.manager, "POST", "/api/v1/orgs/\(org)/members/bulk",
            #"{"action":"change_roles","members":["mel","max"],"roles":["viewer"]}"#)
        #expect(ok.status == 200)
        #expect((ok.json as? [String: Any])?["count"] as? Int == 2)
        #expect(try await f.service(.eu).member(Self.owner, org: org, member: "max").roles == ["viewer"])
        let copy = await f.call(
            Self.manager, "POST", "/api/v1/orgs/\(org)/members/copy", #"{"members":["mel","max","nobody"]}"#)
        #expect(copy.body == "mel@example.com\nmax@example.com")
    }

    @Test func removalAndAppRevocationKillKeysAtOnce() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await Self.acme(f)
        let app = try await s.createApp(Self.owner, org: org, name: "Portal")
        try await s.grantApp(Self.owner, org: org, app: app.id, member: "adam", role: .admin)
        let general = try await s.createAPIKey(Self.admin, org: org, request: APIKeyRequest(name: "ci"))
        let scoped = try await s.createAPIKey(Self.admin, org: org, request: APIKeyRequest(name: "portal", app: app.id))
        let g = try #require(general.secret)
        let sc = try #require(scoped.secret)
        #expect(try await s.authenticateAPIKey(g)?.accountID == "adam")
        #expect(try await s.authenticateAPIKey(sc)?.app == app.id)
        #expect(try await s.authenticateAPIKey(g + "x") == nil)
        #expect(try await s.authenticateAPIKey("ghk_eu_nope_secret") == nil)
        #expect(try await f.service(.us).authenticateAPIKey(g) == nil, "a key answers only in its own region")
        // The secret is not stored: only its hash.
        let stored = try s.db.readNow { try $0.query("SELECT * FROM api_keys") }
        // `ghk_<region>_<random>_<secret>`; the secret is base64url and may itself contain "_".
        let secretPart = String(g.split(separator: "_", maxSplits: 3).last ?? "")
        #expect(secretPart.count == 43)
        #expect(!stored.contains { row in row.values.contains { "\($0)".contains(secretPart) } })
        try await s.revokeApp(Self.owner, org: org, app: app.id, member: "adam")
        #expect(try await s.authenticateAPIKey(sc) == nil)
        #expect(try await s.authenticateAPIKey(g) != nil)
        #expect(await f.call(Self.owner, "DELETE", "/api/v1/orgs/\(org)/members/adam").status == 204)
        #expect(try await s.authenticateAPIKey(g) == nil)
        let keys = try await s.listAPIKeys(Self.owner, org: org)
        #expect(Set(keys.compactMap(\.revokedReason)) == ["app_revoked", "member_removed"])
        #expect(keys.allSatisfy { $0.secret == nil })
    }

    @Test func customRolesAndRoleInUse() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        let created = await f.call(
            Self.admin, "POST", "/api/v1/orgs/\(org)/roles",
            #"{"name":"Analyst","permissions":["org.view","members.view","data.edit"]}"#)
        #expect(created.status == 201)
        let roleID = try #require((created.json as? [String: Any])?["id"] as? String)
        #expect(
            await f.call(
                Self.admin, "POST", "/api/v1/orgs/\(org)/roles", #"{"name":"Deleter","permissions":["org.delete"]}"#
            ).body.contains("role_above_you"))
        #expect(
            await f.call(Self.manager, "POST", "/api/v1/orgs/\(org)/roles", #"{"name":"X","permissions":["org.view"]}"#)
                .status == 403)
        #expect(
            await f.call(
                Self.admin, "POST", "/api/v1/orgs/\(org)/roles", #"{"name":"analyst","permissions":["org.view"]}"#
            ).status == 409)
        // A manager may give the custom role (its permissions are within a manager's).
        #expect(
            await f.call(Self.manager, "PATCH", "/api/v1/orgs/\(org)/members/mel", "{\"roles\":[\"\(roleID)\"]}").status
                == 200)
        let del = await f.call(Self.admin, "DELETE", "/api/v1/orgs/\(org)/roles/\(roleID)")
        #expect(del.status == 409 && del.body.contains("role_in_use") && del.body.contains("1 member"))
        #expect(
            await f.call(
                Self.admin, "PATCH", "/api/v1/orgs/\(org)/roles/\(roleID)",
                #"{"name":"Analyst","permissions":["org.view","members.view","data.edit","apikeys.create"]}"#
            ).status == 200)
        // Now above a manager: the manager can no longer take it away.
        #expect(
            await f.call(Self.manager, "PATCH", "/api/v1/orgs/\(org)/members/mel", #"{"roles":["member"]}"#).status
                == 403)
        #expect(
            await f.call(Self.admin, "PATCH", "/api/v1/orgs/\(org)/members/mel", #"{"roles":["member"]}"#).status == 200
        )
        #expect(await f.call(Self.admin, "DELETE", "/api/v1/orgs/\(org)/roles/\(roleID)").status == 204)
        #expect(await f.call(Self.admin, "DELETE", "/api/v1/orgs/\(org)/roles/owner").status == 409)
        let roles = await f.call(TenantFixture.caller("vic"), "GET", "/api/v1/orgs/\(org)/roles")
        #expect(
            (roles.json as? [[String: Any]])?.map { $0["id"] as? String ?? "" } == [
                "owner", "admin", "manager", "member", "viewer",
            ])
    }

    @Test func lastActiveFollowsUseInBatches() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await Self.acme(f)
        try s.activity.flush()
        let before = try await s.member(Self.owner, org: org, member: "vic").lastActive
        f.clock.advance(by: 3600)
        #expect(await f.call(TenantFixture.caller("vic"), "GET", "/api/v1/orgs/\(org)").status == 200)
        #expect(try await s.member(Self.owner, org: org, member: "vic").lastActive == before, "not written per request")
        #expect(try s.activity.flush() >= 1)
        let after = try #require(try await s.member(Self.owner, org: org, member: "vic").lastActive)
        #expect(after == f.clock.now())
        // Sorting by last active now puts vic ahead of mel, who has not been back since joining.
        var q = RegionService.MemberListQuery()
        q.sort = "last_active"
        q.order = "desc"
        q.limit = 50
        let order = try await s.listMembers(Self.owner, org: org, query: q).members.map(\.id)
        #expect((order.firstIndex(of: "vic") ?? 99) < (order.firstIndex(of: "mel") ?? -1))
    }

    @Test func permissionsAndViewAs() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        let p = await f.call(Self.owner, "GET", "/api/v1/orgs/\(org)/members/mona/permissions")
        let allowed = (p.json as? [String: Any])?["allowed"] as? [String: Bool]
        #expect(allowed?["members.invite"] == true)
        #expect(allowed?["org.rename"] == false)
        #expect(allowed?["apikeys.create"] == false)
    }

    @Test func auditRecordsChangesAndExports() async throws {
        let f = try TenantFixture()
        let org = try await Self.acme(f)
        _ = await f.call(Self.owner, "PATCH", "/api/v1/orgs/\(org)/members/mel", #"{"roles":["manager"]}"#)
        let page = await f.call(Self.admin, "GET", "/api/v1/orgs/\(org)/audit?action=member.updated")
        let events = ((page.json as? [String: Any])?["events"] as? [[String: Any]]) ?? []
        #expect(events.count == 1)
        #expect(events.first?["target"] as? String == "mel")
        #expect((events.first?["summary"] as? [String: String])?["roles.after"] == "manager")
        // The page names whom the ids stand for (the console shows names, ids on hover); a removed member keeps
        // the address the event recorded; export stays ids only.
        #expect(events.first?["targetName"] as? String == "mel@example.com")
        #expect(events.first?["actorName"] as? String == "owner@example.com")
        _ = await f.call(Self.owner, "POST", "/api/v1/orgs/\(org)/apps", #"{"name":"Portal"}"#)
        _ = await f.call(Self.owner, "DELETE", "/api/v1/orgs/\(org)/members/max")
        let named = await f.call(Self.admin, "GET", "/api/v1/orgs/\(org)/audit?limit=2")
        let recent = ((named.json as? [String: Any])?["events"] as? [[String: Any]]) ?? []
        #expect(recent.map { $0["action"] as? String } == ["member.removed", "app.created"])
        #expect(recent.first?["targetName"] as? String == "max@example.com (removed)")
        // Events by someone since removed still name them, by the address their removal kept.
        let byMax = await f.call(Self.admin, "GET", "/api/v1/orgs/\(org)/audit?actor=max&limit=5")
        let maxEvents = ((byMax.json as? [String: Any])?["events"] as? [[String: Any]]) ?? []
        #expect(
            !maxEvents.isEmpty && maxEvents.allSatisfy { $0["actorName"] as? String == "max@example.com (removed)" })
        // The org's creation was the region admin's.
        let created = await f.call(Self.admin, "GET", "/api/v1/orgs/\(org)/audit?action=org.provisioned")
        let createdBy = ((created.json as? [String: Any])?["events"] as? [[String: Any]])?.first?["actorName"]
        #expect(createdBy as? String == "Region admin")
        #expect(recent.last?["targetName"] as? String == "Portal (app)")
        #expect(await f.call(Self.manager, "GET", "/api/v1/orgs/\(org)/audit").status == 403)
        let export = await f.call(Self.admin, "GET", "/api/v1/orgs/\(org)/audit/export")
        let lines = export.body.split(separator: "\n")
        #expect(lines.count == (try f.auditCount()))
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
        // Paginate the audit log by cursor: every event exactly once.
        var seen = Set<Int>()
        var cursor: String? = nil
        repeat {
            let r = await f.call(
                Self.admin, "GET", "/api/v1/orgs/\(org)/audit?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""))
            let obj = r.json as? [String: Any]
            for e in (obj?["events"] as? [[String: Any]]) ?? [] { seen.insert(e["id"] as? Int ?? -1) }
            cursor = obj?["nextCursor"] as? String
        } while cursor != nil
        #expect(seen.count == lines.count)
    }

    @Test func searchSortAndPaginateMatchABruteForceOracle() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        let names = [
            "Zoë Quinn", "Ann Lee", "Bob Marley", "Cy Twombly", "Dee Dee", "Ed O'Neil", "Flo Rida", "Gus Van",
            "Hal Lee", "Ivy Ng",
        ]
        for (i, n) in names.enumerated() {
            let parts = n.split(separator: " ")
            _ = try await s.createInvites(
                TenantFixture.caller("owner"), org: org,
                request: InviteRequest(
                    emails: .list(["user\(i)@corp\(i % 3).io"]), roles: [i % 2 == 0 ? "member" : "viewer"],
                    firstName: String(parts[0]), lastName: String(parts[1])))
        }
        for inv in try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil)
            .invites
        {
            f.clock.advance(by: 61)
            _ = try await s.acceptInvite(
                AcceptInviteRequest(token: s.link(for: inv).token, accountID: "acct-\(inv.email)", email: inv.email))
        }
        let all = try await s.listMembers(
            Self.owner, org: org,
            query: {
                var q = RegionService.MemberListQuery()
                q.limit = 200
                return q
            }())
        #expect(all.members.count == 11)
        for term in ["lee", "LEE", "e", "ë", "@corp1", "o'n", "zz", "x", "user1", "corp2.io", "ee d", "nobody-at-all"] {
            let expected = all.members.filter {
                "\($0.firstName) \($0.lastName) \($0.email)".lowercased().contains(term.lowercased())
            }
            for sort in ["name", "last_active", "apps"] {
                for order in ["asc", "desc"] {
                    var got: [String] = []
                    var cursor: String? = nil
                    repeat {
                        var q = RegionService.MemberListQuery()
                        q.search = term
                        q.sort = sort
                        q.order = order
                        q.limit = 2
                        q.cursor = cursor
                        let page = try await s.listMembers(Self.owner, org: org, query: q)
                        got += page.members.map(\.id)
                        cursor = page.nextCursor
                    } while cursor != nil
                    #expect(Set(got) == Set(expected.map(\.id)), "term \(term)")
                    #expect(got.count == expected.count, "no duplicates across pages for \(term) \(sort) \(order)")
                    if sort == "last_active" {
                        let times = got.compactMap { id in
                            all.members.first { $0.id == id }?.lastActive?.timeIntervalSince1970
                        }
                        #expect(times == (order == "asc" ? times.sorted() : times.sorted(by: >)))
                    }
                }
            }
        }
        // Activity status: everyone joined within the last hour (active); the owner too (joining counts).
        var st = RegionService.MemberListQuery()
        st.status = "active"
        st.limit = 200
        #expect(try await s.listMembers(Self.owner, org: org, query: st).members.count == 11)
        f.clock.advance(by: 31 * 86400)
        #expect(try await s.listMembers(Self.owner, org: org, query: st).members.isEmpty)
        st.status = "inactive"
        #expect(try await s.listMembers(Self.owner, org: org, query: st).members.count == 11)
        st.status = "never"
        #expect(try await s.listMembers(Self.owner, org: org, query: st).members.isEmpty)
        st.status = "dormant"
        await #expect(throws: GatehouseError.self) { _ = try await s.listMembers(Self.owner, org: org, query: st) }
        var q = RegionService.MemberListQuery()
        q.role = "viewer"
        q.limit = 200
        #expect(try await s.listMembers(Self.owner, org: org, query: q).members.count == 5)
        q.search = "lee"
        #expect(try await s.listMembers(Self.owner, org: org, query: q).members.map(\.lastName) == ["Lee"])
    }
}

/// `/me`'s read in this process: the immediate answer (caller's thread) equals the normal one (reader thread) for
/// a person with memberships and invitations in every region, with nothing, and after changes.
@Suite("Account overview: the immediate answer equals the normal one")
struct AccountOverviewTests {
    @Test func immediateEqualsNormal() async throws {
        let f = try TenantFixture()
        let owner = TenantFixture.caller("owner")
        var orgs: [OrgID] = []
        for (name, r) in [("Acme", Region.eu), ("Zeta", .eu), ("Yank", .us), ("Kiwi", .apac)] {
            orgs.append(try await f.makeOrg(name, region: r))
        }
        for org in orgs.dropFirst() {
            _ = try await f.service(org.region).createInvites(
                owner, org: org, request: InviteRequest(emails: .list(["pat@example.com"]), roles: ["member"]))
        }
        try await f.add([("pat", "viewer")], to: orgs[0])
        func check(_ who: String, _ email: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
            for r in Region.allCases {
                let tenant = try LocalRegionTenant(service: f.service(r))
                let normal = try await tenant.overview(accountID: who, email: email)
                // A store whose reads are not local (PostgreSQL) never answers on the event loop.
                let expected = f.service(r).db.readsAreLocal ? normal : nil
                #expect(
                    tenant.immediateOverview(accountID: who, email: email) == expected, "\(r)",
                    sourceLocation: sourceLocation)
            }
        }
        try await check("pat", "pat@example.com")
        try await check("owner", "owner@example.com")
        try await check("nobody", "nobody@example.com")
        _ = try await f.service(.us).revokeInvite(
            owner, org: orgs[2],
            invite: try #require(
                try await f.service(.us).listInvites(owner, org: orgs[2], status: "pending", cursor: nil).invites.first?
                    .id))
        try await check("pat", "pat@example.com")
    }
}
