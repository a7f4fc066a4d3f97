import Crypto
import Foundation
import GatehouseCore
import SAML
import Store
import TenantDomain

/// An org's SAML settings: its identity provider and how a verified login becomes a session.
package struct SSOSettings: Codable, Sendable, Equatable {
    package struct JIT: Codable, Sendable, Equatable {
        package var enabled: Bool
        package var defaultRole: String
        package init(enabled: Bool = false, defaultRole: String = "member") {
            self.enabled = enabled
            self.defaultRole = defaultRole
        }
    }

    /// Which IdP attributes carry the email and names, and which become user variables (attribute → variable).
    package struct Attributes: Codable, Sendable, Equatable {
        /// nil: the NameID is the email.
        package var email: String?
        package var firstName: String
        package var lastName: String
        package var variables: [String: String]
        package init(
            email: String? = nil, firstName: String = "givenName", lastName: String = "sn",
            variables: [String: String] = [:]
        ) {
            self.email = email
            self.firstName = firstName
            self.lastName = lastName
            self.variables = variables
        }
    }

    package var idp: IdPDescriptor
    package var allowIdPInitiated: Bool
    package var allowSHA1: Bool
    package var signRequests: Bool
    package var jit: JIT
    package var attributes: Attributes
    /// The smallest RSA key the IdP may sign with: nil means the default 2048; an org may lower it to 1024 for an
    /// IdP that still signs with such a key (shown as a warning, recorded in the audit log).
    package var minRSABits: Int?
    package var rsaFloor: Int { minRSABits ?? Certificate.defaultMinRSABits }
    package var idpCertificates: [Certificate] { idp.parsedCertificates(minRSABits: rsaFloor) }
    /// No longer used for routing (claims live in `SSOTrust`, proven by DNS); kept so older rows still decode.
    package var domains: [String]?

    package init(
        idp: IdPDescriptor, allowIdPInitiated: Bool = false, allowSHA1: Bool = false, signRequests: Bool = false,
        jit: JIT = JIT(), attributes: Attributes = Attributes()
    ) {
        self.idp = idp
        self.allowIdPInitiated = allowIdPInitiated
        self.allowSHA1 = allowSHA1
        self.signRequests = signRequests
        self.jit = jit
        self.attributes = attributes
    }
}

/// The body of `PUT /api/v1/orgs/:org/sso`: metadata XML or IdP fields, plus options. Fields left out keep
/// their current value.
package struct SSOSettingsUpdate: Codable, Sendable {
    package var metadataXML: String?
    package var idpEntityID: String?
    package var ssoURL: String?
    package var certificates: [String]?
    package var allowIdPInitiated: Bool?
    package var allowSHA1: Bool?
    package var signRequests: Bool?
    package var jit: SSOSettings.JIT?
    package var attributes: SSOSettings.Attributes?
    /// Email domains the org claims (each proven by DNS before it routes sign-ins; see `SSOTrust`).
    package var domains: [String]?
    /// 2048 (the default) or, for a legacy IdP, 1024.
    package var minRSABits: Int?
    /// The IdP's Single Logout URL when it is given by fields rather than metadata ("" removes it).
    package var sloURL: String?

    package init(
        metadataXML: String? = nil, idpEntityID: String? = nil, ssoURL: String? = nil, certificates: [String]? = nil,
        allowIdPInitiated: Bool? = nil, allowSHA1: Bool? = nil, signRequests: Bool? = nil, jit: SSOSettings.JIT? = nil,
        attributes: SSOSettings.Attributes? = nil
    ) {
        self.metadataXML = metadataXML
        self.idpEntityID = idpEntityID
        self.ssoURL = ssoURL
        self.certificates = certificates
        self.allowIdPInitiated = allowIdPInitiated
        self.allowSHA1 = allowSHA1
        self.signRequests = signRequests
        self.jit = jit
        self.attributes = attributes
    }

    /// The settings after this update, every field checked.
    func applied(to current: SSOSettings?) throws -> SSOSettings {
        if let bits = minRSABits, ![Certificate.lowestMinRSABits, Certificate.defaultMinRSABits].contains(bits) {
            throw GatehouseError.validation("minRSABits is 2048 (the default) or 1024 for a legacy identity provider.")
        }
        let floor = minRSABits ?? current?.rsaFloor ?? Certificate.defaultMinRSABits
        var idp: IdPDescriptor
        do {
            if let xml = metadataXML {
                idp = try IdPMetadata.parse(Array(xml.utf8), minRSABits: floor)
            } else if let current {
                idp = current.idp
            } else {
                guard let e = idpEntityID, let u = ssoURL, let c = certificates else {
                    throw GatehouseError.validation(
                        "Give the IdP's metadata (metadataXML), or idpEntityID, ssoURL and certificates.")
                }
                idp = IdPDescriptor(entityID: e, ssoURL: u, certificates: c)
            }
            if let e = idpEntityID { idp.entityID = e }
            if let u = ssoURL { idp.ssoURL = u }
            if let c = certificates { idp.certificates = c }
            if let u = sloURL { idp.sloURL = u.isEmpty ? nil : u }
            idp = try idp.validated(minRSABits: floor)
        } catch let r as SAMLRefusal {
            throw GatehouseError(.init(r.code), status: 422, r.reason)
        }
        var s = current ?? SSOSettings(idp: idp)
        s.idp = idp
        s.minRSABits = floor == Certificate.defaultMinRSABits ? nil : floor
        if let v = allowIdPInitiated { s.allowIdPInitiated = v }
        if let v = allowSHA1 { s.allowSHA1 = v }
        if let v = signRequests { s.signRequests = v }
        if let v = jit {
            guard !v.defaultRole.isEmpty, v.defaultRole != "owner", v.defaultRole.utf8.count <= 64 else {
                throw GatehouseError.validation("The JIT default role must be an existing role other than owner.")
            }
            s.jit = v
        }
        if let v = attributes {
            guard v.variables.count <= 50,
                ([v.firstName, v.lastName] + (v.email.map { [$0] } ?? []) + Array(v.variables.keys)
                    + Array(v.variables.values)).allSatisfy({ $0.utf8.count <= 256 })
            else {
                throw GatehouseError.validation("Attribute mapping: at most 50 variables, names of at most 256 bytes.")
            }
            s.attributes = v
        }
        return s
    }
}

