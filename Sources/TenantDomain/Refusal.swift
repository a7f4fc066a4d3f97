import GatehouseCore

/// Why a rule refused a change: a stable code, a message for people, and the HTTP status it answers with.
package struct Refusal: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    package let code: String
    package let message: String
    package let status: Int

    package init(_ code: String, _ message: String, status: Int = 403) {
        self.code = code
        self.message = message
        self.status = status
    }

    package var description: String { "\(code): \(message)" }
    package var error: GatehouseError { GatehouseError(.init(code), status: status, message) }

    package static func == (a: Refusal, b: Refusal) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
}

/// The outcome of a rule: allow, or refuse with a precise reason.
package enum Decision: Sendable, Equatable {
    case allow
    case refuse(Refusal)

    package var refusal: Refusal? {
        if case .refuse(let r) = self { return r }
        return nil
    }
    package var isAllowed: Bool { self == .allow }

    /// The first refusal among `decisions`, or allow.
    package static func all(_ decisions: Decision...) -> Decision {
        for d in decisions { if case .refuse = d { return d } }
        return .allow
    }

    package func orThrow() throws {
        if case .refuse(let r) = self { throw r.error }
    }
}

extension Refusal {
    package static func missing(_ p: Permission) -> Refusal {
        Refusal("forbidden", "You need the \(p.rawValue) permission to do that.")
    }
    package static let roleAboveYou = Refusal(
        "role_above_you", "You can only give or take away roles whose permissions you have yourself.")
    package static let memberOutranksYou = Refusal(
        "member_outranks_you", "That member has permissions you do not have, so you cannot change or remove them.")
    package static let notYourself = Refusal(
        "cannot_change_yourself", "You cannot change your own roles or remove yourself; ask another admin.")
    package static let lastOwner = Refusal("last_owner", "An organization must keep at least one owner.", status: 409)
    package static let wrongEmail = Refusal(
        "invite_email_mismatch",
        "This invitation was sent to another email address. Sign in with that address to accept it.")
    package static let orgSuspended = Refusal(
        "org_suspended", "This organization is suspended. Contact your administrator.")
    package static let notFound = Refusal(
        "not_found", "No such organization, or you are not a member of it.", status: 404)
    package static let jitOwnerLevel = Refusal(
        "jit_role_owner_level", "Sign-in through an identity provider may never give an owner-level role.", status: 422)
    package static let noRoles = Refusal("roles_required", "Give at least one role.", status: 422)
    package static func ssoRequired(_ org: String) -> Refusal {
        Refusal(
            "sso_required", "This organization requires you to sign in with its single sign-on (/sso/\(org)/login).")
    }
}
