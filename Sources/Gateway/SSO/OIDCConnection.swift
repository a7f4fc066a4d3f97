import Crypto
import Foundation
import GatehouseCore
import JOSE
import Net
import Store
import Synchronization
import TenantAPI
import TenantDomain

extension GatewayService {
    /// Saves an org's OpenID connection for `caller` (API and console alike): every field checked, the JIT
    /// default role within the caller's grant ceiling and never owner-level (asked of the region), and the
    /// provider's discovery document answering with exactly the issuer. Audited in the org's log.
    package func saveOIDCSettings(
        _ update: OIDCSettingsUpdate, org: String, caller: Caller
    ) async throws -> OIDCSettings {
        let (tenant, standing) = try await ssoManager(org: org, caller: caller)
        let current = try await sso.oidcSettings(org: org)
        let settings = try update.applied(to: current)
        if settings.jit != current?.jit || current == nil,
            !standing.jitAssignableRoles.contains(settings.jit.defaultRole)
        {
            throw GatehouseError(
                .roleAboveYou, status: 403,
                "The JIT default role must be a role you may give yourself, and never owner-level"
                    + " (\(settings.jit.defaultRole) is not).")
        }
        do { _ = try await oidc.discover(settings.issuer) } catch {
            throw GatehouseError.validation(
                "The provider's discovery document (\(settings.issuer)/.well-known/openid-configuration) could not be"
                    + " read or names another issuer: \(error)")
        }
        try await sso.saveOIDC(settings, org: org, by: caller.accountID)
        try await tenant.recordSSOChange(
            SSOChangeRecord(
                orgID: org, actorID: caller.accountID, action: .saved,
                summary: ["protocol": "oidc", "issuer": settings.issuer, "clientID": settings.clientID]))
        return settings
    }

    package func deleteOIDCSettings(org: String, caller: Caller) async throws {
        let (tenant, _) = try await ssoManager(org: org, caller: caller)
        try await sso.deleteOIDC(org: org)
        try await tenant.recordSSOChange(
            SSOChangeRecord(orgID: org, actorID: caller.accountID, action: .deleted, summary: ["protocol": "oidc"]))
    }
}

/// An org's OpenID Connect connection (next to SAML; an org may have both). The client secret is write-only:
/// stored to call the token endpoint, never returned by the API or shown in a page (`OIDCView`).
package struct OIDCSettings: Codable, Sendable, Equatable {
    package struct Claims: Codable, Sendable, Equatable {
        package var firstName = "given_name"
        package var lastName = "family_name"
        /// ID-token claim → user variable (string claims, and numbers/booleans written as text).
        package var variables: [String: String] = [:]
        package init() {}
    }

    package var issuer: String
    package var clientID: String
    package var clientSecret: String
    package var scopes: [String]
    /// Email domains the provider may sign in (empty: any domain the org has proven by DNS, as for SAML JIT).
    package var allowedDomains: [String]
    /// Google Workspace's `hd`: asked for at the authorization endpoint and required in the ID token.
    package var hostedDomain: String?
    package var claims: Claims
    package var jit: SSOSettings.JIT
}

