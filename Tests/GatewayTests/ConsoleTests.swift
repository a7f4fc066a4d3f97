import Foundation
import GatehouseCore
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing

@testable import Console

@Suite("Console pages: visible parts follow permissions, CSRF, confirmation, view as, region console, account")
struct ConsoleTests {
    /// An org (owner olga) plus one member per built-in role; returns org, a signed-in form browser per role, and member ids.
    static func orgWithEveryRole() async throws -> (GatewayFixture, String, [String: FormBrowser], [String: String]) {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "placeholder@acme.test")
        let eu = try f.service(.eu)
        var browsers: [String: FormBrowser] = [:]
        var ids: [String: String] = [:]
        let ob = FormBrowser(f.client)
        ob.cookies[Sessions.cookieName] = olga.cookie
        browsers["owner"] = ob
        for role in ["admin", "manager", "member", "viewer"] {
            let email = "\(role)@acme.test"
            #expect(
                await olga.call(
                    "POST", "/api/v1/orgs/\(org)/invites", "{\"emails\":[\"\(email)\"],\"roles\":[\"\(role)\"]}"
                ).status == 201)
            let token = eu.mailedToken(for: try #require(try await eu.pendingInvites(email: email).first?.invite))
            let person = f.browser("10.6.0.\(ids.count + 1)")
            let joined = await person.call(
                "POST", "/api/v1/invites/\(token)/accept", "{\"password\":\"\(role)-password-long\"}")
            #expect(joined.status == 200, "\(joined.body)")
            let b = FormBrowser(f.client)
            b.cookies[Sessions.cookieName] = person.cookie
            browsers[role] = b
            ids[role] = try await #require(try f.app.gateway.accounts.find(email: email)?.id)
        }
        return (f, org, browsers, ids)
    }

    @Test func visiblePartsFollowEachRolesPermissions() async throws {
        let (_, org, browsers, _) = try await Self.orgWithEveryRole()
        for (role, b) in browsers.sorted(by: { $0.key < $1.key }) {
            let perms = try #require(Role.builtIn(role)).permissions
            let page = await b.go("GET", "/console/\(org)/members")
            if !perms.contains(.membersView) {
                #expect(page.status == 403, "\(role)")
                continue
            }
            #expect(page.status == 200, "\(role): \(page.body.prefix(300))")
            #expect(
                page.body.contains("<option value=\"change_roles\">") == perms.contains(.membersEdit),
                "\(role): change role")
            #expect(
                page.body.contains("<option value=\"remove\">") == perms.contains(.membersRemove), "\(role): remove")
            #expect(
                page.body.contains("/apikeys\">API keys</a>") == perms.contains(.apikeysCreate), "\(role): API keys tab"
            )
            #expect(page.body.contains("/sso\">SSO</a>") == perms.contains(.ssoManage), "\(role): SSO tab")
            #expect(page.body.contains("/audit\">Audit log</a>") == perms.contains(.auditView), "\(role): audit tab")
            let invites = await b.go("GET", "/console/\(org)/invites")
            #expect(
                invites.body.contains("id=\"invite-form\"") == perms.contains(.membersInvite), "\(role): invite form")
            let settings = await b.go("GET", "/console/\(org)/settings")
            #expect(settings.body.contains("Save name") == perms.contains(.orgRename), "\(role): rename")
            let sso = await b.go("GET", "/console/\(org)/sso")
            #expect((sso.status == 200) == perms.contains(.ssoManage), "\(role): SSO page \(sso.status)")
        }
    }

    @Test func bulkActionsNeedTheFormTokenAndAConfirmation() async throws {
        let (f, org, browsers, ids) = try await Self.orgWithEveryRole()
        let owner = try #require(browsers["owner"])
        let viewer = try #require(ids["viewer"])
        let member = try #require(ids["member"])
        // No CSRF token: refused, nothing changes.
        let forged = await owner.go(
            "POST", "/console/\(org)/members/bulk",
            form: [("action", "remove"), ("member", viewer), ("confirm", "yes")])
        #expect(forged.status == 403)
        #expect(try await f.service(.eu).memberships(accountID: viewer).count == 1)
        // With the token: first a page naming who and what, and still nothing changed.
        _ = await owner.go("GET", "/console/\(org)/members")
        let confirm = await owner.go(
            "POST", "/console/\(org)/members/bulk",
            form: [
                ("csrf", owner.csrf), ("action", "change_roles"), ("role", "viewer"),
                ("member", viewer), ("member", member),
            ])
        #expect(confirm.status == 200 && confirm.body.contains("Change the role of 2 members to Viewer?"))
        #expect(confirm.body.contains("member@acme.test") && confirm.body.contains("viewer@acme.test"))
        #expect(try await f.service(.eu).memberships(accountID: member).first?.roles == ["member"])
        let done = await owner.go(
            "POST", "/console/\(org)/members/bulk",
            form: [
                ("csrf", owner.csrf), ("action", "change_roles"), ("role", "viewer"),
                ("member", viewer), ("member", member), ("confirm", "yes"),
            ])
        #expect(done.status == 303)
        #expect(try await f.service(.eu).memberships(accountID: member).first?.roles == ["viewer"])
        // A manager removing the owner: nothing changes and the page says why, by name.
        let manager = try #require(browsers["manager"])
        _ = await manager.go("GET", "/console/\(org)/members")
        let olgaID = try await #require(try f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        let refused = await manager.go(
            "POST", "/console/\(org)/members/bulk",
            form: [("csrf", manager.csrf), ("action", "remove"), ("member", olgaID), ("confirm", "yes")])
        #expect(refused.status == 409 && refused.body.contains("Nothing was changed") && refused.body.contains("Olga"))
        #expect(try await f.service(.eu).memberships(accountID: olgaID).count == 1)
    }

    /// "View as" lasts across every tab: each page is bannered with who and what they may do, shows that member's
    /// tabs, is read-only (controls disabled, and the server refuses every change), until stopped. Only members the
    /// viewer outranks or equals can be viewed as.
    @Test func viewAsIsReadOnlyAndBanneredOnEveryTab() async throws {
        let (f, org, browsers, ids) = try await Self.orgWithEveryRole()
        let owner = try #require(browsers["owner"])
        let manager = try #require(browsers["manager"])
        let start = await owner.go("GET", "/console/\(org)/view-as/\(try #require(ids["manager"]))")
        #expect(start.status == 303 && start.location == "/console/\(org)/members")
        let manages = try #require(Role.builtIn("manager")).permissions
        for tab in ["members", "invites", "apps", "roles", "settings"] {
            let page = await owner.go("GET", "/console/\(org)/\(tab)")
            #expect(page.status == 200, "\(tab): \(page.status)")
            #expect(
                page.body.contains("Viewing as manager@acme.test (Manager)") && page.body.contains("read-only"),
                "\(tab)")
            #expect(page.body.contains("<fieldset class=\"plain\" disabled>"), "\(tab): controls disabled")
            #expect(page.body.contains("href=\"/console/\(org)/stop-view-as\""), "\(tab)")
            // What the manager may and may not do, in words.
            for p in Permission.allCases {
                let listed = page.body.contains("<li>\(HTML.escape(p.summary))</li>")
                #expect(listed, "\(tab): \(p.rawValue)")
            }
            #expect(page.body.contains("What manager@acme.test may do"))
            #expect(!page.body.contains("/apikeys\">API keys</a>") && !page.body.contains("/audit\">Audit log</a>"))
            #expect(page.body.contains("href=\"/console/\(org)/invites\"") == manages.contains(.membersView))
        }
        let invites = await owner.go("GET", "/console/\(org)/invites")
        #expect(invites.body.contains("id=\"invite-form\""), "the manager's form, shown disabled")
        #expect(!(await owner.go("GET", "/console/\(org)/members")).body.contains("name=\"member\""))
        // The server refuses every change while viewing as, whatever the form says.
        _ = await owner.go("GET", "/console/\(org)/settings")
        let rename = await owner.go(
            "POST", "/console/\(org)/settings", form: [("csrf", owner.csrf), ("name", "Renamed")])
        #expect(rename.status == 403 && rename.body.contains("viewing the organization as"))
        // Stopped: the owner's own tabs and controls again.
        let stop = await owner.go("GET", "/console/\(org)/stop-view-as")
        #expect(stop.status == 303)
        let back = await owner.go("GET", "/console/\(org)/members")
        #expect(back.body.contains("/apikeys\">API keys</a>") && !back.body.contains("Viewing as"))
        #expect(!back.body.contains("<fieldset class=\"plain\" disabled>"))
        // A manager may not view as the owner (rank protection): refused with the reason, no cookie set.
        let olgaID = try await #require(try f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        let refused = await manager.go("GET", "/console/\(org)/view-as/\(olgaID)")
        #expect(refused.status == 403 && refused.body.contains("holds permissions your roles do not"))
        #expect(manager.cookies[Console.viewAsCookie] == nil)
        // A view-as cookie naming someone the viewer outranks no longer (or never did) is ignored, not trusted.
        manager.cookies[Console.viewAsCookie] = Base64URL.encode(Array("\(org)\n\(olgaID)".utf8))
        let forgedView = await manager.go("GET", "/console/\(org)/members")
        #expect(forgedView.status == 200 && !forgedView.body.contains("Viewing as"))
    }

    @Test func strangersAndSignedOutPeople() async throws {
        let (f, org, _, _) = try await Self.orgWithEveryRole()
        let anonymous = FormBrowser(f.client)
        let r = await anonymous.go("GET", "/console/\(org)/members")
        #expect(r.status == 303 && r.location?.hasPrefix("/login?next=") == true)
        _ = try await f.app.gateway.accounts.create(
            email: "eve@evil.test", firstName: "Eve", lastName: "", password: "eve-password-long")
        let (token, _) = try await f.app.gateway.sessions.create(
            accountID: try #require(try f.app.gateway.accounts.find(email: "eve@evil.test")?.id), method: .password)
        let eve = FormBrowser(f.client)
        eve.cookies[Sessions.cookieName] = token
        #expect(await eve.go("GET", "/console/\(org)/members").status == 404)
        #expect(await eve.go("GET", "/console/org_eu_doesnotexist00/members").status == 404)
        #expect(await eve.go("GET", "/region/eu").status == 403)
    }

    @Test func regionConsoleProvisionsAndDeletesWithTypedConfirmation() async throws {
        let f = try GatewayFixture()
        let link = try await f.app.gateway.bootstrapRegionAdmin(email: "ops@x.test", region: .eu)
        let ops = f.browser()
        #expect(
            await ops.call("POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(link)\",\"password\":\"operator-pass-1\"}")
                .status == 200)
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = ops.cookie
        _ = await b.go("GET", "/region/eu")
        #expect(
            await b.go(
                "POST", "/region/eu/provision",
                form: [("csrf", b.csrf), ("name", "Zeta"), ("ownerEmail", "z@zeta.test")]
            ).status == 303)
        let page = await b.go("GET", "/region/eu")
        #expect(page.body.contains("Organization created") && page.body.contains("Zeta"))
        let org = try #require(
            page.body.components(separatedBy: "<code>").dropFirst().first?.components(separatedBy: "</code>").first)
        // Suspending asks first, naming the org; asking changes nothing.
        let suspend = await b.go("POST", "/region/eu/suspend", form: [("csrf", b.csrf), ("org", org)])
        #expect(suspend.status == 200 && suspend.body.contains("Suspend <strong>Zeta</strong>?"))
        #expect((await b.go("GET", "/region/eu")).body.contains(">Active</span>"))
        #expect(
            await b.go("POST", "/region/eu/suspend", form: [("csrf", b.csrf), ("org", org), ("confirm", "yes")])
                .status == 303)
        #expect((await b.go("GET", "/region/eu")).body.contains(">Suspended</span>"))
        let ask = await b.go("POST", "/region/eu/delete", form: [("csrf", b.csrf), ("org", org)])
        // The confirmation shows the name to type (it asked for a name it did not show).
        #expect(ask.body.contains("Type <strong>Zeta</strong> to confirm") && ask.body.contains("0 members"))
        let wrong = await b.go(
            "POST", "/region/eu/delete", form: [("csrf", b.csrf), ("org", org), ("confirmName", "zeta")])
        // A wrong name keeps the form, with the reason and what was typed (it dropped back to the list).
        #expect(wrong.status == 422)
        #expect(wrong.body.contains("That is not the organization") && wrong.body.contains("name=\"confirmName\""))
        #expect(wrong.body.contains("value=\"zeta\""))
        #expect(
            await b.go("POST", "/region/eu/delete", form: [("csrf", b.csrf), ("org", org), ("confirmName", "Zeta")])
                .status == 303)
        #expect(!(await b.go("GET", "/region/eu")).body.contains("<code>\(org)</code>"))
    }

    @Test func accountPageChangesPasswordAndSignsOutEverywhere() async throws {
        let (f, _, browsers, _) = try await Self.orgWithEveryRole()
        let b = try #require(browsers["member"])
        let page = await b.go("GET", "/account")
        #expect(page.status == 200 && page.body.contains("This browser"))
        let bad = await b.go(
            "POST", "/account/password",
            form: [("csrf", b.csrf), ("currentPassword", "wrong-password-1"), ("newPassword", "member-new-password")])
        #expect(bad.status == 401 && bad.body.contains("current password is not right"))
        let old = try #require(b.cookies[Sessions.cookieName])
        #expect(
            await b.go(
                "POST", "/account/password",
                form: [
                    ("csrf", b.csrf), ("currentPassword", "member-password-long"),
                    ("newPassword", "member-new-password"),
                ]
            ).status == 303)
        await #expect(try f.app.gateway.sessions.validateWithAccount(old) == nil, "the old session ended")
        #expect(b.cookies[Sessions.cookieName] != old)
        _ = await b.go("GET", "/account")
        #expect(await b.go("POST", "/account/sign-out-everywhere", form: [("csrf", b.csrf)]).status == 303)
        #expect(b.cookies[Sessions.cookieName] == nil)
    }

    @Test func panelGrantsAppsRolesCanBeDeletedAndInvitedPeopleAreFilterable() async throws {
        let (f, org, browsers, ids) = try await Self.orgWithEveryRole()
        let owner = try #require(browsers["owner"])
        let member = try #require(ids["member"])
        _ = await owner.go("GET", "/console/\(org)/apps")
        #expect(
            await owner.go("POST", "/console/\(org)/apps", form: [("csrf", owner.csrf), ("name", "Studio One")]).status
                == 303)
        // Grant from the member's panel, then revoke.
        let panel = await owner.go("GET", "/console/\(org)/members/\(member)")
        let app = try #require(
            panel.body.components(separatedBy: "\">Studio One</option>").first?.components(separatedBy: "value=\"").last
        )
        #expect(
            await owner.go(
                "POST", "/console/\(org)/members/\(member)/apps",
                form: [("csrf", owner.csrf), ("app", app), ("appRole", "editor")]
            ).status == 303)
        #expect(
            try await f.service(.eu).member(
                Caller(
                    accountID: try #require(try f.app.gateway.accounts.find(email: "olga@acme.test")?.id),
                    email: "olga@acme.test"),
                org: try #require(OrgID(org)), member: member
            ).apps == [AppGrant(app: app, role: .editor)])
        #expect((await owner.go("GET", "/console/\(org)/members/\(member)")).body.contains("Studio One — Editor"))
        #expect(
            await owner.go(
                "POST", "/console/\(org)/members/\(member)/apps",
                form: [("csrf", owner.csrf), ("app", app), ("appRole", "none")]
            ).status == 303)
        #expect((await owner.go("GET", "/console/\(org)/members/\(member)")).body.contains("No app access."))
        // A custom role: created, refused deletion while in use is reported, deleted when unused.
        _ = await owner.go("GET", "/console/\(org)/roles")
        #expect(
            await owner.go(
                "POST", "/console/\(org)/roles",
                form: [
                    ("csrf", owner.csrf), ("name", "Auditor"), ("permissions", "audit.view"),
                    ("permissions", "org.view"),
                ]
            ).status == 303)
        let roles = await owner.go("GET", "/console/\(org)/roles")
        #expect(roles.body.contains("Auditor") && roles.body.contains("Read the audit log"))
        // The id from the role's delete form (`…/roles/<id>/delete"`). Deleting asks first, naming the role.
        let roleID = try #require(
            roles.body.components(separatedBy: "/delete\"").first?.components(separatedBy: "/roles/").last)
        let ask = await owner.go("POST", "/console/\(org)/roles/\(roleID)/delete", form: [("csrf", owner.csrf)])
        #expect(ask.status == 200 && ask.body.contains("Delete the role <strong>Auditor</strong>?"))
        #expect((await owner.go("GET", "/console/\(org)/roles")).body.contains("Auditor"), "asking changed nothing")
        #expect(
            await owner.go(
                "POST", "/console/\(org)/roles/\(roleID)/delete", form: [("csrf", owner.csrf), ("confirm", "yes")]
            ).status == 303)
        #expect(!(await owner.go("GET", "/console/\(org)/roles")).body.contains("Auditor"))
        // Revoking an invitation or an API key asks first, naming it; asking changes nothing.
        let invites = await owner.go("GET", "/console/\(org)/invites")
        let inviteID = try #require(
            invites.body.components(separatedBy: "/revoke\"").first?.components(separatedBy: "/invites/").last)
        let askRevoke = await owner.go(
            "POST", "/console/\(org)/invites/\(inviteID)/revoke", form: [("csrf", owner.csrf)])
        #expect(askRevoke.body.contains("Revoke the invitation for <strong>placeholder@acme.test</strong>?"))
        #expect(
            (await owner.go("GET", "/console/\(org)/members?invitation=pending")).body.contains("placeholder@acme.test")
        )
        _ = await owner.go("GET", "/console/\(org)/apikeys")
        #expect(
            await owner.go("POST", "/console/\(org)/apikeys", form: [("csrf", owner.csrf), ("name", "CI deploy")])
                .status == 200)
        let keys = await owner.go("GET", "/console/\(org)/apikeys")
        let keyID = try #require(
            keys.body.components(separatedBy: "/revoke\"").first?.components(separatedBy: "/apikeys/").last)
        let askKey = await owner.go("POST", "/console/\(org)/apikeys/\(keyID)/revoke", form: [("csrf", owner.csrf)])
        #expect(askKey.status == 200 && askKey.body.contains("Revoke the API key <strong>CI deploy</strong>?"))
        #expect(!(await owner.go("GET", "/console/\(org)/apikeys")).body.contains("badge revoked"))
        #expect(
            await owner.go(
                "POST", "/console/\(org)/apikeys/\(keyID)/revoke", form: [("csrf", owner.csrf), ("confirm", "yes")]
            ).status == 303)
        #expect((await owner.go("GET", "/console/\(org)/apikeys")).body.contains("badge revoked"))
        // People invited but not joined: the invitation filter lists them.
        let pending = await owner.go("GET", "/console/\(org)/members?invitation=pending")
        #expect(pending.body.contains("placeholder@acme.test") && pending.body.contains("badge pending"))
        #expect(!(await owner.go("GET", "/console/\(org)/members")).body.contains("placeholder@acme.test"))
    }
}

