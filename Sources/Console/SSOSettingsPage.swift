import Crypto
import Foundation
import GatehouseCore
import Gateway
import SAML
import TenantAPI

/// The console's SSO page as a model built from the gateway's facts (SP, settings, roles, domain claims) and a
/// pure view. What the page warns about is decided here, so tests assert on it without rendering.
struct SSOPageModel: Equatable {
    struct SPFacts: Equatable {
        var entityID: String
        var acsURL: String
        var sloURL: String
        /// An SP key is configured: logout messages are signed and IdPs may encrypt assertions to it.
        var hasKey: Bool
    }
    struct IdPFacts: Equatable {
        var entityID: String
        var ssoURL: String
        var ssoBinding: String
        var sloURL: String?
        var certificates: Int
    }
    enum Warning: Equatable {
        /// The org accepts IdP keys below 2048 bits.
        case legacyKeys(bits: Int)
        /// The IdP does single logout, but without an SP key Gatehouse cannot sign its logout messages.
        case unsignedLogout
    }

    var org: String
    var sp: SPFacts
    var idp: IdPFacts?
    var warnings: [Warning]
    var jitEnabled: Bool
    var roleOptions: [Choice]
    var idpInitiated: Bool
    var minRSABits: Int
    var domains: [DomainClaim]
    var error: String?
    var oidc: OIDCFacts

    /// The OpenID Connect connection as the page shows it (never its secret).
    struct OIDCFacts: Equatable {
        var configured: Bool
        var issuer: String
        var clientID: String
        var redirectURI: String
        var hostedDomain: String
        var allowedDomains: String
        var firstNameClaim: String
        var lastNameClaim: String
        /// `claim=variable` lines.
        var variables: String
        var jitEnabled: Bool
        var roleOptions: [Choice]
        var error: String?
    }

