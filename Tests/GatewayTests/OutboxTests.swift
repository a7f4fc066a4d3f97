import Foundation
import GatehouseCore
import GatehouseTesting
import Mail
import Store
import Synchronization
import Tenant
import Testing

/// The outbox with several senders (replicas of a region) and senders that die: a mail goes out at most once,
/// a claimed but unstarted mail is sent by another after the lease, a started but unmarked one is never sent
/// again and is marked "in doubt". Run on the suite's engine.
@Suite("Outbox: once, with several senders and a dead one")
struct OutboxTests {
    static func sender(_ f: GatewayFixture, _ t: CapturingTransport) throws -> OutboxSender {
        var settings = OutboxSettings()
        settings.claimSeconds = 60
        return OutboxSender(service: try f.service(.eu), transport: t, settings: settings, logger: Logger(label: "t"))
    }

    /// Every mail names roles as the console does: a custom role by the org's name for it (in the first mail, a
    /// resent one, and the "you joined" one), never its id; the expiry in words a person reads; the text part
    /// readable in the raw message.
    @Test func mailNamesRolesAsTheConsoleDoes() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "first@acme.test")
        #expect(
            await olga.call(
                "POST", "/api/v1/orgs/\(org)/roles", #"{"name":"Night shift","permissions":["org.view"]}"#
            ).status == 201)
        let invited = await olga.call(
            "POST", "/api/v1/orgs/\(org)/invites",
            #"{"emails":["ned@acme.test"],"roles":["custom-night-shift","viewer"]}"#)
        #expect(invited.status == 201, "\(invited.body)")
        let t = CapturingRawTransport()
        var settings = OutboxSettings()
        settings.claimSeconds = 60
        let s = OutboxSender(service: try f.service(.eu), transport: t, settings: settings, logger: Logger(label: "t"))
        s.deliverDue()
        let inviteID = try #require(
            try await f.service(.eu).pendingInvites(email: "ned@acme.test").first?.invite.id)
        #expect(await olga.call("POST", "/api/v1/orgs/\(org)/invites/\(inviteID)/resend").status == 200)
        s.deliverDue()
        let mails = t.sent.withLock { $0 }.filter { $0.0.to == "ned@acme.test" }
        #expect(mails.count == 2)
        for (m, raw) in mails {
            #expect(m.text.contains("as Night shift, Viewer"), "\(m.text)")
            #expect(!m.text.contains("custom-") && !m.html.contains("custom-"))
            #expect(
                m.text.contains(" UTC") && m.text.range(of: #"\d{4}-\d\d-\d\dT"#, options: .regularExpression) == nil)
            #expect(raw.contains("Content-Transfer-Encoding: quoted-printable"))
            #expect(raw.contains("as Night shift, Viewer"), "readable in the raw message")
        }
        // Joining: the "you were added" mail names the roles the same way.
        let eu = try f.service(.eu)
        let token = eu.mailedToken(for: try #require(try await eu.pendingInvites(email: "ned@acme.test").first?.invite))
        #expect(
            await f.browser("10.9.0.1").call(
                "POST", "/api/v1/invites/\(token)/accept", #"{"password":"ned-password-long"}"#
            ).status == 200)
        s.deliverDue()
        let added = try #require(t.sent.withLock { $0 }.last { $0.0.to == "ned@acme.test" })
        #expect(added.0.subject.hasPrefix("You were added") && added.0.text.contains("as Night shift, Viewer"))
    }

    @Test func twoSendersSendEachMailOnce() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "first@acme.test")
        let emails = (0..<20).map { "p\($0)@acme.test" }
        let list = emails.map { "\"\($0)\"" }.joined(separator: ",")
        #expect(
            await olga.call("POST", "/api/v1/orgs/\(org)/invites", "{\"emails\":[\(list)],\"roles\":[\"member\"]}")
                .status == 201)
        let (ta, tb) = (CapturingTransport(), CapturingTransport())
        let (a, b) = (try Self.sender(f, ta), try Self.sender(f, tb))
        async let x = Task.detached { a.deliverDue() + a.deliverDue() }.value
        async let y = Task.detached { b.deliverDue() + b.deliverDue() }.value
        _ = await (x, y)
        let sent = (ta.sent.withLock { $0 } + tb.sent.withLock { $0 }).map(\.to)
        for e in emails + ["first@acme.test"] { #expect(sent.filter { $0 == e }.count == 1, "\(e)") }
    }

    @Test func aDeadSendersClaimIsTakenOverAndItsStartedMailIsNeverRepeated() async throws {
        let f = try GatewayFixture()
        let (org, olga, _) = try await PageTests.orgWithInvite(f, email: "first@acme.test")
        #expect(
            await olga.call(
                "POST", "/api/v1/orgs/\(org)/invites",
                #"{"emails":["claimed@acme.test","started@acme.test"],"roles":["member"]}"#
            ).status == 201)
        let eu = try f.service(.eu)
        let now = Int(f.clock.now().timeIntervalSince1970)
        // What a sender that died leaves: both claimed (lease 60 s), one of them handed to SMTP but never marked.
        try eu.db.writeNow { conn in
            try conn.run(
                "UPDATE outbox SET next_attempt_at = ? WHERE recipient IN ('claimed@acme.test', 'started@acme.test')",
                [now + 60])
            try conn.run("UPDATE outbox SET attempt_started_at = ? WHERE recipient = 'started@acme.test'", [now])
        }
        let t = CapturingTransport()
        let s = try Self.sender(f, t)
        s.deliverDue()
        #expect(!t.sent.withLock { $0 }.contains { $0.to == "claimed@acme.test" || $0.to == "started@acme.test" })
        f.clock.advance(by: 61)
        s.deliverDue()
        s.deliverDue()
        let sent = t.sent.withLock { $0 }.map(\.to)
        #expect(sent.filter { $0 == "claimed@acme.test" }.count == 1, "a claim without a start is taken over")
        #expect(!sent.contains("started@acme.test"), "a started delivery is never repeated")
        let doubt = try eu.db.readNow {
            try $0.first("SELECT gave_up, last_error, sent_at FROM outbox WHERE recipient = 'started@acme.test'")
        }
        #expect(doubt?.int("gave_up") == 1 && doubt?.string("last_error")?.hasPrefix("in doubt") == true)
    }
}

/// Keeps each message with its rendered form (what an SMTP server or a `.eml` file gets).
final class CapturingRawTransport: MailTransport {
    let sent = Mutex<[(MailMessage, String)]>([])
    func deliver(_ message: MailMessage, rendered: String) throws { sent.withLock { $0.append((message, rendered)) } }
}