@Suite("Console header: waiting invitations")
struct HeaderBadgeTests {
    /// Every console page says, in the header, how many invitations wait for the viewer (it was on home only).
    @Test func consolePagesShowWaitingInvitations() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let before = await olga.call("GET", "/console/\(org)/members")
        #expect(before.status == 200 && !before.body.contains("invites-badge"))
        let ops = try await f.euRegionAdmin()
        _ = try await f.service(.eu).provisionOrg(
            ops, region: "eu", request: ProvisionRequest(name: "Second Co", ownerEmail: "olga@acme.test"))
        for tab in ["members", "invites", "audit"] {
            let page = await olga.call("GET", "/console/\(org)/\(tab)")
            #expect(page.body.contains("<a href=\"/#invitations\" class=\"invites-badge\">Invitations"), "\(tab)")
            #expect(page.body.contains("aria-label=\"1 waiting\">1</span>"), "\(tab)")
        }
    }
}

@Suite("Console: whom to ask")
struct AskToInviteTests {
    /// A member who may not invite is told whom to ask, by name, instead of a tab without a form; an inviter
    /// sees the form and no such notice.
    @Test func theInvitesTabNamesTheOwnersAndAdmins() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test", roles: #"["member"]"#)
        let mia = f.browser("10.7.0.1")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let page = await mia.call("GET", "/console/\(org)/invites")
        #expect(page.status == 200, "members see invites (members.view)")
        #expect(page.body.contains("id=\"ask-to-invite\""))
        #expect(page.body.contains("<strong>Olga Owner (olga@acme.test)</strong>"))
        #expect(!page.body.contains("id=\"invite-form\""))
        let own = await olga.call("GET", "/console/\(org)/invites")
        #expect(own.body.contains("id=\"invite-form\"") && !own.body.contains("ask-to-invite"))
    }
}

