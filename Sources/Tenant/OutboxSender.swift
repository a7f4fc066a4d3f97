import Crypto
import Foundation
import GatehouseCore
import Mail
import Store
import Synchronization
import TenantAPI
import TenantDomain

/// Where mail comes from and how hard to retry.
package struct OutboxSettings: Sendable {
    package var from = "gatehouse@localhost"
    package var fromName = "Gatehouse"
    /// First retry after this many seconds, doubling per attempt up to `retryMax`.
    package var retryBase: TimeInterval = 30
    package var retryMax: TimeInterval = 3600
    /// How often the sender looks for due mail.
    package var pollInterval: TimeInterval = 2
    package var batch = 50
    /// How long a claimed batch belongs to the sender that claimed it. A sender that dies mid-batch leaves its
    /// claims to expire, and another replica sends them then (at least once, never lost).
    package var claimSeconds = 300
    package init() {}
}

/// Delivers the region's outbox. The outbox row is written in the same transaction as the invite, so mail is
/// never lost to a crash; the sender reads due rows, renders them (the invite link is derived again from the
/// invite's current version: it is never stored), hands them to the transport, and marks each sent — or
/// schedules a retry with exponential backoff. Mail for an invite that was revoked, used or superseded meanwhile
/// is dropped (the link in it would not work).
///
/// A mail goes out at most once: the start of each delivery is committed first (`attempt_started_at`), and a
/// mail whose delivery started but was never marked (its sender died in between: the SMTP server may or may not
/// have it) is not sent again by anyone; after the claim lease it is marked given up, "in doubt", with a warning
/// in the log, and the invitation can be resent from the console. A clean failure (refused, timed out before
/// the message was handed over) clears the mark and retries.
package final class OutboxSender: Sendable {
    let service: RegionService
    let transport: any MailTransport
    let settings: OutboxSettings
    let logger: Logger
    private let running = Mutex<Bool>(false)

    package init(service: RegionService, transport: any MailTransport, settings: OutboxSettings, logger: Logger) {
        self.service = service
        self.transport = transport
        self.settings = settings
        self.logger = logger
    }

    struct Due {
        let id: Int64
        let org: String
        let kind: String
        let to: String
        let payload: [String: String]
        let attempts: Int
    }

    /// One pass over due mail; returns how many were delivered. Blocking: call it from the sender's thread.
    @discardableResult
    package func deliverDue() -> Int {
        let now = service.clock.now()
        let nowS = Int(now.timeIntervalSince1970)
        let due: [Due]
        do {
            // Claimed, not just read: every replica of a region runs a sender over the same outbox, and a mail must
            // go out once. The claim moves the rows' next attempt past the lease in a write transaction (one writer
            // per store at a time; on PostgreSQL also FOR UPDATE SKIP LOCKED), so a second sender finds none of
            // them due. Sending happens after the commit, never inside a transaction.
            let lease = nowS + settings.claimSeconds
            // A read first: an idle outbox costs no write (a write moves the store's generation, which empties
            // every cache tagged with it).
            let stale = nowS - settings.claimSeconds
            let any = try service.db.readNow(singleStatement: true) { conn in
                try conn.first(
                    "SELECT 1 FROM outbox WHERE sent_at IS NULL AND ((attempt_started_at IS NULL AND next_attempt_at"
                        + " <= ?) OR attempt_started_at < ?) LIMIT 1", [nowS, stale]) != nil
            }
            guard any else { return 0 }
            let doubtful = try service.db.writeNow { conn in
                try conn.run(
                    "UPDATE outbox SET sent_at = ?, gave_up = 1, last_error = ? WHERE sent_at IS NULL AND"
                        + " attempt_started_at < ?",
                    [nowS, "in doubt: its sender stopped during delivery; not sent again (resend if needed)", stale])
            }
            if doubtful > 0 {
                logger.warning(
                    "mail in doubt: a sender stopped during delivery; not sent again", ["mail.count": .int(doubtful)])
            }
            due = try service.db.writeNow { conn in
                var rows: [Due] = []
                try conn.forEach(
                    "UPDATE outbox SET next_attempt_at = ? WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL AND"
                        + " attempt_started_at IS NULL AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
                        + (conn.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : "")
                        + ") RETURNING id, org_id, kind, recipient, payload, attempts",
                    [lease, nowS, settings.batch]
                ) {
                    rows.append(
                        Due(
                            id: $0.int64(0), org: $0.string(1), kind: $0.string(2), to: $0.string(3),
                            payload: JSONColumn.readMap($0.string(4)), attempts: Int($0.int64(5))))
                }
                return rows.sorted { $0.id < $1.id }
            }
        } catch {
            logger.error("outbox claim failed", ["error.detail": .string(String(describing: error))])
            return 0
        }
        var sent = 0
        for mail in due {
            do {
                guard let message = try compose(mail, now: now) else {
                    try mark(mail, sentAt: nowS, error: "dropped: the invite is no longer open", gaveUp: true)
                    continue
                }
                let rendered = MIMEMessage.render(
                    message, date: now,
                    messageID: "\(mail.id).\(IDs.random(SecureRandom.bytes(12), length: 16))@gatehouse",
                    boundary: "gh-" + IDs.random(SecureRandom.bytes(12), length: 24))
                try service.db.writeNow {
                    try $0.run("UPDATE outbox SET attempt_started_at = ? WHERE id = ?", [nowS, mail.id])
                }
                try transport.deliver(message, rendered: rendered)
                try mark(mail, sentAt: nowS, error: nil, gaveUp: false)
                sent += 1
                logger.info(
                    "mail sent",
                    ["mail.id": .int(Int(mail.id)), "mail.kind": .string(mail.kind), "org.id": .string(mail.org)])
            } catch let e as MailError where e.permanent {
                Metrics.shared.increment("gatehouse_mail_failures_total", [("kind", "permanent")])
                try? mark(mail, sentAt: nowS, error: e.message, gaveUp: true)
                logger.warning(
                    "mail refused for good", ["mail.id": .int(Int(mail.id)), "error.detail": .string(e.message)])
            } catch {
                Metrics.shared.increment("gatehouse_mail_failures_total", [("kind", "temporary")])
                let delay = min(settings.retryMax, settings.retryBase * pow(2, Double(min(mail.attempts, 20))))
                _ = try? service.db.writeNow { conn in
                    try conn.run(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,"
                            + " attempt_started_at = NULL WHERE id = ?",
                        [nowS + Int(delay.rounded(.up)), String(describing: error), mail.id])
                }
                logger.warning(
                    "mail delivery failed; will retry",
                    [
                        "mail.id": .int(Int(mail.id)), "mail.attempts": .int(mail.attempts + 1),
                        "retry.seconds": .int(Int(delay)), "error.detail": .string(String(describing: error)),
                    ])
            }
        }
        return sent
    }

    func mark(_ mail: Due, sentAt: Int, error: String?, gaveUp: Bool) throws {
        _ = try service.db.writeNow { conn in
            try conn.run(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = ?, gave_up = ? WHERE id = ?",
                [sentAt, error, gaveUp ? 1 : 0, mail.id])
        }
    }

    /// Role names as the console shows them (built-in names, custom roles by the org's name for them), whatever
    /// mail names them: one wording in every mail, never an id.
    func roleNames(_ ids: [String], org: String) throws -> String {
        let catalog =
            ids.allSatisfy { Role.builtIn($0) != nil }
            ? RoleCatalog(custom: [])
            : try service.db.readNow { conn in try service.loadCatalog(conn, try OrgID.stored(org)) }
        return ids.map { catalog.role($0)?.name ?? $0 }.joined(separator: ", ")
    }

    /// The message for an outbox row, or nil when its invite no longer opens with the version it was for.
    func compose(_ mail: Due, now: Date) throws -> MailMessage? {
        let p = mail.payload
        let org = p["org"] ?? "your organization"
        let content: MailTemplates.Content
        var link: String?
        switch mail.kind {
        case "invite", "invite_resent":
            guard let inviteID = p["invite"], let version = Int(p["version"] ?? "") else { return nil }
            guard let inv = try service.db.readNow({ conn in try service.loadInvite(conn, id: inviteID, now: now) }),
                inv.status == .pending, inv.version == version
            else { return nil }
            let url = service.mailLink(for: inv)
            link = url
            content = MailTemplates.invite(
                org: org, inviter: PersonName.sanitized(p["inviter"] ?? inv.inviterName),
                inviterEmail: p["inviterEmail"] ?? "", roles: try roleNames(inv.roles, org: mail.org),
                link: url, expires: inv.expiresAt, reminder: mail.kind == "invite_resent")
        case "invite_code":
            guard let inviteID = p["invite"], let version = Int(p["version"] ?? ""), let slot = Int(p["slot"] ?? "")
            else { return nil }
            guard let inv = try service.db.readNow({ conn in try service.loadInvite(conn, id: inviteID, now: now) }),
                inv.status == .pending, inv.version == version
            else { return nil }
            content = MailTemplates.inviteCode(
                org: org, code: service.tokens.code(inviteID: inviteID, version: version, slot: slot))
        case "sso_link_code":
            guard let subject = p["subject"], let slot = Int(p["slot"] ?? "") else { return nil }
            content = MailTemplates.ssoLinkCode(org: org, code: service.tokens.code(subject: subject, slot: slot))
        case "agency_request":
            content = MailTemplates.agencyRequest(
                org: org, agency: p["agency"] ?? "", approved: p["approved"] == "1", reason: p["reason"] ?? "")
        case "added":
            let url = service.settings.publicBaseURL + "/"
            link = url
            let roles = try p["roleIDs"].map { try roleNames($0.split(separator: ",").map(String.init), org: mail.org) }
            content = MailTemplates.added(org: org, roles: roles ?? p["roles"] ?? "Member", link: url)
        default:
            throw MailError(permanent: true, "unknown mail kind \(mail.kind)")
        }
        return MailMessage(
            from: settings.from, fromName: settings.fromName, to: mail.to, subject: content.subject,
            text: content.text, html: content.html, link: link)
    }

    /// Starts the sender's own thread (it blocks on the network; never on an event loop).
    package func start() {
        guard
            running.withLock({
                let was = $0
                $0 = true
                return !was
            })
        else { return }
        let thread = Thread { [weak self] in
            while let sender = self, sender.running.withLock({ $0 }) {
                sender.deliverDue()
                Thread.sleep(forTimeInterval: sender.settings.pollInterval)
            }
        }
        thread.name = "gatehouse-outbox-\(service.region.rawValue)"
        thread.start()
    }

    package func stop() { running.withLock { $0 = false } }
}
