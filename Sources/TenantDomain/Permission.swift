/// One permission of DESIGN.md's matrix. Raw values are the wire names.
package enum Permission: String, Sendable, CaseIterable, Codable, Comparable {
    case orgView = "org.view"
    case membersView = "members.view"
    case orgRename = "org.rename"
    case orgDelete = "org.delete"
    case orgTransfer = "org.transfer"
    case membersInvite = "members.invite"
    case membersEdit = "members.edit"
    case membersRemove = "members.remove"
    case appsCreate = "apps.create"
    case appsGrant = "apps.grant"
    case apikeysCreate = "apikeys.create"
    case ssoManage = "sso.manage"
    case rolesManage = "roles.manage"
    case auditView = "audit.view"
    case dataEdit = "data.edit"

    package static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }

    /// What the permission lets someone do, in one plain line (the console shows this, never the raw name).
    package var summary: String {
        switch self {
        case .orgView: "See the organization, its apps and roles"
        case .membersView: "See members and invitations"
        case .orgRename: "Rename the organization"
        case .orgDelete: "Delete the organization"
        case .orgTransfer: "Transfer ownership"
        case .membersInvite: "Invite people"
        case .membersEdit: "Edit members' names, roles and settings"
        case .membersRemove: "Remove members"
        case .appsCreate: "Create, rename and delete apps"
        case .appsGrant: "Give and take away app access"
        case .apikeysCreate: "Create API keys"
        case .ssoManage: "Set up single sign-on"
        case .rolesManage: "Create and edit custom roles"
        case .auditView: "Read the audit log"
        case .dataEdit: "Change data in the org's apps"
        }
    }
}

package typealias PermissionSet = Set<Permission>

/// A role: built-in (owner, admin, manager, member, viewer) or custom to one org. A member may hold several;
/// their effective permissions are the union.
package struct Role: Sendable, Hashable, Codable {
    package let id: String
    package var name: String
    package var permissions: PermissionSet
    package let builtIn: Bool

    package init(id: String, name: String, permissions: PermissionSet, builtIn: Bool) {
        self.id = id
        self.name = name
        self.permissions = permissions
        self.builtIn = builtIn
    }

    static let viewing: PermissionSet = [.orgView, .membersView]
    static let managing: PermissionSet = [.membersInvite, .membersEdit, .membersRemove, .appsCreate, .appsGrant]

    package static let owner = Role(id: "owner", name: "Owner", permissions: Set(Permission.allCases), builtIn: true)
    package static let admin = Role(
        id: "admin", name: "Admin",
        permissions: Set(Permission.allCases).subtracting([.orgDelete, .orgTransfer]), builtIn: true)
    package static let manager = Role(
        id: "manager", name: "Manager", permissions: viewing.union(managing).union([.dataEdit]), builtIn: true)
    package static let member = Role(
        id: "member", name: "Member", permissions: viewing.union([.dataEdit]), builtIn: true)
    package static let viewer = Role(id: "viewer", name: "Viewer", permissions: viewing, builtIn: true)

    package static let builtIns: [Role] = [owner, admin, manager, member, viewer]

    package static func builtIn(_ id: String) -> Role? { builtIns.first { $0.id == id } }
}

/// The roles an org knows: built-ins plus its custom roles.
package struct RoleCatalog: Sendable {
    package let custom: [Role]
    package init(custom: [Role]) { self.custom = custom }

    package func role(_ id: String) -> Role? { Role.builtIn(id) ?? custom.first { $0.id == id } }

    package var all: [Role] { Role.builtIns + custom }

    /// The union of the permissions of `roleIDs` (unknown ids contribute nothing).
    package func permissions(of roleIDs: [String]) -> PermissionSet {
        if roleIDs.count == 1 { return role(roleIDs[0])?.permissions ?? [] }
        return roleIDs.reduce(into: PermissionSet()) { acc, id in acc.formUnion(role(id)?.permissions ?? []) }
    }
}
