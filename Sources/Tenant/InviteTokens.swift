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
    public struct Key: Sendable {
        public let id: String
        public let secret: Redacted<[UInt8]>
        public init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = Redacted(secret)
        }
    }

    public enum Failure: Error, Sendable, Equatable {
        case malformed, unknownKey, badSignature, expired
    }

    public let activeKeyID: String
    private let keys: [String: Key]

    public init(active: Key, others: [Key] = []) {
        activeKeyID = active.id
        var k: [String: Key] = [active.id: active]
        for o in others { k[o.id] = o }
        keys = k
    }

    public func issue(inviteID: String, orgID: String, region: Region, version: Int, expiresAt: Int) -> String {
        let claims = InviteTokenClaims(inviteID: inviteID, orgID: orgID, region: region, version: version, expiresAt: expiresAt, keyID: activeKeyID)
        let json = (try? JSONEncoder().encode(claims)) ?? Data()
        let payload = Base64URL.encode(json)
        let signed = "gh1." + payload
        // The active key is always present (set in init).
        let mac = HMAC.authenticate(Array(signed.utf8), key: keys[activeKeyID]?.secret.value ?? [])
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
        guard let key = keys[unverified.keyID] else { return .failure(.unknownKey) }
        let signed = Array(("gh1." + parts[1]).utf8)
        guard HMAC.isValid(Array(mac), for: signed, key: key.secret.value) else { return .failure(.badSignature) }
        guard Int(now.timeIntervalSince1970) < unverified.expiresAt else { return .failure(.expired) }
        return .success(unverified)
    }

    /// Keys from `dir/invite-keys.json`, created with a fresh random key on first start (never committed:
    /// the data directory is git-ignored). Format: `{"active": "k1", "keys": {"k1": "<base64url 32 bytes>"}}`.
    public static func loadOrCreate(directory: String) throws -> InviteTokens {
        let path = directory + "/invite-keys.json"
        if let data = FileManager.default.contents(atPath: path) {
            struct File: Decodable { let active: String; let keys: [String: String] }
            let f = try JSONDecoder().decode(File.self, from: data)
            var all: [Key] = []
            for (id, b64) in f.keys {
                guard let secret = Base64URL.decode(b64), secret.count >= 32 else {
                    throw GatehouseError(.internalError, status: 500, "invite key \(id) in \(path) must be at least 32 bytes of base64url")
                }
                all.append(Key(id: id, secret: Array(secret)))
            }
            guard let active = all.first(where: { $0.id == f.active }) else {
                throw GatehouseError(.internalError, status: 500, "the active invite key \(f.active) is missing from \(path)")
            }
            return InviteTokens(active: active, others: all.filter { $0.id != f.active })
        }
        let id = "k" + String(Int(Date().timeIntervalSince1970))
        let secret = SecureRandom.bytes(32)
        let json = "{\"active\": \"\(id)\", \"keys\": {\"\(id)\": \"\(Base64URL.encode(secret))\"}}\n"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600])
        return InviteTokens(active: Key(id: id, secret: secret))
    }
}
