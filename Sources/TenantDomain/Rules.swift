/// The rules every write obeys (DESIGN.md, "Rules every write obeys"), as pure functions over values.
/// The region evaluates them inside its write transaction with the rows it just read; tests drive them as
/// tables with no database.
package enum Rules {
    /// Who is acting, as the region sees them in one org.
    package struct Actor: Sendable, Equatable {
        package let accountID: String
        package let permissions: PermissionSet
        package init(accountID: String, permissions: PermissionSet) {
            self.accountID = accountID
            self.permissions = permissions
        }
    }

    /// The actor must hold `permission`.
    package static func requires(_ permission: Permission, _ actor: Actor) -> Decision {
        actor.permissions.contains(permission) ? .allow : .refuse(.missing(permission))
    }

    /// Rule 1, grant ceiling: only roles whose permissions are a subset of the actor's own may be assigned or removed.
    package static func grantCeiling(_ actor: Actor, roles: [Role]) -> Decision {
        for role in roles where !role.permissions.isSubset(of: actor.permissions) { return .refuse(.roleAboveYou) }
        return .allow
    }

    /// Rule 2, rank protection: a member may be changed or removed only if their permissions are a subset of the actor's.
    package static func rankProtection(_ actor: Actor, target: PermissionSet) -> Decision {
        target.isSubset(of: actor.permissions) ? .allow : .refuse(.memberOutranksYou)
    }

    /// Rule 3, not yourself: nobody changes their own roles or removes themselves through the admin API.
    package static func notYourself(_ actor: Actor, targetAccountID: String) -> Decision {
        actor.accountID == targetAccountID ? .refuse(.notYourself) : .allow
    }

    /// Rule 4, always an owner: the number of owners after the change must stay above zero.
    package static func alwaysAnOwner(ownersAfter: Int) -> Decision {
        ownersAfter > 0 ? .allow : .refuse(.lastOwner)
    }

    /// Rule 8, invite bound to its email (case-insensitive; the address is the identity proof).
    package static func inviteEmailMatches(inviteEmail: String, accountEmail: String) -> Decision {
        Email.normalize(inviteEmail) == Email.normalize(accountEmail) ? .allow : .refuse(.wrongEmail)
    }

    /// A role change of one member: rules 3, 2, 1 (both for roles added and removed) and 4.
    package static func changeRoles(
        _ actor: Actor, targetAccountID: String, targetPermissions: PermissionSet,
        from old: [Role], to new: [Role], ownersAfter: Int
    ) -> Decision {
        if new.isEmpty { return .refuse(.noRoles) }
        let added = new.filter { n in !old.contains { $0.id == n.id } }
        let removed = old.filter { o in !new.contains { $0.id == o.id } }
        return .all(
            requires(.membersEdit, actor),
            notYourself(actor, targetAccountID: targetAccountID),
            rankProtection(actor, target: targetPermissions),
            grantCeiling(actor, roles: added + removed),
            alwaysAnOwner(ownersAfter: ownersAfter))
    }

    /// An edit of a member's other fields (names, variables, starting URL, SSO-only): rules 2 and 3.
    /// Editing yourself is refused too: SSO-only or starting page are an admin's decision about a member.
    package static func editMember(
        _ actor: Actor, targetAccountID: String, targetPermissions: PermissionSet
    ) -> Decision {
        .all(
            requires(.membersEdit, actor), notYourself(actor, targetAccountID: targetAccountID),
            rankProtection(actor, target: targetPermissions))
    }

    /// Removal of a member: rules 3, 2 and 4.
    package static func removeMember(
        _ actor: Actor, targetAccountID: String, targetPermissions: PermissionSet,
        targetIsOwner: Bool, ownersBefore: Int
    ) -> Decision {
        .all(
            requires(.membersRemove, actor), notYourself(actor, targetAccountID: targetAccountID),
            rankProtection(actor, target: targetPermissions),
            alwaysAnOwner(ownersAfter: targetIsOwner ? ownersBefore - 1 : ownersBefore))
    }

    /// Granting or revoking an app for a member: rule 3 (nobody grants themselves access, or a higher app
    /// role) and rank protection (a manager cannot touch an admin's access).
    package static func changeAppAccess(
        _ actor: Actor, targetAccountID: String, targetPermissions: PermissionSet
    ) -> Decision {
        .all(
            requires(.appsGrant, actor), notYourself(actor, targetAccountID: targetAccountID),
            rankProtection(actor, target: targetPermissions))
    }

    /// Inviting with `roles`: the invite permission and the grant ceiling.
    package static func invite(_ actor: Actor, roles: [Role]) -> Decision {
        if roles.isEmpty { return .refuse(.noRoles) }
        return .all(requires(.membersInvite, actor), grantCeiling(actor, roles: roles))
    }

    /// Creating or editing a custom role: `roles.manage`, and no permission the actor lacks.
    package static func defineRole(_ actor: Actor, permissions: PermissionSet) -> Decision {
        .all(
            requires(.rolesManage, actor),
            permissions.isSubset(of: actor.permissions) ? .allow : .refuse(.roleAboveYou))
    }

    /// A role that sign-in through the org's IdP may give on its own (JIT default, attribute mappings): within
    /// the saver's grant ceiling (rule 1), and never owner-level (deleting or handing over the org).
    package static func jitRole(_ actor: Actor, role: Role) -> Decision {
        if isOwnerLevel(role) { return .refuse(.jitOwnerLevel) }
        return grantCeiling(actor, roles: [role])
    }

    package static func isOwnerLevel(_ role: Role) -> Bool {
        role.id == "owner" || role.permissions.contains(.orgDelete) || role.permissions.contains(.orgTransfer)
    }

    /// What a member would be allowed to do ("view as"): each action with its decision against a peer
    /// that has no permissions (the most permissive target), so the answer shows the member's own reach.
    package static func evaluate(_ actor: Actor) -> [String: Bool] {
        var out: [String: Bool] = [:]
        for p in Permission.allCases { out[p.rawValue] = actor.permissions.contains(p) }
        return out
    }
}
