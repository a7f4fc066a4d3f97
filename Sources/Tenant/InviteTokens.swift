import Foundation
import Crypto
import GatehouseCore
import TenantDomain

/// What an invite token says. Only `InviteTokens.verify` produces one from untrusted text, after the MAC matched.
public struct InviteTokenClaims: Sendable, Codable, Equatable {
    public let inviteID: String
    public let orgID: String
    public let region: Region
    public let version: Int
    public let expiresAt: Int
    public let keyID: String

    enum CodingKeys: String, CodingKey {
        case inviteID = "i", orgID = "o", region = "r", version = "v", expiresAt = "e", keyID = "k"
    }
}

/// `gh1.<payload>.<mac>`: base64url JSON claims and HMAC-SHA256 over `gh1.<payload>` with the key named in the
/// claims. The gateway checks MAC and expiry with no store; the region checks status and version. Tokens are
/// derived again whenever needed ("copy link", mail) and never stored.
///
/// Rotation: add a key, make it active (new tokens use it), keep the old one for verifying until its tokens
/// expire.
public struct InviteTokens: Sendable {
    public typealias Key = KeyRing.Key

    public enum Failure: Error, Sendable, Equatable {
        case malformed, unknownKey, badSignature, expired
    }

    public let ring: KeyRing
    public var activeKeyID: String { ring.active.id }

    public init(ring: KeyRing) { self.ring = ring }

    public init(active: Key, others: [Key] = []) { ring = KeyRing(active: active, others: others) }

    public func issue(inviteID: String, orgID: String, region: Region, version: Int, expiresAt: Int) -> String {
        let claims = InviteTokenClaims(inviteID: inviteID, orgID: orgID, region: region, version: version, expiresAt: expiresAt, keyID: activeKeyID)
        let json = (try? JSONEncoder().encode(claims)) ?? Data()
        let payload = Base64URL.encode(json)
        let signed = "gh1." + payload
        let mac = HMAC.authenticate(Array(signed.utf8), key: ring.active.secret.value)
        return signed + "." + Base64URL.encode(mac)
    }

    /// Checks shape, key, MAC (constant time) and expiry against `now`, in that order, and only then trusts the claims.
    public func verify(_ token: String, now: Date) -> Result<InviteTokenClaims, Failure> {
        guard token.utf8.count <= 1024 else { return .failure(.malformed) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "gh1", let payloadBytes = Base64URL.decode(parts[1]),
              let mac = Base64URL.decode(parts[2]), mac.count == 32 else { return .failure(.malformed) }
        // The key id must be read before the MAC can be checked; the payload is bounded and parsed strictly.
        guard let unverified = try? JSONDecoder().decode(InviteTokenClaims.self, from: payloadBytes) else { return .failure(.malformed) }
        guard let key = ring.key(unverified.keyID) else { return .failure(.unknownKey) }
        let signed = Array(("gh1." + parts[1]).utf8)
        guard HMAC.isValid(Array(mac), for: signed, key: key.secret.value) else { return .failure(.badSignature) }
        guard Int(now.timeIntervalSince1970) < unverified.expiresAt else { return .failure(.expired) }
        return .success(unverified)
    }

    /// Keys from `dir/invite-keys.json` (see `KeyRing`), created with a fresh random key on first start.
    public static func loadOrCreate(directory: String) throws -> InviteTokens {
        let ring = try KeyRing.loadOrCreate(path: directory + "/invite-keys.json")
        return InviteTokens(ring: ring)
    }
}
