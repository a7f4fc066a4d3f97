import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The Agency tab as data: the agencies working for the org (an agency person: their own) with their people and
/// the apps each holds, what may be done (grant, revoke, remove, add, ask the region), the register's agencies not
/// yet working for the org, and the org's requests. `AgencyPageView` only renders it; tests assert on this value.
struct AgencyPageModel: Equatable {
    struct Person: Equatable {
        let memberID: String?
        let email: String
        let name: String
        let status: String
        /// App grants as shown: (app id, "Web — Editor"); `selected` marks the ones the viewer may revoke (never
        /// their own; agency people only what they could give: an app they hold at that role or above).
        let apps: [Choice]
    }
    struct Agency: Equatable {
        let id: String
        let name: String
        let domains: String
        let people: [Person]
    }

    let agencies: [Agency]
    /// Staff who manage agencies (`apps.grant`, not agency people): add, remove, ask the region.
    let manages: Bool
    /// Apps the grant form offers: the org's apps (staff), or the viewer's own (agency people: the region lists
    /// only theirs, and refuses the rest anyway).
    let apps: [Choice]
    let addable: [Choice]
    let requests: [AgencyRequestView]

    init(
        agencies: [OrgAgencyView], apps: [AppView], register: [AgencyView], requests: [AgencyRequestView],
        manages: Bool, viewer: String
    ) {
        let names = Dictionary(apps.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        let mine = Dictionary(
            (agencies.flatMap(\.people).first { $0.memberID == viewer }?.apps ?? []).map { ($0.app, $0.role) },
            uniquingKeysWith: { a, _ in a })
        self.agencies = agencies.map { a in
            Agency(
                id: a.agency.id, name: a.agency.name, domains: a.agency.domains.joined(separator: ", "),
                people: a.people.map { p in
                    Person(
                        memberID: p.memberID, email: p.email, name: p.name, status: p.status,
                        apps: p.apps.map { g in
                            let held = mine[g.app].map { $0.rank >= g.role.rank } ?? false
                            return Choice(
                                value: g.app, label: "\(names[g.app] ?? g.app) — \(g.role.rawValue.capitalized)",
                                selected: p.memberID != viewer && (manages || held))
                        })
                })
        }
        self.manages = manages
        self.apps = apps.map { Choice(value: $0.id, label: $0.name, selected: false) }
        let working = Set(agencies.map(\.agency.id))
        addable =
            manages
            ? register.filter { !working.contains($0.id) }.map {
                Choice(value: $0.id, label: "\($0.name) (\($0.domains.joined(separator: ", ")))", selected: false)
            } : []
        self.requests = manages ? requests : []
    }
}

enum AgencyPageView {
    static let addHint: HTML = " Add one from the region's register below, or ask the region to register it."
    static func render(_ m: AgencyPageModel, base: String, csrfField: HTML) -> HTML {
        var h: HTML = ""
        if m.agencies.isEmpty {
            h +=
                "<p class=\"empty\">No agency works for this organization yet.\(if: m.manages, Self.addHint)</p>"
        }
        for a in m.agencies {
            h +=
                "<section class=\"panel\" aria-labelledby=\"agency-\(a.id)\"><h2 id=\"agency-\(a.id)\">\(a.name)</h2>"
                + "<p class=\"meta\">Domains: \(a.domains)</p>"
            if a.people.isEmpty {
                h += "<p class=\"empty\">Nobody of \(a.name) has access yet. Grant app access below.</p>"
            } else {
                // One form for the table: a Revoke per app, Revoke all per person, and the selected at once (the
                // region takes all or nothing).
                let selectable = a.people.contains { $0.apps.contains(where: \.selected) }
                let pickHeader: HTML =
                    "<th class=\"check\"><span class=\"sr-only\" id=\"pick-label-\(a.id)\">Select</span></th>"
                h +=
                    "<form method=\"post\" action=\"\(base)/agency/\(a.id)/revoke\">\(csrfField)<div"
                    + " class=\"table-wrap\"><table id=\"agency-people-\(a.id)\"><thead><tr>"
                    + "\(if: selectable, pickHeader)<th"
                    + " scope=\"col\">Person</th><th scope=\"col\">Status</th><th scope=\"col\">Apps</th></tr>"
                    + "</thead><tbody>"
                for p in a.people {
                    let revocable = p.apps.filter(\.selected)
                    h += "<tr>"
                    if selectable {
                        h += "<td class=\"check\">"
                        if let id = p.memberID, !revocable.isEmpty {
                            h +=
                                "<input type=\"checkbox\" name=\"member\" value=\"\(id)\" id=\"pick-\(id)\""
                                + " aria-labelledby=\"pick-label-\(a.id) pick-name-\(id)\">"
                        }
                        h += "</td>"
                    }
                    // Row checkboxes share one label ("Select") and each row's name: one group, as on Members.
                    h +=
                        "<td><span id=\"pick-name-\(p.memberID ?? p.email)\">\(p.name)</span>"
                        + "\(if: p.name != p.email, "<span class=\"meta\"> · \(p.email)</span>")"
                        + "</td><td><span class=\"badge \(p.status)\">\(p.status.capitalized)</span></td><td>"
                    if p.apps.isEmpty { h += "<span class=\"meta\">No apps</span>" }
                    for app in p.apps {
                        h += "<div class=\"row-role\">\(app.label)"
                        if let id = p.memberID, app.selected {
                            h +=
                                " <button type=\"submit\" class=\"link danger\" name=\"pair\""
                                + " value=\"\(id) \(app.value)\" aria-label=\"Revoke \(app.label) from \(p.name)\">"
                                + "Revoke</button>"
                        }
                        h += "</div>"
                    }
                    if let id = p.memberID, revocable.count > 1 {
                        h +=
                            "<button type=\"submit\" class=\"link danger\" name=\"all\" value=\"\(id)\""
                            + " aria-label=\"Revoke all access of \(p.name)\">Revoke all</button>"
                    }
                    h += "</td></tr>"
                }
                h += "</tbody></table></div>"
                if selectable {
                    h +=
                        "<div class=\"actions\"><button type=\"submit\" class=\"secondary\" name=\"selected\""
                        + " value=\"1\">Revoke all access of the selected</button></div>"
                }
                h += "</form>"
                // Per app: who of the agency has it.
                var byApp: [(String, [String])] = []
                for p in a.people {
                    for app in p.apps {
                        let name = String(app.label.split(separator: " — ").first ?? "")
                        if let i = byApp.firstIndex(where: { $0.0 == name }) {
                            byApp[i].1.append(p.name)
                        } else {
                            byApp.append((name, [p.name]))
                        }
                    }
                }
                if !byApp.isEmpty {
                    h += "<h3>By app</h3><ul class=\"by-app\" id=\"by-app-\(a.id)\">"
                    for (app, people) in byApp.sorted(by: { $0.0 < $1.0 }) {
                        h += "<li><strong>\(app)</strong>: \(people.joined(separator: ", "))</li>"
                    }
                    h += "</ul>"
                }
            }
            h += grantForm(m, agency: a, base: base, csrfField: csrfField)
            if m.manages {
                h +=
                    "<form method=\"post\" action=\"\(base)/agency/\(a.id)/remove\">\(csrfField)<div"
                    + " class=\"actions\"><button type=\"submit\" class=\"danger\">Remove \(a.name) from the"
                    + " organization…</button></div></form>"
            }
            h += "</section>"
        }
        if m.manages {
            h += "<section class=\"panel\"><h2>Add an agency</h2>"
            if m.addable.isEmpty {
                h += "<p class=\"meta\">Every agency of the region's register already works for this organization.</p>"
            } else {
                h +=
                    "<form method=\"post\" action=\"\(base)/agency/add\" class=\"bulk\">\(csrfField)<div><label"
                    + " for=\"add-agency\">Agency</label><select id=\"add-agency\" name=\"agency\">"
                    + InvitesView.options(m.addable)
                    + "</select></div><div><button type=\"submit\" class=\"secondary\">Add agency</button></div>"
                    + "</form>"
            }
            h +=
                "<h3>Cannot find it?</h3><p class=\"meta\">Ask the region's administrator to register it; you are told"
                + " by mail.</p><form method=\"post\" action=\"\(base)/agency/request\">\(csrfField)<div"
                + " class=\"grid2\"><div><label for=\"request-name\">Agency name</label><input id=\"request-name\""
                + " name=\"name\" type=\"text\" required></div><div><label for=\"request-domains\">Mail domains"
                + " (comma-separated)</label><input id=\"request-domains\" name=\"domains\" type=\"text\" required"
                + " placeholder=\"agency.example\"></div></div><div class=\"actions\"><button type=\"submit\""
                + " class=\"secondary\">Ask to register</button></div></form>"
            if !m.requests.isEmpty {
                h += "<h3>Requests</h3><ul class=\"cards\" id=\"agency-requests\">"
                for r in m.requests {
                    h +=
                        "<li><span>\(r.name) <span class=\"meta\">(\(r.domains.joined(separator: ", ")))</span></span>"
                        + "<span class=\"badge \(badge(r.status))\">\(r.status.rawValue.capitalized)</span>"
                        + "\(if: !r.reason.isEmpty, "<span class=\"meta\">\(r.reason)</span>")</li>"
                }
                h += "</ul>"
            }
            h += "</section>"
        }
        return h
    }

    static func badge(_ s: AgencyRequestStatus) -> String {
        switch s {
        case .approved: return "joined"
        case .declined: return "declined"
        case .pending: return "pending"
        }
    }

    /// "Grant app access": several apps, one app role, addresses as pasted; for this agency.
    static func grantForm(
        _ m: AgencyPageModel, agency a: AgencyPageModel.Agency, base: String, csrfField: HTML
    )
        -> HTML
    {
        guard !m.apps.isEmpty else {
            let why = m.manages ? "Create an app first to grant access to it." : "You have no apps to pass on."
            return "<p class=\"meta\">\(why)</p>"
        }
        var h: HTML =
            "<details class=\"panel\"><summary><strong>Grant app access to \(a.name) people</strong></summary>"
            + "<form method=\"post\" action=\"\(base)/agency/\(a.id)/grant\" id=\"grant-\(a.id)\">\(csrfField)"
            + "<fieldset><legend>Apps</legend>"
        for (i, app) in m.apps.enumerated() {
            h +=
                "<label for=\"grant-\(a.id)-app-\(i)\"><input id=\"grant-\(a.id)-app-\(i)\" type=\"checkbox\""
                + " name=\"app\" value=\"\(app.value)\"> \(app.label)</label>"
        }
        h +=
            "</fieldset><label for=\"grant-\(a.id)-role\">App role</label><select id=\"grant-\(a.id)-role\""
            + " name=\"appRole\">"
        for r in AppRole.allCases {
            h += "<option value=\"\(r.rawValue)\"\(if: r == .viewer, " selected")>\(r.rawValue.capitalized)</option>"
        }
        h +=
            "</select><label for=\"grant-\(a.id)-emails\">Email addresses</label><textarea"
            + " id=\"grant-\(a.id)-emails\" name=\"emails\" rows=\"3\" required"
            + " aria-describedby=\"grant-\(a.id)-help\"></textarea><p class=\"meta\" id=\"grant-\(a.id)-help\">"
            + "Separated by new lines, tabs, spaces, commas, or pasted from a spreadsheet. People of \(a.name) in"
            + " the organization get access at once; others get an invitation valid 72 hours (addresses in"
            + " \(a.domains)).</p><div class=\"actions\"><button type=\"submit\">Grant access</button></div></form>"
            + "</details>"
        return h
    }
}