@Suite("Region console: duplicate names")
struct DuplicateOrgNameTests {
    /// A second org with a name the region already has is created only when asked again (a double click or a
    /// typo made two); the warning names the existing one.
    @Test func aDuplicateNameIsConfirmedFirst() async throws {
        let f = try GatewayFixture()
        let link = try await f.app.gateway.bootstrapRegionAdmin(email: "ops@x.test", region: .eu)
        let ops = f.browser()
        #expect(
            await ops.call("POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(link)\",\"password\":\"operator-pass-1\"}")
                .status == 200)
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = ops.cookie
        _ = await b.go("GET", "/region/eu")
        let form = [("csrf", b.csrf), ("name", "Acme"), ("ownerEmail", "a@acme.test")]
        #expect(await b.go("POST", "/region/eu/provision", form: form).status == 303)
        let twice = await b.go(
            "POST", "/region/eu/provision", form: [("csrf", b.csrf), ("name", " acme "), ("ownerEmail", "b@acme.test")])
        #expect(twice.status == 409 && twice.body.contains("id=\"duplicate-name\""))
        #expect(twice.body.contains("name=\"duplicateOK\" value=\"1\""))
        let orgs = { () async -> Int in
            (await b.go("GET", "/region/eu")).body.components(separatedBy: "<td>Acme</td>").count - 1
        }
        #expect(await orgs() == 1, "nothing made by the first attempt")
        #expect(
            await b.go(
                "POST", "/region/eu/provision",
                form: [("csrf", b.csrf), ("name", "acme"), ("ownerEmail", "b@acme.test"), ("duplicateOK", "1")]
            ).status == 303)
        let page = await b.go("GET", "/region/eu")
        #expect(page.body.lowercased().components(separatedBy: ">acme<").count - 1 == 2, "created when asked again")
    }
}

