import Foundation
import TenantAPI
import TenantDomain
import Testing

@testable import Console

/// The member edit panel as a model, per built-in role of the viewer. The oracle is DESIGN.md's matrix written
/// out here: owner, admin and manager edit members, grant apps and remove members; member and viewer only look.
@Suite("Console: the member panel model")
struct MemberPanelModelTests {
    static let oracle: [String: (edits: Bool, grants: Bool, removes: Bool)] = [
        "owner": (true, true, true), "admin": (true, true, true), "manager": (true, true, true),
        "member": (false, false, false), "viewer": (false, false, false),
    ]
    static let member = MemberView(
        id: "acc_1", email: "ada@x.test", firstName: "Ada", lastName: "<Lovelace>", roles: ["member"],
        userVariables: ["team": "core", "dept": "R&D"], startingPage: .portal, ssoOnly: true,
        apps: [AppGrant(app: "app_1", role: .editor), AppGrant(app: "app_gone", role: .viewer)], appCount: 2,
        joinedAt: Date(timeIntervalSince1970: 1_790_000_000), lastActive: nil)
    static let apps = [AppView(id: "app_1", name: "Portal", createdAt: Date(), memberCount: 1)]
    static let roles = Role.builtIns.map {
        RoleView(id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: true, memberCount: 0)
    }

    static func model(_ role: String, apps: [AppView] = apps) -> MemberPanelModel {
        MemberPanelModel(
            member: member, roles: roles, apps: apps, permissions: Set(Role.builtIn(role)!.permissions.map(\.rawValue)),
            error: nil)
    }

    @Test(arguments: ["owner", "admin", "manager", "member", "viewer"])
    func whatEachRoleIsOffered(_ role: String) throws {
        let want = try #require(Self.oracle[role])
        let m = Self.model(role)
        #expect(m.editable == want.edits, "\(role)")
        #expect(m.removable == want.removes, "\(role)")
        #expect(m.grants.allSatisfy { $0.revocable == want.grants })
        #expect(m.grantable.map(\.value) == (want.grants ? ["app_1"] : []))
        #expect(Self.model(role, apps: []).grantable.isEmpty, "no apps, nothing to grant")
        // Variables sorted, and two blank rows to add more only when the form can be saved.
        #expect(m.variables.map(\.key) == ["dept", "team"] + (want.edits ? ["", ""] : []))
        #expect(m.roles.filter(\.selected).map(\.value) == ["member"])
        #expect(m.startingPages.filter(\.selected).map(\.value) == ["portal"])
        #expect(m.grants.map(\.label) == ["Portal — Editor", "app_gone — Viewer"], "an unknown app shows its id")
    }

    /// Rank protection (rule 2) as the panel shows it: each viewer role × each target role, against the matrix's
    /// ranks written out here (a target outranks the viewer when it holds a permission the viewer lacks).
    @Test(arguments: ["owner", "admin", "manager", "member", "viewer"])
    func outrankedMembersAreReadOnlyWithTheReason(_ viewer: String) {
        let rank = ["owner": 4, "admin": 3, "manager": 2, "member": 1, "viewer": 0]
        let canChange = Self.oracle[viewer]!.edits
        for target in ["owner", "admin", "manager", "member", "viewer"] {
            let m = MemberView(
                id: "acc_1", email: "ada@x.test", firstName: "Ada", lastName: "L", roles: [target], userVariables: [:],
                startingPage: .portal, ssoOnly: false, apps: [AppGrant(app: "app_1", role: .editor)], appCount: 1,
                joinedAt: Date(timeIntervalSince1970: 1_790_000_000), lastActive: nil)
            let model = MemberPanelModel(
                member: m, roles: Self.roles, apps: Self.apps,
                permissions: Set(Role.builtIn(viewer)!.permissions.map(\.rawValue)), error: nil)
            // `member` holds data.edit, which a viewer lacks; viewer and member cannot change anyone anyway.
            let outranked = rank[target]! > rank[viewer]!
            #expect(model.editable == (canChange && !outranked), "\(viewer) → \(target)")
            #expect(model.removable == (canChange && !outranked), "\(viewer) → \(target)")
            #expect(model.grantable.isEmpty == !(canChange && !outranked), "\(viewer) → \(target)")
            #expect(model.grants.allSatisfy { $0.revocable == (canChange && !outranked) }, "\(viewer) → \(target)")
            #expect((model.readOnlyReason != nil) == (canChange && outranked), "\(viewer) → \(target)")
            if canChange && outranked {
                let html = MemberPanelView.render(model, base: "/console/org_eu_x", csrfField: "").text
                #expect(html.contains("id=\"read-only-reason\"") && html.contains("cannot change or remove"))
                #expect(!html.contains("Save changes") && !html.contains("Remove from"))
            }
        }
    }

    @Test func oneRenderingCheck() {
        let html = MemberPanelView.render(Self.model("viewer"), base: "/console/org_eu_x", csrfField: "").text
        #expect(html.contains("value=\"&lt;Lovelace&gt;\" disabled") && !html.contains("<Lovelace>"))
        #expect(!html.contains("Save changes") && !html.contains("Revoke") && !html.contains("Grant access"))
        let admin = MemberPanelView.render(Self.model("admin"), base: "/console/org_eu_x", csrfField: "").text
        #expect(admin.contains("Save changes") && admin.contains("Revoke") && admin.contains("Grant access"))
        #expect(admin.contains("value=\"R&amp;D\""))
    }
}
