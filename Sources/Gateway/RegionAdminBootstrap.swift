import Crypto
import Foundation
import GatehouseCore
import Store
import TenantDomain

extension GatewayService {
    /// Makes `email` a region admin of `region` and returns a one-time link (valid 24 h) where they set their
    /// password. Only the link's hash is stored. Run by an operator from the CLI (`gatehouse admin bootstrap`).
    package func bootstrapRegionAdmin(email: String, region: Region) async throws -> String {
        let email = Email.normalize(email)
        guard Email.isValid(email) else { throw GatehouseError.validation("That email address is not valid.") }
        var existing = try await accounts.find(email: email)
        if existing == nil {
            existing = try await accounts.create(email: email, firstName: "", lastName: "", password: nil)
        }
        guard let account = existing else { throw GatehouseError.internalError(detail: "account vanished") }
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let now = Int(clock.now().timeIntervalSince1970)
        try await db.write { conn in
            try conn.run(
                "INSERT INTO region_admins (account_id, region, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [account.id, region.rawValue, now])
            try conn.run(
                "INSERT INTO bootstrap_tokens (token_hash, account_id, region, expires_at) VALUES (?, ?, ?, ?)",
                [Digest.sha256.hash(token), account.id, region.rawValue, now + 86400])
        }
        return token
    }

    /// Spends a bootstrap token once: sets the password of its account; returns it with the region it runs.
    package func redeemBootstrap(token: String, password: String) async throws -> (Account, Region?) {
        try Accounts.validatePassword(password)
        let now = Int(clock.now().timeIntervalSince1970)
        let hash = Digest.sha256.hash(token)
        let (accountID, region): (String, Region?) = try await db.write { conn in
            guard
                let row = try conn.first(
                    "SELECT account_id, region, expires_at, used_at FROM bootstrap_tokens WHERE token_hash ="
                        + " ?", [hash]),
                row.int("used_at") == nil, (row.int("expires_at") ?? 0) > now, let id = row.string("account_id")
            else {
                throw GatehouseError(
                    .init("bootstrap_invalid"), status: 410, "This link is not valid any more; ask for a new one.")
            }
            try conn.run("UPDATE bootstrap_tokens SET used_at = ? WHERE token_hash = ?", [now, hash])
            return (id, row.string("region").flatMap(Region.init(rawValue:)))
        }
        try await accounts.setPassword(accountID: accountID, password: password)
        try await sessions.revokeAll(accountID: accountID)
        guard let account = try await accounts.find(id: accountID) else { throw GatehouseError.notFound() }
        return (account, region)
    }

    /// True until the first region admin exists: `serve` then prints a one-time setup link.
    package func needsSetup() async throws -> Bool {
        try await db.lookup { conn in try conn.first("SELECT 1 FROM region_admins LIMIT 1") == nil }
    }

    /// The same, blocking, for start-up (not on an event loop).
    package func needsSetupNow() throws -> Bool {
        try db.readNow { conn in try conn.first("SELECT 1 FROM region_admins LIMIT 1") == nil }
    }

    /// Starts the first run: a one-time setup token, good until a region admin exists. Only its hash is kept, in
    /// the gateway store (`instance`), so the link works through any gateway sharing the store; each starting
    /// gateway prints one, and any of them works once.
    package func beginSetup() throws -> String {
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let key = Self.setupKey(token)
        try db.writeNow { conn in
            try conn.run("INSERT INTO instance (key, value) VALUES (?, '') ON CONFLICT DO NOTHING", [key])
        }
        return token
    }

    /// Looked up by the token's digest, as sessions are: the token has 256 bits and is never stored.
    private static func setupKey(_ token: String) -> String {
        "setup_token:" + Base64URL.encode(Digest.sha256.hash(token))
    }

    /// Whether `token` is a live setup token, and setup is still needed.
    package func setupTokenIsLive(_ token: String) async throws -> Bool {
        guard (40...50).contains(token.utf8.count) else { return false }
        let key = Self.setupKey(token)
        return try await db.lookup { conn in
            try conn.first("SELECT 1 FROM instance WHERE key = ?", [key]) != nil
                && conn.first("SELECT 1 FROM region_admins LIMIT 1") == nil
        }
    }

    /// Spends the setup token: makes `email` the first region admin of `region` and returns the bootstrap link
    /// token where they choose their password (the same page `gatehouse admin bootstrap` links to).
    package func completeSetup(token: String, email: String, region: Region) async throws -> String {
        guard try await setupTokenIsLive(token) else {
            throw GatehouseError(.init("setup_done"), status: 410, "Setup is done. Sign in instead.")
        }
        let link = try await bootstrapRegionAdmin(email: email, region: region)
        try await db.write { try $0.run("DELETE FROM instance WHERE key LIKE 'setup!_token:%' ESCAPE '!'") }
        return link
    }
}