/// What `PUT /api/v1/orgs/:org/sso/oidc` takes. A preset only fills fields (`issuer` for Google; the scopes);
/// anything given explicitly wins. The secret may be left out to keep the stored one.
package struct OIDCSettingsUpdate: Codable, Sendable {
    package enum Preset: String, Codable, Sendable { case google, okta, entra, auth0 }
    package var preset: Preset?
    package var issuer: String?
    package var clientID: String
    package var clientSecret: String?
    package var scopes: [String]?
    package var allowedDomains: [String]?
    package var hostedDomain: String?
    package var claims: OIDCSettings.Claims?
    package var jit: SSOSettings.JIT?

    package init(
        preset: Preset? = nil, issuer: String?, clientID: String, clientSecret: String?, scopes: [String]? = nil,
        allowedDomains: [String]? = nil, hostedDomain: String? = nil, claims: OIDCSettings.Claims? = nil,
        jit: SSOSettings.JIT? = nil
    ) {
        self.preset = preset
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.allowedDomains = allowedDomains
        self.hostedDomain = hostedDomain
        self.claims = claims
        self.jit = jit
    }

    /// The settings this update makes from the current ones, every field checked.
    package func applied(to current: OIDCSettings?) throws -> OIDCSettings {
        var issuer = self.issuer ?? current?.issuer
        if issuer == nil, preset == .google { issuer = "https://accounts.google.com" }
        guard let issuer, let parsed = URL(string: issuer), OIDCProvider.allowedURL(parsed), parsed.query == nil,
            parsed.fragment == nil, !issuer.hasSuffix("/") || parsed.path == "/"
        else {
            throw GatehouseError.validation(
                "The issuer must be an https:// URL (http:// only on loopback) with no query, exactly as the provider"
                    + " names itself (Okta: https://<tenant>.okta.com, Entra ID: https://login.microsoftonline.com/"
                    + "<tenant>/v2.0, Auth0: https://<tenant>.auth0.com/).")
        }
        let clientID = self.clientID.trimmingCharacters(in: .whitespaces)
        guard (1...255).contains(clientID.utf8.count), !clientID.unicodeScalars.contains(where: { $0.value < 0x21 })
        else { throw GatehouseError.validation("The client id must be 1–255 visible characters.") }
        guard let secret = clientSecret ?? current?.clientSecret, (1...1024).contains(secret.utf8.count) else {
            throw GatehouseError.validation("The client secret is required (it is never shown again).")
        }
        let scopes = scopes ?? current?.scopes ?? ["openid", "email", "profile"]
        guard scopes.contains("openid"), scopes.contains("email"), scopes.count <= 20,
            scopes.allSatisfy({
                !$0.isEmpty && $0.utf8.count <= 100 && $0.allSatisfy { $0.isASCII && !$0.isWhitespace }
            })
        else { throw GatehouseError.validation("The scopes must include openid and email.") }
        let domains = try (allowedDomains ?? current?.allowedDomains ?? []).map(SSOTrust.normalizeDomain)
        guard domains.count <= 20 else { throw GatehouseError.validation("At most 20 allowed domains.") }
        let hd = try (hostedDomain ?? current?.hostedDomain).map(SSOTrust.normalizeDomain)
        let claims = self.claims ?? current?.claims ?? OIDCSettings.Claims()
        guard claims.variables.count <= 50,
            claims.variables.allSatisfy({
                (1...100).contains($0.key.utf8.count) && (1...100).contains($0.value.utf8.count)
            })
        else { throw GatehouseError.validation("Claim mappings: at most 50, names of 1–100 characters.") }
        return OIDCSettings(
            issuer: issuer, clientID: clientID, clientSecret: secret, scopes: scopes, allowedDomains: domains,
            hostedDomain: hd, claims: claims, jit: jit ?? current?.jit ?? SSOSettings.JIT())
    }
}

/// `GET /api/v1/orgs/:org/sso/oidc`: the connection without its secret, and the redirect URI to register.
package struct OIDCView: Codable, Sendable {
    package let configured: Bool
    package let issuer: String?
    package let clientID: String?
    package let clientSecretSet: Bool
    package let scopes: [String]
    package let allowedDomains: [String]
    package let hostedDomain: String?
    package let claims: OIDCSettings.Claims?
    package let jit: SSOSettings.JIT?
    package let redirectURI: String
    package let loginURL: String

    package init(_ s: OIDCSettings?, baseURL: String, org: String) {
        configured = s != nil
        issuer = s?.issuer
        clientID = s?.clientID
        clientSecretSet = s != nil
        scopes = s?.scopes ?? []
        allowedDomains = s?.allowedDomains ?? []
        hostedDomain = s?.hostedDomain
        claims = s?.claims
        jit = s?.jit
        redirectURI = OIDCProvider.redirectURI(baseURL: baseURL, org: org)
        loginURL = baseURL + "/sso/\(org)/oidc/login"
    }
}

