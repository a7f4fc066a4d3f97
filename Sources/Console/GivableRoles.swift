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
