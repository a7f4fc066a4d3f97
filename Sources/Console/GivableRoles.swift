import TenantAPI
import TenantDomain

extension Array where Element == RoleView {
    /// The roles a viewer holding `permissions` may give (rule 1, the grant ceiling: the region's own check), so a
    /// form offers nothing the region would refuse.
    func givable(by permissions: Set<String>) -> [RoleView] {
        let viewer = Rules.Actor(accountID: "", permissions: PermissionSet(permissions.compactMap(Permission.init)))
        return filter {
            Rules.grantCeiling(
                viewer, roles: [Role(id: $0.id, name: $0.name, permissions: Set($0.permissions), builtIn: $0.builtIn)]
            ).isAllowed
        }
    }
}

extension RoleView {
    /// What holding the role lets someone do, in one line, next to its checkbox: the built-ins in words, a custom
    /// role by its permissions.
    var summary: String {
        if builtIn {
            switch id {
            case "owner": return "Everything, including deleting the organization and transferring ownership"
            case "admin": return "Everything except deleting or transferring the organization"
            case "manager": return "Invites, edits and removes members; creates apps and gives access to them"
            case "member": return "Uses the organization's apps and changes their data"
            case "viewer": return "Sees the organization and its members"
            default: break
            }
        }
        return permissions.isEmpty ? "No permissions" : permissions.sorted().map(\.summary).joined(separator: "; ")
    }
}
