import Foundation
import GatehouseCore
import TenantAPI
import TenantDomain
import Testing

@testable import Console

/// The invites page as a model: per viewer role × invite status, which actions are offered. The oracle, written
/// out: with `members.invite` (owner, admin, manager) a pending invite can be resent, copied and revoked, an
/// expired one resent, a joined, revoked or declined one nothing; without it nothing, and no "Invite people" form.
@Suite("Console: the invites page model")
struct InvitesPageModelTests {
    static let inviters: Set<String> = ["owner", "admin", "manager"]
    static func oracle(_ role: String, _ status: InviteStatus) -> [InvitesPageModel.Action] {
        guard inviters.contains(role) else { return [] }
        switch status {
        case .pending: return [.resend, .copyLink, .revoke]
        case .expired: return [.resend]
        case .joined, .revoked, .declined: return []
        }
    }

    static func invite(_ status: InviteStatus) -> InviteView {
        InviteView(
            id: "inv_\(status.rawValue)", orgID: "org_eu_x", email: "\(status.rawValue)@x.test", roles: ["member"],
            ssoOnly: status == .pending, firstName: "", lastName: "", userVariables: [:], startingPage: .studio,
            apps: [], inviterID: "acc_o", inviterName: "Olga <O>", status: status, version: 1, createdAt: Date(),
            expiresAt: Date(timeIntervalSince1970: 1_790_000_000))
    }

    @Test(arguments: ["owner", "admin", "manager", "member", "viewer"])
    func actionsFollowRoleAndStatus(_ role: String) {
        let m = InvitesPageModel(
            invites: InviteStatus.allCases.map(Self.invite), filter: nil,
            roles: [RoleView(id: "member", name: "Member", permissions: [], builtIn: true)], apps: [],
            permissions: Set(Role.builtIn(role)!.permissions.map(\.rawValue)), values: [:], error: nil)
        for (row, status) in zip(m.rows, InviteStatus.allCases) {
            #expect(row.status == status && row.actions == Self.oracle(role, status), "\(role) × \(status)")
        }
        #expect((m.form != nil) == Self.inviters.contains(role))
        #expect(m.form?.apps.isEmpty ?? true, "no apps, no app choice")
    }

    /// The invite form offers only roles the viewer may give (rule 1's grant ceiling); the oracle is DESIGN.md's
    /// matrix: owners give every role, admins all but owner, managers manager and below.
    @Test(arguments: [
        ("owner", ["owner", "admin", "manager", "member", "viewer", "custom-auditor"]),
        ("admin", ["admin", "manager", "member", "viewer", "custom-auditor"]),
        ("manager", ["manager", "member", "viewer"]),
    ])
    func theFormOffersOnlyGivableRoles(_ role: String, _ offered: [String]) {
        let roles =
            Role.builtIns.map {
                RoleView(id: $0.id, name: $0.name, permissions: $0.permissions.sorted(), builtIn: true)
            } + [RoleView(id: "custom-auditor", name: "Auditor", permissions: [.auditView], builtIn: false)]
        let m = InvitesPageModel(
            invites: [], filter: nil, roles: roles, apps: [],
            permissions: Set(Role.builtIn(role)!.permissions.map(\.rawValue)), values: [:], error: nil)
        #expect(m.form?.roles.map(\.value) == offered, "\(role)")
    }

    /// Expiry reads as a person says it, with the exact time on hover, and only where it still matters.
    @Test func expiryIsRelativeAndOnlyOnLiveInvites() {
        let now = Date(timeIntervalSince1970: 1_790_000_000 - 2 * 86_400 - 3600)
        let m = InvitesPageModel(
            invites: InviteStatus.allCases.map(Self.invite), filter: nil, roles: [], apps: [], permissions: [],
            values: [:], error: nil, now: now)
        for row in m.rows {
            switch row.status {
            case .pending, .expired:
                #expect(
                    row.expires == "in 2 days"
                        && row.expiresExact == CivilTime.exact(Date(timeIntervalSince1970: 1_790_000_000)))
            case .joined, .revoked, .declined:
                #expect(row.expires.isEmpty && row.expiresExact.isEmpty, "\(row.status)")
            }
        }
        let later = InvitesPageModel(
            invites: [Self.invite(.pending)], filter: nil, roles: [], apps: [], permissions: [], values: [:],
            error: nil, now: Date(timeIntervalSince1970: 1_790_000_001))
        #expect(later.rows.first?.expires == "expired")
        let table: [(TimeInterval, String?)] = [
            (-1, nil), (0, nil), (30, "in 1 minute"), (59 * 60, "in 59 minutes"), (3600, "in 1 hour"),
            (47 * 3600 + 3599, "in 47 hours"), (48 * 3600, "in 2 days"), (7 * 86_400, "in 7 days"),
        ]
        for (ahead, words) in table {
            #expect(CivilTime.until(now.addingTimeInterval(ahead), now: now) == words, "\(ahead) s")
        }
        #expect(CivilTime.exact(Date(timeIntervalSince1970: 1_790_000_000)) == "21 Sep 2026, 14:13 UTC")
        // And how long ago, rounded down; past a month, the date.
        let ago: [(TimeInterval, String)] = [
            (0, "just now"), (59, "just now"), (60, "1 minute ago"), (3599, "59 minutes ago"), (3600, "1 hour ago"),
            (47 * 3600 + 3599, "47 hours ago"), (48 * 3600, "2 days ago"), (30 * 86_400, "30 days ago"),
            (31 * 86_400, CivilTime.short(now.addingTimeInterval(-31 * 86_400))),
        ]
        for (back, words) in ago {
            #expect(CivilTime.ago(now.addingTimeInterval(-back), now: now) == words, "\(back) s")
        }
    }

    @Test func filterComesFromTheQueryValueOnly() {
        #expect(InvitesPageModel.filter("joined") == "joined")
        #expect(InvitesPageModel.filter("declined") == "declined")
        #expect(InvitesPageModel.filter("bogus") == nil && InvitesPageModel.filter(nil) == nil)
        let m = InvitesPageModel(
            invites: [], filter: "expired", roles: [], apps: [], permissions: [], values: [:], error: nil)
        #expect(m.filterOptions.filter(\.selected).map(\.value) == ["expired"])
        #expect(m.empty == "No invites with this status.")
        let html = InvitesView.render(
            InvitesPageModel(
                invites: [Self.invite(.pending)], filter: nil, roles: [], apps: [],
                permissions: [Permission.membersInvite.rawValue], values: ["emails": "a@x.test <b>"],
                error: "bad <one>"),
            base: "/console/org_eu_x", csrfField: ""
        ).text
        #expect(html.contains("a@x.test &lt;b&gt;</textarea>") && html.contains("bad &lt;one&gt;"))
        #expect(html.contains("Olga &lt;O&gt;") && html.contains("/invites/inv_pending/link"))
    }
}
