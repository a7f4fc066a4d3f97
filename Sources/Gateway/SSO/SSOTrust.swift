import Crypto
import Foundation
import GatehouseCore
import Net
import Store
import TenantDomain

/// A claim of an email domain by an org, and how to prove it.
package struct DomainClaim: Codable, Sendable, Equatable {
    package let domain: String
    package let verified: Bool
    package let verifiedAt: Date?
    /// Publish a TXT record with this name and value, then ask to verify.
    package let recordName: String
    package let recordValue: String
}

/// What an org's identity provider is trusted for, kept in the gateway store.
///
/// Why this exists: an org admin controls the org's IdP, so whatever it asserts is that admin's word. It may
/// sign in an existing account only when the account was linked to this org's IdP while the person proved
/// the account (`link`), or when the email's domain is proven to belong to the org (`verifiedOrg`). Domains
/// route "Sign in with SSO" and allow JIT only once proven by DNS, and one org owns a domain at a time.
package final class SSOTrust: Sendable {
    let db: Database
    let clock: any WallClock
    package static let recordPrefix = "_gatehouse-challenge."
    package static let valuePrefix = "gatehouse-domain-verification="
    package static let pendingLinkLifetime = 600

    /// Addresses anyone can get: no org may own these domains.
    package static let publicMailDomains: Set<String> = [
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com",
        "icloud.com", "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de",
        "gmx.net",
        "web.de", "mail.com", "mail.ru", "yandex.com", "yandex.ru", "qq.com", "163.com", "126.com", "zoho.com",
        "fastmail.com",
        "tutanota.com", "hey.com",
    ]

    package init(db: Database, clock: any WallClock) {
        self.db = db
        self.clock = clock
    }

    var nowS: Int { Int(clock.now().timeIntervalSince1970) }

    // MARK: Links

    package func isLinked(accountID: String, org: String) async throws -> Bool {
        try await db.lookup {
            try $0.first("SELECT 1 FROM sso_links WHERE account_id = ? AND org_id = ?", [accountID, org]) != nil
        }
    }

    /// Links the account to the org's IdP. `via`: how the person proved the account (`password`, `session`,
    /// `created` for an account this IdP made, `domain`).
    package func link(accountID: String, org: String, via: String) async throws {
        let now = nowS
        try await db.write { conn in
            try conn.run(
                "INSERT INTO sso_links (account_id, org_id, via, created_at) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT DO NOTHING",
                [accountID, org, via, now])
        }
    }

    /// Remembers a sign-in that needs the person to prove the account, behind a random browser-held id.
    package func rememberPendingLink(accountID: String, org: String, next: String) async throws -> String {
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let nonce = IDs.random(SecureRandom.bytes(16))
        let now = nowS
        try await db.write { conn in
            try conn.run("DELETE FROM sso_pending_links WHERE expires_at <= ?", [now])
            try conn.run("DELETE FROM sso_pending_links WHERE account_id = ? AND org_id = ?", [accountID, org])
            try conn.run(
                "INSERT INTO sso_pending_links (id_hash, account_id, org_id, next, nonce, expires_at) VALUES (?, ?,"
                    + " ?, ?, ?, ?)",
                [Digest.sha256.hash(token), accountID, org, next, nonce, now + Self.pendingLinkLifetime])
        }
        return token
    }

    /// A sign-in waiting for its link: whose account, where to go after, and what a mailed code proves
    /// (`codeSubject`, for `InviteTokens.code(subject:slot:)`).
    package struct PendingLink: Sendable {
        package let accountID: String
        package let next: String
        package let codeSubject: String
    }

    package func pendingLink(_ token: String, org: String) async throws -> PendingLink? {
        guard token.utf8.count == 43 else { return nil }
        let now = nowS
        return try await db.lookup { conn in
            guard
                let row = try conn.first(
                    "SELECT account_id, next, nonce FROM sso_pending_links WHERE id_hash = ? AND org_id = ? AND"
                        + " expires_at > ?",
                    [Digest.sha256.hash(token), org, now])
            else { return nil }
            return PendingLink(
                accountID: row.string("account_id") ?? "", next: row.string("next") ?? "/",
                codeSubject: "sso-link\n" + org + "\n" + (row.string("nonce") ?? ""))
        }
    }

    package func forgetPendingLink(_ token: String) async throws {
        try await db.write {
            try $0.run("DELETE FROM sso_pending_links WHERE id_hash = ?", [Digest.sha256.hash(token)])
        }
    }

    // MARK: Domains

    /// A plain, lower-cased domain of at least two labels, or a 422 naming the problem.
    package static func normalizeDomain(_ raw: String) throws -> String {
        let d = raw.trimmingCharacters(in: .whitespaces).lowercased()
        guard d.contains("."), d.utf8.count <= 253, Email.isValid("x@" + d), !d.hasSuffix(".") else {
            throw GatehouseError.validation("`\(raw.prefix(80))` is not a plain email domain (example.com).")
        }
        if publicMailDomains.contains(d) {
            throw GatehouseError(
                .publicDomain, status: 422,
                "\(d) is a public mail domain: anyone can have an address there, so no organization can own it.")
        }
        return d
    }

    package func claims(org: String) async throws -> [DomainClaim] {
        try await db.lookup { conn in
            try conn.query("SELECT domain, token, verified_at FROM sso_domains WHERE org_id = ? ORDER BY domain", [org])
                .map {
                    Self.view(
                        domain: $0.string("domain") ?? "", token: $0.string("token") ?? "",
                        verifiedAt: $0.int("verified_at"))
                }
        }
    }

    static func view(domain: String, token: String, verifiedAt: Int?) -> DomainClaim {
        DomainClaim(
            domain: domain, verified: verifiedAt != nil,
            verifiedAt: verifiedAt.map { Date(timeIntervalSince1970: Double($0)) },
            recordName: recordPrefix + domain, recordValue: valuePrefix + token)
    }

    /// Claims a domain for the org (unverified until `verify`). A domain another org has proven is refused (409).
    @discardableResult
    package func claim(_ raw: String, org: String) async throws -> DomainClaim {
        let domain = try Self.normalizeDomain(raw)
        let token = IDs.random(SecureRandom.bytes(20))
        let now = nowS
        return try await db.write { conn in
            if let owner = try conn.first(
                "SELECT org_id FROM sso_domains WHERE domain = ? AND verified_at IS NOT NULL", [domain])?.string(
                    "org_id"),
                owner != org
            {
                throw GatehouseError.conflict("\(domain) is already verified by another organization.")
            }
            if let row = try conn.first(
                "SELECT token, verified_at FROM sso_domains WHERE domain = ? AND org_id = ?", [domain, org])
            {
                return Self.view(domain: domain, token: row.string("token") ?? "", verifiedAt: row.int("verified_at"))
            }
            guard try conn.first("SELECT count(*) FROM sso_domains WHERE org_id = ?", [org])?.int(0) ?? 0 < 20 else {
                throw GatehouseError.validation("An organization can claim at most 20 domains.")
            }
            try conn.run(
                "INSERT INTO sso_domains (domain, org_id, token, created_at) VALUES (?, ?, ?, ?)",
                [domain, org, token, now])
            return Self.view(domain: domain, token: token, verifiedAt: nil)
        }
    }

    package func unclaim(_ domain: String, org: String) async throws {
        let d = domain.lowercased()
        try await db.write { try $0.run("DELETE FROM sso_domains WHERE domain = ? AND org_id = ?", [d, org]) }
    }

    /// Looks up `_gatehouse-challenge.<domain>` TXT through `resolver` (on a blocking thread); when it carries
    /// the org's value the claim is verified, and other orgs' unverified claims of the domain are dropped.
    package func verify(
        _ domain: String, org: String, resolver: DNSResolver, pool: BlockingPool
    ) async throws -> DomainClaim {
        let d = domain.lowercased()
        guard
            let row = try await db.lookup({
                try $0.first("SELECT token FROM sso_domains WHERE domain = ? AND org_id = ?", [d, org])
            }),
            let token = row.string("token")
        else {
            throw GatehouseError.notFound("This organization has not claimed \(d.prefix(80)).")
        }
        let expected = Self.valuePrefix + token
        let records: [String]
        do {
            records = try await pool.run { try resolver.txt(Self.recordPrefix + d) }
        } catch let e as NetError {
            throw GatehouseError(
                .dnsUnavailable, status: 503, "The DNS lookup failed (\(e.message)); try again shortly.")
        }
        guard records.contains(where: { $0.trimmingCharacters(in: .whitespaces) == expected }) else {
            throw GatehouseError(
                .domainUnverified, status: 422,
                "No TXT record \(Self.recordPrefix + d) with the value \(expected) was found (\(records.count) TXT"
                    + " record(s) there)."
            )
        }
        let now = nowS
        return try await db.write { conn in
            if let owner = try conn.first(
                "SELECT org_id FROM sso_domains WHERE domain = ? AND verified_at IS NOT NULL", [d])?.string("org_id"),
                owner != org
            {
                throw GatehouseError.conflict("\(d) is already verified by another organization.")
            }
            try conn.run(
                "UPDATE sso_domains SET verified_at = coalesce(verified_at, ?) WHERE domain = ? AND org_id = ?",
                [now, d, org])
            try conn.run("DELETE FROM sso_domains WHERE domain = ? AND org_id <> ?", [d, org])
            let at = try conn.first("SELECT verified_at FROM sso_domains WHERE domain = ? AND org_id = ?", [d, org])?
                .int("verified_at")
            return Self.view(domain: d, token: token, verifiedAt: at)
        }
    }

    /// The org that has proven `domain`, if any.
    package func verifiedOrg(forDomain domain: String) async throws -> String? {
        try await db.lookup {
            try $0.first(
                "SELECT org_id FROM sso_domains WHERE domain = ? AND verified_at IS NOT NULL", [domain.lowercased()])?
                .string("org_id")
        }
    }

    /// Whether `email`'s domain is proven by `org`.
    package func emailDomainVerified(_ email: String, org: String) async throws -> Bool {
        guard let at = email.lastIndex(of: "@") else { return false }
        return try await verifiedOrg(forDomain: String(email[email.index(after: at)...])) == org
    }

    /// Everything the gateway keeps about an org's SSO, when the org is deleted.
    package func purge(org: String) async throws {
        try await db.write { conn in
            for table in [
                "saml_settings", "saml_requests", "saml_seen_assertions", "sso_links", "sso_domains",
                "sso_pending_links", "oidc_settings", "oidc_requests",
            ] {
                try conn.run("DELETE FROM \(table) WHERE org_id = ?", [org])
            }
        }
    }
}
