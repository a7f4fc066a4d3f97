import Foundation
import GatehouseCore
import HTTP
import SAML
import TenantAPI
import TenantDomain

/// The roles page as data: each role with what the viewer may do to it, and the permissions a new custom role
/// may carry (never deleting or transferring the org: those stay with owners).
struct RolesPageModel: Equatable {
    struct Row: Equatable {
        let id: String
        let name: String
        let custom: Bool
        let permissions: String
        let members: Int
        /// A custom role, and the viewer has `roles.manage` (the region refuses a role in use, with counts).
        let deletable: Bool
    }
    let rows: [Row]
    /// Empty when the viewer may not create roles.
    let newRolePermissions: [Permission]

    static let neverCustom: Set<Permission> = [.orgDelete, .orgTransfer]

    init(roles: [RoleView], permissions: Set<String>) {
        let manage = permissions.contains(Permission.rolesManage.rawValue)
        rows = roles.map {
            Row(
                id: $0.id, name: $0.name, custom: !$0.builtIn,
                permissions: $0.permissions.sorted().map(\.summary).joined(separator: "; "),
                members: $0.memberCount ?? 0,
                deletable: !$0.builtIn && manage)
        }
        newRolePermissions = manage ? Permission.allCases.filter { !Self.neverCustom.contains($0) } : []
    }
}

/// The apps page as data.
struct AppsPageModel: Equatable {
    struct Row: Equatable {
        var id = ""
        let name: String
        let members: Int
        /// The slug it is served under, when it stands behind the gateway.
        var served: String? = nil
    }
    let rows: [Row]
    /// `apps.create`: create, rename and delete apps.
    let canCreate: Bool

    init(apps: [AppView], permissions: Set<String>) {
        rows = apps.map {
            Row(
                id: $0.id, name: $0.name, members: $0.memberCount ?? 0,
                served: $0.upstream != nil ? $0.slug : nil)
        }
        canCreate = permissions.contains(Permission.appsCreate.rawValue)
    }
}

/// The audit log page as data: the filters as given, and each event as the table shows it.
struct AuditPageModel: Equatable {
    struct Row: Equatable {
        /// `5 minutes ago`; the exact time on hover.
        let when: String
        let exact: String
        let action: String
        /// The target and the actor by name and email where the region knows them, the id on hover.
        let target: String
        let targetID: String
        let actor: String
        let actorID: String
        let details: String
    }
    let action: String
    let actor: String
    let rows: [Row]
    let exportPath: String

    /// The region API query for these filters (the newest 100 events).
    static func query(action: String, actor: String) -> [(String, String)] {
        var q = [("limit", "100")]
        if !action.isEmpty { q.append(("action", action)) }
        if !actor.isEmpty { q.append(("actor", actor)) }
        return q
    }