    init(
        org: String, sp: ServiceProvider, settings: SSOSettings?, roles: [RoleView], domains: [DomainClaim],
        error: String?, oidc: OIDCSettings? = nil, redirectURI: String = "", oidcError: String? = nil
    ) {
        self.org = org
        self.sp = SPFacts(entityID: sp.entityID, acsURL: sp.acsURL, sloURL: sp.sloURL, hasKey: sp.key != nil)
        idp = settings.map {
            IdPFacts(
                entityID: $0.idp.entityID, ssoURL: $0.idp.ssoURL,
                ssoBinding: $0.idp.ssoBinding == SAMLNames.postBinding ? "HTTP-POST" : "HTTP-Redirect",
                sloURL: $0.idp.sloURL, certificates: $0.idp.certificates.count)
        }
        minRSABits = settings?.rsaFloor ?? Certificate.defaultMinRSABits
        var w: [Warning] = []
        if minRSABits < Certificate.defaultMinRSABits { w.append(.legacyKeys(bits: minRSABits)) }
        if settings?.idp.sloURL != nil && sp.key == nil { w.append(.unsignedLogout) }
        warnings = w
        jitEnabled = settings?.jit.enabled ?? false
        let role = settings?.jit.defaultRole ?? "member"
        roleOptions = roles.filter { $0.id != "owner" }.map {
            Choice(value: $0.id, label: $0.name, selected: $0.id == role)
        }
        idpInitiated = settings?.allowIdPInitiated ?? false
        self.domains = domains
        self.error = error
        let oidcRole = oidc?.jit.defaultRole ?? "member"
        self.oidc = OIDCFacts(
            configured: oidc != nil, issuer: oidc?.issuer ?? "", clientID: oidc?.clientID ?? "",
            redirectURI: redirectURI, hostedDomain: oidc?.hostedDomain ?? "",
            allowedDomains: (oidc?.allowedDomains ?? []).joined(separator: ", "),
            firstNameClaim: oidc?.claims.firstName ?? "given_name",
            lastNameClaim: oidc?.claims.lastName ?? "family_name",
            variables: (oidc?.claims.variables ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                .joined(separator: "\n"),
            jitEnabled: oidc?.jit.enabled ?? false,
            roleOptions: roles.filter { $0.id != "owner" }.map {
                Choice(value: $0.id, label: $0.name, selected: $0.id == oidcRole)
            }, error: oidcError)
    }
}

enum SSOPageView {
    static func render(_ m: SSOPageModel, base: String, csrfField: HTML) -> HTML {
        var h: HTML = "<h2>This service (give these to your identity provider)</h2><div class=\"kv\">"
        h += "<span>Entity ID</span><code>\(m.sp.entityID)</code>"
        h += "<span>ACS URL (HTTP-POST)</span><code>\(m.sp.acsURL)</code>"
        h += "<span>Single logout URL</span><code>\(m.sp.sloURL)</code>"
        let encryption =
            m.sp.hasKey ? "accepted (SP certificate in the metadata)" : "not available (no SP key configured)"
        h += "<span>Encrypted assertions</span><span>\(encryption)</span></div>"
        h +=
            "<p><a href=\"/sso/\(m.org)/metadata\">Download SP metadata</a>"
            + "\(if: m.idp != nil, " · <a href=\"/sso/\(m.org)/login?next=%2Fconsole\">Test sign-in</a>")</p>"
        for w in m.warnings {
            switch w {
            case .legacyKeys(let bits):
                h +=
                    "<p class=\"notice warning\" role=\"alert\" id=\"legacy-keys\"><strong>Weak identity provider keys"
                    + " accepted.</strong> This organization accepts IdP signing keys of \(String(bits)) bits, below"
                    + " the 2048-bit default. Ask your identity provider to move to a 2048-bit key, then restore the"
                    + " default.</p>"
            case .unsignedLogout:
                h +=
                    "<p class=\"notice warning\" role=\"status\">Your identity provider does single logout, but no SP"
                    + " key is configured, so Gatehouse's logout messages are unsigned; most IdPs ignore them.</p>"
            }
        }
        h += "<h2>Identity provider</h2>"
        if let idp = m.idp {
            h += "<div class=\"kv\"><span>Entity ID</span><code>\(idp.entityID)</code>"
            h += "<span>Sign-in URL (\(idp.ssoBinding))</span><code>\(idp.ssoURL)</code>"
            h += "<span>Single logout</span>"
            h += idp.sloURL.map { "<code>\($0)</code>" } ?? "<span>not offered by the IdP</span>"
            h += "<span>Certificates</span><span>\(String(idp.certificates))</span></div>"
        } else {
            h += "<p class=\"empty\">Not configured yet.</p>"
        }
        h +=
            "<form method=\"post\" action=\"\(base)/sso\" class=\"panel\">\(csrfField)<label for=\"metadata\">"
            + "IdP metadata XML\(m.idp != nil ? " (leave empty to keep)" : "")</label>"
        h +=
            "<textarea id=\"metadata\" name=\"metadataXML\""
            + " rows=\"6\"\(if: m.error != nil, " aria-describedby=\"sso-error\" aria-invalid=\"true\"")></textarea>"
        if let error = m.error { h += "<p class=\"field-error\" role=\"alert\" id=\"sso-error\">\(error)</p>" }
        h +=
            "<label class=\"inline\"><input type=\"checkbox\" name=\"jit\" value=\"1\"\(if: m.jitEnabled, " checked")>"
            + " Create members on first sign-in (JIT)</label>"
        h += "<label for=\"jit-role\">Default role for JIT members</label><select id=\"jit-role\" name=\"jitRole\">"
        for r in m.roleOptions {
            h += "<option value=\"\(r.value)\"\(if: r.selected, " selected")>\(r.label)</option>"
        }
        h +=
            "</select><label class=\"inline\"><input type=\"checkbox\" name=\"idpInitiated\""
            + " value=\"1\"\(if: m.idpInitiated, " checked")> Allow IdP-initiated sign-in</label>"
        h +=
            "<label for=\"min-rsa\">Smallest IdP signing key</label><select id=\"min-rsa\" name=\"minRSABits\">"
            + "<option value=\"2048\"\(if: m.minRSABits >= 2048, " selected")>RSA 2048 bits (recommended)</option>"
            + "<option value=\"1024\"\(if: m.minRSABits < 2048, " selected")>RSA 1024 bits (legacy IdP; weak)</option>"
            + "</select>"
        h +=
            "<label for=\"domains\">Email domains for \"Sign in with SSO\" and JIT (each proven by a DNS record)"
            + "</label><input id=\"domains\" name=\"domains\" type=\"text\""
            + " value=\"\(m.domains.map(\.domain).joined(separator: ", "))\" placeholder=\"acme.com\">"
        for d in m.domains {
            let status: HTML =
                d.verified
                ? "<span class=\"badge joined\">Verified</span>"
                : "<span class=\"badge pending\">Not verified</span> publish TXT <code>\(d.recordName)</code> = "
                    + "<code>\(d.recordValue)</code>, then verify it through the API "
                    + "(POST /api/v1/orgs/\(m.org)/sso/domains/\(d.domain)/verify)."
            h += "<p class=\"meta\"><strong>\(d.domain)</strong>: \(status)</p>"
        }
        h += "<div class=\"actions\"><button type=\"submit\">Save SSO settings</button></div></form>"
        return h + oidc(m.oidc, org: m.org, base: base, csrfField: csrfField)
    }

    /// The OpenID Connect section: the redirect URI to register, and the connection's form (the secret is a
    /// password field that is never filled; empty keeps the stored one).
    static func oidc(_ o: SSOPageModel.OIDCFacts, org: String, base: String, csrfField: HTML) -> HTML {
        var h: HTML = "<h2 id=\"oidc\">OpenID Connect (Google, Okta, Entra ID, Auth0)</h2>"
        h += "<div class=\"kv\"><span>Redirect URI (register it at the provider)</span><code>\(o.redirectURI)</code>"
        h +=
            "<span>Status</span><span>\(o.configured ? "Connected to " + o.issuer : "Not configured yet.")</span></div>"
        if o.configured {
            h += "<p><a href=\"/sso/\(org)/oidc/login?next=%2Fconsole\">Test sign-in</a></p>"
        }
        h += "<form method=\"post\" action=\"\(base)/sso/oidc\" class=\"panel\">\(csrfField)"
        if let error = o.error { h += "<p class=\"field-error\" role=\"alert\" id=\"oidc-error\">\(error)</p>" }
        h += "<label for=\"oidc-preset\">Provider</label><select id=\"oidc-preset\" name=\"preset\">"
        h += "<option value=\"\">Other (give the issuer)</option><option value=\"google\">Google</option>"
        h += "<option value=\"okta\">Okta</option><option value=\"entra\">Entra ID</option>"
        h += "<option value=\"auth0\">Auth0</option></select>"
        let fields: [(String, String, String, String)] = [
            ("oidc-issuer", "issuer", "Issuer URL (Google: leave empty)", o.issuer),
            ("oidc-client", "clientID", "Client ID", o.clientID),
            ("oidc-hd", "hostedDomain", "Google Workspace domain (hd), if any", o.hostedDomain),
            ("oidc-domains", "allowedDomains", "Allowed email domains (empty: any)", o.allowedDomains),
            ("oidc-first", "firstName", "Claim with the first name", o.firstNameClaim),
            ("oidc-last", "lastName", "Claim with the last name", o.lastNameClaim),
        ]
        for (id, name, label, value) in fields {
            h += "<label for=\"\(id)\">\(label)</label>"
            h += "<input id=\"\(id)\" name=\"\(name)\" type=\"text\" value=\"\(value)\">"
        }
        h += "<label for=\"oidc-secret\">Client secret\(o.configured ? " (leave empty to keep)" : "")</label>"
        // `new-password`: the browser must not fill in the admin's own password (nor save this one as theirs).
        h +=
            "<input id=\"oidc-secret\" name=\"clientSecret\" type=\"password\" autocomplete=\"new-password\" value=\"\">"
        h += "<label for=\"oidc-vars\">Claims to user variables (one <code>claim=variable</code> per line)</label>"
        h += "<textarea id=\"oidc-vars\" name=\"variables\" rows=\"3\">\(o.variables)</textarea>"
        h  // Its own name: two checkboxes named alike on one page read as one group to assistive technology.
        +=
            "<label class=\"inline\"><input type=\"checkbox\" name=\"oidcJit\" value=\"1\"\(if: o.jitEnabled, " checked")>"
            + " Create members on first sign-in (JIT, in proven domains)</label>"
        h += "<label for=\"oidc-jit-role\">Default role for JIT members</label>"
        h += "<select id=\"oidc-jit-role\" name=\"jitRole\">"
        for r in o.roleOptions { h += "<option value=\"\(r.value)\"\(if: r.selected, " selected")>\(r.label)</option>" }
        h += "</select><div class=\"actions\"><button type=\"submit\">Save OpenID Connect</button></div></form>"
        if o.configured {
            h += "<form method=\"post\" action=\"\(base)/sso/oidc/delete\">\(csrfField)<div class=\"actions\">"
            h += "<button type=\"submit\" class=\"secondary\">Remove the OpenID connection</button></div></form>"
        }
        return h
    }
}
