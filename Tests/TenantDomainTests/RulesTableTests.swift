import TenantDomain
import Testing

/// The rules over every pair of built-in roles. The expected outcome comes from an independent statement of
/// the matrix: built-in roles are strictly nested (viewer ⊂ member ⊂ manager ⊂ admin ⊂ owner), only owner,
/// admin and manager hold members.edit / members.remove, so "allowed" means: the actor may manage members,
/// the target is not above the actor, and every role added or removed is not above the actor.
@Suite("Rules: actor role × target role × action")
struct RulesTableTests {
    static let rank = ["viewer": 0, "member": 1, "manager": 2, "admin": 3, "owner": 4]
    static let roles = ["owner", "admin", "manager", "member", "viewer"]
    static let managers: Set<String> = ["owner", "admin", "manager"]

    static func actor(_ role: String) -> Rules.Actor {
        Rules.Actor(accountID: "actor", permissions: Role.builtIn(role)!.permissions)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let actor: String, target: String, action: String, newRole: String?
        var testDescription: String { "\(actor) \(action) \(target)\(newRole.map { " → \($0)" } ?? "")" }
    }

    static let cases: [Case] = roles.flatMap { a in
        roles.flatMap { t in
            [
                Case(actor: a, target: t, action: "remove", newRole: nil),
                Case(actor: a, target: t, action: "edit", newRole: nil),
            ]
                + roles.filter { $0 != t }.map { Case(actor: a, target: t, action: "change", newRole: $0) }
        }
    }

    static func expected(_ c: Case) -> String? {
        guard managers.contains(c.actor) else { return "forbidden" }
        let a = rank[c.actor]!
        let t = rank[c.target]!
        if t > a { return "member_outranks_you" }
        if let n = c.newRole, rank[n]! > a { return "role_above_you" }
        return nil
    }

    @Test(arguments: cases)
    func rule(_ c: Case) {
        let actor = Self.actor(c.actor)
        let targetPerms = Role.builtIn(c.target)!.permissions
        // Two owners besides the target, so rule 4 stays out of the way here (it has its own tests).
        let decision: Decision
        switch c.action {
        case "remove":
            decision = Rules.removeMember(
                actor, targetAccountID: "target", targetPermissions: targetPerms,
                targetIsOwner: c.target == "owner", ownersBefore: 3)
        case "edit":
            decision = Rules.editMember(actor, targetAccountID: "target", targetPermissions: targetPerms)
        default:
            let ownersAfter = 2 + (c.newRole == "owner" ? 1 : 0)
            decision = Rules.changeRoles(
                actor, targetAccountID: "target", targetPermissions: targetPerms,
                from: [Role.builtIn(c.target)!], to: [Role.builtIn(c.newRole!)!], ownersAfter: ownersAfter)
        }
        #expect(decision.refusal?.code == Self.expected(c), "\(c.testDescription)")
    }

    @Test(arguments: roles)
    func inviteCeiling(_ actorRole: String) {
        for r in Self.roles {
            let d = Rules.invite(Self.actor(actorRole), roles: [Role.builtIn(r)!])
            let expected: String? =
                !Self.managers.contains(actorRole)
                ? "forbidden" : (Self.rank[r]! > Self.rank[actorRole]! ? "role_above_you" : nil)
            #expect(d.refusal?.code == expected, "\(actorRole) invites as \(r)")
        }
    }
}

@Suite("Rules: the special cases")
struct RulesSpecialTests {
    let owner = Rules.Actor(accountID: "o1", permissions: Role.owner.permissions)

