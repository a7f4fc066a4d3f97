import Foundation
import TenantAPI
import TenantDomain
import Testing

@testable import Console

/// Roles, apps and audit pages as models, per built-in role of the viewer; the oracle is DESIGN.md's matrix:
/// owners and admins manage roles; owners, admins and managers create apps; nobody may give a custom role
/// org.delete or org.transfer.
@Suite("Console: roles, apps and audit page models")
struct OrgPageModelTests {
    static let manages: [String: (roles: Bool, apps: Bool)] = [
        "owner": (true, true), "admin": (true, true), "manager": (false, true), "member": (false, false),
        "viewer": (false, false),
    ]
    static func permissions(_ role: String) -> Set<String> { Set(Role.builtIn(role)!.permissions.map(\.rawValue)) }

    @Test(arguments: ["owner", "admin", "manager", "member", "viewer"])
    func whatEachRoleIsOffered(_ role: String) throws {
        let want = try #require(Self.manages[role])
        let roles =
            Role.builtIns.map {
                RoleView(id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: true, memberCount: 1)
            } + [RoleView(id: "role_x", name: "Auditor", permissions: [.auditView], builtIn: false, memberCount: nil)]
        let m = RolesPageModel(roles: roles, permissions: Self.permissions(role))
        #expect(m.rows.filter(\.deletable).map(\.id) == (want.roles ? ["role_x"] : []), "only custom roles, \(role)")
        #expect(
            m.rows.last
                == .init(
                    id: "role_x", name: "Auditor", custom: true, permissions: "Read the audit log", members: 0,
                    deletable: want.roles))
        #expect(!m.newRolePermissions.isEmpty == want.roles)
        #expect(!m.newRolePermissions.contains(.orgDelete) && !m.newRolePermissions.contains(.orgTransfer))
        let apps = AppsPageModel(
            apps: [AppView(id: "app_1", name: "Portal", createdAt: Date(), memberCount: nil)],
            permissions: Self.permissions(role))
        #expect(apps.canCreate == want.apps && apps.rows == [.init(id: "app_1", name: "Portal", members: 0)])
    }

    @Test func auditRowsAndFilters() {
        #expect(AuditPageModel.query(action: "", actor: "").map(\.0) == ["limit"])
        #expect(
            AuditPageModel.query(action: "member.removed", actor: "acc_1").map(\.1) == [
                "100", "member.removed", "acc_1",
            ])
        var named = AuditEventView(
            id: 2, at: Date(timeIntervalSince1970: 1_795_435_200 - 3 * 86_400), actor: "acc_2",
            action: "member.removed", target: "acc_3", summary: [:])
        named.actorName = "Ada Lovelace (ada@acme.test)"
        named.targetName = "bob@acme.test"
        let m = AuditPageModel(
            org: "org_eu_x", action: "x<y", actor: "",
            events: [
                AuditEventView(
                    id: 1, at: Date(timeIntervalSince1970: 1_795_435_200), actor: "acc_1",
                    action: "sso.legacy_keys_allowed",
                    target: "org_eu_x", summary: ["minRSABits": "1024", "by": "olga"]),
                named,
            ], now: Date(timeIntervalSince1970: 1_795_435_200 + 300))
        #expect(
            m.rows == [
                .init(
                    when: "5 minutes ago", exact: "23 Nov 2026, 12:00 UTC", action: "sso.legacy_keys_allowed",
                    target: "org_eu_x", targetID: "org_eu_x", actor: "acc_1", actorID: "acc_1",
                    details: "by=olga, minRSABits=1024"),
                .init(
                    when: "3 days ago", exact: "20 Nov 2026, 12:00 UTC", action: "member.removed",
                    target: "bob@acme.test", targetID: "acc_3", actor: "Ada Lovelace (ada@acme.test)",
                    actorID: "acc_2", details: ""),
            ])
        #expect(m.exportPath == "/api/v1/orgs/org_eu_x/audit/export")
        let html = OrgViews.audit(m, base: "/console/org_eu_x").text
        #expect(html.contains("value=\"x&lt;y\"") && html.contains("<code>sso.legacy_keys_allowed</code>"))
        #expect(html.contains("title=\"acc_2\">Ada Lovelace (ada@acme.test)</a>"))
        #expect(html.contains("<td title=\"acc_3\">bob@acme.test</td>"))
        #expect(html.contains("<span title=\"20 Nov 2026, 12:00 UTC\">3 days ago</span>"))
    }
}