/// A sign-in in flight: what the callback needs, found by the `state` it sent and bound to the browser that
/// started it (a cookie whose digest is stored with it).
package struct OIDCPendingSignIn: Sendable, Equatable {
    package let nonce: String
    package let verifier: String
    package let next: String

    package init(nonce: String, verifier: String, next: String) {
        self.nonce = nonce
        self.verifier = verifier
        self.next = next
    }
}

extension SSOStore {
    package func oidcSettings(org: String) async throws -> OIDCSettings? { try await load(.oidc, org: org) }

    package func saveOIDC(_ s: OIDCSettings, org: String, by accountID: String) async throws {
        try await store(s, .oidc, org: org, by: accountID)
    }

    package func deleteOIDC(org: String) async throws { try await remove(.oidc, org: org) }

    /// Remembers a sign-in started by a browser; capped per org like SAML requests (starts are anonymous).
    package func rememberOIDC(
        state: String, org: String, browser: String, pending: OIDCPendingSignIn
    ) async throws {
        let now = nowS
        try await db.write { conn in
            try conn.run("DELETE FROM oidc_requests WHERE expires_at <= ?", [now])
            let count = try conn.first("SELECT count(*) FROM oidc_requests WHERE org_id = ?", [org])?.int(0) ?? 0
            if count >= Self.maxPendingRequests {
                throw GatehouseError(
                    .rateLimited, status: 429,
                    "Too many sign-ins are in progress for this organization; try again in a few minutes.",
                    headers: [("Retry-After", "60")])
            }
            try conn.run(
                """
                INSERT INTO oidc_requests (state_hash, org_id, browser_hash, nonce, verifier, next, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    Digest.sha256.hash(state), org, Digest.sha256.hash(browser), pending.nonce, pending.verifier,
                    pending.next, now + Self.requestLifetime,
                ])
        }
    }

    /// Takes the sign-in a callback answers: once (the row is deleted in the same transaction), only for the org
    /// and the browser that started it, and only while it lives. Nil for anything else.
    package func takeOIDC(state: String, org: String, browser: String?) async throws -> OIDCPendingSignIn? {
        let now = nowS
        let stateHash = Digest.sha256.hash(state)
        let browserHash = browser.map { Digest.sha256.hash($0) } ?? []
        return try await db.write { conn -> OIDCPendingSignIn? in
            guard
                let row = try conn.first(
                    "SELECT org_id, browser_hash, nonce, verifier, next, expires_at FROM oidc_requests WHERE"
                        + " state_hash = ?",
                    [stateHash])
            else { return nil }
            try conn.run("DELETE FROM oidc_requests WHERE state_hash = ?", [stateHash])
            guard row.string("org_id") == org, row.int("expires_at") ?? 0 > now,
                ConstantTime.equals(row.blob("browser_hash") ?? [], browserHash)
            else { return nil }
            return OIDCPendingSignIn(
                nonce: row.string("nonce") ?? "", verifier: row.string("verifier") ?? "",
                next: row.string("next") ?? "/")
        }
    }
}

/// Talks to OpenID providers: discovery, JWKS (cached as its HTTP headers say, fetched again on an unknown `kid`
/// at most once a minute per provider), and the code exchange. Every URL must be https (http only on loopback),
/// every answer is size-limited, and nothing a provider sends is believed before `IDToken.verify`.
package final class OIDCProvider: Sendable {
    package struct Discovery: Sendable {
        package let issuer: String
        package let authorizationEndpoint: URL
        package let tokenEndpoint: URL
        package let jwksURI: URL
        /// `client_secret_basic` unless the provider supports only `client_secret_post`.
        package let secretInBody: Bool
    }

    private struct CachedKeys {
        var keys: JWKSet
        var freshUntil: Date
        /// When an unknown `kid` last made us fetch before `freshUntil` (such fetches: at most one a minute).
        var lastForced: Date?
    }

    private let clock: any WallClock
    private let clients = Mutex<[String: HTTPClient]>([:])
    private let discoveries = Mutex<[String: (Discovery, Date)]>([:])
    private let keySets = Mutex<[String: CachedKeys]>([:])
    private let caFile: String?

    package init(clock: any WallClock, caFile: String? = nil) {
        self.clock = clock
        self.caFile = caFile
    }

    package static func redirectURI(baseURL: String, org: String) -> String { baseURL + "/sso/\(org)/oidc/callback" }

    /// https anywhere; http only to a loopback host (a provider on this machine, tests).
    package static func allowedURL(_ u: URL) -> Bool {
        guard let scheme = u.scheme?.lowercased(), let host = u.host?.lowercased(), !host.isEmpty else { return false }
        if scheme == "https" { return true }
        return scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
    }

    private func client(for url: URL) throws -> HTTPClient {
        guard Self.allowedURL(url), let scheme = url.scheme, let host = url.host else {
            throw OIDCFailure.provider("the provider's URL \(url.absoluteString) is not https")
        }
        let origin = "\(scheme)://\(host.contains(":") ? "[\(host)]" : host)" + (url.port.map { ":\($0)" } ?? "")
        return try clients.withLock { c in
            if let existing = c[origin] { return existing }
            let made = try HTTPClient(
                baseURL: origin, caFile: caFile, connectTimeoutMillis: 3_000, ioTimeoutMillis: 10_000,
                maxBodyBytes: 256 * 1024, width: 4)
            c[origin] = made
            return made
        }
    }

    private func get(_ url: URL) async throws -> HTTPClientResponse {
        let target = (url.path.isEmpty ? "/" : url.path) + (url.query.map { "?" + $0 } ?? "")
        return try await client(for: url).send(
            method: "GET", target: target, headers: [("Accept", "application/json")], body: [])
    }

    /// The provider's configuration, whose `issuer` must be exactly the configured one (OIDC Discovery §4.3).
    package func discover(_ issuer: String) async throws -> Discovery {
        let now = clock.now()
        if let (d, until) = discoveries.withLock({ $0[issuer] }), now < until { return d }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        guard let url = URL(string: base + "/.well-known/openid-configuration") else {
            throw OIDCFailure.provider("bad issuer")
        }
        let r = try await get(url)
        guard r.status == 200, case .object(let doc)? = try? JSONValue.parse(r.body) else {
            throw OIDCFailure.provider("discovery answered \(r.status)")
        }
        guard doc["issuer"]?.string == issuer else { throw OIDCFailure.provider("discovery names another issuer") }
        func endpoint(_ name: String) throws -> URL {
            guard let s = doc[name]?.string, let u = URL(string: s), Self.allowedURL(u) else {
                throw OIDCFailure.provider("discovery lacks an https \(name)")
            }
            return u
        }
        var methods: [String] = []
        if case .array(let list)? = doc["token_endpoint_auth_methods_supported"] { methods = list.compactMap(\.string) }
        let d = Discovery(
            issuer: issuer, authorizationEndpoint: try endpoint("authorization_endpoint"),
            tokenEndpoint: try endpoint("token_endpoint"), jwksURI: try endpoint("jwks_uri"),
            secretInBody: !methods.isEmpty && !methods.contains("client_secret_basic")
                && methods.contains("client_secret_post"))
        discoveries.withLock { $0[issuer] = (d, now.addingTimeInterval(3600)) }
        return d
    }

    /// The provider's keys: cached while its `Cache-Control: max-age` says (5 minutes without one, at most a day);
    /// `refresh` (an unknown `kid`: the provider may have rotated) fetches early, at most once a minute, so a
    /// stream of tokens with made-up kids cannot make us hammer the provider.
    package func keys(_ d: Discovery, refresh: Bool = false) async throws -> JWKSet {
        let now = clock.now()
        let cached = keySets.withLock { $0[d.issuer] }
        if let cached, now < cached.freshUntil {
            guard refresh, cached.lastForced.map({ now.timeIntervalSince($0) >= 60 }) ?? true else {
                return cached.keys
            }
        }
        let r = try await get(d.jwksURI)
        guard r.status == 200 else { throw OIDCFailure.provider("JWKS answered \(r.status)") }
        let set: JWKSet
        do { set = try JWKSet(json: r.body) } catch { throw OIDCFailure.token(error) }
        var maxAge = 300.0
        if let cc = r.header("cache-control")?.lowercased(),
            let range = cc.range(of: "max-age="),
            let seconds = Double(cc[range.upperBound...].prefix { $0.isNumber })
        {
            maxAge = min(max(seconds, 0), 86400)
        }
        let forced: Date? = refresh && cached != nil ? now : cached?.lastForced
        keySets.withLock {
            $0[d.issuer] = CachedKeys(keys: set, freshUntil: now.addingTimeInterval(maxAge), lastForced: forced)
        }
        return set
    }

    /// Exchanges the code for tokens at the token endpoint and returns the ID token (not yet verified).
    package func exchange(
        code: String, verifier: String, redirectURI: String, settings: OIDCSettings, discovery d: Discovery
    ) async throws -> String {
        func enc(_ s: String) -> String { FormEncoding.encode(s) }
        var form = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("code_verifier", verifier),
        ]
        var headers: [(String, String)] = [
            ("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json"),
        ]
        if d.secretInBody {
            form += [("client_id", settings.clientID), ("client_secret", settings.clientSecret)]
        } else {
            let pair = enc(settings.clientID) + ":" + enc(settings.clientSecret)
            headers.append(("Authorization", "Basic " + Data(pair.utf8).base64EncodedString()))
            form.append(("client_id", settings.clientID))
        }
        let body = Array(form.map { enc($0.0) + "=" + enc($0.1) }.joined(separator: "&").utf8)
        let url = d.tokenEndpoint
        let r = try await client(for: url).send(
            method: "POST", target: (url.path.isEmpty ? "/" : url.path) + (url.query.map { "?" + $0 } ?? ""),
            headers: headers, body: body)
        guard r.status == 200, case .object(let doc)? = try? JSONValue.parse(r.body),
            let idToken = doc["id_token"]?.string
        else { throw OIDCFailure.provider("the token endpoint answered \(r.status) without an ID token") }
        return idToken
    }

    /// Verifies an ID token for this sign-in. An unknown `kid` — or a signature that fails under the one key a
    /// kid-less token was matched to — may mean the provider rotated: the key set is fetched again (at most once
    /// a minute, see `keys`) and the token checked once more.
    package func verify(
        _ idToken: String, settings: OIDCSettings, discovery d: Discovery, nonce: String
    ) async throws -> IDToken {
        let policy = IDTokenPolicy(issuer: settings.issuer, clientID: settings.clientID, nonce: nonce)
        do {
            return try IDToken.verify(idToken, keys: try await keys(d), policy: policy, now: clock.now())
        } catch let r as JOSERefusal where r == .unknownKey || r == .badSignature {
            do {
                return try IDToken.verify(
                    idToken, keys: try await keys(d, refresh: true), policy: policy, now: clock.now())
            } catch let r as JOSERefusal { throw OIDCFailure.token(r) }
        } catch let r as JOSERefusal {
            throw OIDCFailure.token(r)
        }
    }
}

/// Why an OIDC sign-in failed: the provider misbehaved (unreachable, bad discovery), or its token was refused.
package enum OIDCFailure: Error, Sendable, CustomStringConvertible {
    case provider(String)
    case token(JOSERefusal)

    package var code: String {
        switch self {
        case .provider: return "provider_error"
        case .token(let r): return r.rawValue
        }
    }

    package var description: String {
        switch self {
        case .provider(let s): return "provider_error: \(s)"
        case .token(let r): return r.description
        }
    }
}

/// `application/x-www-form-urlencoded` values (RFC 6749 §2.3.1 encodes the client id and secret this way too).
enum FormEncoding {
    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
