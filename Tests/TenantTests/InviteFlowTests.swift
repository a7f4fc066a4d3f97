import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Testing
import Web

@testable import Tenant

@Suite("Invites: create, accept, expire, resend, race")
struct InviteFlowTests {
    @Test func provisionMakesTheCreatorOwner() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        #expect(org.region == .eu)
        let info = await f.call(TenantFixture.caller("owner"), "GET", "/api/v1/orgs/\(org)")
        #expect(info.status == 200)
        #expect((info.json as? [String: Any])?["name"] as? String == "Acme")
        let me = try await f.service(.eu).member(TenantFixture.caller("owner"), org: org, member: "owner")
        #expect(me.roles == ["owner"])
    }

    @Test func pastedListInvitesEachValidAddressAndReportsTheRest() async throws {
        let f = try TenantFixture()
        let org = try await f.makeOrg("Acme")
        try await f.add([("existing", "member")], to: org)
        let body =
            #"{"emails": "ann@example.com\tBOB@example.com; ann@example.com, not-an-email\nexisting@example.com","#
            + #" "roles": ["manager"], "userVariables": {"Team": "blue"}, "startingPage": "portal"}"#
        let r = await f.call(TenantFixture.caller("owner"), "POST", "/api/v1/orgs/\(org)/invites", body)
        #expect(r.status == 201)
        let results = ((r.json as? [String: Any])?["results"] as? [[String: Any]]) ?? []
        let byEmail = Dictionary(
            results.map { ($0["email"] as? String ?? "", $0["result"] as? String ?? "") },
            uniquingKeysWith: { a, _ in a })
        #expect(byEmail["ann@example.com"] == "invited")
        #expect(byEmail["bob@example.com"] == "invited")
        #expect(byEmail["not-an-email"] == "invalid")
        #expect(byEmail["existing@example.com"] == "already_member")
        #expect(results.contains { $0["result"] as? String == "duplicate" })
        // Again: both are now pending.
        let again = await f.call(
            TenantFixture.caller("owner"), "POST", "/api/v1/orgs/\(org)/invites",
            #"{"emails": ["ann@example.com"], "roles": ["member"]}"#)
        #expect(again.status == 200)
        #expect(
            ((again.json as? [String: Any])?["results"] as? [[String: Any]])?.first?["result"] as? String
                == "already_invited")
        // Mail was queued with the invites, in the same transaction.
        let outbox = try f.service(.eu).db.readNow {
            try $0.query("SELECT recipient, kind FROM outbox WHERE kind = 'invite' ORDER BY id")
        }
        #expect(outbox.compactMap { $0.string("recipient") }.suffix(2) == ["ann@example.com", "bob@example.com"])
    }

    /// Pasted `Name <address>` forms name their invitees (they were dropped); names sent with the request win.
    @Test func pastedDisplayNamesNameTheInvitees() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(
                emails: .text("Mia Manager <mia@acme.test>, max@acme.test\n\"Vik\" <vik@acme.test>"),
                roles: ["member"]))
        let invites = try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil)
            .invites
        func names(_ email: String) -> [String]? {
            invites.first { $0.email == email }.map { [$0.firstName, $0.lastName] }
        }
        #expect(names("mia@acme.test") == ["Mia", "Manager"])
        #expect(names("vik@acme.test") == ["Vik", ""])
        #expect(names("max@acme.test") == ["", ""])
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(
                emails: .text("Someone Else <zed@acme.test>"), roles: ["member"], firstName: "Zed", lastName: "Z"))
        let zed = try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil)
            .invites.first { $0.email == "zed@acme.test" }
        #expect(zed.map { [$0.firstName, $0.lastName] } == ["Zed", "Z"])
    }

    @Test func acceptCreatesTheMembershipTheInviteDescribes() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        let app = try await s.createApp(TenantFixture.caller("owner"), org: org, name: "Studio")
        let batch = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(
                emails: .list(["Cara@Example.com"]), roles: ["manager"], ssoOnly: true, firstName: "Cara",
                lastName: "Doe",
                userVariables: ["Region": "north", "region": "lower"], startingPage: .agentConsole,
                apps: [AppGrant(app: app.id, role: .editor)]))
        let invite = try #require(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil).invites
                .first { $0.email == "cara@example.com" })
        #expect(batch.invited == 1)
        let token = s.link(for: invite).token
        // Rule 8: another account cannot take it.
        await #expect(throws: GatehouseError(.init("invite_email_mismatch"), status: 403, "")) {
            _ = try await s.acceptInvite(AcceptInviteRequest(token: token, accountID: "eve", email: "eve@example.com"))
        }
        let result = try await s.acceptInvite(
            AcceptInviteRequest(token: token, accountID: "cara", email: "CARA@example.com"))
        let m = result.member
        #expect(m.roles == ["manager"])
        #expect(m.ssoOnly)
        #expect(m.firstName == "Cara" && m.lastName == "Doe")
        #expect(m.userVariables == ["Region": "north", "region": "lower"])
        #expect(m.startingPage == .agentConsole)
        #expect(m.apps == [AppGrant(app: app.id, role: .editor)])
        #expect(result.startingPage == .agentConsole)
        await #expect(throws: GatehouseError(.init("invite_used"), status: 410, "")) {
            _ = try await s.acceptInvite(
                AcceptInviteRequest(token: token, accountID: "cara", email: "cara@example.com"))
        }
        let joined = try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "joined", cursor: nil)
        #expect(joined.invites.contains { $0.email == "cara@example.com" })
    }

    @Test func concurrentAcceptsJoinExactlyOnce() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["race@example.com"]), roles: ["member"]))
        let inv = try #require(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil).invites
                .first)
        let token = s.link(for: inv).token
        let successes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<12 {
                group.addTask {
                    (try? await s.acceptInvite(
                        AcceptInviteRequest(
                            token: token, accountID: i % 2 == 0 ? "racer" : "racer", email: "race@example.com"))) != nil
                }
            }
            var n = 0
            for await ok in group where ok { n += 1 }
            return n
        }
        #expect(successes == 1)
        let count = try s.db.readNow {
            try $0.first("SELECT count(*) FROM members WHERE org_id = ? AND account_id = 'racer'", [org])?.int(0)
        }
        #expect(count == 1)
    }

    @Test func invitesExpireByTheClock() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["late@example.com"]), roles: ["viewer"]))
        let inv = try #require(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil).invites
                .first)
        let token = s.link(for: inv).token
        f.clock.advance(by: 71 * 3600)
        #expect(try await s.inviteForToken(token).invite.status == .pending)
        f.clock.advance(by: 2 * 3600)
        #expect(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "expired", cursor: nil).invites
                .map(\.email) == ["late@example.com"])
        #expect(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil).invites
                .isEmpty)
        await #expect(throws: GatehouseError(.init("invite_expired"), status: 410, "")) {
            _ = try await s.acceptInvite(
                AcceptInviteRequest(token: token, accountID: "late", email: "late@example.com"))
        }
        // An expired address can be invited again.
        let again = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["late@example.com"]), roles: ["viewer"]))
        #expect(again.invited == 1)
    }

    @Test func resendKillsOlderLinks() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["re@example.com"]), roles: ["member"]))
        let inv = try #require(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: nil, cursor: nil).invites.first {
                $0.email == "re@example.com"
            })
        let old = s.link(for: inv).token
        f.clock.advance(by: 3600)
        let resent = await f.call(TenantFixture.caller("owner"), "POST", "/api/v1/orgs/\(org)/invites/\(inv.id)/resend")
        #expect(resent.status == 200)
        #expect((resent.json as? [String: Any])?["version"] as? Int == 2)
        await #expect(throws: GatehouseError(.init("invite_superseded"), status: 410, "")) {
            _ = try await s.inviteForToken(old)
        }
        let link = await f.call(TenantFixture.caller("owner"), "GET", "/api/v1/orgs/\(org)/invites/\(inv.id)/link")
        let newToken = try #require((link.json as? [String: Any])?["token"] as? String)
        #expect(newToken != old)
        #expect(((link.json as? [String: Any])?["url"] as? String)?.hasSuffix("/invite/" + newToken) == true)
        _ = try await s.acceptInvite(AcceptInviteRequest(token: newToken, accountID: "re", email: "re@example.com"))
    }

    @Test func revokedInvitesCannotBeAccepted() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["gone@example.com"]), roles: ["member"]))
        let inv = try #require(
            try await s.listInvites(TenantFixture.caller("owner"), org: org, status: "pending", cursor: nil).invites
                .first)
        #expect(
            await f.call(TenantFixture.caller("owner"), "POST", "/api/v1/orgs/\(org)/invites/\(inv.id)/revoke").status
                == 204)
        await #expect(throws: GatehouseError(.init("invite_revoked"), status: 410, "")) {
            _ = try await s.acceptInvite(
                AcceptInviteRequest(token: s.link(for: inv).token, accountID: "gone", email: "gone@example.com"))
        }
        #expect(
            await f.call(TenantFixture.caller("owner"), "GET", "/api/v1/orgs/\(org)/invites/\(inv.id)/link").status
                == 410)
    }

    @Test func pendingInvitesForAnAddressAcrossOrgs() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let a = try await f.makeOrg("Acme")
        let b = try await f.makeOrg("Globex", owner: "boss")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: a,
            request: InviteRequest(emails: .list(["pat@example.com"]), roles: ["member"]))
        _ = try await s.createInvites(
            TenantFixture.caller("boss"), org: b,
            request: InviteRequest(emails: .list(["pat@example.com"]), roles: ["viewer"]))
        let pending = try await s.pendingInvites(email: "PAT@example.com")
        #expect(Set(pending.map(\.orgName)) == ["Acme", "Globex"])
        let declined = pending[0]
        let token = s.link(for: declined.invite).token
        try await s.declineInvite(token: token, accountID: "pat", email: "pat@example.com")
        #expect(try await s.pendingInvites(email: "pat@example.com").count == 1)
        // Declined reads as declined (it read "revoked", as if the org had withdrawn it), in lists and filters,
        // and the link says so.
        let org = try #require(OrgID(declined.invite.orgID))
        let owner = TenantFixture.caller(org == a ? "owner" : "boss")
        let listed = try await s.listInvites(owner, org: org, status: "declined", cursor: nil).invites
        #expect(listed.map(\.email) == ["pat@example.com"] && listed.first?.status == .declined)
        #expect(try await s.listInvites(owner, org: org, status: "revoked", cursor: nil).invites.isEmpty)
        await #expect(throws: GatehouseError(.inviteDeclined, status: 410, "")) {
            _ = try await s.acceptInvite(AcceptInviteRequest(token: token, accountID: "pat", email: "pat@example.com"))
        }
    }

    /// A store from before declined invitations had their own status: the migration finds them in the audit log.
    @Test func theMigrationTellsDeclinedFromRevoked() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let org = try await f.makeOrg("Acme")
        _ = try await s.createInvites(
            TenantFixture.caller("owner"), org: org,
            request: InviteRequest(emails: .list(["d@example.com", "r@example.com"]), roles: ["member"]))
        _ = try s.db.writeNow { conn in
            try conn.run("UPDATE invites SET status = 'revoked' WHERE email IN ('d@example.com', 'r@example.com')")
            let d = try conn.first("SELECT id FROM invites WHERE email = 'd@example.com'")?.string(0) ?? ""
            try conn.run(
                "INSERT INTO audit_events (org_id, at, actor, action, target, summary) VALUES (?, 1, 'x',"
                    + " 'invite.declined', 'd@example.com', ?)", [org, "{\"invite\":\"\(d)\"}"])
            try conn.run("DELETE FROM schema_migrations WHERE version = 4")
            // As the table was then (migration 8 added the agency column later).
            try conn.run("ALTER TABLE invites DROP COLUMN agency_id")
        }
        let reopened = try s.db.reopen(migrations: RegionSchema.migrations)
        let statuses = try reopened.readNow { conn in
            try conn.query(
                "SELECT email, status FROM invites WHERE email IN ('d@example.com', 'r@example.com') ORDER BY email"
            ).map {
                "\($0.string("email") ?? "")=\($0.string("status") ?? "")"
            }
        }
        #expect(statuses == ["d@example.com=declined", "r@example.com=revoked"])
    }
}

