import Foundation
import GatehouseCore
import Gateway
import HTTP
import Tenant
import TenantAPI
import TenantDomain
import Testing

@testable import Console

/// The Agency tab through the gateway: staff add an agency, grant apps (newcomers invited), see every agency
/// person and remove an agency through a confirmation that names them; an agency person's tab shows their agency
/// only and offers only their apps; the region console registers agencies and decides requests.
@Suite("Console: the Agency tab and the region's agencies")
struct AgencyConsoleTests {
    @Test func staffGrantAndRemoveAgencyPeopleSeeTheirAgencyOnly() async throws {
        let f = try GatewayFixture()
        let (org, olgaAPI, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        let eu = try f.service(.eu)
        let ops = try await f.euRegionAdmin()
        let blue = try await eu.createAgency(ops, region: "eu", body: AgencyBody(name: "Blue", domains: ["blue.test"]))
        _ = try await eu.createAgency(ops, region: "eu", body: AgencyBody(name: "Red", domains: ["red.test"]))
        var apps: [String: String] = [:]
        for name in ["Web", "Ads", "CRM"] {
            apps[name] =
                (await olgaAPI.call("POST", "/api/v1/orgs/\(org)/apps", "{\"name\":\"\(name)\"}")).json["id"]
                as? String
        }
        let olga = FormBrowser(f.client)
        olga.cookies[Sessions.cookieName] = olgaAPI.cookie
        let empty = await olga.go("GET", "/console/\(org)/agency")
        #expect(empty.status == 200 && empty.body.contains("No agency works for this organization yet"))
        #expect(empty.body.contains("/agency\" aria-current=\"page\">Agency</a>"))
        #expect(empty.body.contains("Blue (blue.test)") && empty.body.contains("Red (red.test)"))
        #expect(
            await olga.go("POST", "/console/\(org)/agency/add", form: [("csrf", olga.csrf), ("agency", blue.id)])
                .status == 303)
        let added = await olga.go("GET", "/console/\(org)/agency")
        #expect(added.body.contains("<h2 id=\"agency-\(blue.id)\">Blue</h2>"))
        #expect(!added.body.contains("Blue (blue.test)"), "no longer offered to add")
        // The grant form: apps, one role, pasted addresses; results per address.
        let granted = await olga.go(
            "POST", "/console/\(org)/agency/\(blue.id)/grant",
            form: [
                ("csrf", olga.csrf), ("app", apps["Web"]!), ("app", apps["Ads"]!), ("appRole", "editor"),
                ("emails", "ann@blue.test\tmia@acme.test"),
            ])
        #expect(granted.status == 200 && granted.body.contains("Invited (72 hours)"), "\(granted.body.prefix(2000))")
        #expect(granted.body.contains("<td>mia@acme.test</td><td>Already invited</td>"), "mia's invitation is open")
        // Ann accepts; her console: the Agency tab with Blue only, only her apps to pass on, her agency's people.
        let token = eu.mailedToken(for: try #require(try await eu.pendingInvites(email: "ann@blue.test").first?.invite))
        let annAPI = f.browser("10.9.1.1")
        #expect(
            await annAPI.call("POST", "/api/v1/invites/\(token)/accept", #"{"password":"ann-password-long"}"#).status
                == 200)
        let ann = FormBrowser(f.client)
        ann.cookies[Sessions.cookieName] = annAPI.cookie
        let hers = await ann.go("GET", "/console/\(org)/agency")
        #expect(hers.status == 200 && hers.body.contains("Blue") && !hers.body.contains("Red"))
        #expect(hers.body.contains("Web — Editor") && hers.body.contains("Ads — Editor"))
        #expect(
            !hers.body.contains(">CRM<") && !hers.body.contains("Remove Blue") && !hers.body.contains("Add an agency"))
        let members = await ann.go("GET", "/console/\(org)/members")
        #expect(members.body.contains("ann@blue.test") && !members.body.contains("olga@acme.test"))
        // Staff revoke from the tab: one app (a pair), then everything of one person; a bad pair changes nothing.
        let annID = try #require(try await f.app.gateway.accounts.find(email: "ann@blue.test")?.id)
        _ = await olga.go("GET", "/console/\(org)/agency")
        #expect(hers.body.contains("By app") && hers.body.contains("<strong>Web</strong>: ann@blue.test"))
        #expect(
            await olga.go(
                "POST", "/console/\(org)/agency/\(blue.id)/revoke",
                form: [("csrf", olga.csrf), ("pair", "\(annID) \(apps["Web"]!)")]
            ).status == 303)
        var view = await olga.go("GET", "/console/\(org)/agency")
        #expect(!view.body.contains("Web — Editor") && view.body.contains("Ads — Editor"))
        #expect(
            await olga.go(
                "POST", "/console/\(org)/agency/\(blue.id)/revoke", form: [("csrf", olga.csrf), ("pair", "x")]
            )
            .status == 303)
        #expect(
            await olga.go(
                "POST", "/console/\(org)/agency/\(blue.id)/revoke", form: [("csrf", olga.csrf), ("all", annID)]
            )
            .status == 303)
        view = await olga.go("GET", "/console/\(org)/agency")
        #expect(!view.body.contains("Ads — Editor") && view.body.contains("No apps"))
        // Removing the agency names who loses access, then takes it.
        let ask = await olga.go("POST", "/console/\(org)/agency/\(blue.id)/remove", form: [("csrf", olga.csrf)])
        #expect(
            ask.status == 200 && ask.body.contains("Remove <strong>Blue</strong>") && ask.body.contains("ann@blue.test")
        )
        #expect(
            await olga.go(
                "POST", "/console/\(org)/agency/\(blue.id)/remove", form: [("csrf", olga.csrf), ("confirm", "yes")]
            ).status == 303)
        let annNow = await olgaAPI.call("GET", "/api/v1/orgs/\(org)/members?q=ann")
        let row = (annNow.json["members"] as? [[String: Any]])?.first
        #expect((row?["apps"] as? [[String: Any]])?.isEmpty == true)
    }

    /// Which Revoke buttons the tab offers, against the agency rules: never on the viewer's own access; staff on
    /// everyone's; an agency person on apps they hold at the person's role or above.
    @Test func revokeIsOfferedOnlyWhereTheRegionWouldAllowIt() {
        let view = OrgAgencyView(
            agency: AgencyView(id: "agy_b", name: "Blue", domains: ["blue.test"], createdAt: Date()),
            people: [
                AgencyPerson(
                    memberID: "ann", inviteID: nil, email: "ann@blue.test", name: "Ann", status: "joined",
                    apps: [AppGrant(app: "web", role: .editor), AppGrant(app: "ads", role: .viewer)]),
                AgencyPerson(
                    memberID: "ben", inviteID: nil, email: "ben@blue.test", name: "Ben", status: "joined",
                    apps: [
                        AppGrant(app: "web", role: .viewer), AppGrant(app: "ads", role: .editor),
                        AppGrant(app: "crm", role: .viewer),
                    ]),
            ])
        func offered(_ viewer: String, manages: Bool) -> [String: [String]] {
            let m = AgencyPageModel(
                agencies: [view], apps: [], register: [], requests: [], manages: manages, viewer: viewer)
            return Dictionary(
                uniqueKeysWithValues: m.agencies[0].people.map { p in
                    (p.memberID ?? "", p.apps.filter(\.selected).map(\.value))
                })
        }
        #expect(offered("ann", manages: false) == ["ann": [], "ben": ["web"]])
        #expect(offered("olga", manages: true) == ["ann": ["web", "ads"], "ben": ["web", "ads", "crm"]])
        #expect(offered("ben", manages: false) == ["ann": ["ads"], "ben": []])
    }

    @Test func theRegionConsoleRegistersAgenciesAndDecidesRequests() async throws {
        let f = try GatewayFixture()
        let (org, olgaAPI, _) = try await PageTests.orgWithInvite(f, email: "mia@acme.test")
        #expect(
            await olgaAPI.call(
                "POST", "/api/v1/orgs/\(org)/agency-requests", #"{"name":"Green","domains":["green.test"]}"#
            ).status == 201)
        let link = try await f.app.gateway.bootstrapRegionAdmin(email: "ops2@x.test", region: .eu)
        let opsAPI = f.browser("10.9.2.1")
        #expect(
            await opsAPI.call(
                "POST", "/api/v1/auth/bootstrap", "{\"token\":\"\(link)\",\"password\":\"operator-pass-2\"}"
            )
            .status == 200)
        let ops = FormBrowser(f.client)
        ops.cookies[Sessions.cookieName] = opsAPI.cookie
        let page = await ops.go("GET", "/region/eu")
        #expect(page.body.contains("Requests waiting for you") && page.body.contains("Green"))
        let requestID = try #require(
            page.body.components(separatedBy: "name=\"request\" value=\"").dropFirst().first?.prefix { $0 != "\"" })
        #expect(
            await ops.go(
                "POST", "/region/eu/agency-approve", form: [("csrf", ops.csrf), ("request", String(requestID))]
            ).status == 303)
        #expect(
            await ops.go(
                "POST", "/region/eu/agency-create",
                form: [("csrf", ops.csrf), ("name", "Purple"), ("domains", "purple.test, purple.example")]
            ).status == 303)
        let after = await ops.go("GET", "/region/eu")
        #expect(!after.body.contains("Requests waiting for you"))
        #expect(after.body.contains("<td>Purple</td><td>purple.test, purple.example</td><td>0</td>"))
        #expect(after.body.contains("<td>Green</td><td>green.test</td><td>1</td>"))
        // The org sees its request approved and Green working for it.
        let tab = await olgaAPI.call("GET", "/api/v1/orgs/\(org)/agencies")
        #expect(tab.body.contains("\"name\":\"Green\""))
        // Bad input keeps the page with the reason; a stranger's request id changes nothing.
        let bad = await ops.go(
            "POST", "/region/eu/agency-create", form: [("csrf", ops.csrf), ("name", "X"), ("domains", "nodot")])
        #expect(bad.status == 422 && bad.body.contains("not a plain domain"))
        #expect(
            await ops.go("POST", "/region/eu/agency-decline", form: [("csrf", ops.csrf), ("request", "agr_nope")])
                .status == 404)
    }
}
