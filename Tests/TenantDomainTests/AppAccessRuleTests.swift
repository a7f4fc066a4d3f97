import TenantDomain
import Testing

/// App access rules: member (roles, app role, user variables) × rule → in, or the first reason, against a plain
/// statement of the rule written here: hold the app; one of the listed roles (if any); one of the listed app
/// roles (if any); every condition (equals: that exact value; one_of: one of them; present: set at all).
@Suite("App access rules: member × rule")
struct AppAccessRuleTests {
    struct Member: Sendable {
        let name: String
        let roles: [String]
        let appRole: AppRole?
        let vars: [String: String]
    }
    static let members = [
        Member(name: "max", roles: ["viewer"], appRole: .viewer, vars: ["team": "blue"]),
        Member(name: "mia", roles: ["manager"], appRole: .editor, vars: ["team": "Blue", "tier": "gold"]),
        Member(name: "ole", roles: ["owner"], appRole: nil, vars: [:]),
        Member(name: "ada", roles: ["member", "custom-ops"], appRole: .admin, vars: ["team": "red", "tier": ""]),
    ]
    static let rules: [(String, AppAccessRule)] = [
        ("open", AppAccessRule()),
        ("managers", AppAccessRule(roles: ["manager", "owner"])),
        ("admins of the app", AppAccessRule(appRoles: [.admin, .editor])),
        ("blue team", AppAccessRule(conditions: [.init(variable: "team", op: .equals, values: ["blue"])])),
        ("red or blue", AppAccessRule(conditions: [.init(variable: "team", op: .oneOf, values: ["red", "blue"])])),
        ("has a tier", AppAccessRule(conditions: [.init(variable: "tier", op: .present)])),
        (
            "ops with a tier",
            AppAccessRule(roles: ["custom-ops"], conditions: [.init(variable: "tier", op: .present)])
        ),
    ]

    static func expected(_ m: Member, _ r: AppAccessRule) -> String {
        guard let appRole = m.appRole else { return "no_app_access" }
        if !r.roles.isEmpty && Set(r.roles).isDisjoint(with: m.roles) { return "role_not_allowed" }
        if !r.appRoles.isEmpty && !r.appRoles.contains(appRole) { return "app_role_not_allowed" }
        for c in r.conditions {
            let v = m.vars[c.variable]
            let ok =
                switch c.op {
                case .equals: v == c.values[0]
                case .oneOf: v != nil && c.values.contains(v!)
                case .present: v != nil
                }
            if !ok { return "condition_not_met" }
        }
        return "allowed"
    }

    @Test func everyMemberAgainstEveryRule() {
        for m in Self.members {
            for (name, rule) in Self.rules {
                let got = rule.entry(
                    app: "Portal", appRole: m.appRole, roles: m.roles, roleName: { $0.capitalized }, variables: m.vars)
                #expect(got.code == Self.expected(m, rule), "\(m.name) × \(name)")
            }
        }
    }

    @Test func reasonsSayWhatToDo() {
        let viewer = AppAccessRule(roles: ["manager"]).entry(
            app: "Portal", appRole: .viewer, roles: ["viewer"], roleName: { _ in "Viewer" }, variables: [:])
        #expect(viewer.reason == "Your role Viewer may not open Portal.")
        #expect(
            AppAccessRule().entry(app: "Portal", appRole: nil, roles: [], roleName: { $0 }, variables: [:]).reason
                .contains("no access to Portal"))
    }

    @Test func badRulesAreNamed() {
        #expect(AppAccessRule(conditions: [.init(variable: "t", op: .equals, values: [])]).problem() != nil)
        #expect(AppAccessRule(conditions: [.init(variable: "t", op: .present, values: ["x"])]).problem() != nil)
        #expect(AppAccessRule(conditions: [.init(variable: "", op: .present)]).problem() != nil)
        #expect(AppAccessRule(conditions: [.init(variable: "t", op: .oneOf, values: ["a", "b"])]).problem() == nil)
    }
}