@Suite("Invite tokens")
struct InviteTokenTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let k1 = InviteTokens.Key(id: "k1", secret: Array(repeating: 7, count: 32))
    let k2 = InviteTokens.Key(id: "k2", secret: Array(repeating: 9, count: 32))

    @Test func roundTripAndTampering() throws {
        let t = InviteTokens(active: k1)
        let token = t.issue(
            inviteID: "inv_1", orgID: "org_eu_abcdefgh", region: .eu, version: 3, expiresAt: 1_800_000_100)
        #expect(token.hasPrefix("gh1."))
        let claims = try t.verify(token, now: now).get()
        #expect(claims.inviteID == "inv_1" && claims.version == 3 && claims.region == .eu)
        var parts = token.split(separator: ".").map(String.init)
        // Change the payload (version 3 → 4) and keep the MAC: refused.
        let forged = String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self).replacingOccurrences(
            of: "\"v\":3", with: "\"v\":4")
        parts[1] = Base64URL.encode(Array(forged.utf8))
        #expect(t.verify(parts.joined(separator: "."), now: now) == .failure(.badSignature))
        #expect(t.verify(token + "x", now: now) == .failure(.malformed))
        #expect(t.verify("gh1..", now: now) == .failure(.malformed))
        #expect(t.verify(String(repeating: "a", count: 5000), now: now) == .failure(.malformed))
        #expect(t.verify(token, now: now.addingTimeInterval(100)) == .failure(.expired))
        #expect(InviteTokens(active: k2).verify(token, now: now) == .failure(.unknownKey))
    }

    @Test func rotationKeepsOldTokensValid() throws {
        let old = InviteTokens(active: k1).issue(
            inviteID: "i", orgID: "org_us_abcdefgh", region: .us, version: 1, expiresAt: 1_800_000_100)
        let rotated = InviteTokens(active: k2, others: [k1])
        #expect((try? rotated.verify(old, now: now).get()) != nil)
        let fresh = rotated.issue(
            inviteID: "i", orgID: "org_us_abcdefgh", region: .us, version: 1, expiresAt: 1_800_000_100)
        #expect((try? rotated.verify(fresh, now: now).get())?.keyID == "k2")
        let sameIDOtherSecret = InviteTokens(active: InviteTokens.Key(id: "k2", secret: Array(repeating: 1, count: 32)))
        #expect(sameIDOtherSecret.verify(fresh, now: now) == .failure(.badSignature))
    }

    @Test func keysAreGeneratedOnceIntoTheDataDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = try InviteTokens.loadOrCreate(directory: dir)
        let b = try InviteTokens.loadOrCreate(directory: dir)
        let token = a.issue(
            inviteID: "i", orgID: "org_eu_abcdefgh", region: .eu, version: 1,
            expiresAt: Int(Date().timeIntervalSince1970) + 60)
        #expect((try? b.verify(token, now: Date()).get()) != nil)
        let mode =
            try FileManager.default.attributesOfItem(atPath: dir + "/invite-keys.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

@Suite("Hand-built JSON matches JSONEncoder")
struct HandBuiltJSONTests {
    static let names = ["Acme", "Ac\"me \\ <x>/y", "Ünïcode\u{2028}line", "tab\there\u{1}", ""]
    static let dates = [
        Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_800_000_123.9),
        Date(timeIntervalSince1970: 4_102_444_799),
    ]

    /// The writer's bytes and JSONEncoder's bytes parse to the same value, and the writer's keys come sorted.
    static func same<T: JSONWritable>(_ v: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let viaEncoder = try JSONSerialization.jsonObject(with: try JSONCoding.encoder().encode(v)) as? NSObject
        let viaWriter = try JSONSerialization.jsonObject(with: Data(v.jsonBytes)) as? NSObject
        #expect(
            viaEncoder != nil && viaEncoder == viaWriter, "\(T.self): \(String(decoding: v.jsonBytes, as: UTF8.self))",
            sourceLocation: sourceLocation)
        let sorted = try JSONSerialization.data(
            withJSONObject: viaWriter!, options: [.sortedKeys, .withoutEscapingSlashes])
        let again = try JSONSerialization.data(
            withJSONObject: try JSONSerialization.jsonObject(with: Data(v.jsonBytes)),
            options: [.sortedKeys, .withoutEscapingSlashes])
        #expect(sorted == again, sourceLocation: sourceLocation)
    }

    /// What an in-process caller reads (`Response.value`, the value itself) equals what a caller in another
    /// process decodes from the bytes: the two paths answer the same.
    static func roundTrips<T: JSONWritable & Decodable & Equatable>(
        _ v: T, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try same(v, sourceLocation: sourceLocation)
        let r = try Response.json(v)
        #expect(r.value as? T == v, sourceLocation: sourceLocation)
        #expect(try JSONCoding.decode(T.self, from: r.body) == v, sourceLocation: sourceLocation)
    }

    @Test(arguments: names)
    func everyWrittenBodyEqualsTheEncoder(_ name: String) throws {
        for date in Self.dates {
            for count in [nil, 0, 12345] as [Int?] {
                try Self.same(
                    OrgView(
                        id: "org_eu_abcdefgh", name: name, region: .eu, status: .active, createdAt: date,
                        memberCount: count))
                for owner in [
                    OwnerState(email: "o@x.test", joined: true, inviteExpiresAt: nil),
                    OwnerState(email: name, joined: false, inviteExpiresAt: date),
                ] {
                    var v = OrgView(
                        id: "org_eu_abcdefgh", name: name, region: .eu, status: .suspended, createdAt: date,
                        memberCount: count)
                    v.owner = owner
                    try Self.same(v)
                }
            }
            let member = MemberView(
                id: "acc_\(name)", email: "\(name)@x.test", firstName: name, lastName: name, roles: ["member", name],
                userVariables: [name: name, "b/c": "d\\e", "a": ""], startingPage: .agentConsole, ssoOnly: true,
                apps: [AppGrant(app: "app_1", role: .editor)], appCount: 3, joinedAt: date,
                lastActive: name.isEmpty ? nil : date)
            try Self.roundTrips(member)
            try Self.roundTrips(MemberPage(members: [member, member], nextCursor: name.isEmpty ? nil : name))
            try Self.roundTrips(MemberPage(members: [], nextCursor: nil))
            let invite = InviteView(
                id: "inv_1", orgID: "org_eu_abcdefgh", email: "\(name)@x.test", roles: [name], ssoOnly: false,
                firstName: name, lastName: "", userVariables: [:], startingPage: .studio, apps: [],
                inviterID: "acc_o", inviterName: name, status: .expired, version: 7, createdAt: date, expiresAt: date)
            try Self.roundTrips(invite)
            try Self.roundTrips(InvitePage(invites: [invite], nextCursor: "c"))
            try Self.same(
                InviteBatchResult(
                    invited: 1,
                    results: [
                        InviteOutcome(email: name, result: .invited, inviteID: "inv_1"),
                        InviteOutcome(email: name, result: .alreadyMember, inviteID: nil),
                    ]))
            let event = AuditEventView(
                id: 9, at: date, actor: name, action: "member.removed", target: name, summary: [name: name, "x": "1"])
            try Self.roundTrips(event)
            var namedEvent = event
            namedEvent.actorName = name
            namedEvent.targetName = "\(name) (app)"
            try Self.roundTrips(namedEvent)
            try Self.roundTrips(AuditPage(events: [event, namedEvent], nextCursor: nil))
            try Self.roundTrips([
                RoleView(
                    id: name, name: name, permissions: [.auditView, .membersEdit], builtIn: false, memberCount: 2),
                RoleView(id: "owner", name: "Owner", permissions: [], builtIn: true, memberCount: nil),
            ])
            try Self.roundTrips([AppView(id: "app_1", name: name, createdAt: date, memberCount: name.isEmpty ? nil : 4)]
            )
            try Self.roundTrips([
                APIKeyView(
                    id: "key_1", name: name, memberID: "acc_1", app: name.isEmpty ? nil : "app_1", createdAt: date,
                    revokedAt: name.isEmpty ? nil : date, revokedReason: name.isEmpty ? nil : "member_removed",
                    secret: name.isEmpty ? "ghk_x" : nil)
            ])
            try Self.roundTrips(
                MembershipSummary(
                    orgID: "org_eu_abcdefgh", orgName: name, region: .apac, status: .suspended, roles: [name],
                    ssoOnly: true, startingPage: .portal))
            var pending = PendingInviteSummary(
                inviteID: "inv_1", orgID: "org_eu_abcdefgh", orgName: name, roles: [], inviterName: name,
                expiresAt: date)
            try Self.same(pending)
            pending.token = name
            try Self.same(pending)
            try Self.roundTrips(
                AccountOverview(
                    memberships: [
                        MembershipSummary(
                            orgID: "org_eu_abcdefgh", orgName: name, region: .eu, status: .active, roles: ["owner"],
                            ssoOnly: false, startingPage: .studio)
                    ], pendingInvites: [pending]))
        }
    }
}

