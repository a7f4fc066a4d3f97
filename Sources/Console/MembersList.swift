import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain

/// The members list as data: what the page shows and what it offers, built from the region's answers and the
/// viewer's permissions. The page (`MembersListView`) only renders it; tests assert on this value.
struct MembersListModel {
    enum BulkAction: String, CaseIterable {
        case copyEmails = "copy_emails"
        case changeRoles = "change_roles"
        case grantApp = "grant_app"
        case revokeApp = "revoke_app"
        case remove

        var label: String {
            switch self {
            case .copyEmails: return "Copy emails"
            case .changeRoles: return "Change role"
            case .grantApp: return "Grant app"
            case .revokeApp: return "Revoke app"
            case .remove: return "Remove from organization"
            }
        }
    }

    struct Option: Equatable {
        let value: String
        let label: String
    }

    struct Row: Equatable {
        let id: String
        let name: String
        let email: String
        let ssoOnly: Bool
        var deactivated = false
        let roles: String
        let roleIDs: [String]
        let appCount: Int
        /// `5 minutes ago`, `Never`; the exact time on hover.
        let lastActive: String
        var lastActiveExact = ""
        /// "View as" is offered: the viewer may, and holds every permission this member has (the console refuses
        /// the others, so the link is not shown).
        var viewable = false
    }

    struct InvitedRow: Equatable {
        let email: String
        let roles: String
        let status: InviteStatus
        let invitedBy: String
    }

    /// What the body shows below the filters.
    enum Content: Equatable {
        case members([Row], more: Bool)
        case invited([InvitedRow], status: String)
        case empty(String)
    }

    let here: String
    let base: String
    let query: MemberListQuery
    let invitation: String
    let roleOptions: [Option]
    let content: Content
    let readOnly: Bool
    /// Row links: "Edit" or "View", and whether "View as" is offered.
    let editLabel: String
    let canViewAs: Bool
    /// The bulk form (absent when read-only): the actions this viewer may take, and their choices.
    let bulkActions: [BulkAction]
    let bulkRoles: [Option]
    let bulkApps: [Option]
    let firstPage: String?
    let nextPage: String?

    init(
        query: MemberListQuery, invitation: String, page: MemberPage?, invites: [InviteView]?, roles: [RoleView],
        apps: [AppView],
        permissions: Set<String>, readOnly: Bool, canViewAs: Bool, base: String, here: String, now: Date = Date()
    ) {
        self.query = query
        self.invitation = invitation
        self.base = base
        self.here = here
        self.readOnly = readOnly
        self.canViewAs = canViewAs
        roleOptions = roles.map { Option(value: $0.id, label: $0.name) }
        let may = { (p: Permission) in !readOnly && permissions.contains(p.rawValue) }
        editLabel = may(.membersEdit) ? "Edit" : "View"
        var actions: [BulkAction] = readOnly ? [] : [.copyEmails]
        if may(.membersEdit) { actions.append(.changeRoles) }
        if may(.appsGrant) && !apps.isEmpty { actions += [.grantApp, .revokeApp] }
        if may(.membersRemove) { actions.append(.remove) }
        bulkActions = actions
        // Only roles the viewer may give (the region refuses the others); ownership moves by transfer.
        bulkRoles =
            may(.membersEdit)
            ? roles.givable(by: permissions).filter { $0.id != "owner" }.map { Option(value: $0.id, label: $0.name) }
            : []
        bulkApps = may(.appsGrant) ? apps.map { Option(value: $0.id, label: $0.name) } : []
        if let invites {
            // People invited but not (yet) members: the invites with that status, matching the search and role.
            let (q, role) = (query.q, query.role)
            let rows = invites.filter { i in
                (q.isEmpty || i.email.localizedCaseInsensitiveContains(q)
                    || "\(i.firstName) \(i.lastName)".localizedCaseInsensitiveContains(q))
                    && (role.isEmpty || i.roles.contains(role))
            }.map {
                InvitedRow(
                    email: $0.email, roles: HTMLPage.roleNames($0.roles, catalog: roles), status: $0.status,
                    invitedBy: $0.inviterName)
            }
            content = rows.isEmpty ? .empty("Nobody with this invitation status.") : .invited(rows, status: invitation)
            firstPage = nil
            nextPage = nil
        } else if let page, !page.members.isEmpty {
            content = .members(
                page.members.map { m in
                    let theirs = Set(roles.filter { m.roles.contains($0.id) }.flatMap(\.permissions).map(\.rawValue))
                    return Row(
                        id: m.id, name: MembersPage.name(m), email: m.email, ssoOnly: m.ssoOnly,
                        deactivated: m.deactivated == true, roles: HTMLPage.roleNames(m.roles, catalog: roles),
                        roleIDs: m.roles, appCount: m.appCount,
                        lastActive: m.lastActive.map { CivilTime.ago($0, now: now) } ?? "Never",
                        lastActiveExact: m.lastActive.map { CivilTime.exact($0) } ?? "",
                        viewable: canViewAs && theirs.isSubset(of: permissions))
                }, more: page.nextCursor != nil)
            firstPage = query.cursor != nil ? query.href(here, cursor: nil) : nil
            nextPage = page.nextCursor.map { query.href(here, cursor: $0) }
        } else {
            content = .empty(
                query.q.isEmpty && query.role.isEmpty && query.status.isEmpty
                    ? "No members yet. Invite people from the Invites tab." : "No members match these filters.")
            firstPage = nil
            nextPage = nil
        }
    }
}

