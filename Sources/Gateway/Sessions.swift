import Crypto
import Foundation
import GatehouseCore
import SAML
import Store
import Synchronization
import TenantAPI
import TenantDomain

/// A signed-in browser or client: an opaque 256-bit id in an `HttpOnly; SameSite=Lax` cookie, stored only as
/// its SHA-256. Idle and absolute timeouts; rotated at login (a new id every time); all of an account's
/// sessions end when its password changes.
package struct Session: Sendable, Equatable {
    package let accountID: String
    package let method: AuthMethod
    package let createdAt: Int
    package let expiresAt: Int
}

extension Caller {
    /// The caller a browser session stands for. The only place a session becomes a caller, so its scope is
    /// decided once: an SSO session opens its own org only and never carries region-admin rights (see
    /// `Caller.init` and `Rules.reach`).
    package init(session: Session, account: Account, regionAdmin: Region?) {
        self.init(
            accountID: account.id, email: account.email, displayName: account.displayName, regionAdminOf: regionAdmin,
            authMethod: session.method)
    }
}

package final class Sessions: Sendable {
    package struct Policy: Sendable {
        package var idleTimeout: TimeInterval = 12 * 3600
        package var absoluteTimeout: TimeInterval = 7 * 86400
        /// `last_seen` is written at most this often per session (reads stay reads).
        package var touchInterval: TimeInterval = 60
        /// A validated session is remembered in this process for this long, so a busy client does not cost a
        /// store read per request, and only while the gateway store's generation has not moved: a revocation by
        /// this process clears it at once, one by another gateway sharing a PostgreSQL store as soon as its
        /// commit is announced (milliseconds; at most 250 ms while the announcements are down). 0 turns it off.
        package var cacheSeconds: TimeInterval = 2
        package init() {}
    }

    package static let cookieName = "gh_session"
    let db: Database
    let clock: any WallClock
    package let policy: Policy
    fileprivate struct Cached {
        let session: Session
        let account: Account
        let region: Region?
        let lastSeen: Int
        let at: TimeInterval
        let generation: UInt64

        /// Young enough to answer from (else the check reads the store again).
        func fresh(at nowExact: TimeInterval, _ policy: Policy) -> Bool {
            policy.cacheSeconds > 0 && nowExact - at < policy.cacheSeconds
        }

        /// Not expired, not idle (else the check refuses).
        func live(at nowExact: TimeInterval, _ policy: Policy) -> Bool {
            let now = Int(nowExact)
            return now < session.expiresAt && now < lastSeen + Int(policy.idleTimeout)
        }
    }

    /// A live session as a check found it, and whether a repeat of the check would find it again from memory
    /// (`holds(at:)`; the caller compares the store's generation). One connection reuses its last admission to an
    /// app only while this holds (see `AppGateRoutes.remembered`).
    package struct Live: Sendable {
        fileprivate let copy: Cached
        fileprivate let policy: Policy
        package var found: (Session, Account, Region?) { (copy.session, copy.account, copy.region) }

        /// Whether `remembered` would give this answer at `nowExact`, the store unchanged: the same two tests.
        package func holds(at nowExact: TimeInterval) -> Bool {
            copy.fresh(at: nowExact, policy) && copy.live(at: nowExact, policy)
        }
    }
    private let cache = Mutex<[DigestKey: Cached]>([:])
    /// A token's digest as a dictionary key, hashed as one block of bytes (an array of bytes is hashed one byte
    /// at a time: 32 calls into the hasher on every request).
    private struct DigestKey: Hashable {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func hash(into h: inout Hasher) { bytes.withUnsafeBytes { h.combine(bytes: $0) } }
    }

    /// Key for CSRF tokens (HMAC of the session id), kept in the gateway store so that every gateway process
    /// sharing it accepts the forms the others rendered.
    private let csrfKey: Redacted<[UInt8]>

    package init(db: Database, clock: any WallClock, policy: Policy = Policy()) {
        self.db = db
        self.clock = clock
        self.policy = policy
        csrfKey = Redacted((try? Self.sharedKey(db, name: "csrf_key")) ?? SecureRandom.bytes(32))
    }

    /// A random key made once per store (the first process to start writes it; the others read it).
    static func sharedKey(_ db: Database, name: String) throws -> [UInt8] {
        let fresh = Base64URL.encode(SecureRandom.bytes(32))
        let stored = try db.writeNow { conn in
            try conn.run("INSERT INTO instance (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING", [name, fresh])
            return try conn.first("SELECT value FROM instance WHERE key = ?", [name])?.string(0)
        }
        guard let stored, let key = Base64URL.decode(stored), key.count == 32 else {
            throw GatehouseError.internalError(detail: "the stored \(name) is not a 32-byte key")
        }
        return Array(key)
    }

    static func digest(_ token: String) -> [UInt8] { Digest.sha256.hash(token) }

    /// Starts a session and returns its token (for the cookie). The token is never stored.
    package func create(
        accountID: String, method: AuthMethod, samlSubject: ServiceProvider.Subject? = nil
    ) async throws -> (token: String, session: Session) {
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let now = Int(clock.now().timeIntervalSince1970)
        let session = Session(
            accountID: accountID, method: method, createdAt: now, expiresAt: now + Int(policy.absoluteTimeout))
        try await db.write { conn in
            try conn.run(
                "INSERT INTO sessions (id_hash, account_id, method, created_at, last_seen, expires_at, saml_subject,"
                    + " saml_name_id, saml_session_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    Self.digest(token), accountID, method.wire, now, now, session.expiresAt,
                    try samlSubject.map(JSONColumn.value),
                    samlSubject?.nameID, samlSubject?.sessionIndex,
                ])
        }
        return (token, session)
    }

    /// The session, its account and the account's region (if a region admin), in one indexed read: this is
    /// the check every cookie-authenticated request makes.
    /// From memory only, for the event loop: nil when this session is not remembered (else the answer
    /// `validateWithAccount` would give).
    package func remembered(_ token: String) -> (Session, Account, Region?)?? {
        rememberedLive(token).map { $0?.found }
    }

    /// `remembered`, with what tells whether it still holds later.
    package func rememberedLive(_ token: String) -> Live?? {
        guard (40...50).contains(token.utf8.count) else { return .some(nil) }
        let nowExact = clock.now().timeIntervalSince1970
        guard policy.cacheSeconds > 0, let c = cache.withLock({ $0[DigestKey(Self.digest(token))] }),
            c.fresh(at: nowExact, policy), c.generation == db.writeGeneration
        else { return nil }
        guard c.live(at: nowExact, policy) else { return .some(nil) }
        return .some(Live(copy: c, policy: policy))
    }

    /// The session, its account and the account's region (if a region admin): the check every
    /// cookie-authenticated request makes. A store read off the calling thread unless reads are local.
    package func validateWithAccount(_ token: String) async throws -> (Session, Account, Region?)? {
        guard (40...50).contains(token.utf8.count) else { return nil }
        if let known = remembered(token) { return known }
        let (hash, generation, at) = (Self.digest(token), db.writeGeneration, clock.now().timeIntervalSince1970)
        return accept(try await db.lookup { try Self.load($0, hash) }, hash: hash, generation: generation, at: at)?
            .found
    }

    /// The same on the calling thread, for the event loop when the store's reads are local (SQLite).
    package func validateNow(_ token: String) throws -> (Session, Account, Region?)? {
        try validateNowLive(token)?.found
    }

    /// `validateNow`, with what tells whether a repeat would find it again from memory.
    package func validateNowLive(_ token: String) throws -> Live? {
        guard (40...50).contains(token.utf8.count) else { return nil }
        if let known = rememberedLive(token) { return known }
        let (hash, generation, at) = (Self.digest(token), db.writeGeneration, clock.now().timeIntervalSince1970)
        return accept(try db.readNow { try Self.load($0, hash) }, hash: hash, generation: generation, at: at)
    }

    private typealias Loaded = (Session, Account, Region?, lastSeen: Int)

    /// One indexed read: the session by its digest, with its account and region.
    private static func load(_ conn: SQLConnection, _ hash: [UInt8]) throws -> Loaded? {
        var out: Loaded?
        try conn.forEach(
            """
            SELECT s.account_id, s.method, s.created_at, s.last_seen, s.expires_at, a.email, a.first_name, \
            a.last_name,
                   a.password_hash IS NOT NULL, (SELECT region FROM region_admins r WHERE r.account_id = a.id \
                   ORDER BY region LIMIT 1)
            FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id_hash = ?
            """, [hash]
        ) { st in
            guard let method = AuthMethod(wire: st.string(1)) else { return }
            out = (
                Session(accountID: st.string(0), method: method, createdAt: st.int(2), expiresAt: st.int(4)),
                Account(
                    id: st.string(0), email: st.string(5), firstName: st.string(6), lastName: st.string(7),
                    hasPassword: st.int(8) != 0),
                st.optionalString(9).flatMap(Region.init(rawValue:)), st.int(3)
            )
        }
        return out
    }

    /// A loaded session that is still live is remembered (tagged with the generation read before loading) and
    /// touched now and then.
    private func accept(
        _ found: Loaded?, hash: [UInt8], generation: UInt64, at nowExact: TimeInterval
    ) -> Live? {
        let now = Int(nowExact)
        guard let (session, account, region, lastSeen) = found, now < session.expiresAt,
            now < lastSeen + Int(policy.idleTimeout)
        else { return nil }
        // What a repeat finds in memory (with the cache off, `holds` is never true).
        let copy = Cached(
            session: session, account: account, region: region, lastSeen: max(lastSeen, now), at: nowExact,
            generation: generation)
        if policy.cacheSeconds > 0 {
            cache.withLock { c in
                if c.count > 100_000 { c.removeAll() }
                c[DigestKey(hash)] = copy
            }
        }
        if now - lastSeen >= Int(policy.touchInterval) {
            let db = self.db
            Task.detached {
                try? await db.write { try $0.run("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", [now, hash]) }
            }
        }
        return Live(copy: copy, policy: policy)
    }

    /// The IdP subject a SAML session was made from (for the LogoutRequest that signing out sends), or nil.
    package func samlSubject(_ token: String) async throws -> ServiceProvider.Subject? {
        let hash = Self.digest(token)
        return try await db.lookup { conn in
            JSONColumn.read(
                ServiceProvider.Subject.self,
                try conn.first("SELECT saml_subject FROM sessions WHERE id_hash = ?", [hash])?.string("saml_subject"))
        }
    }

    /// Ends the sessions an IdP's LogoutRequest names: made by `method` (that org's IdP) for this NameID, and,
    /// when SessionIndexes are given, only those. Returns how many ended.
    package func revokeSAML(method: AuthMethod, nameID: String, sessionIndexes: [String]) async throws -> Int {
        var sql = "DELETE FROM sessions WHERE method = ? AND saml_name_id = ?"
        var args: [SQLValue] = [.text(method.wire), .text(nameID)]
        if !sessionIndexes.isEmpty {
            sql += " AND saml_session_index IN (" + sessionIndexes.map { _ in "?" }.joined(separator: ",") + ")"
            args += sessionIndexes.map { .text($0) }
        }
        let (statement, bindings) = (sql, args)
        let ended = try await db.write { conn in try conn.run(statement, bindings) }
        cache.withLock { $0.removeAll() }  // which cached hashes they were is not known here; the cache is 2 s
        return ended
    }

    package func revoke(_ token: String) async throws {
        let hash = Self.digest(token)
        cache.withLock { _ = $0.removeValue(forKey: DigestKey(hash)) }
        try await db.write { try $0.run("DELETE FROM sessions WHERE id_hash = ?", [hash]) }
    }

    /// Ends every session of the account (password change, "sign out everywhere").
    package func revokeAll(accountID: String) async throws {
        cache.withLock { c in c = c.filter { $0.value.session.accountID != accountID } }
        try await db.write { try $0.run("DELETE FROM sessions WHERE account_id = ?", [accountID]) }
    }

    package func csrfToken(for sessionToken: String) -> String {
        Base64URL.encode(HMAC.authenticate(Array(sessionToken.utf8), key: csrfKey.value))
    }

    package func checkCSRF(_ presented: String, sessionToken: String) -> Bool {
        guard let mac = Base64URL.decode(presented) else { return false }
        return HMAC.isValid(Array(mac), for: Array(sessionToken.utf8), key: csrfKey.value)
    }

    /// An account's live sessions, newest first, for the account page (`current` marks this browser's).
    package func list(
        accountID: String, current token: String?
    ) async throws -> [(method: String, createdAt: Int, lastSeen: Int, current: Bool)] {
        let now = Int(clock.now().timeIntervalSince1970)
        let mine = token.map { Self.digest($0) }
        return try await db.lookup { conn in
            var out: [(String, Int, Int, Bool)] = []
            try conn.forEach(
                "SELECT id_hash, method, created_at, last_seen FROM sessions WHERE account_id = ? AND expires_at > ?"
                    + " ORDER BY last_seen DESC LIMIT 50",
                [accountID, now]
            ) { row in
                out.append((row.string(1), row.int(2), row.int(3), mine.map { row.blob(0) == $0 } ?? false))
            }
            return out
        }
    }
}