    @Test func nobodyChangesThemselves() {
        for role in Role.builtIns {
            let me = Rules.Actor(accountID: "me", permissions: role.permissions)
            #expect(
                Rules.changeRoles(
                    me, targetAccountID: "me", targetPermissions: role.permissions, from: [role], to: [.viewer],
                    ownersAfter: 2
                ).refusal?.code
                    == (["owner", "admin", "manager"].contains(role.id) ? "cannot_change_yourself" : "forbidden"))
            #expect(
                Rules.removeMember(
                    me, targetAccountID: "me", targetPermissions: role.permissions, targetIsOwner: false,
                    ownersBefore: 2
                ).refusal != nil)
        }
    }

    @Test func theLastOwnerStays() {
        #expect(
            Rules.removeMember(
                owner, targetAccountID: "o2", targetPermissions: Role.owner.permissions, targetIsOwner: true,
                ownersBefore: 1
            ).refusal?.code == "last_owner")
        #expect(
            Rules.removeMember(
                owner, targetAccountID: "o2", targetPermissions: Role.owner.permissions, targetIsOwner: true,
                ownersBefore: 2
            ).isAllowed)
        #expect(
            Rules.changeRoles(
                owner, targetAccountID: "o2", targetPermissions: Role.owner.permissions, from: [.owner], to: [.admin],
                ownersAfter: 0
            ).refusal?.code == "last_owner")
        #expect(Rules.alwaysAnOwner(ownersAfter: 1).isAllowed)
    }

    @Test func customRoleCeilings() {
        let analyst = Role(
            id: "analyst", name: "Analyst", permissions: [.orgView, .membersView, .dataEdit], builtIn: false)
        let keyMaker = Role(
            id: "developer", name: "Developer", permissions: [.orgView, .apikeysCreate], builtIn: false)
        let manager = Rules.Actor(accountID: "m", permissions: Role.manager.permissions)
        #expect(Rules.invite(manager, roles: [analyst]).isAllowed)
        #expect(Rules.invite(manager, roles: [keyMaker]).refusal?.code == "role_above_you")
        #expect(Rules.invite(manager, roles: [.member, keyMaker]).refusal?.code == "role_above_you")
        // Defining a role cannot reach past your own permissions either.
        let admin = Rules.Actor(accountID: "a", permissions: Role.admin.permissions)
        #expect(Rules.defineRole(admin, permissions: [.orgDelete]).refusal?.code == "role_above_you")
        #expect(Rules.defineRole(admin, permissions: [.apikeysCreate, .dataEdit]).isAllowed)
        #expect(Rules.defineRole(manager, permissions: [.dataEdit]).refusal?.code == "forbidden")
    }

    @Test func multipleRolesUnite() {
        let inviter = Role(id: "inviter", name: "Inviter", permissions: [.membersInvite], builtIn: false)
        let catalog = RoleCatalog(custom: [inviter])
        let perms = catalog.permissions(of: ["member", "inviter"])
        #expect(perms == Role.member.permissions.union([.membersInvite]))
        let actor = Rules.Actor(accountID: "x", permissions: perms)
        #expect(Rules.invite(actor, roles: [.member]).isAllowed)
        #expect(Rules.invite(actor, roles: [.viewer, inviter]).isAllowed)
        #expect(Rules.invite(actor, roles: [.manager]).refusal?.code == "role_above_you")
        // The union still cannot manage members it cannot edit.
        #expect(
            Rules.editMember(actor, targetAccountID: "y", targetPermissions: Role.viewer.permissions).refusal?.code
                == "forbidden")
    }

    @Test func removingARoleAboveYouIsRefusedToo() {
        let manager = Rules.Actor(accountID: "m", permissions: Role.manager.permissions)
        let dev = Role(id: "dev", name: "Dev", permissions: [.apikeysCreate], builtIn: false)
        // Target is a member who also holds a custom role with a permission the manager lacks: outranks.
        #expect(
            Rules.changeRoles(
                manager, targetAccountID: "t", targetPermissions: Role.member.permissions.union(dev.permissions),
                from: [.member, dev], to: [.member], ownersAfter: 1
            ).refusal?.code == "member_outranks_you")
    }

    @Test func inviteIsBoundToItsEmail() {
        #expect(Rules.inviteEmailMatches(inviteEmail: "Ada@Example.com", accountEmail: "ada@example.COM").isAllowed)
        #expect(
            Rules.inviteEmailMatches(inviteEmail: "ada@example.com", accountEmail: "eve@example.com").refusal?.code
                == "invite_email_mismatch")
    }

    @Test func emptyRolesAreRefused() {
        #expect(Rules.invite(owner, roles: []).refusal?.code == "roles_required")
    }
}