    init(org: String, action: String, actor: String, events: [AuditEventView], now: Date) {
        self.action = action
        self.actor = actor
        rows = events.map {
            Row(
                when: CivilTime.ago($0.at, now: now), exact: CivilTime.exact($0.at), action: $0.action,
                target: $0.targetName ?? $0.target, targetID: $0.target, actor: $0.actorName ?? $0.actor,
                actorID: $0.actor,
                details: $0.summary.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        exportPath = "/api/v1/orgs/\(org)/audit/export"
    }
}

enum OrgViews {
    static func roles(_ m: RolesPageModel, base: String, csrfField: HTML) -> HTML {
        var h: HTML =
            "<div class=\"table-wrap\"><table id=\"roles\"><thead><tr><th scope=\"col\">Role</th><th"
            + " scope=\"col\">Permissions</th><th scope=\"col\">Members</th><th scope=\"col\"><span"
            + " class=\"meta\">Actions</span></th></tr></thead><tbody>"
        for r in m.rows {
            h +=
                "<tr><td>\(r.name)\(if: r.custom, " <span class=\"badge\">Custom</span>")</td><td"
                + " class=\"meta\">\(r.permissions)</td><td>\(String(r.members))</td><td>"
            if r.deletable {
                h +=
                    "<a class=\"button secondary\" href=\"\(base)/roles/\(r.id)\">Edit</a> "
                    + "<form method=\"post\" action=\"\(base)/roles/\(r.id)/delete\""
                    + " class=\"inline\">\(csrfField)<button"
                    + " type=\"submit\" class=\"secondary\">Delete</button></form>"
            }
            h += "</td></tr>"
        }
        h += "</tbody></table></div>"
        if !m.newRolePermissions.isEmpty {
            h +=
                "<form method=\"post\" action=\"\(base)/roles\" class=\"panel\">\(csrfField)<h2>New"
                + " custom role</h2><label for=\"role-name\">Name</label><input id=\"role-name\""
                + " name=\"name\" type=\"text\" required><fieldset><legend>Permissions</legend>"
            for p in m.newRolePermissions {
                h +=
                    "<label title=\"\(p.rawValue)\"><input type=\"checkbox\" name=\"permissions\""
                    + " value=\"\(p.rawValue)\"> \(p.summary)</label>"
            }
            h += "</fieldset><div class=\"actions\"><button type=\"submit\">Create role</button></div></form>"
        }
        return h
    }

    /// A custom role's edit form: its name and its permissions as checkboxes (those it may hold ticked).
    static func editRole(
        _ role: RoleView, choices: [Permission], base: String, csrfField: HTML, error: String?
    ) -> HTML {
        var h: HTML = error.map { "<p class=\"error\" role=\"alert\" id=\"role-error\">\($0)</p>" } ?? ""
        h +=
            "<form method=\"post\" action=\"\(base)/roles/\(role.id)\" class=\"panel\">\(csrfField)<label"
            + " for=\"role-name\">Name</label><input id=\"role-name\" name=\"name\" type=\"text\" required"
            + " value=\"\(role.name)\"><fieldset><legend>Permissions</legend>"
        for p in choices {
            h +=
                "<label title=\"\(p.rawValue)\"><input type=\"checkbox\" name=\"permissions\""
                + " value=\"\(p.rawValue)\"\(if: role.permissions.contains(p), " checked")> \(p.summary)</label>"
        }
        h +=
            "</fieldset><p class=\"meta\">\(String(role.memberCount ?? 0)) member(s) hold this role; they get the new"
            + " permissions at once.</p><div class=\"actions\"><button type=\"submit\">Save role</button><a"
            + " class=\"button secondary\" href=\"\(base)/roles\">Cancel</a></div></form>"
        return h
    }

    static func apps(_ m: AppsPageModel, base: String, csrfField: HTML) -> HTML {
        var h: HTML =
            m.rows.isEmpty
            ? (m.canCreate
                ? "<p class=\"empty\">No apps yet. Create the first one below, then give members access to it.</p>"
                : "<p class=\"empty\">No apps yet. Owners and admins create them.</p>")
            : "<div class=\"table-wrap\"><table id=\"apps\"><thead><tr><th scope=\"col\">App</th><th"
                + " scope=\"col\">Members with"
                + " access</th>\(if: m.canCreate, "<th scope=\"col\">Actions</th>")</tr></thead>"
                + "<tbody>"
                + m.rows.map { r -> HTML in
                    let served: HTML = r.served.map { " <span class=\"badge joined\">/apps/\($0)/</span>" } ?? ""
                    var row: HTML =
                        "<tr><td><a href=\"\(base)/apps/\(r.id)\">\(r.name)</a>\(served)</td>"
                        + "<td>\(String(r.members))</td>"
                    if m.canCreate {
                        row +=
                            "<td class=\"actions\"><form method=\"post\" action=\"\(base)/apps/\(r.id)/rename\""
                            + " class=\"inline\">\(csrfField)<input id=\"rename-\(r.id)\" name=\"name\" type=\"text\""
                            + " required aria-label=\"New name for \(r.name)\""
                            + " value=\"\(r.name)\"><button type=\"submit\" class=\"secondary\">Rename</button></form>"
                            + "<form method=\"post\" action=\"\(base)/apps/\(r.id)/delete\""
                            + " class=\"inline\">\(csrfField)"
                            + "<button type=\"submit\" class=\"danger\">Delete…</button></form></td>"
                    }
                    return row + "</tr>"
                }.joined()
                + "</tbody></table></div>"
        if m.canCreate {
            h +=
                "<form method=\"post\" action=\"\(base)/apps\" class=\"panel\">\(csrfField)<label"
                + " for=\"app-name\">New app</label><input id=\"app-name\" name=\"name\" type=\"text\""
                + " required><div class=\"actions\"><button type=\"submit\">Create app</button></div></form>"
            h +=
                "<form method=\"post\" action=\"\(base)/apps/import\" enctype=\"multipart/form-data\""
                + " class=\"panel\">\(csrfField)<label for=\"app-file\">Import an app (a ZIP exported from another"
                + " organization)</label><input id=\"app-file\" name=\"file\" type=\"file\" accept=\".zip\""
                + " required><div class=\"actions\"><button type=\"submit\" class=\"secondary\">Import app</button>"
                + "</div></form>"
        }
        return h
    }

    static func audit(_ m: AuditPageModel, base: String) -> HTML {
        var h: HTML =
            "<form class=\"filters\" method=\"get\" action=\"\(base)/audit\"><div><label"
            + " for=\"audit-action\">Action</label><input id=\"audit-action\" name=\"action\""
            + " type=\"text\" value=\"\(m.action)\" placeholder=\"e.g. member.removed\"></div>"
            + "<div><label for=\"audit-actor\">Actor (account id; or pick a name below)</label><input"
            + " id=\"audit-actor\""
            + " name=\"actor\" type=\"text\" value=\"\(m.actor)\"></div><div><button type=\"submit\""
            + " class=\"secondary\">Filter</button></div></form>"
        if m.rows.isEmpty {
            h +=
                m.action.isEmpty && m.actor.isEmpty
                ? "<p class=\"empty\">Nothing recorded yet. Every change to members, roles, apps, keys and SSO will"
                    + " be listed here.</p>"
                : "<p class=\"empty\">No events match these filters. <a href=\"\(base)/audit\">Show all</a></p>"
        } else {
            h +=
                "<div class=\"table-wrap\"><table id=\"audit\"><thead><tr><th scope=\"col\">When</th>"
                + "<th scope=\"col\">Action</th><th scope=\"col\">Target</th><th scope=\"col\""
                + " class=\"opt\">Actor</th><th scope=\"col\" class=\"opt\">Details</th></tr></thead><tbody>"
            for r in m.rows {
                h +=
                    "<tr><td><span title=\"\(r.exact)\">\(r.when)</span></td><td><code>"
                    + "\(r.action)</code></td><td title=\"\(r.targetID)\">\(r.target)</td><td class=\"opt\"><a"
                    + " href=\"\(base)/audit?actor=\(FormDecoding.percentEncode(r.actorID))\" title=\"\(r.actorID)\">"
                    + "\(r.actor)</a></td><td class=\"opt meta\">\(r.details)</td></tr>"
            }
            h += "</tbody></table></div>"
        }
        h += "<p><a href=\"\(m.exportPath)\">Export as JSON lines</a></p>"
        return h
    }
}
