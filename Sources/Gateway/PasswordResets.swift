import Crypto
import Foundation
import GatehouseCore
import Mail
import Store
import Synchronization
import TenantDomain

/// "Forgot password": a one-time link by mail that sets a new password and ends every session.
///
/// Why the link is derived, not stored: the row (`password_resets`) is the mail's outbox entry, written when the
/// person asks and delivered after the commit by `deliverDue` (so an acknowledged request is never lost to a
/// crash), but it holds no secret. The link is `<id>.<mac>`, the MAC an HMAC over id, account and creation time
/// with a key derived from the keys directory's invite key (never in the database). A copy of the database alone
/// cannot make a working link; a lost key makes every outstanding link fail closed.
///
/// The answer to "send me a link" is the same whether or not the address has an account (nothing to enumerate);
/// requests are limited per address asked for (silently: a refusal would tell that the account exists) and per
/// client address (answered 429, which tells nothing about any account). A link works once, for `lifetime`
/// seconds; using one spends every other link of the account; a password change (with a link or otherwise) ends
/// every session of the account, here in the same transaction as the new password.
package final class PasswordResets: Sendable {
    package struct Settings: Sendable {
        /// How long a link works.
        package var lifetime = 1800
        /// Links mailed per address asked for, per `window` (more are dropped without a word).
        package var perEmail = 3
        /// Requests per client address per `window` (answered 429 past it; an office behind one NAT address can
        /// still ask for a few dozen people).
        package var perClient = 30
        package var window: TimeInterval = 900
        /// A delivery that started but was never marked (the sender died mid-SMTP) is given up after this long,
        /// never repeated: at most once, as the region outbox.
        package var claimSeconds = 300
        package var from = "gatehouse@localhost"
        package var fromName = "Gatehouse"
        package init() {}
    }

    let db: Database
    let clock: any WallClock
    let key: [UInt8]
    let settings: Settings
    let publicBaseURL: @Sendable () -> String
    let limiter: RateLimiter
    let logger: Logger
    private let wake = Mutex<Bool>(false)
    private let running = Mutex<Bool>(false)

    package init(
        db: Database, clock: any WallClock, inviteKey: [UInt8], settings: Settings, limiter: RateLimiter,
        publicBaseURL: @escaping @Sendable () -> String, logger: Logger = Logger(label: "password-reset")
    ) {
        self.db = db
        self.clock = clock
        self.key = HMAC.authenticate(Array("gatehouse password reset v1".utf8), key: inviteKey)
        self.settings = settings
        self.limiter = limiter
        self.publicBaseURL = publicBaseURL
        self.logger = logger
    }

    // MARK: - Asking for a link

    /// Queues a link for `email` if it names an account; answers the same either way. Throws 429 only when
    /// `client` (the requesting address) asked too often.
    package func request(email raw: String, client: String) async throws {
        if let wait = limiter.attempt([
            ("reset-client:" + client, .init(count: settings.perClient, window: settings.window))
        ]) {
            throw RateLimiter.refusal(wait)
        }
        let email = Email.normalize(raw)
        guard Email.isValid(email) else { throw GatehouseError.validation("That email address is not valid.") }
        // Per address asked for: past the limit nothing is sent, and nothing says so.
        guard
            limiter.attempt([("reset-email:" + email, .init(count: settings.perEmail, window: settings.window))])
                == nil
        else { return }
        let now = Int(clock.now().timeIntervalSince1970)
        let id = Base64URL.encode(SecureRandom.bytes(16))
        let lifetime = settings.lifetime
        let queued = try await db.write { conn -> Bool in
            guard let account = try conn.first("SELECT id FROM accounts WHERE email = ?", [email]) else {
                return false
            }
            try conn.run(
                "INSERT INTO password_resets (id, account_id, created_at, expires_at, next_attempt_at) VALUES (?, ?,"
                    + " ?, ?, ?)", [id, account.string("id"), now, now + lifetime, now])
            return true
        }
        if queued { wake.withLock { $0 = true } }
    }

    // MARK: - Using a link

    /// The account a live link is for (the reset page names it), or a refusal that says the link cannot be used.
    package func check(_ token: String) async throws -> Account {
        let now = Int(clock.now().timeIntervalSince1970)
        let (id, mac) = try Self.parts(token)
        let key = self.key
        let account = try await db.lookup { conn -> Account? in
            guard
                let row = try conn.first(
                    "SELECT r.account_id, r.created_at, r.expires_at, r.used_at, a.email, a.first_name, a.last_name,"
                        + " a.password_hash IS NOT NULL FROM password_resets r JOIN accounts a ON a.id = r.account_id"
                        + " WHERE r.id = ?", [id]),
                let accountID = row.string(0), let createdAt = row.int(1), let expiresAt = row.int(2),
                Self.valid(mac, id: id, accountID: accountID, createdAt: createdAt, key: key),
                row.int(3) == nil, expiresAt > now
            else { return nil }
            return Account(
                id: accountID, email: row.string(4) ?? "", firstName: row.string(5) ?? "",
                lastName: row.string(6) ?? "", hasPassword: row.int(7) != 0)
        }
        guard let account else { throw Self.deadLink }
        return account
    }

    /// Sets the new password with a live link: spends it (and every other link of the account) and ends every
    /// session of the account, all in one transaction. Returns the account, to sign in afresh.
    package func complete(_ token: String, password: String, hasher: PasswordHasher) async throws -> Account {
        try Accounts.validatePassword(password)
        let account = try await check(token)
        guard let hash = await hasher.hash(password) else {
            throw GatehouseError.internalError(detail: "scrypt failed")
        }
        let (id, _) = try Self.parts(token)
        let now = Int(clock.now().timeIntervalSince1970)
        let spent = try await db.write { conn -> Bool in
            // Spent here, under the writer lock: of two uses racing with one link, one wins.
            guard
                try conn.run(
                    "UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                    [now, id, now]) == 1
            else { return false }
            try conn.run(
                "UPDATE password_resets SET used_at = ? WHERE account_id = ? AND used_at IS NULL", [now, account.id])
            try conn.run(
                "UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?", [hash, now, account.id])
            try conn.run("DELETE FROM sessions WHERE account_id = ?", [account.id])
            return true
        }
        guard spent else { throw Self.deadLink }
        logger.info("password reset", ["account.id": .string(account.id)])
        return account
    }

    /// What every request is told, account or not.
    package var acknowledgement: String {
        "If an account uses that address, a link to choose a new password is on its way. It works once, for"
            + " \(settings.lifetime / 60) minutes."
    }

    static let deadLink = GatehouseError(
        .init("reset_link_invalid"), status: 410,
        "This link cannot be used: it expired, was already used, or was replaced. Ask for a new one.")

    static func parts(_ token: String) throws -> (String, [UInt8]) {
        let p = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= 100, p.count == 2, p[0].utf8.count == 22, let mac = Base64URL.decode(p[1]),
            mac.count == 32
        else { throw deadLink }
        return (String(p[0]), Array(mac))
    }

    static func mac(id: String, accountID: String, createdAt: Int, key: [UInt8]) -> [UInt8] {
        HMAC.authenticate(Array("reset\n\(id)\n\(accountID)\n\(createdAt)".utf8), key: key)
    }

    static func valid(_ mac: [UInt8], id: String, accountID: String, createdAt: Int, key: [UInt8]) -> Bool {
        ConstantTime.equals(mac, Self.mac(id: id, accountID: accountID, createdAt: createdAt, key: key))
    }

    /// The link for a row, derived again (it is never stored).
    func link(id: String, accountID: String, createdAt: Int) -> String {
        let mac = Self.mac(id: id, accountID: accountID, createdAt: createdAt, key: key)
        return publicBaseURL() + "/reset/" + id + "." + Base64URL.encode(mac)
    }

    // MARK: - Mail

    /// One pass over links waiting to be mailed; returns how many went out. Blocking: the sender's thread.
    /// At most once per link: the start of a delivery is committed before SMTP, a clean failure clears it and
    /// retries, a delivery whose sender died is never repeated (the person asks again).
    @discardableResult
    package func deliverDue(_ transport: any MailTransport) -> Int {
        let now = clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        struct Due {
            let id: String
            let account: String
            let email: String
            let name: String
            let createdAt: Int
            let attempts: Int
        }
        var due: [Due] = []
        do {
            let any = try db.readNow(singleStatement: true) { conn in
                try conn.first(
                    "SELECT 1 FROM password_resets WHERE mailed_at IS NULL AND mail_started_at IS NULL AND"
                        + " next_attempt_at <= ? AND expires_at > ? AND used_at IS NULL LIMIT 1", [nowS, nowS]) != nil
            }
            guard any else { return 0 }
            due = try db.writeNow { conn in
                var rows: [Due] = []
                try conn.forEach(
                    "SELECT r.id, r.account_id, a.email, a.first_name, r.created_at, r.attempts FROM password_resets r"
                        + " JOIN accounts a ON a.id = r.account_id WHERE r.mailed_at IS NULL AND r.mail_started_at IS"
                        + " NULL AND r.next_attempt_at <= ? AND r.expires_at > ? AND r.used_at IS NULL ORDER BY"
                        + " r.created_at LIMIT 20", [nowS, nowS]
                ) {
                    rows.append(
                        Due(
                            id: $0.string(0), account: $0.string(1), email: $0.string(2), name: $0.string(3),
                            createdAt: $0.int(4), attempts: $0.int(5)))
                }
                // Claimed in the same transaction: another gateway's sender finds them started.
                for r in rows {
                    try conn.run("UPDATE password_resets SET mail_started_at = ? WHERE id = ?", [nowS, r.id])
                }
                return rows
            }
        } catch {
            logger.error("password reset mail claim failed", ["error.detail": .string(String(describing: error))])
            return 0
        }
        var sent = 0
        for r in due {
            let message = Self.mail(
                to: r.email, name: r.name, link: link(id: r.id, accountID: r.account, createdAt: r.createdAt),
                minutes: settings.lifetime / 60, from: settings.from, fromName: settings.fromName)
            let rendered = MIMEMessage.render(
                message, date: now, messageID: "reset.\(r.id)@gatehouse",
                boundary: "gh-" + IDs.random(SecureRandom.bytes(12), length: 24))
            do {
                try transport.deliver(message, rendered: rendered)
                _ = try? db.writeNow {
                    try $0.run("UPDATE password_resets SET mailed_at = ? WHERE id = ?", [nowS, r.id])
                }
                sent += 1
            } catch let e as MailError where e.permanent {
                _ = try? db.writeNow {
                    try $0.run("UPDATE password_resets SET mailed_at = -1 WHERE id = ?", [r.id])
                }
                logger.warning("password reset mail refused for good", ["error.detail": .string(e.message)])
            } catch {
                let delay = min(600, 15 << min(r.attempts, 6))
                _ = try? db.writeNow {
                    try $0.run(
                        "UPDATE password_resets SET mail_started_at = NULL, attempts = attempts + 1,"
                            + " next_attempt_at = ? WHERE id = ?", [nowS + delay, r.id])
                }
                logger.warning(
                    "password reset mail failed; will retry",
                    ["error.detail": .string(String(describing: error)), "retry.seconds": .int(delay)])
            }
        }
        return sent
    }

    /// The mail: plain words, the link on a line of its own, the lifetime, and what to do if it was not you.
    package static func mail(
        to email: String, name: String, link: String, minutes: Int, from: String, fromName: String
    ) -> MailMessage {
        let hello = name.isEmpty ? "Hello," : "Hello \(name),"
        let text = """
            \(hello)

            someone, hopefully you, asked to reset the password of the Gatehouse account \(email).
            Choose a new password here within \(minutes) minutes (the link works once):

            \(link)

            Setting a new password signs you out everywhere. If you did not ask for this,
            ignore this mail: your password stays as it is.
            """
        let body: HTML = """
            <p>\(hello)</p><p>someone, hopefully you, asked to reset the password of the Gatehouse account \
            <strong>\(email)</strong>.</p><p><a href="\(link)" style="display:inline-block;padding:10px 16px;\
            background:#0b57d0;color:#ffffff;border-radius:6px;text-decoration:none">Choose a new password</a></p>\
            <p style="color:#57606a">The link works once, for \(minutes) minutes: <span \
            style="word-break:break-all">\(link)</span></p><p style="color:#57606a">Setting a new password signs \
            you out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.</p>
            """
        return MailMessage(
            from: from, fromName: fromName, to: email, subject: "Reset your Gatehouse password", text: text,
            html: "<!doctype html><html><body style=\"font-family:system-ui,sans-serif\">\(body.text)</body></html>",
            link: link)
    }

    // MARK: - Background sending

    /// Sends due links every `poll` seconds, and at once after a request.
    package func start(_ transport: any MailTransport, poll: TimeInterval = 2) {
        guard
            running.withLock({ r in
                defer { r = true }
                return !r
            })
        else { return }
        let thread = Thread { [weak self] in
            var idle: TimeInterval = 0
            while let s = self, s.running.withLock({ $0 }) {
                let woken = s.wake.withLock { w in
                    defer { w = false }
                    return w
                }
                if woken || idle >= poll {
                    s.deliverDue(transport)
                    idle = 0
                }
                Thread.sleep(forTimeInterval: 0.1)
                idle += 0.1
            }
        }
        thread.name = "gatehouse-password-reset-mail"
        thread.start()
    }

    package func stop() { running.withLock { $0 = false } }
}
