import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The region admin console: the region's orgs with member counts and status, provision (name + first owner
/// email), suspend/reactivate, and delete with a typed confirmation.
enum RegionConsole {

    struct ProvisionBody: Encodable {
        let name: String
        let ownerEmail: String
    }
    struct DeleteBody: Encodable { let confirmName: String }

    static func call(
        _ g: GatewayService, _ ctx: RequestContext, _ s: BrowserSession, region: String, _ method: String,
        _ path: String, body: (some Encodable)? = Optional<String>.none
    ) async throws -> Response {
        try await ConsoleForms.forward(
            g, try g.regions.tenant(forRegion: region), method, "/api/v1/regions/\(region)" + path, body: body,
            ctx: ctx, caller: s.caller)
    }

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.get("/region") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Fregion")
            }
            guard let r = s.regionAdmin else {
                return HTMLPage.notice(
                    "Not a region admin", "This page is for region admins.", action: ("Home", "/"), status: 403,
                    viewer: s.viewer())
            }
            return .redirect(to: "/region/\(r.rawValue)")
        }
        b.get("/region/:region") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Fregion")
            }
            return try await page(g, ctx, s, region: try ctx.parameter("region"), error: nil)
        }
        b.post("/region/:region/:action") { ctx in
            guard let s = try await BrowserSession.current(g, ctx) else {
                return .redirect(to: "/login?next=%2Fregion")
            }
            let region = try ctx.parameter("region")
            let form = try ctx.formPairs()
            guard BrowserSession.checkForm(g, ctx, form) else {
                return try await page(g, ctx, s, region: region, error: "This form expired. Try again.", status: 403)
            }
            let org = form.value("org") ?? ""
            let r: Response
            var done: String
            let action = try ctx.parameter("action")
            // The actions on one org name it.
            if ["suspend", "reactivate", "delete", "owner-resend", "owner-link"].contains(action), OrgID(org) == nil {
                return try await page(g, ctx, s, region: region, error: "Unknown organization.", status: 404)
            }
            switch action {
            case "provision":
                // A name another org of the region already has is most often a second click or a typo: say so,
                // and create it only when asked again.
                let name = (form.value("name") ?? "").trimmingCharacters(in: .whitespaces)
                if form.value("duplicateOK") != "1", !name.isEmpty {
                    let list = try await call(g, ctx, s, region: region, "GET", "/orgs?limit=200")
                    if let orgs = try? JSONCoding.decode(OrgPage.self, from: list.body),
                        let twin = orgs.orgs.first(where: { $0.name.lowercased() == name.lowercased() })
                    {
                        return try await page(
                            g, ctx, s, region: region, error: nil, status: 409,
                            duplicate: (name, form.value("ownerEmail") ?? "", twin.id))
                    }
                }
                r = try await call(
                    g, ctx, s, region: region, "POST", "/orgs",
                    body: ProvisionBody(name: form.value("name") ?? "", ownerEmail: form.value("ownerEmail") ?? ""))
                done = "Organization created; the owner was invited by email."
            case "suspend", "reactivate":
                if action == "suspend", form.value("confirm") != "yes" {
                    let info = try await call(g, ctx, s, region: region, "GET", "/orgs/\(org)")
                    let name = (try? JSONCoding.decode(OrgView.self, from: info.body))?.name ?? org
                    return HTMLPage.render(
                        title: "Suspend \(name)?", viewer: s.viewer(),
                        body: HTMLPage.confirmation(
                            "Suspend <strong>\(name)</strong>? Its members are refused at once, everywhere, until you"
                                + " reactivate it. Nothing is deleted.", action: "/region/\(region)/suspend",
                            csrf: s.csrf, fields: form, button: "Suspend organization", cancel: "/region/\(region)"),
                        wide: true)
                }
                r = try await call(g, ctx, s, region: region, "POST", "/orgs/\(org)/\(action)")
                done = action == "suspend" ? "Organization suspended." : "Organization reactivated."
            case "owner-resend":
                r = try await call(g, ctx, s, region: region, "POST", "/orgs/\(org)/owner-invite/resend")
                done = "Invitation sent again; the earlier link no longer works."
            case "owner-link":
                let got = try await call(g, ctx, s, region: region, "GET", "/orgs/\(org)/owner-invite/link")
                guard got.status == 200, let link = try? JSONCoding.decode(InviteLink.self, from: got.body) else {
                    return try await page(
                        g, ctx, s, region: region, error: OrgAPI.error(from: got).message, status: got.status)
                }
                // Shown, not mailed: whoever opens it must still prove the address with a code sent to it.
                let body: HTML =
                    "<p>Give this link to the owner yourself. Whoever opens it must still prove the address with a"
                    + " code sent to it. It expires <span title=\"\(CivilTime.exact(link.expiresAt))\">"
                    + "\(CivilTime.until(link.expiresAt, now: g.clock.now()) ?? "soon")</span>.</p><label"
                    + " for=\"owner-link\">Invitation link</label><input id=\"owner-link\" type=\"text\" readonly"
                    + " value=\"\(link.url)\"><div class=\"actions\"><a class=\"button"
                    + " secondary\" href=\"/region/\(region)\">Back to the region</a></div>"
                return HTMLPage.render(title: "Owner's invitation link", viewer: s.viewer(), body: body, wide: true)
            case "delete":
                // The confirmation names the org (people were asked to type a name they were not shown), and a
                // wrong name shows the same form again with the reason instead of dropping it.
                let info = try await call(g, ctx, s, region: region, "GET", "/orgs/\(org)")
                guard info.status == 200, let view = try? JSONCoding.decode(OrgView.self, from: info.body) else {
                    return try await page(
                        g, ctx, s, region: region, error: OrgAPI.error(from: info).message, status: info.status)
                }
                let typed = form.value("confirmName")?.trimmingCharacters(in: .whitespaces)
                if typed != view.name {
                    var body: HTML =
                        "<p>Deleting <strong>\(view.name)</strong> (<code>\(org)</code>) removes its"
                        + " \(view.memberCount == 1 ? "1 member" : "\(view.memberCount ?? 0) members"), its"
                        + " invites, apps"
                        + " and keys. This cannot be"
                        + " undone.</p>"
                    if typed != nil {
                        body +=
                            "<p class=\"error\" role=\"alert\" id=\"confirm-error\">That is not the organization's"
                            + " name. Type <strong>\(view.name)</strong> exactly.</p>"
                    }
                    body +=
                        "<form method=\"post\" action=\"/region/\(region)/delete\"><input type=\"hidden\""
                        + " name=\"csrf\" value=\"\(s.csrf)\"><input type=\"hidden\" name=\"org\" value=\"\(org)\">"
                        + "<label for=\"confirm-name\">Type <strong>\(view.name)</strong> to confirm</label><input"
                        + " id=\"confirm-name\" name=\"confirmName\" type=\"text\" required autocomplete=\"off\""
                        + " value=\"\(typed ?? "")\"\(if: typed != nil, " aria-invalid=\"true\"")"
                        + "\(if: typed != nil, " aria-describedby=\"confirm-error\"")>"
                        + "<div class=\"actions\"><button type=\"submit\" class=\"danger\">Delete organization"
                        + "</button><a class=\"button secondary\" href=\"/region/\(region)\">Cancel</a></div>"
                        + "</form>"
                    return HTMLPage.render(
                        title: "Delete \(view.name)?", viewer: s.viewer(), body: body, status: typed == nil ? 200 : 422,
                        wide: true)
                }
                r = try await call(
                    g, ctx, s, region: region, "DELETE", "/orgs/\(org)",
                    body: DeleteBody(confirmName: form.value("confirmName") ?? ""))
                done = "Organization deleted."
            case "agency-create":
                let domains = (form.value("domains") ?? "").split(whereSeparator: { ", \t\n".contains($0) }).map(
                    String.init)
                r = try await call(
                    g, ctx, s, region: region, "POST", "/agencies",
                    body: AgencyBody(name: form.value("name") ?? "", domains: domains))
                done = "Agency registered."
            case "agency-approve", "agency-decline":
                let approve = action == "agency-approve"
                let id = form.value("request") ?? ""
                guard id.utf8.count <= 64, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    return try await page(g, ctx, s, region: region, error: "Unknown request.", status: 404)
                }
                r = try await call(
                    g, ctx, s, region: region, "POST", "/agency-requests/\(id)/\(approve ? "approve" : "decline")",
                    body: AgencyDecisionBody(reason: form.value("reason")))
                done =
                    approve
                    ? "Request approved: the agency is registered and works for the organization; the requester"
                        + " was told."
                    : "Request declined; the requester was told."
            default:
                return .redirect(to: "/region/\(region)")
            }
            guard (200..<300).contains(r.status) else {
                return try await page(g, ctx, s, region: region, error: OrgAPI.error(from: r).message, status: r.status)
            }
            var resp = Response.redirect(to: "/region/\(region)")
            resp.setCookie(Flash.set(g, done))
            return resp
        }
    }

    /// Who owns an org, as the region admin needs to know it: the owner, or whom the owner invitation waits for
    /// and until when (an expired one says so: provision again or ask the person to use a new link).
    static func ownerCell(_ owner: OwnerState?, now: Date) -> HTML {
        guard let owner else { return "<span class=\"meta\">none</span>" }
        if owner.joined { return "\(owner.email)" }
        guard let expires = owner.inviteExpiresAt, let left = CivilTime.until(expires, now: now) else {
            return "\(owner.email) <span class=\"badge expired\">Invitation expired</span>"
        }
        return "\(owner.email) <span class=\"badge pending\">Invited</span> <span class=\"meta\""
            + " title=\"\(CivilTime.exact(expires))\">expires \(left)</span>"
    }

    /// The region's agency register and the requests waiting for a decision.
    static func agencies(
        _ g: GatewayService, _ ctx: RequestContext, _ s: BrowserSession, region: String, csrf: HTML
    ) async throws -> HTML {
        let list = try await call(g, ctx, s, region: region, "GET", "/agencies")
        let pending = try await call(g, ctx, s, region: region, "GET", "/agency-requests?status=pending")
        let agencies = (try? JSONCoding.decode([AgencyView].self, from: list.body)) ?? []
        let requests = (try? JSONCoding.decode([AgencyRequestView].self, from: pending.body)) ?? []
        var h: HTML = "<h2 id=\"agencies\">Agencies</h2>"
        if !requests.isEmpty {
            h += "<h3>Requests waiting for you</h3><ul class=\"cards\" id=\"agency-requests\">"
            for r in requests {
                let hidden: HTML = "\(csrf)<input type=\"hidden\" name=\"request\" value=\"\(r.id)\">"
                h +=
                    "<li><span><strong>\(r.name)</strong> <span class=\"meta\">(\(r.domains.joined(separator: ", ")))"
                    + " for \(r.orgName), asked by \(r.requesterEmail)</span></span><span class=\"actions\"><form"
                    + " method=\"post\" action=\"/region/\(region)/agency-approve\">\(hidden)<button"
                    + " type=\"submit\">Approve</button></form><form method=\"post\""
                    + " action=\"/region/\(region)/agency-decline\" class=\"bulk\">\(hidden)<div><label"
                    + " for=\"reason-\(r.id)\">Reason (sent to them)</label><input id=\"reason-\(r.id)\""
                    + " name=\"reason\" type=\"text\"></div><div><button type=\"submit\""
                    + " class=\"secondary\">Decline</button></div></form>"
                    + "</span></li>"
            }
            h += "</ul>"
        }
        if agencies.isEmpty {
            h += "<p class=\"empty\">No agency registered yet. Register one below, or approve an org's request.</p>"
        } else {
            h +=
                "<div class=\"table-wrap\"><table id=\"region-agencies\"><thead><tr><th scope=\"col\">Agency</th><th"
                + " scope=\"col\">Domains</th><th scope=\"col\">Organizations</th></tr></thead><tbody>"
            for a in agencies {
                h +=
                    "<tr><td>\(a.name)</td><td>\(a.domains.joined(separator: ", "))</td><td>\(a.orgCount ?? 0)</td>"
                    + "</tr>"
            }
            h += "</tbody></table></div>"
        }
        h +=
            "<form method=\"post\" action=\"/region/\(region)/agency-create\" class=\"panel\">\(csrf)<h3>Register an"
            + " agency</h3><div class=\"grid2\"><div><label for=\"agency-name\">Name</label><input id=\"agency-name\""
            + " name=\"name\" type=\"text\" required></div><div><label for=\"agency-domains\">Mail domains"
            + " (comma-separated)</label><input id=\"agency-domains\" name=\"domains\" type=\"text\" required"
            + " placeholder=\"agency.example\"></div></div><div class=\"actions\"><button type=\"submit\""
            + " class=\"secondary\">Register agency</button></div></form>"
        return h
    }

    static func page(
        _ g: GatewayService, _ ctx: RequestContext, _ s: BrowserSession, region: String, error: String?,
        status: Int = 200, duplicate: (name: String, owner: String, existing: String)? = nil
    ) async throws -> Response {
        let r = try await call(g, ctx, s, region: region, "GET", "/orgs?limit=200")
        guard r.status == 200, let orgs = try? JSONCoding.decode(OrgPage.self, from: r.body) else {
            return HTMLPage.notice(
                "Not allowed", OrgAPI.error(from: r).message, action: ("Home", "/"),
                status: r.status == 200 ? 500 : r.status, viewer: s.viewer())
        }
        let csrf: HTML = "<input type=\"hidden\" name=\"csrf\" value=\"\(s.csrf)\">"
        var h: HTML = Flash.html(ctx.request.headers)
        if let error { h += "<p class=\"error\" role=\"alert\">\(error)</p>" }
        if let d = duplicate {
            h +=
                "<div class=\"notice warning\" role=\"alert\" id=\"duplicate-name\"><p>An organization named"
                + " <strong>\(d.name)</strong> already exists in this region (<code>\(d.existing)</code>)."
                + " Create another"
                + " one with the same name?</p><form method=\"post\" action=\"/region/\(region)/provision\">\(csrf)"
                + "<input type=\"hidden\" name=\"name\" value=\"\(d.name)\"><input type=\"hidden\" name=\"ownerEmail\""
                + " value=\"\(d.owner)\"><input type=\"hidden\" name=\"duplicateOK\" value=\"1\"><div"
                + " class=\"actions\">"
                + "<button type=\"submit\">Create it anyway</button><a class=\"button secondary\""
                + " href=\"/region/\(region)\">Cancel</a></div></form></div>"
        }
        // An empty region says what to do first (a new operator lands here from the setup link).
        let first = orgs.orgs.isEmpty
        h +=
            "<form method=\"post\" action=\"/region/\(region)/provision\" class=\"panel\">\(csrf)<h2>"
            + "\(first ? "Provision your first organization" : "Provision an organization")</h2>"
        if first {
            h +=
                "<p class=\"meta\">Name the organization and give its first owner's email: they get an invitation"
                + " by email and invite everyone else.</p>"
        }
        h += "<div class=\"grid2\">"
        h +=
            "<div><label for=\"org-name\">Name</label><input id=\"org-name\" name=\"name\" type=\"text\" required>"
            + "</div>"
        h +=
            "<div><label for=\"owner-email\">First owner's email</label><input id=\"owner-email\""
            + " name=\"ownerEmail\" type=\"email\" required></div></div>"
        h += "<div class=\"actions\"><button type=\"submit\">Provision</button></div></form><h2>Organizations</h2>"
        if orgs.orgs.isEmpty {
            h +=
                "<p class=\"empty\">No organizations in this region yet. Provision the first one above: name it and"
                + " give its owner's email.</p>"
        } else {
            h +=
                "<div class=\"table-wrap\"><table id=\"region-orgs\"><thead><tr><th scope=\"col\">Name</th><th"
                + " scope=\"col\">Owner</th><th scope=\"col\" class=\"opt\">ID</th><th"
                + " scope=\"col\">Members</th><th scope=\"col\">Status"
                + "</th><th scope=\"col\"><span class=\"meta\">Actions</span></th></tr></thead><tbody>"
            for o in orgs.orgs {
                let hidden: HTML = "\(csrf)<input type=\"hidden\" name=\"org\" value=\"\(o.id)\">"
                h += "<tr><td>\(o.name)</td><td>\(ownerCell(o.owner, now: g.clock.now()))</td>"
                h += "<td class=\"opt\"><code>\(o.id)</code></td><td>\(o.memberCount ?? 0)</td>"
                h +=
                    "<td><span class=\"badge"
                    + " \(o.status == .active ? "joined" : "revoked")\">\(o.status.rawValue.capitalized)</span></td><td"
                    + " class=\"actions\">"
                // While the org has no owner, the owner's invitation is the region admin's to resend or copy.
                if let owner = o.owner, !owner.joined {
                    h +=
                        "<form method=\"post\" action=\"/region/\(region)/owner-resend\">\(hidden)<button"
                        + " type=\"submit\" class=\"secondary\">Resend invitation</button></form>"
                    if owner.inviteExpiresAt.map({ $0 > g.clock.now() }) == true {
                        h +=
                            "<form method=\"post\" action=\"/region/\(region)/owner-link\">\(hidden)<button"
                            + " type=\"submit\" class=\"secondary\">Copy link</button></form>"
                    }
                }
                let toggle = o.status == .active ? "suspend" : "reactivate"
                h +=
                    "<form method=\"post\" action=\"/region/\(region)/\(toggle)\">\(hidden)<button type=\"submit\""
                    + " class=\"secondary\">\(toggle.capitalized)</button></form>"
                h +=
                    "<form method=\"post\" action=\"/region/\(region)/delete\">\(hidden)<button type=\"submit\""
                    + " class=\"secondary\">Delete…</button></form></td></tr>"
            }
            h += "</tbody></table></div>"
        }
        h += try await agencies(g, ctx, s, region: region, csrf: csrf)
        var resp = HTMLPage.render(
            title: "Region \(region.uppercased())", viewer: s.viewer(), body: h, status: status, wide: true)
        if error == nil && Flash.read(ctx.request.headers) != nil { resp.setCookie(Flash.clear(g)) }
        return resp
    }
}
