import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain

/// The member edit panel as data: the fields, whether they can be changed, the app grants and what may be done
/// with them, all decided from the member, the org's roles and apps, and the viewer's permissions. The page
/// (`MemberPanelView`) only renders it; tests assert on this value.
struct MemberPanelModel: Equatable {
    struct Grant: Equatable {
        let app: String
        let label: String
        /// The viewer may revoke it (`apps.grant`).
        let revocable: Bool
    }

    let memberID: String
    let name: String
    let email: String
    let joined: String
    let firstName: String
    let lastName: String
    /// `members.edit`: the form's fields are enabled and it has a Save button.
    let editable: Bool
    let roles: [Choice]
    struct Variable: Equatable {
        let key: String
        let value: String
    }
    /// Existing variables, plus two blank rows to add more when editable.
    let variables: [Variable]
    let startingPages: [Choice]
    let ssoOnly: Bool
    let grants: [Grant]
    /// Apps that may be granted here (`apps.grant`, and the org has apps).
    let grantable: [Choice]
    let appRoles: [Choice]
    let error: String?
    /// `members.remove`: the panel offers removal (confirmed on the next page).
    let removable: Bool
    /// Why the panel is read-only although the viewer's role edits members: rank protection (rule 2) — the member
    /// holds permissions the viewer lacks, so the region would refuse every change.
    let readOnlyReason: String?