@Suite("Owner-side org deletion")
struct OwnerDeletesOrgTests {
    /// An owner deletes their org by typing its name (API and console); an admin may not; a wrong name changes
    /// nothing; the gateway forgets the org's SSO settings with it.
    @Test func ownersDeleteTheirOrgWithTypedConfirmation() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "ada@acme.test", roles: #"["admin"]"#)
        let ada = f.browser("10.6.6.6")
        #expect(
            await ada.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"ada-password-long"}"#).status
                == 200)
        let oidc = try OIDCSettingsUpdate(
            issuer: "https://login.example.com", clientID: "app", clientSecret: "secret"
        ).applied(to: nil)
        try await f.app.gateway.sso.saveOIDC(oidc, org: org, by: "test")
        #expect(await ada.call("DELETE", "/api/v1/orgs/\(org)", #"{"confirmName":"Acme <EU>"}"#).status == 403)
        let wrong = await olga.call("DELETE", "/api/v1/orgs/\(org)", #"{"confirmName":"Acme"}"#)
        #expect(wrong.status == 422)
        #expect(await olga.call("GET", "/api/v1/orgs/\(org)").status == 200, "nothing changed")
        // The console: the section is there for the owner only, names the org, keeps the form on a wrong name.
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        let settings = await b.go("GET", "/console/\(org)/settings")
        #expect(settings.body.contains("Type <strong>Acme &lt;EU&gt;</strong> to confirm"))
        let adaPage = FormBrowser(f.client)
        adaPage.cookies[Sessions.cookieName] = ada.cookie
        #expect(!(await adaPage.go("GET", "/console/\(org)/settings")).body.contains("Delete this organization"))
        let typo = await b.go("POST", "/console/\(org)/delete", form: [("csrf", b.csrf), ("confirmName", "Acme EU")])
        #expect(typo.status == 422 && typo.body.contains("value=\"Acme EU\"") && typo.body.contains("delete-error"))
        let gone = await b.go("POST", "/console/\(org)/delete", form: [("csrf", b.csrf), ("confirmName", "Acme <EU>")])
        #expect(gone.status == 303 && gone.location == "/")
        #expect(await olga.call("GET", "/api/v1/orgs/\(org)").status == 404)
        await #expect(try f.app.gateway.sso.oidcSettings(org: org) == nil, "the gateway forgot its SSO connection")
    }
}

