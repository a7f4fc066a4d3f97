import Foundation
import HTTP
import TenantDomain

/// What a live SCIM token is: its org, its id and name (audit entries read `scim:<name>`), and the highest role
/// it may grant.
package struct SCIMTokenIdentity: Codable, Sendable, Equatable {
    package let org: String
    package let id: String
    package let name: String
    package let roleCeiling: String

    package init(org: String, id: String, name: String, roleCeiling: String) {
        self.org = org
        self.id = id
        self.name = name
        self.roleCeiling = roleCeiling
    }
}

/// `POST /api/v1/orgs/:org/scim-tokens`.
package struct SCIMTokenRequest: Codable, Sendable {
    package var name: String
    /// The highest built-in role the token may grant (default `member`); `owner` only when an owner creates it.
    package var roleCeiling: String?
    package init(name: String, roleCeiling: String? = nil) {
        self.name = name
        self.roleCeiling = roleCeiling
    }
}

/// A SCIM token as listed (the secret only in the answer that created it).
package struct SCIMTokenView: Codable, Sendable, Equatable {
    package let id: String
    package let name: String
    package let roleCeiling: String
    package let createdBy: String
    package let createdAt: Date
    package let lastUsedAt: Date?
    package let secret: String?

    package init(
        id: String, name: String, roleCeiling: String, createdBy: String, createdAt: Date, lastUsedAt: Date?,
        secret: String?
    ) {
        self.id = id
        self.name = name
        self.roleCeiling = roleCeiling
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.secret = secret
    }
}

extension Caller {
    /// The caller a live SCIM token acts as: not a person; `scim:<token id>` as its account, its name as its
    /// display name (audit entries read `scim:<name>`), scoped to its org.
    package static func scim(_ t: SCIMTokenIdentity) -> Caller {
        Caller(
            accountID: "scim:" + t.id, email: "", displayName: t.name, authMethod: .scim, scopeOrg: t.org,
            scopeApp: nil)
    }
}

/// A SCIM resource or message as JSON (built with Foundation's JSON types; one value, handed over once).
package struct SCIMObject: @unchecked Sendable {
    package let value: [String: Any]
    package init(_ value: [String: Any]) { self.value = value }
    package var bytes: [UInt8] {
        Array(
            (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes]))
                ?? Data())
    }
}

/// A SCIM error answer (RFC 7644 §3.12): status, optional `scimType`, a detail in words.
package struct SCIMError: Error {
    package let status: Int
    package let scimType: String?
    package let detail: String

    package init(_ status: Int, _ scimType: String?, _ detail: String) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
    }
}

extension SCIMError {
    /// The error as SCIM answers it (`application/scim+json`).
    package var response: Response {
        var o: [String: Any] = [
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": String(status), "detail": detail,
        ]
        if let t = scimType { o["scimType"] = t }
        return Response(status: status, headers: ["Content-Type": "application/scim+json"], body: SCIMObject(o).bytes)
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A SCIM attribute by name: SCIM attribute names are case-insensitive (RFC 7643 §2.1).
    package func scim(_ name: String) -> Any? {
        if let v = self[name] { return v }
        let wanted = name.lowercased()
        return first { $0.key.lowercased() == wanted }?.value
    }
}

/// Where a SCIM User body gives the person's address: `userName` when it is one, else the primary (or work, or
/// first) of `emails`. The gateway (making the account) and the region (making the member) read it alike.
package enum SCIMAddress {
    package static func email(in body: [String: Any]) -> String? {
        if let u = body.scim("userName") as? String, Email.isValid(Email.normalize(u)) { return Email.normalize(u) }
        let emails = (body.scim("emails") as? [[String: Any]]) ?? []
        let pick =
            emails.first { $0.scim("primary") as? Bool == true } ?? emails.first {
                ($0.scim("type") as? String)?.lowercased() == "work"
            } ?? emails.first
        guard let v = pick.flatMap({ $0.scim("value") as? String }), Email.isValid(Email.normalize(v)) else {
            return nil
        }
        return Email.normalize(v)
    }
}
