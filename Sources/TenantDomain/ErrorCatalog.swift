import GatehouseCore

/// Gatehouse's domain error codes, named once. Pages and clients switch on these (`e.code == .inviteExpired`),
/// never on slug strings; the errors that several places raise are defined once below with their message.
/// (Rule refusals have their own catalog in `Refusal`; SAML refusals in `SAMLRefusal`.)
extension GatehouseError.Code {
    // Invite links
    package static let inviteExpired = Self("invite_expired")
    package static let inviteInvalid = Self("invite_invalid")
    package static let inviteUsed = Self("invite_used")
    package static let inviteSuperseded = Self("invite_superseded")
    package static let inviteRevoked = Self("invite_revoked")
    package static let inviteDeclined = Self("invite_declined")
    package static let inviteNotPending = Self("invite_not_pending")
    package static let emailUnproven = Self("email_unproven")
    package static let wrongCode = Self("wrong_code")
    package static let alreadyMember = Self("already_member")
    // Accounts and sign-in
    package static let invalidCredentials = Self("invalid_credentials")
    package static let weakPassword = Self("weak_password")
    package static let accountExists = Self("account_exists")
    package static let loginRequired = Self("login_required")
    package static let csrfFailed = Self("csrf_failed")
    // SSO
    package static let ssoRequired = Self("sso_required")
    package static let orgSignInRequired = Self("org_sign_in_required")
    package static let notMember = Self("not_member")
    package static let ssoMisconfigured = Self("sso_misconfigured")
    package static let noSPKey = Self("no_sp_key")
    package static let publicDomain = Self("public_domain")
    package static let domainUnverified = Self("domain_unverified")
    package static let dnsUnavailable = Self("dns_unavailable")
    // Orgs, roles, regions
    package static let orgSuspended = Self("org_suspended")
    package static let roleAboveYou = Self("role_above_you")
    package static let roleInUse = Self("role_in_use")
    package static let regionUnavailable = Self("region_unavailable")
}

extension GatehouseError {
    package static let inviteExpired = GatehouseError(
        .inviteExpired, status: 410, "This invitation has expired. Ask the person who invited you to resend it.")
    package static let inviteInvalid = GatehouseError(
        .inviteInvalid, status: 404, "This invitation link is not valid. Check that you copied all of it.")
    package static func regionUnavailable(
        _ message: String = "That region is not reachable right now.", status: Int = 503
    ) -> Self {
        GatehouseError(.regionUnavailable, status: status, message)
    }
}