@Suite("Ownership transfer")
struct OwnershipTransferTests {
    /// An owner hands the org to a member (who becomes owner; the giver an admin), atomically and audited; an
    /// admin may not; an invitee, a stranger or oneself are refused with the reason and nothing changes.
    @Test func ownersHandTheOrgToAMember() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "ada@acme.test", roles: #"["admin"]"#)
        let ada = f.browser("10.6.7.7")
        #expect(
            await ada.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"ada-password-long"}"#).status
                == 200)
        let olgaID = try await #require(try f.app.gateway.accounts.find(email: "olga@acme.test")?.id)
        let adaID = try await #require(try f.app.gateway.accounts.find(email: "ada@acme.test")?.id)
        func roles(_ id: String) async -> [String] {
            (await olga.call("GET", "/api/v1/orgs/\(org)/members/\(id)")).json["roles"] as? [String] ?? []
        }
        #expect(await ada.call("POST", "/api/v1/orgs/\(org)/transfer", #"{"email":"ada@acme.test"}"#).status == 403)
        for refused in ["nobody@acme.test", "olga@acme.test"] {
            let r = await olga.call("POST", "/api/v1/orgs/\(org)/transfer", "{\"email\":\"\(refused)\"}")
            #expect(r.status == 422, "\(refused)")
        }
        let (olgaBefore, adaBefore) = (await roles(olgaID), await roles(adaID))
        #expect(olgaBefore == ["owner"] && adaBefore == ["admin"], "nothing changed")
        // Through the console, with the reason on a wrong address.
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        let settings = await b.go("GET", "/console/\(org)/settings")
        #expect(settings.body.contains("Transfer ownership"))
        let wrong = await b.go("POST", "/console/\(org)/transfer", form: [("csrf", b.csrf), ("email", "x@acme.test")])
        #expect(
            wrong.status == 422 && wrong.body.contains("transfer-error") && wrong.body.contains("value=\"x@acme.test\"")
        )
        let done = await b.go("POST", "/console/\(org)/transfer", form: [("csrf", b.csrf), ("email", "ADA@acme.test")])
        #expect(done.status == 303)
        let (olgaAfter, adaAfter) = (await roles(olgaID), await roles(adaID))
        #expect(adaAfter == ["owner"] && olgaAfter == ["admin"])
        let audit = await ada.call("GET", "/api/v1/orgs/\(org)/audit")
        #expect(audit.body.contains("org.transferred"))
        #expect(!(await b.go("GET", "/console/\(org)/settings")).body.contains("Transfer ownership"), "now an admin")
    }
}

