import Crypto
import Foundation
import GatehouseCore
import TenantDomain

/// What an invite token says. Only `InviteTokens.verify` produces one from untrusted text, after the MAC matched.
package struct InviteTokenClaims: Sendable, Codable, Equatable {
    package let inviteID: String
    package let orgID: String
    package let region: Region
    package let version: Int
    package let expiresAt: Int
    package let keyID: String
    /// True when the token came with its mail proof (`<token>.<proof>`): the link was opened from the
    /// invitation email, so whoever holds it can read that mailbox. Never part of the signed claims.
    package internal(set) var emailProven = false

    enum CodingKeys: String, CodingKey {
        case inviteID = "i"
        case orgID = "o"
        case region = "r"
        case version = "v"
        case expiresAt = "e"
        case keyID = "k"
    }

    package init(inviteID: String, orgID: String, region: Region, version: Int, expiresAt: Int, keyID: String) {
        self.inviteID = inviteID
        self.orgID = orgID
        self.region = region
        self.version = version
        self.expiresAt = expiresAt
        self.keyID = keyID
    }
}

/// `gh1.<payload>.<mac>`: base64url JSON claims and HMAC-SHA256 over `gh1.<payload>` with the key named in the
/// claims. The gateway checks MAC and expiry with no store; the region checks status and version. Tokens are
/// derived again whenever needed ("copy link", mail) and never stored.
///
/// Rotation: add a key, make it active (new tokens use it), keep the old one for verifying until its tokens
/// expire.
package struct InviteTokens: Sendable {
    package typealias Key = KeyRing.Key

    package enum Failure: Error, Sendable, Equatable {
        case malformed, unknownKey, badSignature, expired
    }

    package let ring: KeyRing
    package var activeKeyID: String { ring.active.id }

    package init(ring: KeyRing) { self.ring = ring }

    package init(active: Key, others: [Key] = []) { ring = KeyRing(active: active, others: others) }

    package func issue(inviteID: String, orgID: String, region: Region, version: Int, expiresAt: Int) -> String {
        let claims = InviteTokenClaims(
            inviteID: inviteID, orgID: orgID, region: region, version: version, expiresAt: expiresAt, keyID: activeKeyID
        )
        // Sorted keys: the same invite always gets the same link (JSONEncoder's default key order varies by process).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(claims)) ?? Data()
        let payload = Base64URL.encode(json)
        let signed = "gh1." + payload
        let mac = HMAC.authenticate(Array(signed.utf8), key: ring.active.secret.value)
        return signed + "." + Base64URL.encode(mac)
    }

    /// Checks shape, key, MAC (constant time) and expiry against `now`, in that order, and only then trusts the
    /// claims. A fourth part is the mail proof; when present it must be right, and `emailProven` says so.
    package func verify(_ token: String, now: Date) -> Result<InviteTokenClaims, Failure> {
        guard token.utf8.count <= 1024 else { return .failure(.malformed) }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 || parts.count == 4, parts[0] == "gh1", let payloadBytes = Base64URL.decode(parts[1]),
            let mac = Base64URL.decode(parts[2]), mac.count == 32
        else { return .failure(.malformed) }
        // The key id must be read before the MAC can be checked; the payload is bounded and parsed strictly.
        guard let unverified = try? JSONDecoder().decode(InviteTokenClaims.self, from: payloadBytes) else {
            return .failure(.malformed)
        }
        guard let key = ring.key(unverified.keyID) else { return .failure(.unknownKey) }
        let signed = Array(("gh1." + parts[1]).utf8)
        guard HMAC.isValid(Array(mac), for: signed, key: key.secret.value) else { return .failure(.badSignature) }
        guard Int(now.timeIntervalSince1970) < unverified.expiresAt else { return .failure(.expired) }
        var claims = unverified
        if parts.count == 4 {
            let link = parts[0...2].joined(separator: ".")
            guard let proof = Base64URL.decode(parts[3]), proof.count == 32,
                HMAC.isValid(Array(proof), for: Array((Self.proofLabel + link).utf8), key: key.secret.value)
            else {
                return .failure(.badSignature)
            }
            claims.emailProven = true
        }
        return .success(claims)
    }

    // MARK: Proof of the address
    //
    // "Copy link" hands an inviter the same token the mail carries, so the bare token cannot prove that its
    // holder reads the invited mailbox (rule 8). Mail carries `<token>.<proof>`, an HMAC only the mail has;
    // a copied link can still sign in an existing account, but creating an account through it first needs a
    // code mailed to the address.

    static let proofLabel = "gatehouse invite mail proof\n"
    static let codeLabel = "gatehouse invite email code\n"
    /// A mailed code is valid in the 10-minute slot it was made in and the next.
    package static let codeSlot = 600

    /// The link as mailed: the token and its proof.
    package func mailed(_ token: String) -> String {
        guard let key = ring.key(Self.keyID(of: token) ?? "") else { return token }
        return token + "."
            + Base64URL.encode(HMAC.authenticate(Array((Self.proofLabel + token).utf8), key: key.secret.value))
    }

    /// The link without its proof (what "copy link" shows, and the form every stored or logged copy takes).
    package static func bare(_ token: String) -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 ? parts[0...2].joined(separator: ".") : token
    }

    static func keyID(of token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3, let payload = Base64URL.decode(parts[1]),
            let c = try? JSONDecoder().decode(InviteTokenClaims.self, from: payload)
        else { return nil }
        return c.keyID
    }

    /// A 6-digit code for `subject` (what it proves: an invite and version, a pending SSO link) in the given slot
    /// (`codeSlot` seconds each), made with the active key: the mail and the check are minutes apart, and the
    /// gateway and the region that mails it share the ring.
    package func code(subject: String, slot: Int) -> String {
        let mac = HMAC.authenticate(Array("\(Self.codeLabel)\(subject)\n\(slot)".utf8), key: ring.active.secret.value)
        let n = (UInt32(mac[0]) << 24 | UInt32(mac[1]) << 16 | UInt32(mac[2]) << 8 | UInt32(mac[3])) % 1_000_000
        let digits = String(n)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }

    /// The code that proves the invited address of an invite (this version only: a resend changes it).
    package func code(inviteID: String, version: Int, slot: Int) -> String {
        code(subject: "invite\n\(inviteID)\n\(version)", slot: slot)
    }

    package static func slot(_ now: Date) -> Int { Int(now.timeIntervalSince1970) / codeSlot }

    /// Whether `code` is the code for `subject` in the current slot or the one before (constant-time compare).
    package func checkCode(_ code: String, subject: String, now: Date) -> Bool {
        let presented = Array(code.trimmingCharacters(in: .whitespaces).utf8)
        guard presented.count == 6 else { return false }
        let s = Self.slot(now)
        var ok = false
        for slot in [s, s - 1] where ConstantTime.equals(Array(self.code(subject: subject, slot: slot).utf8), presented)
        { ok = true }
        return ok
    }

    package func checkCode(_ code: String, claims: InviteTokenClaims, now: Date) -> Bool {
        checkCode(code, subject: "invite\n\(claims.inviteID)\n\(claims.version)", now: now)
    }

    /// Keys from `dir/invite-keys.json` (see `KeyRing`), created with a fresh random key on first start.
    package static func loadOrCreate(directory: String) throws -> InviteTokens {
        let ring = try KeyRing.loadOrCreate(path: directory + "/invite-keys.json")
        return InviteTokens(ring: ring)
    }
}