/// The members list page, a pure function of its model.
enum MembersListView {
    static func render(_ m: MembersListModel, csrfField: HTML) -> HTML {
        var h = filters(m)
        switch m.content {
        case .empty(let text):
            h += "<p class=\"empty\">\(text)</p>"
        case .invited(let rows, let status):
            h += table(
                id: "invited", columns: ["Email", "Roles", "Status", "Invited by"], optional: [3],
                rows: rows.map {
                    [
                        "\($0.email)", "\($0.roles)",
                        "<span class=\"badge \($0.status.rawValue)\">\($0.status.rawValue.capitalized)</span>",
                        "\($0.invitedBy)",
                    ]
                })
            h += "<p><a href=\"\(m.base)/invites?status=\(status)\">Resend or revoke on the Invites tab</a></p>"
        case .members(let rows, let more):
            h += members(m, rows, more: more, csrfField: csrfField)
        }
        return h
    }

    static func select(_ id: String, name: String, _ options: [MembersListModel.Option], selected: String?) -> HTML {
        let items: [HTML] = options.map {
            "<option value=\"\($0.value)\"\(if: $0.value == selected, " selected")>\($0.label)</option>"
        }
        return "<select id=\"\(id)\" name=\"\(name)\">\(items)</select>"
    }

    static func field(_ id: String, _ label: String, _ control: HTML, for actions: [String] = []) -> HTML {
        let only: HTML = actions.isEmpty ? "" : " data-for=\"\(actions.joined(separator: " "))\""
        return "<div\(only)><label for=\"\(id)\">\(label)</label>\(control)</div>"
    }