@Suite("Apps: rename and delete")
struct AppRenameDeleteTests {
    /// Apps are renamed and deleted by `apps.create`; deleting one ends every grant and kills the keys scoped to
    /// it (rule 6), all or nothing: a manager cannot delete an app an admin holds.
    @Test func renameAndDeleteFollowTheRules() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "max@acme.test", roles: #"["manager"]"#)
        let max = f.browser("10.6.8.8")
        #expect(
            await max.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"max-password-long"}"#).status
                == 200)
        // Ada, an admin (above a manager), holds the app and a key scoped to it.
        #expect(
            await olga.call("POST", "/api/v1/orgs/\(org)/invites", #"{"emails":["ada@acme.test"],"roles":["admin"]}"#)
                .status == 201)
        let eu = try f.service(.eu)
        let adaToken = eu.mailedToken(
            for: try #require(try await eu.pendingInvites(email: "ada@acme.test").first?.invite))
        let ada = f.browser("10.6.8.7")
        #expect(
            await ada.call("POST", "/api/v1/invites/\(adaToken)/accept", #"{"password":"ada-password-long"}"#).status
                == 200)
        let adaID = try await #require(try f.app.gateway.accounts.find(email: "ada@acme.test")?.id)
        let app = try #require(
            await olga.call("POST", "/api/v1/orgs/\(org)/apps", #"{"name":"Portal"}"#).json["id"] as? String)
        #expect(
            await olga.call(
                "POST", "/api/v1/orgs/\(org)/apps/\(app)/grants", "{\"member\":\"\(adaID)\",\"role\":\"editor\"}"
            )
            .status == 204)
        let key = try #require(
            await ada.call("POST", "/api/v1/orgs/\(org)/apikeys", "{\"name\":\"k\",\"app\":\"\(app)\"}").json["secret"]
                as? String)
        let keyed = f.browser("10.6.8.9")
        keyed.bearer = key
        #expect(await keyed.call("GET", "/api/v1/orgs/\(org)").status == 200)
        // Rename: managers may; the name is checked.
        #expect(
            await max.call("PATCH", "/api/v1/orgs/\(org)/apps/\(app)", #"{"name":"Customer Portal"}"#).status == 200)
        #expect(await max.call("PATCH", "/api/v1/orgs/\(org)/apps/\(app)", #"{"name":""}"#).status == 422)
        // Delete: the manager cannot end the admin's access, so nothing happens.
        #expect(await max.call("DELETE", "/api/v1/orgs/\(org)/apps/\(app)").status == 403)
        #expect(await keyed.call("GET", "/api/v1/orgs/\(org)").status == 200, "nothing changed")
        // The console asks first, naming how many lose access; then the owner deletes it.
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        let page = await b.go("GET", "/console/\(org)/apps")
        #expect(page.body.contains("Customer Portal") && page.body.contains("/apps/\(app)/delete"))
        let ask = await b.go("POST", "/console/\(org)/apps/\(app)/delete", form: [("csrf", b.csrf)])
        #expect(ask.status == 200 && ask.body.contains("1 member loses"))
        #expect(
            await b.go("POST", "/console/\(org)/apps/\(app)/delete", form: [("csrf", b.csrf), ("confirm", "yes")])
                .status
                == 303)
        #expect(await keyed.call("GET", "/api/v1/orgs/\(org)").status == 401, "the key scoped to it died")
        let apps = await olga.call("GET", "/api/v1/orgs/\(org)/apps")
        #expect(!apps.body.contains(app))
        let holder = await olga.call("GET", "/api/v1/orgs/\(org)/members/\(adaID)")
        #expect(holder.json["appCount"] as? Int == 0 && (holder.json["apps"] as? [Any])?.isEmpty == true)
        #expect((await olga.call("GET", "/api/v1/orgs/\(org)/audit")).body.contains("app.deleted"))
    }
}

