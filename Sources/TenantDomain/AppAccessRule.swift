/// Who may enter an app behind the gateway, beyond holding access to it: which org roles or app roles, and which
/// user-variable conditions must hold. User variables are an additional means of security (the product this
/// replaces uses them to limit which roles reach which portals); they compare case-sensitively, as stored.
///
/// An empty rule lets in every member holding the app. Roles and app roles are alternatives (any one listed is
/// enough); conditions must all hold.
package struct AppAccessRule: Sendable, Codable, Equatable {
    package struct Condition: Sendable, Codable, Equatable {
        package enum Op: String, Sendable, Codable, CaseIterable {
            /// The variable equals the one value.
            case equals
            /// The variable equals one of the values.
            case oneOf = "one_of"
            /// The variable is set (any value, even empty).
            case present
        }
        package var variable: String
        package var op: Op
        package var values: [String]
        package init(variable: String, op: Op, values: [String] = []) {
            self.variable = variable
            self.op = op
            self.values = values
        }
    }

    /// Org role ids, any of which lets a member in (empty: no org-role condition).
    package var roles: [String]
    /// App roles, any of which lets a member in (empty: any app role).
    package var appRoles: [AppRole]
    package var conditions: [Condition]

    package init(roles: [String] = [], appRoles: [AppRole] = [], conditions: [Condition] = []) {
        self.roles = roles
        self.appRoles = appRoles
        self.conditions = conditions
    }

    /// Checks shape: at most `ListLimits.rule…` of each, variable names as user variables allow, values present where
    /// the operator needs them; nil when fine, else what is wrong.
    package func problem() -> String? {
        if roles.count > ListLimits.ruleRoles || appRoles.count > ListLimits.ruleAppRoles
            || conditions.count > ListLimits.ruleConditions
        {
            return
                "The rule is too long: at most \(ListLimits.ruleRoles) roles, \(ListLimits.ruleAppRoles) app roles and "
                + "\(ListLimits.ruleConditions) conditions."
        }
        for c in conditions {
            if c.variable.isEmpty || c.variable.count > 64 { return "A condition needs a variable name (1–64)." }
            switch c.op {
            case .equals where c.values.count != 1: return "`equals` takes exactly one value (\(c.variable))."
            case .oneOf where c.values.isEmpty || c.values.count > ListLimits.ruleValues:
                return "`one_of` takes 1–\(ListLimits.ruleValues) values (\(c.variable))."
            case .present where !c.values.isEmpty: return "`present` takes no values (\(c.variable))."
            default: break
            }
            if c.values.contains(where: { $0.count > 256 }) { return "A value is longer than 256 characters." }
        }
        return nil
    }
}

/// Why someone may or may not enter an app, in words a person can act on.
package enum AppEntry: Sendable, Equatable {
    case allowed
    case noAccess(app: String)
    case roleNotAllowed(role: String, app: String)
    case appRoleNotAllowed(appRole: AppRole, app: String)
    case condition(variable: String, app: String)

    package var allowed: Bool { self == .allowed }

    package var reason: String {
        switch self {
        case .allowed: return "Allowed."
        case .noAccess(let app): return "You have no access to \(app). Ask an admin of the organization for it."
        case .roleNotAllowed(let role, let app): return "Your role \(role) may not open \(app)."
        case .appRoleNotAllowed(let r, let app):
            return "Your access to \(app) (\(r.rawValue)) is not enough to open it."
        case .condition(let v, let app): return "\(app) needs your user variable \(v) set differently; ask an admin."
        }
    }

    package var code: String {
        switch self {
        case .allowed: return "allowed"
        case .noAccess: return "no_app_access"
        case .roleNotAllowed: return "role_not_allowed"
        case .appRoleNotAllowed: return "app_role_not_allowed"
        case .condition: return "condition_not_met"
        }
    }
}

extension AppAccessRule {
    /// The decision for one member: they must hold the app, have a listed role or app role (when listed), and
    /// meet every condition. `roleNames` names the member's first role in the refusal.
    package func entry(
        app: String, appRole: AppRole?, roles: [String], roleName: (String) -> String, variables: [String: String]
    ) -> AppEntry {
        guard let appRole else { return .noAccess(app: app) }
        if !self.roles.isEmpty && !roles.contains(where: self.roles.contains) {
            return .roleNotAllowed(role: roles.first.map(roleName) ?? "none", app: app)
        }
        if !appRoles.isEmpty && !appRoles.contains(appRole) { return .appRoleNotAllowed(appRole: appRole, app: app) }
        for c in conditions {
            let value = variables[c.variable]
            let ok: Bool
            switch c.op {
            case .equals: ok = value != nil && value == c.values.first
            case .oneOf: ok = value.map(c.values.contains) ?? false
            case .present: ok = value != nil
            }
            if !ok { return .condition(variable: c.variable, app: app) }
        }
        return .allowed
    }
}