    /// A table with a header row; `optional` columns hide on phones.
    static func table(id: String, columns: [String], optional: Set<Int> = [], rows: [[HTML]]) -> HTML {
        let head: [HTML] = columns.enumerated().map {
            "<th scope=\"col\"\(if: optional.contains($0.offset), " class=\"opt\"")>\($0.element)</th>"
        }
        let body: [HTML] = rows.map { cells in
            let tds: [HTML] = cells.enumerated().map {
                "<td\(if: optional.contains($0.offset), " class=\"opt\"")>\($0.element)</td>"
            }
            return "<tr>\(tds)</tr>"
        }
        return
            "<div class=\"table-wrap\"><table id=\"\(id)\"><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>"
    }

    static func filters(_ m: MembersListModel) -> HTML {
        typealias O = MembersListModel.Option
        let q = m.query
        var h: HTML = "<form class=\"filters\" method=\"get\" action=\"\(m.here)\" role=\"search\">"
        h += field(
            "q", "Search", "<input id=\"q\" name=\"q\" type=\"search\" value=\"\(q.q)\" placeholder=\"Name or email\">")
        h += field(
            "role", "Role",
            select("role", name: "role", [O(value: "", label: "Any role")] + m.roleOptions, selected: q.role))
        h += field(
            "status", "Activity",
            select(
                "status", name: "status",
                [
                    O(value: "", label: "Anyone"), O(value: "active", label: "Active (30 days)"),
                    O(value: "inactive", label: "Inactive"),
                    O(value: "never", label: "Never signed in"),
                ], selected: q.status))
        h += field(
            "invitation", "Invitation",
            select(
                "invitation", name: "invitation",
                [
                    O(value: "", label: "Joined"), O(value: "pending", label: "Invited, pending"),
                    O(value: "expired", label: "Invite expired"), O(value: "revoked", label: "Invite revoked"),
                ], selected: m.invitation))
        h += field(
            "sort", "Sort by",
            select(
                "sort", name: "sort",
                [
                    O(value: "name", label: "Name"), O(value: "apps", label: "Number of apps"),
                    O(value: "last_active", label: "Last active"),
                ],
                selected: q.sort))
        h += field(
            "order", "Order",
            select(
                "order", name: "order", [O(value: "asc", label: "Ascending"), O(value: "desc", label: "Descending")],
                selected: q.order))
        h += "<div><button type=\"submit\">Apply</button></div></form>"
        return h
    }

    static func members(_ m: MembersListModel, _ rows: [MembersListModel.Row], more: Bool, csrfField: HTML) -> HTML {
        let selectable = !m.readOnly
        var h: HTML = ""
        if selectable {
            h += "<form method=\"post\" action=\"\(m.base)/members/bulk\" id=\"members-form\">\(csrfField)"
        }
        h +=
            "<div class=\"table-wrap\"><table id=\"members\"><caption class=\"meta\">\(rows.count)"
            + " shown\(if: more, ", more on the next page")\(if: selectable, "<span id=\"sel-label\" hidden>Select</span>")"
            + "</caption><thead><tr>"
        if selectable {
            h +=
                "<th class=\"check\"><input type=\"checkbox\" data-select-all=\"member\" aria-label=\"Select all on"
                + " this page\" hidden></th>"
        }
        h +=
            "<th scope=\"col\">Name</th><th scope=\"col\" class=\"opt\">Email</th><th scope=\"col\">Roles</th><th"
            + " scope=\"col\" class=\"opt\">Apps</th><th scope=\"col\" class=\"opt\">Last active</th>"
        if !m.readOnly { h += "<th scope=\"col\"><span class=\"meta\">Actions</span></th>" }
        h += "</tr></thead><tbody>"
        for r in rows {
            h += "<tr>"
            if selectable {
                h  // Named "Select <name>" by one shared label and the row's name: the row checkboxes are one group
                // (they share a name) without wrapping the table in an ARIA group.
                +=
                    "<td class=\"check\"><input type=\"checkbox\" name=\"member\" value=\"\(r.id)\""
                    + " id=\"sel-\(r.id)\" aria-labelledby=\"sel-label name-\(r.id)\"></td>"
            }
            let deactivated: HTML =
                " <span class=\"badge\" title=\"Deactivated by the organization's directory (SCIM): cannot sign in to"
                + " this organization\">Deactivated</span>"
            h +=
                "<td><span id=\"name-\(r.id)\">\(r.name)</span>"
                + "\(if: r.ssoOnly, " <span class=\"badge\">SSO only</span>")\(r.deactivated ? deactivated : "")"
                + "<span class=\"meta"
                + " m-only\">\(r.email)</span></td><td class=\"opt\">\(r.email)</td>"
            h +=
                "<td>\(r.roles)</td><td class=\"opt\">\(r.appCount)</td><td"
                + " class=\"opt\"\(if: !r.lastActiveExact.isEmpty, " title=\"\(r.lastActiveExact)\"")>"
                + "\(r.lastActive)</td>"
            if !m.readOnly {
                h += "<td><a href=\"\(m.base)/members/\(r.id)\">\(m.editLabel)</a>"
                if r.viewable { h += " · <a href=\"\(m.base)/view-as/\(r.id)\">View as</a>" }
                // In the row: the role at once (one member, reversible), removal through its confirmation. Not for
                // owners: ownership changes hands through a transfer, and the last owner is never removed.
                if selectable, m.bulkActions.contains(.changeRoles), !m.bulkRoles.isEmpty, !r.roleIDs.contains("owner")
                {
                    let current = r.roleIDs.count == 1 ? r.roleIDs[0] : nil
                    h +=
                        "<div class=\"row-role\"><select name=\"role-\(r.id)\" aria-label=\"Role of \(r.name)\">"
                    if current == nil { h += "<option value=\"\" selected>Choose…</option>" }
                    for o in m.bulkRoles {
                        h += "<option value=\"\(o.value)\"\(if: o.value == current, " selected")>\(o.label)</option>"
                    }
                    h +=
                        "</select><button type=\"submit\" class=\"secondary\" name=\"row-role\" value=\"\(r.id)\""
                        + " aria-label=\"Change the role of \(r.name)\">Change</button></div>"
                }
                if selectable, m.bulkActions.contains(.remove), !r.roleIDs.contains("owner") {
                    h +=
                        "<div><button type=\"submit\" class=\"link danger\" name=\"row-remove\" value=\"\(r.id)\""
                        + " aria-label=\"Remove \(r.name)…\">Remove…</button></div>"
                }
                h += "</td>"
            }
            h += "</tr>"
        }
        h += "</tbody></table></div>"
        if selectable {
            let actions = m.bulkActions.map { MembersListModel.Option(value: $0.rawValue, label: $0.label) }
            h += "<div class=\"bulk\" aria-label=\"With the selected members\">"
            h += field("bulk-action", "With selected", select("bulk-action", name: "action", actions, selected: nil))
            if !m.bulkRoles.isEmpty {
                h += field(
                    "bulk-role", "New role", select("bulk-role", name: "role", m.bulkRoles, selected: nil),
                    for: ["change_roles"])
            }
            if m.bulkActions.contains(.grantApp) {
                h += field(
                    "bulk-app", "App", select("bulk-app", name: "app", m.bulkApps, selected: nil),
                    for: ["grant_app", "revoke_app"])
                let appRoles = AppRole.allCases.map {
                    MembersListModel.Option(value: $0.rawValue, label: $0.rawValue.capitalized)
                }
                h += field(
                    "bulk-app-role", "App role", select("bulk-app-role", name: "appRole", appRoles, selected: nil),
                    for: ["grant_app"])
            }
            h += "<div><button type=\"submit\">Continue…</button></div></div></form>"
        }
        h += "<nav class=\"pager\" aria-label=\"Pages\">"
        if let first = m.firstPage { h += "<a href=\"\(first)\">First page</a>" }
        if let next = m.nextPage { h += "<a href=\"\(next)\" rel=\"next\">Next page</a>" }
        h += "</nav>"
        return h
    }
}