enum AgencyPages {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.console("GET", "/console/:org/agency", { c in try await page(c) }, gateway: g)
        b.console(
            "POST", "/console/:org/agency/add",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let outcome = await c.outcome("Agency added.") { try await c.api.addAgency(form.value("agency") ?? "") }
                return c.redirect("\(c.base)/agency", flash: outcome)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/agency/request",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let domains = (form.value("domains") ?? "").split(whereSeparator: { ", \t\n".contains($0) }).map(
                    String.init)
                let outcome = await c.outcome("Request sent to the region's administrator; you will be told by mail.") {
                    _ = try await c.api.requestAgency(AgencyBody(name: form.value("name") ?? "", domains: domains))
                }
                return c.redirect("\(c.base)/agency", flash: outcome)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/agency/:agency/grant",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let agency = try c.ctx.parameter("agency")
                let apps = form.filter { $0.0 == "app" }.map(\.1)
                guard !apps.isEmpty else { return c.redirect("\(c.base)/agency", flash: "Choose at least one app.") }
                guard let role = AppRole(rawValue: form.value("appRole") ?? "") else {
                    return c.redirect("\(c.base)/agency", flash: "Choose an app role.")
                }
                let result = try await c.api.agencyGrant(
                    agency, AgencyGrantRequest(apps: apps, role: role, emails: .text(form.value("emails") ?? "")))
                var h: HTML =
                    "<div class=\"table-wrap\"><table id=\"grant-results\"><thead><tr><th scope=\"col\">Email</th><th"
                    + " scope=\"col\">Result</th></tr></thead><tbody>"
                for o in result.results {
                    let word: String
                    switch o.result {
                    case .granted: word = "Access granted"
                    case .invited: word = "Invited (72 hours)"
                    case .alreadyInvited: word = "Already invited"
                    case .staffMember, .otherAgency, .refused: word = o.message ?? "Refused"
                    case .invalid: word = "Not a valid email address"
                    case .duplicate: word = "Listed twice"
                    }
                    h += "<tr><td>\(o.email)</td><td>\(word)</td></tr>"
                }
                h += "</tbody></table></div><p><a href=\"\(c.base)/agency\">Back to Agency</a></p>"
                return c.render("Grant results", tab: "agency", body: h)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/agency/:agency/revoke",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let agency = try c.ctx.parameter("agency")
                // One Revoke (`pair`: member and app), one person's Revoke all, or the selected people's everything.
                var members = form.filter { $0.0 == "member" }.map(\.1)
                var apps = form.filter { $0.0 == "app" }.map(\.1)
                if let pair = form.value("pair") {
                    let parts = pair.split(separator: " ", maxSplits: 1).map(String.init)
                    guard parts.count == 2 else {
                        return c.redirect("\(c.base)/agency", flash: "Choose what to revoke.")
                    }
                    (members, apps) = ([parts[0]], [parts[1]])
                } else if let one = form.value("all") {
                    (members, apps) = ([one], [])
                }
                guard !members.isEmpty else {
                    return c.redirect("\(c.base)/agency", flash: "Select at least one person first.")
                }
                let outcome = await c.outcome("Access revoked; their API keys stopped working.") {
                    try await c.api.agencyRevoke(
                        agency, AgencyRevokeBody(members: members, apps: apps.isEmpty ? nil : apps))
                }
                return c.redirect("\(c.base)/agency", flash: outcome)
            }, gateway: g)
        // Removing an agency names everyone who loses access first.
        b.console(
            "POST", "/console/:org/agency/:agency/remove",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let id = try c.ctx.parameter("agency")
                guard let view = try await c.api.agencies().first(where: { $0.agency.id == id }) else {
                    return c.redirect("\(c.base)/agency", flash: "That agency no longer works for this organization.")
                }
                let names: HTML =
                    view.people.isEmpty
                    ? "Nobody of it has access."
                    : "<ul id=\"confirm-list\">"
                        + view.people.map { p -> HTML in "<li>\(p.name) (\(p.email))</li>" }.joined() + "</ul>"
                if let ask = c.confirmFirst(
                    form, title: "Remove \(view.agency.name)?",
                    "Remove <strong>\(view.agency.name)</strong> from the organization? All its people lose access to"
                        + " every app of the organization at once, their API keys stop working, and open invitations"
                        + " end: \(names)",
                    button: "Remove agency", cancel: "\(c.base)/agency", tab: "agency")
                {
                    return ask
                }
                let outcome = await c.outcome("\(view.agency.name) removed; its people lost their access.") {
                    _ = try await c.api.removeAgency(id)
                }
                return c.redirect("\(c.base)/agency", flash: outcome)
            }, gateway: g)
    }

    static func page(_ c: Console) async throws -> Response {
        let manages = c.agency == nil && c.may(.appsGrant)
        let model = AgencyPageModel(
            agencies: try await c.api.agencies(), apps: (try? await c.api.apps()) ?? [],
            register: manages ? try await c.api.agencyRegister() : [],
            requests: manages ? try await c.api.agencyRequests() : [], manages: manages,
            viewer: c.session.caller.accountID)
        return c.render(
            "Agency", tab: "agency", body: AgencyPageView.render(model, base: c.base, csrfField: c.csrfField))
    }
}
