import Crypto
import Foundation
import GatehouseCore
import Store
import TenantDomain

/// A person, global to the deployment; memberships live in the regions.
package struct Account: Sendable, Codable, Equatable {
    package let id: String
    package let email: String
    package var firstName: String
    package var lastName: String
    package let hasPassword: Bool

    package var displayName: String {
        switch (firstName.isEmpty, lastName.isEmpty) {
        case (true, true): return email
        case (false, true): return firstName
        case (true, false): return lastName
        case (false, false): return firstName + " " + lastName
        }
    }
}

/// Accounts in the gateway store: unique email (case-insensitive, stored lower-cased), scrypt password hashes
/// with their parameters, hashing off the event loops.
package final class Accounts: Sendable {
    let db: Database
    /// Accounts by id, current until this store's next committed write.
    private let byID = GenerationCache<String, Account?>(capacity: 100_000)
    package let hasher: PasswordHasher
    let clock: any WallClock
    package static let minimumPasswordLength = 10
    package static let maximumPasswordLength = 1024

    package init(db: Database, hasher: PasswordHasher, clock: any WallClock) {
        self.db = db
        self.hasher = hasher
        self.clock = clock
    }

    static let columns = "id, email, first_name, last_name, password_hash IS NOT NULL"

    static func account(_ s: Statement) -> Account {
        Account(
            id: s.string(0), email: s.string(1), firstName: s.string(2), lastName: s.string(3),
            hasPassword: s.int(4) != 0)
    }

    package func find(email: String) async throws -> Account? {
        try await db.lookup { conn in
            var out: Account?
            try conn.forEach("SELECT \(Self.columns) FROM accounts WHERE email = ?", [Email.normalize(email)]) {
                out = Self.account($0)
            }
            return out
        }
    }

    /// By id, from memory only: nil when not remembered (else the account, or nil for none). For the event loop.
    package func remembered(id: String) -> Account?? {
        byID.lookup(id, generation: db.writeGeneration)
    }

    /// By id: every API-key request asks, so answers are remembered until the gateway store's next write.
    package func find(id: String) async throws -> Account? {
        if let known = remembered(id: id) { return known }
        let generation = db.writeGeneration
        let found = try await db.lookup { try Self.load($0, id: id) }
        byID.store(found, for: id, generation: generation)
        return found
    }

    /// The same on the calling thread, for the event loop when the store's reads are local (SQLite).
    package func findNow(id: String) throws -> Account? {
        if let known = remembered(id: id) { return known }
        let generation = db.writeGeneration
        let found = try db.readNow { try Self.load($0, id: id) }
        byID.store(found, for: id, generation: generation)
        return found
    }

    private static func load(_ conn: SQLConnection, id: String) throws -> Account? {
        var out: Account?
        try conn.forEach("SELECT \(columns) FROM accounts WHERE id = ?", [id]) { out = account($0) }
        return out
    }

    package static func validatePassword(_ p: String) throws {
        guard p.count >= minimumPasswordLength else {
            throw GatehouseError(
                .weakPassword, status: 422,
                "Choose a password of at least \(minimumPasswordLength) characters.")
        }
        guard p.utf8.count <= maximumPasswordLength else {
            throw GatehouseError(.weakPassword, status: 422, "That password is too long.")
        }
    }

    /// Creates an account; `password` nil makes an account that signs in only by SSO (or a bootstrap link).
    package func create(email: String, firstName: String, lastName: String, password: String?) async throws -> Account {
        let email = Email.normalize(email.trimmingCharacters(in: .whitespaces))
        guard Email.isValid(email) else { throw GatehouseError.validation("That email address is not valid.") }
        try PersonName.validate(firstName, lastName)
        var hash: String?
        if let password {
            try Self.validatePassword(password)
            guard let h = await hasher.hash(password) else {
                throw GatehouseError.internalError(detail: "scrypt failed")
            }
            hash = h
        }
        let id = "acc_" + IDs.random(SecureRandom.bytes(20))
        let now = Int(clock.now().timeIntervalSince1970)
        let passwordHash = hash
        return try await db.write { conn in
            if try conn.first("SELECT 1 FROM accounts WHERE email = ?", [email]) != nil {
                throw GatehouseError(
                    .accountExists, status: 409, "An account with that email already exists; sign in instead.")
            }
            try conn.run(
                "INSERT INTO accounts (id, email, first_name, last_name, password_hash, created_at,"
                    + " password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [id, email, firstName, lastName, passwordHash, now, passwordHash == nil ? nil : now])
            return Account(
                id: id, email: email, firstName: firstName, lastName: lastName, hasPassword: passwordHash != nil)
        }
    }

    /// The account if `password` is right. An unknown email costs the same time as a wrong password, and both
    /// answer nil: the caller cannot tell them apart.
    package func authenticate(email: String, password: String) async throws -> Account? {
        guard password.utf8.count <= Self.maximumPasswordLength else { return nil }
        let row = try await db.lookup { conn in
            try conn.first("SELECT id, password_hash FROM accounts WHERE email = ?", [Email.normalize(email)])
        }
        guard let id = row?.string("id"), let hash = row?.string("password_hash") else {
            await hasher.verifyDummy(password)
            return nil
        }
        guard await hasher.verify(password, against: hash) else { return nil }
        return try await find(id: id)
    }

    package func setPassword(accountID: String, password: String) async throws {
        try Self.validatePassword(password)
        guard let h = await hasher.hash(password) else { throw GatehouseError.internalError(detail: "scrypt failed") }
        let now = Int(clock.now().timeIntervalSince1970)
        try await db.write { conn in
            try conn.run(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?", [h, now, accountID])
        }
    }

    /// Removes an account made moments ago for an SSO login that was then refused (no password, so nothing
    /// else can have used it).
    package func deleteUnusedSSOAccount(id: String) async throws {
        try await db.write { conn in
            try conn.run("DELETE FROM accounts WHERE id = ? AND password_hash IS NULL", [id])
        }
    }

    package func setNames(accountID: String, firstName: String, lastName: String) async throws {
        try PersonName.validate(firstName, lastName)
        try await db.write { conn in
            try conn.run(
                "UPDATE accounts SET first_name = ?, last_name = ? WHERE id = ?", [firstName, lastName, accountID])
        }
    }
}
