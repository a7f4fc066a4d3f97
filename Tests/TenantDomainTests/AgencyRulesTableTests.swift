import TenantDomain
import Testing

/// Agency actor × target × action, against a statement of the agency limits written out here independently of
/// `AgencyRules`: staff follow the ordinary matrix (managers and up grant apps to anyone they do not rank below);
/// an agency person sees only their agency, gives only apps they hold, up to their own app role, only to other
/// people of their agency, and never changes roles or invites outside their agency's domains.
@Suite("Agency rules: actor × target × action")
struct AgencyRulesTableTests {
    /// People of one org. Agency A works on app "web" and "ads"; agency B on "web".
    struct Person: Sendable {
        let id: String
        let role: String
        let agency: String?
        let apps: [String: AppRole]
    }

    static let people: [Person] = [
        Person(id: "admin", role: "admin", agency: nil, apps: [:]),
        Person(id: "manager", role: "manager", agency: nil, apps: [:]),
        Person(id: "viewer", role: "viewer", agency: nil, apps: [:]),
        Person(id: "ann", role: "member", agency: "agy_a", apps: ["web": .editor, "ads": .admin]),
        Person(id: "abe", role: "member", agency: "agy_a", apps: ["web": .viewer]),
        Person(id: "bob", role: "member", agency: "agy_b", apps: ["web": .admin]),
    ]
    static let domains = ["agy_a": ["a-agency.test"], "agy_b": ["b-agency.test"]]

    enum Action: CustomStringConvertible, Sendable {
        case see
        case grant(String, AppRole)
        case revoke(String)
        case changeRoles
        case invite(email: String, agency: String, apps: [String], role: AppRole)

        var description: String {
            switch self {
            case .see: return "see"
            case .grant(let app, let r): return "grant \(app) \(r.rawValue)"
            case .revoke(let app): return "revoke \(app)"
            case .changeRoles: return "change roles"
            case .invite(let e, let agency, let apps, let r): return "invite \(e) (\(agency)) to \(apps) as \(r)"
            }
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let actor: Person
        let target: Person
        let action: Action
        var testDescription: String { "\(actor.id) \(action) \(target.id)" }
    }

    static let actions: [Action] = [
        .see, .grant("web", .viewer), .grant("web", .editor), .grant("web", .admin), .grant("ads", .viewer),
        .grant("crm", .viewer), .revoke("web"), .changeRoles,
        .invite(email: "new@a-agency.test", agency: "agy_a", apps: ["web"], role: .viewer),
        .invite(email: "new@a-agency.test", agency: "agy_a", apps: ["web"], role: .admin),
        .invite(email: "new@elsewhere.test", agency: "agy_a", apps: ["web"], role: .viewer),
        .invite(email: "new@b-agency.test", agency: "agy_b", apps: ["web"], role: .viewer),
    ]

    static let cases: [Case] = people.flatMap { a in
        people.flatMap { t in actions.map { Case(actor: a, target: t, action: $0) } }
    }

    static let rank: [AppRole: Int] = [.viewer: 0, .editor: 1, .admin: 2]
    static let staffRank = ["viewer": 0, "member": 1, "manager": 2, "admin": 3, "owner": 4]

    /// The oracle: nil for allowed, else the refusal code.
    static func expected(_ c: Case) -> String? {
        let (a, t) = (c.actor, c.target)
        let staff = a.agency == nil
        // Seeing: everyone holds members.view here; agency people see their own agency only.
        let seen = staff || a.agency == t.agency
        switch c.action {
        case .see:
            return seen ? nil : "not_found"
        case .changeRoles:
            return staff ? nil : "agency_limits"
        case .grant(let app, let role):
            if staff {
                guard ["admin", "manager", "owner"].contains(a.role) else { return "forbidden" }
                if a.id == t.id { return "cannot_change_yourself" }
                return staffRank[t.role]! > staffRank[a.role]! ? "member_outranks_you" : nil
            }
            if !seen { return "not_found" }
            if a.id == t.id { return "cannot_change_yourself" }
            guard let mine = a.apps[app] else { return "app_not_yours" }
            return rank[role]! > rank[mine]! ? "app_role_above_yours" : nil
        case .revoke(let app):
            if staff {
                guard ["admin", "manager", "owner"].contains(a.role) else { return "forbidden" }
                if a.id == t.id { return "cannot_change_yourself" }
                return staffRank[t.role]! > staffRank[a.role]! ? "member_outranks_you" : nil
            }
            if !seen { return "not_found" }
            guard let theirs = t.apps[app] else { return nil }
            if a.id == t.id { return "cannot_change_yourself" }
            guard let mine = a.apps[app] else { return "app_not_yours" }
            return rank[theirs]! > rank[mine]! ? "app_role_above_yours" : nil
        case .invite(let email, let agency, let apps, let role):
            if staff { return ["admin", "manager", "owner"].contains(a.role) ? nil : "forbidden" }
            if agency != a.agency { return "not_your_agency" }
            if !(domains[agency] ?? []).contains(String(email.split(separator: "@").last!)) {
                return "outside_your_agency"
            }
            for app in apps {
                guard let mine = a.apps[app] else { return "app_not_yours" }
                if rank[role]! > rank[mine]! { return "app_role_above_yours" }
            }
            return nil
        }
    }

    static func actor(_ p: Person) -> AgencyRules.Actor {
        AgencyRules.Actor(
            Rules.Actor(accountID: p.id, permissions: Role.builtIn(p.role)!.permissions), agency: p.agency, apps: p.apps
        )
    }

    static func target(_ p: Person) -> AgencyRules.Target {
        AgencyRules.Target(
            accountID: p.id, agency: p.agency, permissions: Role.builtIn(p.role)!.permissions, apps: p.apps)
    }

    @Test(arguments: cases)
    func decision(_ c: Case) {
        let (a, t) = (Self.actor(c.actor), Self.target(c.target))
        let got: String?
        switch c.action {
        case .see: got = AgencyRules.sees(a, t) ? nil : "not_found"
        case .grant(let app, let role): got = AgencyRules.grantApp(a, t, app: app, role: role).refusal?.code
        case .revoke(let app): got = AgencyRules.revokeApp(a, t, app: app).refusal?.code
        case .changeRoles: got = AgencyRules.staffOnly(a).refusal?.code
        case .invite(let email, let agency, let apps, let role):
            got =
                AgencyRules.agencyInvite(
                    a, agency: agency, agencyDomains: Self.domains[agency] ?? [], email: email, apps: apps, role: role
                ).refusal?.code
        }
        #expect(got == Self.expected(c))
    }

    /// Refusals to people an agency person cannot see are the same 404 as an unknown id.
    @Test func unseenPeopleAnswerLikeUnknownIDs() {
        let ann = Self.actor(Self.people[3])
        let bob = Self.target(Self.people[5])
        for d in [
            AgencyRules.grantApp(ann, bob, app: "web", role: .viewer), AgencyRules.revokeApp(ann, bob, app: "web"),
        ] {
            #expect(d.refusal?.status == 404 && d.refusal?.message == "No such member.")
        }
    }
}