@Suite("Roles: edit a custom role")
struct EditRoleTests {
    @Test func ownersEditACustomRoleAndItsHoldersFollow() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let made = await olga.call(
            "POST", "/api/v1/orgs/\(org)/roles", #"{"name":"Auditor","permissions":["audit.view"]}"#)
        let id = try #require(made.json["id"] as? String)
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        #expect(
            (await b.go("GET", "/console/\(org)/roles")).body.contains("href=\"/console/\(org)/roles/\(id)\">Edit</a>"))
        let page = await b.go("GET", "/console/\(org)/roles/\(id)")
        #expect(page.status == 200 && page.body.contains("value=\"audit.view\" checked"))
        #expect(!page.body.contains("value=\"org.delete\""), "never offered")
        let bad = await b.go(
            "POST", "/console/\(org)/roles/\(id)",
            form: [("csrf", b.csrf), ("name", ""), ("permissions", "audit.view")])
        #expect(bad.status == 422 && bad.body.contains("role-error"))
        let saved = await b.go(
            "POST", "/console/\(org)/roles/\(id)",
            form: [
                ("csrf", b.csrf), ("name", "Auditors"), ("permissions", "audit.view"), ("permissions", "members.view"),
            ])
        #expect(saved.status == 303)
        let roles = await olga.call("GET", "/api/v1/orgs/\(org)/roles")
        #expect(roles.body.contains("\"name\":\"Auditors\"") && roles.body.contains("members.view"))
        // Built-in roles have no edit page.
        #expect(await b.go("GET", "/console/\(org)/roles/admin").status == 404)
    }
}

