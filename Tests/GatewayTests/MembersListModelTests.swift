import Foundation
import HTTP
import TenantAPI
import TenantDomain
import Testing
import Web

@testable import Console

/// The members list as a model: what each built-in role is offered, decided without rendering. The oracle is
/// DESIGN.md's matrix: owner, admin and manager edit, remove and grant apps; member and viewer only copy emails;
/// "view as" (read-only) offers nothing.
@Suite("Console: the members list model")
struct MembersListModelTests {
    static let roles = ["owner", "admin", "manager", "member", "viewer"]

    static func model(
        role: String, readOnly: Bool = false,
        apps: [AppView] = [AppView(id: "app_1", name: "Portal", createdAt: Date(), memberCount: 0)]
    )
        -> MembersListModel
    {
        let ctx = RequestContext(
            request: Request(
                method: "GET", target: "/console/org_eu_aaaaaaaaaaaaaaaa/members?q=ada&sort=apps&cursor=c1"))
        let member = MemberView(
            id: "acc_1", email: "ada@x.test", firstName: "Ada", lastName: "", roles: ["member"], userVariables: [:],
            startingPage: .studio, ssoOnly: true, apps: [], appCount: 2, joinedAt: Date(), lastActive: nil)
        return MembersListModel(
            query: MemberListQuery(ctx), invitation: "", page: MemberPage(members: [member], nextCursor: "c2"),
            invites: nil,
            roles: Role.builtIns.map {
                RoleView(id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: true, memberCount: 0)
            },
            apps: apps, permissions: Set(Role.builtIn(role)!.permissions.map(\.rawValue)), readOnly: readOnly,
            canViewAs: true,
            base: "/console/org_eu_aaaaaaaaaaaaaaaa", here: "/console/org_eu_aaaaaaaaaaaaaaaa/members")
    }

    @Test(arguments: roles)
    func bulkActionsFollowTheMatrix(_ role: String) {
        let manages = ["owner", "admin", "manager"].contains(role)
        let expected: [MembersListModel.BulkAction] =
            manages ? [.copyEmails, .changeRoles, .grantApp, .revokeApp, .remove] : [.copyEmails]
        let m = Self.model(role: role)
        #expect(m.bulkActions == expected, "\(role)")
        #expect(m.editLabel == (manages ? "Edit" : "View"))
        #expect(m.bulkRoles.map(\.value).contains("owner") == false, "owner is never a bulk target role")
        #expect(Self.model(role: role, readOnly: true).bulkActions.isEmpty, "view as offers nothing")
        #expect(!Self.model(role: role, apps: []).bulkActions.contains(.grantApp), "no apps, no app actions")
    }

    /// Forms offer only roles within the viewer's grant ceiling. Oracle, written apart from `Rules`: a role may be
    /// given by whoever holds every permission it carries.
    @Test(arguments: roles)
    func roleListsStayWithinTheViewersCeiling(_ role: String) {
        let mine = Set(Role.builtIn(role)!.permissions)
        let givable = Role.builtIns.filter { Set($0.permissions).isSubset(of: mine) }.map(\.id)
        let m = Self.model(role: role)
        if !m.bulkRoles.isEmpty {
            #expect(m.bulkRoles.map(\.value) == givable.filter { $0 != "owner" }, "\(role)")
        }
        // The member panel: those, and the roles the member already holds (Ada is a member).
        let panel = MemberPanelModel(
            member: MemberView(
                id: "acc_1", email: "ada@x.test", firstName: "Ada", lastName: "", roles: ["member"], userVariables: [:],
                startingPage: .studio, ssoOnly: false, apps: [], appCount: 0, joinedAt: Date(), lastActive: nil),
            roles: Role.builtIns.map {
                RoleView(id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: true, memberCount: 0)
            }, apps: [], permissions: Set(mine.map(\.rawValue)), error: nil)
        #expect(panel.roles.map(\.value) == Role.builtIns.map(\.id).filter { givable.contains($0) || $0 == "member" })
    }

    /// No raw identifiers: a custom role shows by its name from the org's catalog, and where a page has no catalog
    /// (the account overview) its id made readable; built-in roles by their names.
    @Test func rolesShowByNameNeverById() {
        let night = RoleView(id: "custom-night-shift", name: "Night shift (EU)", permissions: [], builtIn: false)
        #expect(HTMLPage.roleNames(["custom-night-shift", "viewer"], catalog: [night]) == "Night shift (EU), Viewer")
        #expect(HTMLPage.roleNames(["custom-night-shift"]) == "Night shift")
        let ctx = RequestContext(request: Request(method: "GET", target: "/console/org_eu_aaaaaaaaaaaaaaaa/members"))
        let member = MemberView(
            id: "acc_1", email: "ada@x.test", firstName: "Ada", lastName: "", roles: ["custom-night-shift"],
            userVariables: [:], startingPage: .studio, ssoOnly: false, apps: [], appCount: 0, joinedAt: Date(),
            lastActive: nil)
        let m = MembersListModel(
            query: MemberListQuery(ctx), invitation: "", page: MemberPage(members: [member], nextCursor: nil),
            invites: nil, roles: [night], apps: [], permissions: [], readOnly: false, canViewAs: false,
            base: "/console/org_eu_aaaaaaaaaaaaaaaa", here: "/console/org_eu_aaaaaaaaaaaaaaaa/members")
        guard case .members(let rows, _) = m.content else {
            Issue.record("no member rows")
            return
        }
        #expect(rows.first?.roles == "Night shift (EU)")
        #expect(!MembersListView.render(m, csrfField: "").text.contains(">custom-night-shift<"))
    }

    /// "View as" is offered on a row only when the viewer holds every permission of that member (Ada is a Member:
    /// owner, admin, manager and member hold all of hers; a viewer lacks data.edit).
    @Test(arguments: [("owner", true), ("admin", true), ("manager", true), ("member", true), ("viewer", false)])
    func viewAsOnlyForMembersTheViewerDoesNotOutrank(_ role: String, _ offered: Bool) {
        guard case .members(let rows, _) = Self.model(role: role).content else {
            Issue.record("no member rows")
            return
        }
        #expect(rows.first?.viewable == offered, "\(role)")
        #expect(
            MembersListView.render(Self.model(role: role), csrfField: "").text.contains("/view-as/acc_1") == offered)
    }

    @Test func rowsAndPagerComeFromTheQueryValue() {
        let m = Self.model(role: "admin")
        guard case .members(let rows, let more) = m.content else {
            Issue.record("no member rows")
            return
        }
        #expect(
            rows == [
                .init(
                    id: "acc_1", name: "Ada", email: "ada@x.test", ssoOnly: true, roles: "Member", roleIDs: ["member"],
                    appCount: 2,
                    lastActive: "Never", viewable: true)
            ])
        #expect(more)
        #expect(m.firstPage == "/console/org_eu_aaaaaaaaaaaaaaaa/members?limit=50&sort=apps&order=asc&q=ada")
        #expect(m.nextPage == "/console/org_eu_aaaaaaaaaaaaaaaa/members?limit=50&sort=apps&order=asc&q=ada&cursor=c2")
        // One rendering check: the view shows what the model says, escaped.
        let html = MembersListView.render(m, csrfField: "").text
        #expect(
            html.contains("<option value=\"remove\">Remove from organization</option>") && html.contains("rel=\"next\"")
        )
    }
}
