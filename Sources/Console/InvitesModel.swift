import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain

/// The invites page as data: the "Invite people" form (only for `members.invite`), the status filter, and each
/// invite with the actions its status allows the viewer. `InvitesView` only renders it; tests assert on this.
struct InvitesPageModel: Equatable {
    struct Form: Equatable {
        let emails: String
        let error: String?
        let roles: [Choice]
        let startingPages: [Choice]
        /// Empty when the org has no apps.
        let apps: [Choice]
        let appRoles: [Choice]
    }
    enum Action: String, Equatable, CaseIterable {
        case resend, copyLink, revoke
    }
    struct Row: Equatable {
        let id: String
        let email: String
        let ssoOnly: Bool
        let roles: String
        let status: InviteStatus
        let invitedBy: String
        /// `in 2 days` for a live invite (`expired` past it), nothing once joined, revoked or declined.
        let expires: String
        /// The exact time, shown on hover; empty when there is no expiry to show.
        let expiresExact: String
        let actions: [Action]
    }

    static let statuses = ["pending", "joined", "expired", "revoked", "declined"]

    let form: Form?
    /// For someone who may not invite: who may (owners and admins, by name and email).
    let askWhom: [String]
    let filter: String?
    let filterOptions: [Choice]
    let rows: [Row]
    let empty: String

    /// The status filter from the query value (anything else is no filter).
    static func filter(_ query: String?) -> String? { statuses.contains(query ?? "") ? query : nil }

    init(
        invites: [InviteView], filter: String?, roles: [RoleView], apps: [AppView], permissions: Set<String>,
        values: [String: String], error: String?, now: Date = Date(), askWhom: [String] = []
    ) {
        let invite = permissions.contains(Permission.membersInvite.rawValue)
        // Only roles the viewer may give: the form offers nothing it refuses.
        let givable = roles.givable(by: permissions)
        form =
            invite
            ? Form(
                emails: values["emails"] ?? "", error: error,
                roles: givable.map {
                    Choice(
                        value: $0.id, label: $0.name, selected: $0.id == (values["role"] ?? "member"),
                        detail: $0.summary)
                },
                startingPages: StartingPage.allCases.map {
                    Choice(value: $0.rawValue, label: MembersPage.startingPageName($0), selected: $0 == .studio)
                },
                apps: apps.map { Choice(value: $0.id, label: $0.name, selected: false) },
                appRoles: AppRole.allCases.map {
                    Choice(value: $0.rawValue, label: $0.rawValue.capitalized, selected: $0 == .viewer)
                }) : nil
        self.askWhom = invite ? [] : askWhom
        self.filter = filter
        filterOptions =
            [("", "All")].map { Choice(value: $0.0, label: $0.1, selected: filter == nil) }
            + Self.statuses.map { Choice(value: $0, label: $0.capitalized, selected: $0 == filter) }
        rows = invites.map { i in
            var actions: [Action] = []
            if invite && (i.status == .pending || i.status == .expired) { actions.append(.resend) }
            if invite && i.status == .pending { actions += [.copyLink, .revoke] }
            let live = i.status == .pending || i.status == .expired
            return Row(
                id: i.id, email: i.email, ssoOnly: i.ssoOnly, roles: HTMLPage.roleNames(i.roles, catalog: roles),
                status: i.status,
                invitedBy: i.inviterName,
                expires: live ? CivilTime.until(i.expiresAt, now: now) ?? "expired" : "",
                expiresExact: live ? CivilTime.exact(i.expiresAt) : "", actions: actions)
        }
        empty =
            filter != nil
            ? "No invites with this status."
            : invite ? "No invites yet. Paste addresses in the form above to invite people." : "No invites yet."
    }
}