@Suite("Invite address parsing")
struct InviteParsingTests {
    @Test func spreadsheetPaste() {
        let p = InviteAddressParser.parse(
            text:
                "ada@example.com\tbob@example.com\r\ncarol@example.com; dave@example.com,eve@example.com "
                + " fred@example.com\n\n"
        )
        #expect(
            p.valid == [
                "ada@example.com", "bob@example.com", "carol@example.com", "dave@example.com", "eve@example.com",
                "fred@example.com",
            ])
        #expect(p.invalid.isEmpty)
    }

    @Test func deduplicatesCaseInsensitively() {
        let p = InviteAddressParser.parse(text: "Ada@Example.com, ada@example.COM, ADA@EXAMPLE.COM, bob@x.io")
        #expect(p.valid == ["ada@example.com", "bob@x.io"])
        #expect(p.duplicates.count == 2)
    }

    @Test func reportsInvalidAddresses() {
        let p = InviteAddressParser.parse(
            text:
                "good@example.com, not-an-email, @example.com, a@, a@b, a..b@example.com, x@-bad.com, y@1.2.3.4,"
                + " ok+tag@sub.example.org"
        )
        #expect(p.valid == ["good@example.com", "ok+tag@sub.example.org"])
        #expect(
            p.invalid == ["not-an-email", "@example.com", "a@", "a@b", "a..b@example.com", "x@-bad.com", "y@1.2.3.4"])
    }

    @Test func displayNameForms() {
        let p = InviteAddressParser.parse(
            text: "Ada Lovelace <ada@example.com>, \"Bob\" <bob@example.com>; carol@example.com")
        #expect(p.valid == ["ada@example.com", "bob@example.com", "carol@example.com"])
        #expect(p.invalid.isEmpty)
        // The display names are kept (they were dropped: "Mia Manager <mia@…>" became a nameless invite).
        #expect(
            p.names == [
                "ada@example.com": PersonName.Split(first: "Ada", last: "Lovelace"),
                "bob@example.com": PersonName.Split(first: "Bob", last: ""),
            ])
        let q = InviteAddressParser.parse(
            text: "Mia Manager <Mia@Acme.test>, max@acme.test\nvik@acme.test; oops@\tJean de la Fontaine <jean@x.fr>")
        #expect(q.valid == ["mia@acme.test", "max@acme.test", "vik@acme.test", "jean@x.fr"])
        #expect(q.invalid == ["oops@"])
        #expect(q.names["mia@acme.test"] == PersonName.Split(first: "Mia", last: "Manager"))
        #expect(q.names["jean@x.fr"] == PersonName.Split(first: "Jean", last: "de la Fontaine"))
        #expect(q.names["max@acme.test"] == nil, "a bare address has no name")
    }

    @Test func jsonList() {
        let p = InviteAddressParser.parse(list: [" a@example.com ", "A@example.com", "", "bad"])
        #expect(p.valid == ["a@example.com"])
        #expect(p.invalid == ["bad"])
    }

    @Test func tooLongAddressesAreInvalid() {
        let long = String(repeating: "a", count: 65) + "@example.com"
        #expect(!Email.isValid(long))
        #expect(!Email.isValid("a@" + String(repeating: "b", count: 250) + ".com"))
    }

    @Test func orgIDsEncodeTheRegion() {
        #expect(OrgID("org_eu_abcdefgh12")?.region == .eu)
        #expect(OrgID("org_mars_abcdefgh12") == nil)
        #expect(OrgID("org_eu_ABC") == nil)
        #expect(OrgID("org_us_abcdefgh12_x") == nil)
    }
}
