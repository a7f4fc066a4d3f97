import Crypto
import Foundation
import GatehouseCore
import Store
import Synchronization
import TenantAPI
import TenantDomain
import Web

/// The region's side: accepts a request only with a valid, fresh, first-seen gateway signature. Unsigned,
/// tampered, stale (outside ±30 s) and replayed requests are refused with 401 and a reason code.
package final class ForwardedIdentityVerifier: Sendable {
    let keys: KeyRing
    let clock: any WallClock
    let window: TimeInterval
    /// Nonces seen in the current and previous generation; a generation lasts 2 × window, so every nonce is
    /// remembered for at least as long as its timestamp stays acceptable.
    private let seen = Mutex<(current: Set<String>, previous: Set<String>, rotatedAt: TimeInterval)>(([], [], 0))
    let maxRemembered: Int
    /// Replicas of a region share its PostgreSQL store: a nonce is then also a row with a unique key there, so a
    /// request replayed to another replica is refused too. nil for a store one process owns (SQLite).
    let shared: Database?
    private let insertsSincePurge = Mutex(0)

    package init(
        keys: KeyRing, clock: any WallClock = SystemClock(), window: TimeInterval = ForwardedIdentity.window,
        maxRemembered: Int = 2_000_000, shared: Database? = nil
    ) {
        self.keys = keys
        self.clock = clock
        self.window = window
        self.maxRemembered = maxRemembered
        self.shared = shared
    }

    /// True when no other replica has seen `nonce` (it is recorded now); expired rows are purged now and then.
    private func firstSeenByEveryReplica(_ nonce: String, now: TimeInterval) async throws -> Bool {
        guard let shared else { return true }
        let expires = Int(now + 2 * window) + 1
        let purge = insertsSincePurge.withLock { n in
            n += 1
            if n < 1000 { return false }
            n = 0
            return true
        }
        if purge { _ = try await shared.runAlone("DELETE FROM identity_nonces WHERE expires_at < ?", [Int(now)]) }
        return try await shared.runAlone(
            "INSERT INTO identity_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING", [nonce, expires])
            == 1
    }

    static func refuse(_ code: String, _ message: String) -> GatehouseError {
        GatehouseError(.init(code), status: 401, message)
    }

    package func verify(method: String, target: String, body: [UInt8], header: String?) async throws -> Caller {
        guard let header else {
            throw Self.refuse("identity_missing", "This service only answers requests signed by the gateway.")
        }
        let p = header.split(separator: ".", omittingEmptySubsequences: false)
        guard header.utf8.count <= 4096, p.count == 6, p[0] == "gi1", let ts = Int(p[2]),
            let mac = Base64URL.decode(p[5]), mac.count == 32,
            p[3].utf8.count == 22
        else {
            throw Self.refuse("identity_malformed", "The gateway identity header is malformed.")
        }
        guard let key = keys.key(String(p[1])) else {
            throw Self.refuse("identity_unknown_key", "The gateway identity is signed with an unknown key.")
        }
        let text = ForwardedIdentity.signedText(
            keyID: String(p[1]), timestamp: String(p[2]), nonce: String(p[3]), method: method, target: target,
            body: body, identity: String(p[4]))
        guard HMAC.isValid(Array(mac), for: text, key: key.secret.value) else {
            throw Self.refuse("identity_bad_signature", "The gateway identity does not match this request.")
        }
        let now = clock.now().timeIntervalSince1970
        guard abs(now - Double(ts)) <= window else {
            throw Self.refuse("identity_stale", "The gateway identity is too old or from the future.")
        }
        let nonce = String(p[3])
        let fresh = seen.withLock { s -> Bool? in
            if now - s.rotatedAt >= 2 * window {
                s.previous = now - s.rotatedAt >= 4 * window ? [] : s.current
                s.current = []
                s.rotatedAt = now
            }
            if s.current.contains(nonce) || s.previous.contains(nonce) { return false }
            guard s.current.count + s.previous.count < maxRemembered else { return nil }
            s.current.insert(nonce)
            return true
        }
        guard let fresh else {
            throw GatehouseError(
                .unavailable, status: 503, "Too many requests to remember; try again shortly.",
                headers: [("Retry-After", "5")])
        }
        guard fresh, try await firstSeenByEveryReplica(nonce, now: now) else {
            throw Self.refuse("identity_replayed", "This signed request was already used.")
        }
        guard let json = Base64URL.decode(p[4]), let caller = try? JSONDecoder().decode(Caller.self, from: Data(json))
        else {
            throw Self.refuse("identity_malformed", "The gateway identity is malformed.")
        }
        return caller
    }

    /// The region API's caller provider in a region process.
    package var provider: CallerProvider {
        { ctx in
            try await self.verify(
                method: ctx.request.method, target: ctx.request.target, body: ctx.request.body,
                header: ctx.request.headers[ForwardedIdentity.header])
        }
    }
}