enum InvitesView {
    static func render(_ m: InvitesPageModel, base: String, csrfField: HTML) -> HTML {
        var h: HTML = ""
        if m.form == nil {
            let who: HTML =
                m.askWhom.isEmpty
                ? "an owner or admin of this organization"
                : m.askWhom.map { "<strong>\($0)</strong>" }.joined(separator: ", ")
            h +=
                "<p class=\"notice\" id=\"ask-to-invite\">Your role does not invite people. To invite someone,"
                + " ask \(who).</p>"
        }
        if let f = m.form {
            h += "<details class=\"panel\" open><summary><strong>Invite people</strong></summary>"
            h += "<form method=\"post\" action=\"\(base)/invites\" id=\"invite-form\">\(csrfField)"
            h +=
                "<label for=\"emails\">Email addresses</label><textarea id=\"emails\" name=\"emails\" rows=\"4\""
                + " required aria-describedby=\"emails-help\(if: f.error != nil, " emails-error")\">\(f.emails)</textarea>"
            h +=
                "<p class=\"meta\" id=\"emails-help\">Paste a list: one per line, or separated by commas or"
                + " semicolons. \"Name &lt;email&gt;\" works too.</p>"
            if let error = f.error { h += "<p class=\"field-error\" role=\"alert\" id=\"emails-error\">\(error)</p>" }
            h +=
                "<div class=\"grid2\">\(checkboxes(f.roles, name: "roles", id: "invite-roles", legend: "Roles"))<div>"
                + "<label for=\"invite-start\">Starting page</label><select id=\"invite-start\""
                + " name=\"startingPage\">\(options(f.startingPages))</select><label class=\"inline\"><input"
                + " type=\"checkbox\" name=\"ssoOnly\" value=\"1\"> SSO only (they must sign in through the"
                + " organization's SSO)</label></div></div>"
            h +=
                "<div class=\"grid2\"><div><label for=\"invite-first\">First name (optional)</label><input"
                + " id=\"invite-first\" name=\"firstName\" type=\"text\"></div><div><label for=\"invite-last\">Last"
                + " name (optional)</label><input id=\"invite-last\" name=\"lastName\" type=\"text\"></div></div>"
            h += "<fieldset><legend>User variables (optional)</legend><div class=\"kv\">"
            for i in 0..<3 {
                h +=
                    "<div><label for=\"iv-key-\(String(i))\">Name</label><input id=\"iv-key-\(String(i))\""
                    + " name=\"varKey\" type=\"text\"></div><div><label for=\"iv-value-\(String(i))\">Value</label>"
                    + "<input id=\"iv-value-\(String(i))\" name=\"varValue\" type=\"text\"></div>"
            }
            h += "</div></fieldset>"
            if !f.apps.isEmpty {
                // The app checkboxes are one group (their own fieldset); the one app role for all stands beside it.
                h += "<fieldset id=\"invite-apps\"><legend>App access (optional)</legend>"
                for (i, a) in f.apps.enumerated() {
                    h +=
                        "<label for=\"invite-app-\(String(i))\"><input id=\"invite-app-\(String(i))\" type=\"checkbox\""
                        + " name=\"app\" value=\"\(a.value)\"> \(a.label)</label>"
                }
                h +=
                    "</fieldset><label for=\"invite-app-role\">App role (one for all the apps ticked)</label><select"
                    + " id=\"invite-app-role\" name=\"appRole\">\(options(f.appRoles))</select>"
            }
            h += "<div class=\"actions\"><button type=\"submit\">Send invites</button></div></form></details>"
        }
        h +=
            "<form class=\"filters\" method=\"get\" action=\"\(base)/invites\"><div><label for=\"invite-status\">"
            + "Status</label><select id=\"invite-status\" name=\"status\">\(options(m.filterOptions))</select></div>"
            + "<div><button type=\"submit\" class=\"secondary\">Filter</button></div></form>"
        guard !m.rows.isEmpty else { return h + "<p class=\"empty\">\(m.empty)</p>" }
        h +=
            "<div class=\"table-wrap\"><table id=\"invites\"><thead><tr><th scope=\"col\">Email</th><th"
            + " scope=\"col\">Roles</th><th scope=\"col\">Status</th><th scope=\"col\" class=\"opt\">Invited"
            + " by</th><th scope=\"col\" class=\"opt\">Expires</th><th scope=\"col\"><span"
            + " class=\"meta\">Actions</span></th></tr></thead><tbody>"
        for r in m.rows {
            h +=
                "<tr><td>\(r.email)\(if: r.ssoOnly, " <span class=\"badge\">SSO only</span>")</td><td>\(r.roles)</td>"
                + "<td><span class=\"badge \(r.status.rawValue)\">\(r.status.rawValue.capitalized)</span></td><td"
                + " class=\"opt\">\(r.invitedBy)</td><td"
                + " class=\"opt\"\(if: !r.expiresExact.isEmpty, " title=\"\(r.expiresExact)\"")>\(r.expires)</td>"
                + "<td class=\"actions\">"
            for a in r.actions {
                switch a {
                case .resend:
                    h +=
                        "<form method=\"post\" action=\"\(base)/invites/\(r.id)/resend\">\(csrfField)<button"
                        + " type=\"submit\" class=\"secondary\">Resend</button></form>"
                case .copyLink:
                    h += "<a class=\"button secondary\" href=\"\(base)/invites/\(r.id)/link\">Copy link</a>"
                case .revoke:
                    h +=
                        "<form method=\"post\" action=\"\(base)/invites/\(r.id)/revoke\">\(csrfField)<button"
                        + " type=\"submit\" class=\"secondary\">Revoke</button></form>"
                }
            }
            h += "</td></tr>"
        }
        return h + "</tbody></table></div>"
    }

    /// Choices as checkboxes, each with its one-line description (roles: what they let someone do).
    static func checkboxes(_ choices: [Choice], name: String, id: String, legend: String) -> HTML {
        var h: HTML = "<fieldset class=\"choices\" id=\"\(id)\"><legend>\(legend)</legend>"
        for (i, c) in choices.enumerated() {
            let box = "\(id)-\(i)"
            let detail: HTML = c.detail.isEmpty ? "" : "<span class=\"meta\" id=\"\(box)-d\">\(c.detail)</span>"
            h +=
                "<label for=\"\(box)\"><input id=\"\(box)\" type=\"checkbox\" name=\"\(name)\" value=\"\(c.value)\""
                + "\(if: c.selected, " checked")\(if: !c.detail.isEmpty, " aria-describedby=\"\(box)-d\"")>"
                + " <span><strong>\(c.label)</strong>\(detail)</span></label>"
        }
        return h + "</fieldset>"
    }

    static func options(_ choices: [Choice]) -> HTML {
        choices.map { c -> HTML in "<option value=\"\(c.value)\"\(if: c.selected, " selected")>\(c.label)</option>" }
            .joined()
    }
}