/// The region admin's hand on a new org's first-owner invitation: resend (a new link, the old one dies) and copy
/// the link, while the org has no owner; refused to anyone else and once the owner has joined.
@Suite("Owner invitation, for the region admin")
struct OwnerInviteTests {
    @Test func resendAndCopyUntilTheOwnerJoins() async throws {
        let f = try TenantFixture()
        let s = f.service(.eu)
        let ops = TenantFixture.caller("ops", admin: .eu)
        let p = try await s.provisionOrg(
            ops, region: "eu", request: ProvisionRequest(name: "Newco", ownerEmail: "founder@example.com"))
        let org = try #require(OrgID(p.org.id))
        let first = s.link(for: p.ownerInvite).token
        let base = "/api/v1/regions/eu/orgs/\(org)/owner-invite"
        // Nobody else: a member-less stranger, the region admin of another region, an unknown org.
        #expect(await f.call(TenantFixture.caller("eve"), "POST", base + "/resend").status == 403)
        #expect(await f.call(TenantFixture.caller("usops", admin: .us), "GET", base + "/link").status == 403)
        #expect(
            await f.call(ops, "GET", "/api/v1/regions/eu/orgs/org_eu_zzzzzzzzzzzzzzzz/owner-invite/link").status
                == 404)
        // Copy: the current link. Resend: a new version, the old link superseded, the mail queued.
        let copied = await f.call(ops, "GET", base + "/link")
        #expect(copied.status == 200 && (copied.json as? [String: Any])?["token"] as? String == first)
        f.clock.advance(by: 60)
        let resent = await f.call(ops, "POST", base + "/resend")
        let second = try #require((resent.json as? [String: Any])?["token"] as? String)
        #expect(resent.status == 200 && second != first)
        await #expect(throws: GatehouseError(.init("invite_superseded"), status: 410, "")) {
            _ = try await s.inviteForToken(first)
        }
        let mails = try await s.db.read { conn in
            try conn.first(
                "SELECT count(*) FROM outbox WHERE recipient = 'founder@example.com' AND kind = 'invite_resent'")?.int(
                    0)
        }
        #expect(mails == 1)
        // Expired: no link to copy (resend instead), and resend works.
        f.clock.advance(by: 8 * 86400)
        #expect(await f.call(ops, "GET", base + "/link").status == 410)
        let again = await f.call(ops, "POST", base + "/resend")
        let third = try #require((again.json as? [String: Any])?["token"] as? String)
        // The owner joins: from then on the invitations are the owner's.
        _ = try await s.acceptInvite(
            AcceptInviteRequest(token: third, accountID: "founder", email: "founder@example.com"))
        let after = await f.call(ops, "POST", base + "/resend")
        #expect(after.status == 409 && after.body.contains("org_has_owner"))
        #expect(await f.call(ops, "GET", base + "/link").status == 409)
    }
}
