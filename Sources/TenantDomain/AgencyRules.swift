/// Agency people: members of an org affiliated with one partner agency (a media or marketing agency working on
/// some of the org's apps). They are members like any other (rules 1–10 still apply), plus limits that hold
/// whatever their org role says, because the org trusts an agency only with the apps it handed over:
///
/// - they see members of their own agency only (any other member answers as an unknown id does: 404);
/// - they pass on only app access they hold, to people of their own agency, with an app role no higher than
///   their own on that app, and take back only what they could have given;
/// - they never change org roles or other members' settings, invite with org roles, remove members, or manage
///   agencies.
///
/// Org staff (members without an agency) manage agencies and agency people with the ordinary permissions:
/// `apps.grant` for agencies and app access, rank protection as everywhere.
package enum AgencyRules {
    /// Who acts, as the agency rules need them: the ordinary actor, their affiliation and their own app roles.
    package struct Actor: Sendable, Equatable {
        package let base: Rules.Actor
        package let agency: String?
        package let apps: [String: AppRole]
        package init(_ base: Rules.Actor, agency: String?, apps: [String: AppRole] = [:]) {
            self.base = base
            self.agency = agency
            self.apps = apps
        }
    }

    /// The member acted on.
    package struct Target: Sendable, Equatable {
        package let accountID: String
        package let agency: String?
        package let permissions: PermissionSet
        package let apps: [String: AppRole]
        package init(accountID: String, agency: String?, permissions: PermissionSet, apps: [String: AppRole] = [:]) {
            self.accountID = accountID
            self.agency = agency
            self.permissions = permissions
            self.apps = apps
        }
    }

    /// Whether the actor may see the member at all (lists, lookups): staff with `members.view` see everyone,
    /// agency people the people of their own agency.
    package static func sees(_ a: Actor, _ t: Target) -> Bool {
        guard a.base.permissions.contains(.membersView) else { return false }
        guard let mine = a.agency else { return true }
        return t.agency == mine
    }

    /// Granting (or changing) `app` at `role` to the target.
    package static func grantApp(_ a: Actor, _ t: Target, app: String, role: AppRole) -> Decision {
        guard sees(a, t) else { return .refuse(.noSuchMember) }
        guard let mine = a.agency else {
            return Rules.changeAppAccess(a.base, targetAccountID: t.accountID, targetPermissions: t.permissions)
        }
        if a.base.accountID == t.accountID { return .refuse(.notYourself) }
        guard t.agency == mine else { return .refuse(.noSuchMember) }
        guard let held = a.apps[app] else { return .refuse(.appNotYours) }
        return role.rank <= held.rank ? .allow : .refuse(.appRoleAboveYours)
    }

    /// Taking `app` away from the target: staff by the ordinary rule; agency people only what they could give.
    package static func revokeApp(_ a: Actor, _ t: Target, app: String) -> Decision {
        guard sees(a, t) else { return .refuse(.noSuchMember) }
        guard a.agency != nil else {
            return Rules.changeAppAccess(a.base, targetAccountID: t.accountID, targetPermissions: t.permissions)
        }
        guard let theirs = t.apps[app] else { return .allow }
        return grantApp(a, t, app: app, role: theirs)
    }

    /// Org roles, member settings and removal: never for agency people; the ordinary rules for staff.
    package static func staffOnly(_ a: Actor) -> Decision {
        a.agency == nil ? .allow : .refuse(.agencyLimits)
    }

    /// Inviting `email` to the org through the agency grant: staff with `apps.grant` for any agency working for
    /// the org; agency people for their own agency only, an address in one of its domains, and apps they hold at
    /// least at `role`.
    package static func agencyInvite(
        _ a: Actor, agency: String, agencyDomains: [String], email: String, apps: [String], role: AppRole
    ) -> Decision {
        guard let mine = a.agency else { return Rules.requires(.appsGrant, a.base) }
        guard agency == mine else { return .refuse(.notYourAgency) }
        let domain = email.split(separator: "@").last.map { $0.lowercased() } ?? ""
        guard agencyDomains.contains(domain) else { return .refuse(.outsideYourAgency) }
        for app in apps {
            guard let held = a.apps[app] else { return .refuse(.appNotYours) }
            guard role.rank <= held.rank else { return .refuse(.appRoleAboveYours) }
        }
        return .allow
    }

    /// Adding an agency to the org, removing it, asking the region to register one: staff with `apps.grant`.
    package static func manageAgencies(_ a: Actor) -> Decision {
        .all(staffOnly(a), Rules.requires(.appsGrant, a.base))
    }
}

extension AppRole {
    /// admin > editor > viewer.
    package var rank: Int {
        switch self {
        case .admin: return 2
        case .editor: return 1
        case .viewer: return 0
        }
    }
}

extension Refusal {
    package static let noSuchMember = Refusal("not_found", "No such member.", status: 404)
    package static let appNotYours = Refusal(
        "app_not_yours", "You can only pass on access to apps you have yourself.")
    package static let appRoleAboveYours = Refusal(
        "app_role_above_yours", "You can only give an app role up to your own on that app.")
    package static let agencyLimits = Refusal(
        "agency_limits", "Agency people manage app access for their own agency only; ask an admin of the organization.")
    package static let notYourAgency = Refusal("not_your_agency", "You can only act for your own agency.")
    package static let outsideYourAgency = Refusal(
        "outside_your_agency", "That address is not in one of your agency's domains, so it is not a colleague of yours."
    )
}