    init(member m: MemberView, roles: [RoleView], apps: [AppView], permissions: Set<String>, error: String?) {
        let may = { (p: Permission) in permissions.contains(p.rawValue) }
        memberID = m.id
        name = MembersPage.name(m)
        email = m.email
        joined = CivilTime.short(m.joinedAt)
        firstName = m.firstName
        lastName = m.lastName
        // Rule 2 as the region applies it: the member's permissions must be a subset of the viewer's.
        let theirs = Set(roles.filter { m.roles.contains($0.id) }.flatMap(\.permissions).map(\.rawValue))
        let outranked = !theirs.isSubset(of: permissions)
        readOnlyReason =
            outranked && (may(.membersEdit) || may(.membersRemove) || may(.appsGrant))
            ? "\(MembersPage.name(m)) holds permissions your roles do not"
                + " (\(HTMLPage.roleNames(m.roles, catalog: roles))), so you cannot change or remove them."
                + " Ask an owner or admin who holds at least those." : nil
        editable = may(.membersEdit) && !outranked
        removable = may(.membersRemove) && !outranked
        // The roles the viewer may give, and those the member holds (kept as they are when saved).
        let givable = Set(roles.givable(by: permissions).map(\.id))
        self.roles = roles.filter { givable.contains($0.id) || m.roles.contains($0.id) }.map {
            Choice(value: $0.id, label: $0.name, selected: m.roles.contains($0.id), detail: $0.summary)
        }
        variables =
            m.userVariables.sorted { $0.key < $1.key }.map { Variable(key: $0.key, value: $0.value) }
            + (may(.membersEdit) ? [Variable(key: "", value: ""), Variable(key: "", value: "")] : [])
        startingPages = StartingPage.allCases.map {
            Choice(value: $0.rawValue, label: MembersPage.startingPageName($0), selected: $0 == m.startingPage)
        }
        ssoOnly = m.ssoOnly
        let canGrant = may(.appsGrant) && !outranked
        let names = Dictionary(apps.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        grants = m.apps.map {
            Grant(
                app: $0.app, label: "\(names[$0.app] ?? $0.app) — \($0.role.rawValue.capitalized)", revocable: canGrant)
        }
        grantable = canGrant ? apps.map { Choice(value: $0.id, label: $0.name, selected: false) } : []
        appRoles = AppRole.allCases.map {
            Choice(value: $0.rawValue, label: $0.rawValue.capitalized, selected: $0 == .viewer)
        }
        self.error = error
    }
}

enum MemberPanelView {
    static func render(_ m: MemberPanelModel, base: String, csrfField: HTML) -> HTML {
        let dis: HTML = m.editable ? "" : " disabled"
        var h: HTML =
            "<p><a href=\"\(base)/members\">← Members</a></p><section class=\"panel\""
            + " aria-labelledby=\"panel-title\"><h2 id=\"panel-title\">\(m.name)</h2>"
        h += "<p class=\"meta\">\(m.email) · joined \(m.joined)</p>"
        if let error = m.error { h += "<p class=\"error\" role=\"alert\" id=\"form-error\">\(error)</p>" }
        if let why = m.readOnlyReason { h += "<p class=\"notice warning\" id=\"read-only-reason\">\(why)</p>" }
        h += "<form method=\"post\" action=\"\(base)/members/\(m.memberID)\">\(csrfField)<div class=\"grid2\">"
        h +=
            "<div><label for=\"firstName\">First name</label><input id=\"firstName\" name=\"firstName\""
            + " type=\"text\" value=\"\(m.firstName)\"\(dis)></div>"
        h +=
            "<div><label for=\"lastName\">Last name</label><input id=\"lastName\" name=\"lastName\" type=\"text\""
            + " value=\"\(m.lastName)\"\(dis)></div></div>"
        h += "<fieldset class=\"choices\"><legend>Roles</legend>"
        for (i, r) in m.roles.enumerated() {
            h +=
                "<label><input type=\"checkbox\" name=\"roles\" value=\"\(r.value)\"\(if: r.selected, " checked")"
                + "\(dis) aria-describedby=\"role-d-\(i)\"> <span><strong>\(r.label)</strong><span class=\"meta\""
                + " id=\"role-d-\(i)\">\(r.detail)</span></span></label>"
        }
        h += "</fieldset><fieldset><legend>User variables</legend><div class=\"kv\">"
        for (i, v) in m.variables.enumerated() {
            h +=
                "<div><label for=\"var-key-\(String(i))\">Name</label><input id=\"var-key-\(String(i))\""
                + " name=\"varKey\" type=\"text\" value=\"\(v.key)\"\(dis)></div>"
            h +=
                "<div><label for=\"var-value-\(String(i))\">Value</label><input id=\"var-value-\(String(i))\""
                + " name=\"varValue\" type=\"text\" value=\"\(v.value)\"\(dis)></div>"
        }
        h +=
            "</div></fieldset><div class=\"grid2\"><div><label for=\"startingPage\">Starting page</label><select"
            + " id=\"startingPage\" name=\"startingPage\"\(dis)>"
        for p in m.startingPages {
            h += "<option value=\"\(p.value)\"\(if: p.selected, " selected")>\(p.label)</option>"
        }
        h +=
            "</select></div><fieldset class=\"plain\"><legend>Sign-in</legend><label class=\"inline\"><input"
            + " id=\"ssoOnly\" type=\"checkbox\" name=\"ssoOnly\" value=\"1\"\(if: m.ssoOnly, " checked")\(dis)> SSO only"
            + "</label></fieldset></div>"
        if m.editable { h += "<div class=\"actions\"><button type=\"submit\">Save changes</button></div>" }
        h += "</form><h3>Apps</h3>"
        if m.grants.isEmpty {
            h +=
                "<p class=\"empty\">No app access.\(if: !m.grantable.isEmpty, " Grant an app below to let them in.")"
                + "</p>"
        } else {
            h += "<ul id=\"member-apps\">"
            for g in m.grants {
                h += "<li>\(g.label)"
                if g.revocable {
                    h +=
                        " <form class=\"inline-form\" method=\"post\""
                        + " action=\"\(base)/members/\(m.memberID)/apps\">\(csrfField)<input type=\"hidden\""
                        + " name=\"app\" value=\"\(g.app)\"><input type=\"hidden\" name=\"appRole\""
                        + " value=\"none\"><button type=\"submit\" class=\"link\">Revoke</button></form>"
                }
                h += "</li>"
            }
            h += "</ul>"
        }
        if !m.grantable.isEmpty {
            h +=
                "<form class=\"bulk\" method=\"post\" action=\"\(base)/members/\(m.memberID)/apps\">\(csrfField)<div>"
                + "<label for=\"grant-app\">App</label><select id=\"grant-app\" name=\"app\">"
            for a in m.grantable { h += "<option value=\"\(a.value)\">\(a.label)</option>" }
            h +=
                "</select></div><div><label for=\"grant-role\">App role</label><select id=\"grant-role\""
                + " name=\"appRole\">"
            for r in m.appRoles {
                h += "<option value=\"\(r.value)\"\(if: r.selected, " selected")>\(r.label)</option>"
            }
            h += "</select></div><div><button type=\"submit\" class=\"secondary\">Grant access</button></div></form>"
        }
        if m.removable {
            // The bulk confirmation names the person first; the region refuses what rank protection forbids.
            h +=
                "<form method=\"post\" action=\"\(base)/members/bulk\" id=\"remove-member\">\(csrfField)<input"
                + " type=\"hidden\" name=\"action\" value=\"remove\"><input type=\"hidden\" name=\"member\""
                + " value=\"\(m.memberID)\"><div class=\"actions\"><button type=\"submit\" class=\"danger\">Remove from"
                + " the organization…</button></div></form>"
        }
        h += "</section>"
        return h
    }
}
