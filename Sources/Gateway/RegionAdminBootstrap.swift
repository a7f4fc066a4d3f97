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
        var existing = try accounts.find(email: email)
        if existing == nil {
            existing = try await accounts.create(email: email, firstName: "", lastName: "", password: nil)
        }
        guard let account = existing else { throw GatehouseError.internalError(detail: "account vanished") }
        let token = Base64URL.encode(SecureRandom.bytes(32))
        let now = Int(clock.now().timeIntervalSince1970)
        try await db.write { conn in
            try conn.run(
                "INSERT OR IGNORE INTO region_admins (account_id, region, created_at) VALUES (?, ?, ?)",
                [account.id, region.rawValue, now])
            try conn.run(
                "INSERT INTO bootstrap_tokens (token_hash, account_id, region, expires_at) VALUES (?, ?, ?, ?)",
                [Digest.sha256.hash(token), account.id, region.rawValue, now + 86400])
        }
        return token
    }

    /// Spends a bootstrap token once: sets the password of its account.
    package func redeemBootstrap(token: String, password: String) async throws -> Account {
        try Accounts.validatePassword(password)
        let now = Int(clock.now().timeIntervalSince1970)
        let hash = Digest.sha256.hash(token)
        let accountID: String = try await db.write { conn in
            guard
                let row = try conn.first(
                    "SELECT account_id, expires_at, used_at FROM bootstrap_tokens WHERE token_hash = ?", [hash]),
                row.int("used_at") == nil, (row.int("expires_at") ?? 0) > now, let id = row.string("account_id")
            else {
                throw GatehouseError(
                    .init("bootstrap_invalid"), status: 410, "This link is not valid any more; ask for a new one.")
            }
            try conn.run("UPDATE bootstrap_tokens SET used_at = ? WHERE token_hash = ?", [now, hash])
            return id
        }
        try await accounts.setPassword(accountID: accountID, password: password)
        try await sessions.revokeAll(accountID: accountID)
        guard let account = try accounts.find(id: accountID) else { throw GatehouseError.notFound() }
        return account
    }
}
