import GatehouseCore

/// Gatehouse's domain error codes, named once. Pages and clients switch on these (`e.code == .inviteExpired`),
/// never on slug strings; the errors that several places raise are defined once below with their message.
/// (Rule refusals have their own catalog in `Refusal`; SAML refusals in `SAMLRefusal`.)
extension GatehouseError.Code {
    // Invite links
    public static let inviteExpired = Self("invite_expired")
    public static let inviteInvalid = Self("invite_invalid")
    public static let inviteUsed = Self("invite_used")
    public static let inviteSuperseded = Self("invite_superseded")
    public static let inviteRevoked = Self("invite_revoked")
    public static let inviteNotPending = Self("invite_not_pending")
    public static let emailUnproven = Self("email_unproven")
    public static let wrongCode = Self("wrong_code")
    public static let alreadyMember = Self("already_member")
    // Accounts and sign-in
    public static let invalidCredentials = Self("invalid_credentials")
    public static let weakPassword = Self("weak_password")
    public static let accountExists = Self("account_exists")
    public static let loginRequired = Self("login_required")
    public static let csrfFailed = Self("csrf_failed")
    // SSO
    public static let ssoRequired = Self("sso_required")
    public static let orgSignInRequired = Self("org_sign_in_required")
    public static let notMember = Self("not_member")
    public static let ssoMisconfigured = Self("sso_misconfigured")
    public static let noSPKey = Self("no_sp_key")
    public static let publicDomain = Self("public_domain")
    public static let domainUnverified = Self("domain_unverified")
    public static let dnsUnavailable = Self("dns_unavailable")
    // Orgs, roles, regions
    public static let orgSuspended = Self("org_suspended")
    public static let roleAboveYou = Self("role_above_you")
    public static let roleInUse = Self("role_in_use")
    public static let regionUnavailable = Self("region_unavailable")
}

extension GatehouseError {
    public static let inviteExpired = GatehouseError(
        .inviteExpired, status: 410, "This invitation has expired. Ask the person who invited you to resend it.")
    public static let inviteInvalid = GatehouseError(
        .inviteInvalid, status: 404, "This invitation link is not valid. Check that you copied all of it.")
    public static func regionUnavailable(
        _ message: String = "That region is not reachable right now.", status: Int = 503
    ) -> Self {
        GatehouseError(.regionUnavailable, status: status, message)
    }
}
