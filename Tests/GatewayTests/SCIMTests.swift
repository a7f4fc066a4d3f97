import Foundation
import GatehouseTesting
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing

/// SCIM 2.0 through the gateway, in memory: org tokens (shown once, hashed, revocable, scoped to their org, an API
/// key is not one), the provisioning story an IdP runs (create → group → deactivate → reactivate → delete, each in
/// the audit log as `scim:<token name>`), the ceiling, filters, paging, projections, ETags.
@Suite("SCIM 2.0")
struct SCIMTests {
    struct World {
        let f: GatewayFixture
        let org: String
        let olga: Browser
        let okta: Browser
        let tokenID: String
    }

    static func world(ceiling: String = "manager") async throws -> World {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let made = await olga.call(
            "POST", "/api/v1/orgs/\(org)/scim-tokens", "{\"name\":\"Okta\",\"roleCeiling\":\"\(ceiling)\"}")
        #expect(made.status == 201, "\(made.body)")
        let secret = try #require(made.json["secret"] as? String)
        #expect(secret.hasPrefix("ghs_eu_"))
        let okta = f.browser("10.30.0.1")
        okta.bearer = secret
        return World(f: f, org: org, olga: olga, okta: okta, tokenID: try #require(made.json["id"] as? String))
    }

    static func user(_ email: String, first: String = "Sam", external: String = "ext-1") -> String {
        """
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\(email)","externalId":"\(external)",\
        "name":{"givenName":"\(first)","familyName":"Smith"},"emails":[{"value":"\(email)","type":"work",\
        "primary":true}],"active":true}
        """
    }

    static func patch(_ ops: String) -> String {
        #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":\#(ops)}"#
    }

    @Test func tokensAreShownOnceScopedAndRevocable() async throws {
        let w = try await Self.world()
        let base = "/scim/v2/orgs/\(w.org)"
        #expect(await w.okta.call("GET", "\(base)/Users").status == 200)
        // Listed without the secret; stored hashed.
        let listed = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/scim-tokens")
        #expect(listed.status == 200 && !listed.body.contains("ghs_") && listed.body.contains("Okta"))
        let stored = try await w.f.service(.eu).db.read { conn in
            try conn.first("SELECT secret_hash FROM scim_tokens WHERE id = ?", [w.tokenID])?.blob("secret_hash")
        }
        #expect(stored?.count == 32)
        // No token, an API key, a forged token, another org's path: 401 in SCIM's shape.
        let key = await w.olga.call("POST", "/api/v1/orgs/\(w.org)/apikeys", #"{"name":"k"}"#)
        let stranger = w.f.browser("10.30.0.9")
        for bearer in [nil, key.json["secret"] as? String, "ghs_eu_aaaaaaaaaaaaaaaaaaaa_forged", "ghs_us_x_y"] {
            stranger.bearer = bearer
            let r = await stranger.call("GET", "\(base)/Users")
            #expect(r.status == 401 && r.headers["Content-Type"] == "application/scim+json", "\(bearer ?? "none")")
            #expect((r.json["schemas"] as? [String])?.first == "urn:ietf:params:scim:api:messages:2.0:Error")
        }
        let other = await w.olga.call("GET", "/api/v1/orgs/\(w.org)")
        #expect(other.status == 200)
        let ops = try await w.f.euRegionAdmin()
        let globex = try await w.f.service(.eu).provisionOrg(
            ops, region: "eu",
            request: try JSONDecoder().decode(
                ProvisionRequest.self, from: Data(#"{"name":"Globex","ownerEmail":"gus@globex.test"}"#.utf8)))
        let org2 = globex.org.id
        #expect(await w.okta.call("GET", "/scim/v2/orgs/\(org2)/Users").status == 401, "a token is its org's only")
        // A member without sso.manage cannot make tokens; nobody makes one above their own rank.
        let mia = try await Self.member(w, "mia@acme.test")
        #expect(await mia.call("POST", "/api/v1/orgs/\(w.org)/scim-tokens", #"{"name":"x"}"#).status == 403)
        // Revoked: refused at once.
        #expect(await w.olga.call("DELETE", "/api/v1/orgs/\(w.org)/scim-tokens/\(w.tokenID)").status == 204)
        #expect(await w.okta.call("GET", "\(base)/Users").status == 401)
        let audit = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/audit")
        #expect(audit.body.contains("scim_token.created") && audit.body.contains("scim_token.revoked"))
    }

    /// Signs Mia (a manager) in: her browser.
    static func member(_ w: World, _ email: String) async throws -> Browser {
        let eu = try w.f.service(.eu)
        let invite = try #require(try await eu.pendingInvites(email: email).first?.invite)
        let b = w.f.browser("10.30.0.5")
        let r = await b.call(
            "POST", "/api/v1/invites/\(eu.mailedToken(for: invite))/accept", #"{"password":"mia-password-long"}"#)
        #expect(r.status == 200, "\(r.body)")
        return b
    }

    /// The console: the endpoint to give the IdP, a token made with a ceiling (its secret shown once, then never),
    /// the list, revocation after a confirmation.
    @Test func theConsoleMakesListsAndRevokesTokens() async throws {
        let w = try await Self.world()
        let olga = FormBrowser(w.f.client)
        olga.cookies[Sessions.cookieName] = w.olga.cookie
        let sso = await olga.go("GET", "/console/\(w.org)/sso")
        #expect(sso.body.contains("/console/\(w.org)/sso/scim\""))
        let page = await olga.go("GET", "/console/\(w.org)/sso/scim")
        #expect(
            page.status == 200 && page.body.contains("/scim/v2/orgs/\(w.org)</code></div>")
                && page.body.contains("Okta"))
        let made = await olga.go(
            "POST", "/console/\(w.org)/sso/scim", form: [("csrf", olga.csrf), ("name", "Entra"), ("ceiling", "viewer")])
        let secret = try #require(
            made.body.range(of: "value=\"ghs_eu_").map {
                String(made.body[$0.lowerBound...].dropFirst(7).prefix { $0 != "\"" })
            })
        #expect(made.status == 200 && made.body.contains("shown only once"))
        let again = await olga.go("GET", "/console/\(w.org)/sso/scim")
        #expect(!again.body.contains(secret) && again.body.contains("<td>Entra</td><td>Viewer</td>"))
        let entra = w.f.browser("10.30.0.3")
        entra.bearer = secret
        #expect(await entra.call("GET", "/scim/v2/orgs/\(w.org)/Users").status == 200)
        let tokens = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/scim-tokens")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(tokens.body.utf8)) as? [[String: Any]])
        let id = try #require(list.first { $0["name"] as? String == "Entra" }?["id"] as? String)
        let ask = await olga.go("POST", "/console/\(w.org)/sso/scim/\(id)/revoke", form: [("csrf", olga.csrf)])
        #expect(ask.status == 200 && ask.body.contains("Revoke the SCIM token"))
        #expect(await entra.call("GET", "/scim/v2/orgs/\(w.org)/Users").status == 200, "not before confirming")
        let done = await olga.go(
            "POST", "/console/\(w.org)/sso/scim/\(id)/revoke", form: [("csrf", olga.csrf), ("confirm", "yes")])
        #expect(done.status == 303)
        #expect(await entra.call("GET", "/scim/v2/orgs/\(w.org)/Users").status == 401)
    }

    @Test func theProvisioningStoryAnIdPRuns() async throws {
        let w = try await Self.world(ceiling: "admin")
        let base = "/scim/v2/orgs/\(w.org)"
        // Create: a new person gets an account without a password and a membership (member).
        let created = await w.okta.call("POST", "\(base)/Users", Self.user("sam@acme.test"))
        #expect(created.status == 201, "\(created.body)")
        let id = try #require(created.json["id"] as? String)
        #expect(
            created.headers["Location"] == "http://127.0.0.1:8080/scim/v2/orgs/\(w.org)/Users/\(id)"
                || created.headers["Location"]?.hasSuffix("/Users/\(id)") == true)
        #expect(created.json["active"] as? Bool == true && created.json["externalId"] as? String == "ext-1")
        let account = try #require(try await w.f.app.gateway.accounts.find(email: "sam@acme.test"))
        #expect(account.id == id)
        #expect(await w.okta.call("POST", "\(base)/Users", Self.user("sam@acme.test")).status == 409)
        // Found by the filters IdPs use.
        for filter in [
            #"userName eq "SAM@acme.test""#, #"externalId eq "ext-1""#,
            #"emails[type eq "work"].value eq "sam@acme.test""#,
            #"active eq true and name.familyName sw "Smi""#,
        ] {
            let r = await w.okta.call("GET", "\(base)/Users?filter=\(FormDecoding.percentEncode(filter))")
            let found = (r.json["Resources"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(r.status == 200 && found == [id], "\(filter): \(r.body)")
        }
        let none = await w.okta.call(
            "GET", "\(base)/Users?filter=\(FormDecoding.percentEncode(#"userName eq "nobody@acme.test""#))")
        #expect(none.json["totalResults"] as? Int == 0)
        #expect(await w.okta.call("GET", "\(base)/Users?filter=userName%20zz%20x").status == 400)
        // Add to a group (a role): she is an admin now.
        let patched = await w.okta.call(
            "PATCH", "\(base)/Groups/admin",
            Self.patch(#"[{"op":"add","path":"members","value":[{"value":"\#(id)"}]}]"#))
        #expect(patched.status == 200, "\(patched.body)")
        let member = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)")
        #expect((member.json["roles"] as? [String])?.contains("admin") == true, "\(member.body)")
        // She makes an API key; deactivation ends it at once and she reaches the org no more, but stays listed.
        try await w.f.app.gateway.accounts.setPassword(accountID: id, password: "sam-password-long")
        let sam = w.f.browser("10.30.0.7")
        #expect(
            await sam.call("POST", "/api/v1/auth/login", #"{"email":"sam@acme.test","password":"sam-password-long"}"#)
                .status
                == 200)
        let key = try #require(
            await sam.call("POST", "/api/v1/orgs/\(w.org)/apikeys", #"{"name":"s"}"#).json["secret"] as? String)
        let keyUser = w.f.browser("10.30.0.8")
        keyUser.bearer = key
        #expect(await keyUser.call("GET", "/api/v1/orgs/\(w.org)").status == 200)
        let off = await w.okta.call(
            "PATCH", "\(base)/Users/\(id)", Self.patch(#"[{"op":"replace","value":{"active":false}}]"#))
        #expect(off.status == 200 && off.json["active"] as? Bool == false, "\(off.body)")
        #expect(await keyUser.call("GET", "/api/v1/orgs/\(w.org)").status == 401)
        #expect(await sam.call("GET", "/api/v1/orgs/\(w.org)").status == 404)
        #expect(await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)").status == 200)
        // Reactivated (Entra ID sends strings): in again.
        let on = await w.okta.call(
            "PATCH", "\(base)/Users/\(id)", Self.patch(#"[{"op":"Replace","path":"active","value":"True"}]"#))
        #expect(on.json["active"] as? Bool == true)
        #expect(await sam.call("GET", "/api/v1/orgs/\(w.org)").status == 200)
        // Delete: removed.
        #expect(await w.okta.call("DELETE", "\(base)/Users/\(id)").status == 204)
        #expect(await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)").status == 404)
        #expect(await w.okta.call("GET", "\(base)/Users/\(id)").status == 404)
        // Every step in the audit log, as the token.
        let audit = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/audit?limit=100")
        for action in [
            "member.provisioned", "member.roles_changed", "member.deactivated", "member.reactivated", "member.removed",
        ] {
            #expect(audit.body.contains(action), "\(action)")
        }
        #expect(audit.body.contains("scim:Okta"))
    }

    @Test func theCeilingHoldsAndTheLastOwnerStays() async throws {
        let w = try await Self.world(ceiling: "member")
        let base = "/scim/v2/orgs/\(w.org)"
        let id = try #require(
            await w.okta.call("POST", "\(base)/Users", Self.user("lee@acme.test")).json["id"] as? String)
        let add = { (group: String, who: String) in
            Self.patch(#"[{"op":"add","path":"members","value":[{"value":"\#(who)"}]}]"#)
        }
        #expect(await w.okta.call("PATCH", "\(base)/Groups/admin", add("admin", id)).status == 403)
        #expect(await w.okta.call("PATCH", "\(base)/Groups/owner", add("owner", id)).status == 403)
        #expect(await w.okta.call("PATCH", "\(base)/Groups/viewer", add("viewer", id)).status == 200)
        // The owner is above a member-ceiling token: untouchable.
        let olgaID = try #require(try await w.f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        #expect(await w.okta.call("DELETE", "\(base)/Users/\(olgaID)").status == 403)
        #expect(
            await w.okta.call(
                "PATCH", "\(base)/Users/\(olgaID)", Self.patch(#"[{"op":"replace","path":"active","value":false}]"#)
            ).status
                == 403)
        // Nobody makes a token above their own rank: a manager-level owner token needs an owner.
        #expect(
            await w.olga.call("POST", "/api/v1/orgs/\(w.org)/scim-tokens", #"{"name":"o","roleCeiling":"owner"}"#)
                .status
                == 201)
        #expect(
            await w.olga.call("POST", "/api/v1/orgs/\(w.org)/scim-tokens", #"{"name":"o","roleCeiling":"wizard"}"#)
                .status
                == 422)
    }

    @Test func pagingProjectionsETagsAndDiscovery() async throws {
        let w = try await Self.world()
        let base = "/scim/v2/orgs/\(w.org)"
        for i in 0..<5 {
            #expect(
                await w.okta.call("POST", "\(base)/Users", Self.user("p\(i)@acme.test", external: "e\(i)")).status
                    == 201)
        }
        let page = await w.okta.call("GET", "\(base)/Users?startIndex=3&count=2")
        // Olga (the owner) and the five (Mia's invite is still pending).
        #expect(page.json["totalResults"] as? Int == 6 && page.json["itemsPerPage"] as? Int == 2)
        #expect(page.json["startIndex"] as? Int == 3)
        let slim = await w.okta.call("GET", "\(base)/Users?attributes=userName&count=1")
        let first = try #require((slim.json["Resources"] as? [[String: Any]])?.first)
        #expect(Set(first.keys) == ["id", "schemas", "userName"], "\(first.keys)")
        let noName = await w.okta.call("GET", "\(base)/Users?excludedAttributes=name,emails&count=1")
        let r0 = try #require((noName.json["Resources"] as? [[String: Any]])?.first)
        #expect(r0["name"] == nil && r0["emails"] == nil && r0["userName"] != nil)
        // ETags: a stale If-Match is refused (412), the current one accepted; If-None-Match gives 304.
        let p0 = await w.okta.call(
            "GET", "\(base)/Users?filter=\(FormDecoding.percentEncode(#"userName eq "p0@acme.test""#))")
        let id = try #require((p0.json["Resources"] as? [[String: Any]])?.first?["id"] as? String)
        let got = await w.okta.call("GET", "\(base)/Users/\(id)")
        let etag = try #require(got.headers["ETag"])
        #expect(etag.hasPrefix("W/\""))
        let renamed = await w.okta.call(
            "PATCH", "\(base)/Users/\(id)", Self.patch(#"[{"op":"replace","path":"name.givenName","value":"Pat"}]"#))
        #expect(renamed.status == 200 && (renamed.json["name"] as? [String: Any])?["givenName"] as? String == "Pat")
        let stale = try await Self.withHeader(
            w, "PUT", "\(base)/Users/\(id)", Self.user("p0@acme.test"), ("If-Match", etag))
        #expect(stale.status == 412, "\(stale.bodyText)")
        let current = try #require(renamed.headers["ETag"])
        let same = try await Self.withHeader(w, "GET", "\(base)/Users/\(id)", nil, ("If-None-Match", current))
        #expect(same.status == 304)
        // Discovery.
        let spc = await w.okta.call("GET", "\(base)/ServiceProviderConfig")
        #expect((spc.json["patch"] as? [String: Any])?["supported"] as? Bool == true)
        #expect((await w.okta.call("GET", "\(base)/ResourceTypes").json["totalResults"] as? Int) == 2)
        #expect((await w.okta.call("GET", "\(base)/Schemas").json["totalResults"] as? Int) == 4)
        // Groups are roles; their members are listed unless excluded.
        let groups = await w.okta.call(
            "GET", "\(base)/Groups?filter=\(FormDecoding.percentEncode(#"displayName eq "Owner""#))")
        let owner = try #require((groups.json["Resources"] as? [[String: Any]])?.first)
        #expect(owner["id"] as? String == "owner" && (owner["members"] as? [Any])?.count == 1)
        // A pushed group becomes a custom role that lets its holders see the org; deleting it takes it away.
        let pushed = await w.okta.call(
            "POST", "\(base)/Groups",
            #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Support","#
                + #""members":[{"value":"\#(id)"}]}"#
        )
        #expect(pushed.status == 201, "\(pushed.body)")
        let gid = try #require(pushed.json["id"] as? String)
        let roles = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)")
        #expect((roles.json["roles"] as? [String])?.contains(gid) == true)
        #expect(await w.okta.call("DELETE", "\(base)/Groups/\(gid)").status == 204)
        #expect(await w.okta.call("DELETE", "\(base)/Groups/owner").status == 400)
        let after = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)")
        #expect((after.json["roles"] as? [String]) == ["member"], "\(after.body)")
        // Unknown SCIM paths answer SCIM's 404.
        let unknown = await w.okta.call("GET", "\(base)/Nope")
        #expect(unknown.status == 404 && unknown.headers["Content-Type"] == "application/scim+json")
    }

    @Test func anExistingAccountIsLinkedOnlyForAProvedDomain() async throws {
        let w = try await Self.world()
        let base = "/scim/v2/orgs/\(w.org)"
        // Olga's account exists (she is an owner of another org in this test's world? no: of this one). A fresh one:
        _ = try await w.f.app.gateway.accounts.create(
            email: "kim@acme.test", firstName: "Kim", lastName: "K", password: nil)
        let refused = await w.okta.call("POST", "\(base)/Users", Self.user("kim@acme.test"))
        #expect(refused.status == 409 && refused.body.contains("Prove the domain"), "\(refused.body)")
        try await w.f.verifyDomain("acme.test", org: w.org, admin: w.olga)
        let linked = await w.okta.call("POST", "\(base)/Users", Self.user("kim@acme.test"))
        #expect(linked.status == 201, "\(linked.body)")
        #expect(linked.json["id"] as? String == (try await w.f.app.gateway.accounts.find(email: "kim@acme.test"))?.id)
    }

    /// Apps are groups too: joining one gives the app (viewer), leaving takes it (and keys scoped to it), with a
    /// ceiling that may grant apps; the enterprise extension is kept and returned.
    @Test func appsAreGroupsAndTheEnterpriseExtensionIsKept() async throws {
        let w = try await Self.world(ceiling: "manager")
        let base = "/scim/v2/orgs/\(w.org)"
        let body = """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",\
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"ivy@acme.test",\
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales",\
            "employeeNumber":"701","manager":{"value":"acc_boss"}}}
            """
        let created = await w.okta.call("POST", "\(base)/Users", body)
        #expect(created.status == 201, "\(created.body)")
        let id = try #require(created.json["id"] as? String)
        let ent = created.json["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] as? [String: Any]
        #expect(
            ent?["department"] as? String == "Sales"
                && (ent?["manager"] as? [String: Any])?["value"] as? String == "acc_boss")
        let bad = await w.okta.call(
            "PATCH", "\(base)/Users/\(id)",
            Self.patch(
                #"[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","#
                    + #""value":"a\u0007b"}]"#
            ))
        #expect(bad.status == 400)
        // The Portal app as a group.
        let groups = await w.okta.call(
            "GET", "\(base)/Groups?filter=\(FormDecoding.percentEncode(#"displayName eq "App: Portal""#))")
        let portal = try #require((groups.json["Resources"] as? [[String: Any]])?.first?["id"] as? String)
        let joined = await w.okta.call(
            "PATCH", "\(base)/Groups/\(portal)",
            Self.patch(#"[{"op":"add","path":"members","value":[{"value":"\#(id)"}]}]"#))
        #expect(joined.status == 200, "\(joined.body)")
        let member = await w.olga.call("GET", "/api/v1/orgs/\(w.org)/members/\(id)")
        #expect((member.json["apps"] as? [[String: Any]])?.first?["app"] as? String == portal, "\(member.body)")
        let left = await w.okta.call(
            "PATCH", "\(base)/Groups/\(portal)", Self.patch(#"[{"op":"remove","path":"members[value eq \"\#(id)\"]"}]"#)
        )
        #expect(left.status == 200 && (left.json["members"] as? [Any])?.isEmpty == true, "\(left.body)")
        #expect(await w.okta.call("DELETE", "\(base)/Groups/\(portal)").status == 400)
        // A token whose ceiling cannot give apps: refused.
        let low = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/scim-tokens", #"{"name":"low","roleCeiling":"member"}"#)
        let lowToken = w.f.browser("10.30.0.4")
        lowToken.bearer = low.json["secret"] as? String
        #expect(
            await lowToken.call(
                "PATCH", "\(base)/Groups/\(portal)",
                Self.patch(#"[{"op":"add","path":"members","value":[{"value":"\#(id)"}]}]"#)
            ).status == 403)
    }

    static func withHeader(
        _ w: World, _ method: String, _ path: String, _ body: String?, _ header: (String, String)
    ) async throws -> Response {
        var req = Request(
            method: method, target: path, headers: ["Host": "test", "Authorization": "Bearer \(w.okta.bearer ?? "")"],
            body: Array((body ?? "").utf8), id: "t", remoteAddress: "10.30.0.1")
        req.headers.set(header.0, header.1)
        return await w.f.client.responder.respond(to: req)
    }
}