@Suite("Member panel: remove")
struct PanelRemoveTests {
    /// The panel's Remove goes through the same confirmation as the bulk action, naming the person; removing
    /// takes effect only after it.
    @Test func removeFromThePanelIsConfirmedFirst() async throws {
        let f = try GatewayFixture()
        let (org, olga, token) = try await PageTests.orgWithInvite(f, email: "mia@acme.test", roles: #"["member"]"#)
        let mia = f.browser("10.6.9.9")
        #expect(
            await mia.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"mia-password-long"}"#).status
                == 200)
        let miaID = try await #require(try f.app.gateway.accounts.find(email: "mia@acme.test")?.id)
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        let panel = await b.go("GET", "/console/\(org)/members/\(miaID)")
        #expect(panel.body.contains("id=\"remove-member\"") && panel.body.contains("value=\"\(miaID)\""))
        let ask = await b.go(
            "POST", "/console/\(org)/members/bulk", form: [("csrf", b.csrf), ("action", "remove"), ("member", miaID)])
        #expect(ask.status == 200 && ask.body.contains("mia@acme.test") && ask.body.contains("Remove 1 member"))
        #expect(await olga.call("GET", "/api/v1/orgs/\(org)/members/\(miaID)").status == 200, "not yet")
        let done = await b.go(
            "POST", "/console/\(org)/members/bulk",
            form: [("csrf", b.csrf), ("action", "remove"), ("member", miaID), ("confirm", "yes")])
        #expect(done.status == 303)
        #expect(await olga.call("GET", "/api/v1/orgs/\(org)/members/\(miaID)").status == 404)
    }
}

@Suite("Region console: owners")
struct RegionOwnersTests {
    /// Each org shows its owner, or whom the owner invitation waits for and until when, or that it expired.
    @Test func eachOrgShowsItsOwnerOrTheOwnerInvitation() async throws {
        let f = try GatewayFixture()
        let (org, _, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let ops = try await f.euRegionAdmin()
        _ = try await f.service(.eu).provisionOrg(
            ops, region: "eu", request: ProvisionRequest(name: "Waiting Co", ownerEmail: "wait@acme.test"))
        let link = try await f.app.gateway.bootstrapRegionAdmin(email: "ops@x.test", region: .eu)
        let b = FormBrowser(f.client)
        let session = f.browser()
        #expect(
            await session.call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(link)\",\"password\":\"operator-pass-2\"}"
            )
            .status == 200)
        b.cookies[Sessions.cookieName] = session.cookie
        let page = await b.go("GET", "/region/eu")
        #expect(page.body.contains("<td>olga@acme.test</td>"), "an owner who joined")
        #expect(page.body.contains("wait@acme.test <span class=\"badge pending\">Invited</span>"))
        #expect(page.body.contains(">expires in 2 days</span>"), "an owner invitation lives 72 hours")
        #expect(!page.body.contains("<td>\(org)</td>"))
        let api = await session.call("GET", "/api/v1/regions/eu/orgs")
        #expect(api.body.contains("\"owner\":{\"email\":\"wait@acme.test\""))
        f.clock.advance(by: 4 * 86_400)
        let opsID = try await #require(try f.app.gateway.accounts.find(email: "ops@x.test")?.id)
        let (fresh, _) = try await f.app.gateway.sessions.create(accountID: opsID, method: .password)
        b.cookies[Sessions.cookieName] = fresh
        let later = await b.go("GET", "/region/eu")
        #expect(later.body.contains("wait@acme.test <span class=\"badge expired\">Invitation expired</span>"))
    }
}

@Suite("Invites: several apps at once")
struct InviteSeveralAppsTests {
    /// The invite form offers every app as a checkbox with one app role; each chosen app is granted on accept.
    @Test func anInviteCarriesEveryChosenApp() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        var ids: [String] = []
        for name in ["Portal", "Studio", "Reports"] {
            ids.append(
                try #require(
                    await olga.call("POST", "/api/v1/orgs/\(org)/apps", "{\"name\":\"\(name)\"}").json["id"] as? String)
            )
        }
        let b = FormBrowser(f.client)
        b.cookies[Sessions.cookieName] = olga.cookie
        let page = await b.go("GET", "/console/\(org)/invites")
        #expect(page.body.contains("id=\"invite-apps\"") && page.body.contains("type=\"checkbox\" name=\"app\""))
        let sent = await b.go(
            "POST", "/console/\(org)/invites",
            form: [
                ("csrf", b.csrf), ("emails", "Zed Z <zed@acme.test>"), ("roles", "member"), ("app", ids[0]),
                ("app", ids[2]), ("appRole", "editor"), ("startingPage", "studio"),
            ])
        #expect(sent.status == 200 && sent.body.contains("zed@acme.test"))
        let eu = try f.service(.eu)
        let invite = try #require(try await eu.pendingInvites(email: "zed@acme.test").first?.invite)
        #expect(Set(invite.apps.map(\.app)) == [ids[0], ids[2]] && invite.apps.allSatisfy { $0.role == .editor })
        #expect([invite.firstName, invite.lastName] == ["Zed", "Z"], "the pasted name too")
    }
}
