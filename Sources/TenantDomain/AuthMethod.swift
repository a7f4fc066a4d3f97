/// How a caller proved who they are. Encoded on the wire and in the session table as the strings
/// `password`, `apikey`, `saml:<org>`, `oidc:<org>`, `bootstrap`, `gateway`.
///
/// Why a type and not a string: the trust an authentication carries depends on who vouched for it. A password
/// (or a bootstrap link) is the account's own proof and reaches the whole account; an org's identity provider
/// is trusted for that org only (`saml(org)`/`oidc(org)`); an API key belongs to one org. `Rules.reach`
/// decides from this value alone, so no code path compares strings to find out.
package enum AuthMethod: Sendable, Hashable, Codable, CustomStringConvertible {
    case password
    case apiKey
    case saml(org: String)
    case oidc(org: String)
    case bootstrap
    case gateway
    /// An org's SCIM token (its directory provisioning members): not a person, scoped to that org.
    case scim

    package init?(wire: String) {
        switch wire {
        case "password": self = .password
        case "apikey": self = .apiKey
        case "bootstrap": self = .bootstrap
        case "gateway": self = .gateway
        case "scim": self = .scim
        default:
            if wire.hasPrefix("saml:"), OrgID(String(wire.dropFirst(5))) != nil {
                self = .saml(org: String(wire.dropFirst(5)))
            } else if wire.hasPrefix("oidc:"), OrgID(String(wire.dropFirst(5))) != nil {
                self = .oidc(org: String(wire.dropFirst(5)))
            } else {
                return nil
            }
        }
    }

    package var wire: String {
        switch self {
        case .password: return "password"
        case .apiKey: return "apikey"
        case .saml(let org): return "saml:" + org
        case .oidc(let org): return "oidc:" + org
        case .bootstrap: return "bootstrap"
        case .gateway: return "gateway"
        case .scim: return "scim"
        }
    }

    package var description: String { wire }

    /// The one org whose identity provider made this session, for SSO methods.
    package var ssoOrg: String? {
        switch self {
        case .saml(let org), .oidc(let org): return org
        default: return nil
        }
    }

    /// Whether this method proves the account itself (password, bootstrap link) and so may act account-wide:
    /// change the password, end every session, see every org, use region-admin rights.
    package var provesAccount: Bool {
        switch self {
        case .password, .bootstrap: return true
        case .apiKey, .saml, .oidc, .gateway, .scim: return false
        }
    }

    package init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let m = AuthMethod(wire: s) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "unknown auth method"))
        }
        self = m
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wire)
    }
}

extension Rules {
    /// Whether a caller authenticated by `method` reaches `org`, where their membership is SSO-only or not.
    ///
    /// - An org's IdP vouches for that org only: an SSO session of org X reaching org Y answers as if signed out
    ///   (`org_sign_in_required`, 401), whatever Y's membership says.
    /// - Rule 9: an SSO-only membership is reached only with a session made by that org's own SSO.
    /// - A password session reaches every non-SSO-only membership. API keys are scoped to their org elsewhere
    ///   (an unknown org to them is a 404, like a stranger's), so they are judged here like a password.
    package static func reach(_ method: AuthMethod, org: String, ssoOnly: Bool) -> Decision {
        if let home = method.ssoOrg {
            return home == org ? .allow : .refuse(.orgSignInRequired(org))
        }
        if ssoOnly { return .refuse(.ssoRequired(org)) }
        switch method {
        case .password, .bootstrap, .apiKey: return .allow
        // The gateway itself and a SCIM token are not people: they reach no org as a member.
        case .gateway, .scim: return .refuse(.orgSignInRequired(org))
        case .saml, .oidc: return .allow  // handled above
        }
    }
}

extension Refusal {
    package static func orgSignInRequired(_ org: String) -> Refusal {
        Refusal(
            "org_sign_in_required",
            "You signed in through another organization's single sign-on, which is good for that organization only. "
                + "Sign in again to open this one (/login?next=/console/\(org)).",
            status: 401)
    }
    package static let accountProofRequired = Refusal(
        "password_sign_in_required",
        "This changes your whole account: sign in with your password first (a single sign-on or API key session "
            + "is good for one organization only).", status: 403)
}
