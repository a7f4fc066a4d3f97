import Foundation
import Crypto
import GatehouseCore
import Store

/// A signed-in browser or client: an opaque 256-bit id in an `HttpOnly; SameSite=Lax` cookie, stored only as
/// its SHA-256. Idle and absolute timeouts; rotated at login (a new id every time); all of an account's
/// sessions end when its password changes.
public struct Session: Sendable, Equatable {
    public let accountID: String
    /// `password`, `saml:<org>`, `oidc:<provider>`, `bootstrap`.
    public let method: String
    public let createdAt: Int
    public let expiresAt: Int
}

public final class Sessions: Sendable {
    public struct Policy: Sendable {
        public var idleTimeout: TimeInterval = 12 * 3600
        public var absoluteTimeout: TimeInterval = 7 * 86400
        /// `last_seen` is written at most this often per session (reads stay reads).
        public var touchInterval: TimeInterval = 60
        public init() {}
    }

    public static let cookieName = "gh_session"
    let db: Database
    let clock: any WallClock
    public let policy: Policy
    /// Key for CSRF tokens (HMAC of the session id): per process start, so tokens die with the process too.
    private let csrfKey: Redacted<[UInt8]>

    public init(db: Database, clock: any WallClock, policy: Policy = Policy()) {
        self.db = db
        self.clock = clock
        self.policy = policy
        csrfKey = Redacted(SecureRandom.bytes(32))
    }

    static func digest(_ token: String) -> [UInt8] { Digest.sha256.hash(token) }

    /// Starts a session and returns its token (for the cookie). The token is never stored.
    public func create(accountID: String, method: String) async throws -> (token: String, session: Session) {
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let now = Int(clock.now().timeIntervalSince1970)
        let session = Session(accountID: accountID, method: method, createdAt: now, expiresAt: now + Int(policy.absoluteTimeout))
        try await db.write { conn in
            try conn.run("INSERT INTO sessions (id_hash, account_id, method, created_at, last_seen, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                         [Self.digest(token), accountID, method, now, now, session.expiresAt])
        }
        return (token, session)
    }

    /// The live session for `token`, or nil (unknown, idle too long, or past its absolute end).
    public func validate(_ token: String) throws -> Session? {
        guard (40...50).contains(token.utf8.count) else { return nil }
        let now = Int(clock.now().timeIntervalSince1970)
        let hash = Self.digest(token)
        guard let row = try db.readNow({ try $0.first("SELECT account_id, method, created_at, last_seen, expires_at FROM sessions WHERE id_hash = ?", [hash]) }),
              let lastSeen = row.int("last_seen"), let expires = row.int("expires_at") else { return nil }
        guard now < expires, now < lastSeen + Int(policy.idleTimeout) else { return nil }
        if now - lastSeen >= Int(policy.touchInterval) {
            let db = self.db
            Task.detached { try? await db.write { try $0.run("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", [now, hash]) } }
        }
        return Session(accountID: row.string("account_id") ?? "", method: row.string("method") ?? "", createdAt: row.int("created_at") ?? 0, expiresAt: expires)
    }

    public func revoke(_ token: String) async throws {
        let hash = Self.digest(token)
        try await db.write { try $0.run("DELETE FROM sessions WHERE id_hash = ?", [hash]) }
    }

    /// Ends every session of the account (password change, "sign out everywhere").
    public func revokeAll(accountID: String) async throws {
        try await db.write { try $0.run("DELETE FROM sessions WHERE account_id = ?", [accountID]) }
    }

    public func csrfToken(for sessionToken: String) -> String {
        Base64URL.encode(HMAC.authenticate(Array(sessionToken.utf8), key: csrfKey.value))
    }

    public func checkCSRF(_ presented: String, sessionToken: String) -> Bool {
        guard let mac = Base64URL.decode(presented) else { return false }
        return HMAC.isValid(Array(mac), for: Array(sessionToken.utf8), key: csrfKey.value)
    }
}