/// SAML state in the gateway store: settings per org, the AuthnRequests in flight (10 minutes), and the
/// assertion ids already used (kept until they expire).
package final class SSOStore: Sendable {
    let db: Database
    let clock: any WallClock
    package static let requestLifetime = 600

    package init(db: Database, clock: any WallClock) {
        self.db = db
        self.clock = clock
    }

    var nowS: Int { Int(clock.now().timeIntervalSince1970) }

    package func settings(org: String) async throws -> SSOSettings? { try await load(.saml, org: org) }

    package func save(_ s: SSOSettings, org: String, by accountID: String) async throws {
        try await store(s, .saml, org: org, by: accountID)
    }

    package func delete(org: String) async throws { try await remove(.saml, org: org) }

    /// An org's connection settings, one JSON row per org and protocol.
    enum SettingsTable: String {
        case saml = "saml_settings"
        case oidc = "oidc_settings"
    }

    func load<T: Decodable & Sendable>(_ table: SettingsTable, org: String) async throws -> T? {
        try await db.lookup { conn in
            guard
                let text = try conn.first("SELECT settings FROM \(table.rawValue) WHERE org_id = ?", [org])?.string(0)
            else { return nil }
            guard let s = JSONColumn.read(T.self, text) else {
                throw GatehouseError.internalError(detail: "\(table.rawValue) row of \(org) does not decode")
            }
            return s
        }
    }

    func store(_ s: some Encodable, _ table: SettingsTable, org: String, by accountID: String) async throws {
        let text = try JSONColumn.value(s)
        let now = nowS
        _ = try await db.write { conn in
            try conn.run(
                "INSERT INTO \(table.rawValue) (org_id, settings, updated_at, updated_by) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings, updated_at ="
                    + " excluded.updated_at, updated_by = excluded.updated_by",
                [org, text, now, accountID])
        }
    }

    func remove(_ table: SettingsTable, org: String) async throws {
        _ = try await db.write { conn in try conn.run("DELETE FROM \(table.rawValue) WHERE org_id = ?", [org]) }
    }

    /// Most AuthnRequests in flight for one org: sign-in starts are anonymous, so their rows are capped (and
    /// rate-limited per address at the route) and expired ones pruned on every insert.
    package static let maxPendingRequests = 5_000

    /// What a request in flight asked the IdP: a sign-in (answered at the ACS) or a logout (answered at the SLO).
    package enum RequestKind: String, Sendable { case authn, logout }

    package func rememberRequest(id: String, org: String, next: String, kind: RequestKind = .authn) async throws {
        let now = nowS
        try await db.write { conn in
            try conn.run("DELETE FROM saml_requests WHERE expires_at <= ?", [now])
            let (pending) = try conn.first("SELECT count(*) FROM saml_requests WHERE org_id = ?", [org])?.int(0) ?? 0
            if pending >= Self.maxPendingRequests {
                throw GatehouseError(
                    .rateLimited, status: 429,
                    "Too many sign-ins are in progress for this organization; try again in a few minutes.",
                    headers: [("Retry-After", "60")])
            }
            try conn.run(
                "INSERT INTO saml_requests (id, org_id, next, expires_at, kind) VALUES (?, ?, ?, ?, ?)",
                [id, org, next, now + Self.requestLifetime, kind.rawValue])
        }
    }

    /// The `next` of a live request this SP sent for `org`, or nil.
    package func pendingRequest(id: String, org: String, kind: RequestKind = .authn) async throws -> String? {
        let now = nowS
        return try await db.lookup { conn in
            try conn.first(
                "SELECT next FROM saml_requests WHERE id = ? AND org_id = ? AND kind = ? AND expires_at > ?",
                [id, org, kind.rawValue, now])?
                .string("next")
        }
    }

    package enum Consumption: Sendable, Equatable { case accepted, replayed, requestAlreadyAnswered }

    /// Records the assertion as used and marks the request it answered, in one transaction. An assertion id
    /// seen before is a replay; a second answer to one request is refused too (each request opens one session).
    package func consume(assertionID: String, org: String, until: Date, requestID: String?) async throws -> Consumption
    {
        let now = nowS
        let expires = Int(until.timeIntervalSince1970) + 1
        return try await db.write { conn in
            try conn.run("DELETE FROM saml_seen_assertions WHERE expires_at <= ?", [now])
            if try conn.first(
                "SELECT 1 FROM saml_seen_assertions WHERE org_id = ? AND assertion_id = ?", [org, assertionID]) != nil
            {
                return .replayed
            }
            if let requestID,
                try conn.first("SELECT 1 FROM saml_requests WHERE id = ? AND answered_at IS NOT NULL", [requestID])
                    != nil
            {
                return .requestAlreadyAnswered
            }
            try conn.run(
                "INSERT INTO saml_seen_assertions (org_id, assertion_id, expires_at) VALUES (?, ?, ?)",
                [org, assertionID, max(expires, now + 1)])
            if let requestID {
                try conn.run("UPDATE saml_requests SET answered_at = ? WHERE id = ?", [now, requestID])
            }
            return .accepted
        }
    }
}
