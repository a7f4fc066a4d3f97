import Foundation
import Mail
import Tenant

/// The `mail` section: which transport delivers the outbox, the sender address, and retry pacing.
///
///     "mail": {"transport": "dev" | "smtp" | "off", "from": "…", "fromName": "…", "directory": "…",
///              "retryBaseSeconds": 30, "retryMaxSeconds": 3600, "pollSeconds": 2, "claimSeconds": 300,
///              "smtp": {"host": "…", "port": 587, "security": "starttls" | "tls" | "none",
///                       "username": "…", "password": "…", "caFile": "…", "heloName": "…", "timeoutSeconds": 15}}
///
/// The SMTP password may come from the environment variable `GATEHOUSE_SMTP_PASSWORD` instead of the file.
package struct MailConfig: Sendable {
    package enum Transport: String, Sendable, CaseIterable {
        /// `.eml` files under `directory` and the link in the log (development).
        case dev
        case smtp
        case off
    }

    package var transport = Transport.dev
    /// For the dev transport; default `<dataDirectory>/mail`.
    package var directory: String?
    package var outbox = OutboxSettings()
    package var smtp: SMTPSettings?

    package init() {}

    static func parse(_ section: ConfigReader) throws -> MailConfig {
        var r = section
        var m = MailConfig()
        m.transport = try r.choice("transport", default: .dev)
        m.directory = try r.string("directory", default: nil)
        m.outbox.from = try r.string("from", default: m.outbox.from) ?? m.outbox.from
        m.outbox.fromName = try r.string("fromName", default: m.outbox.fromName) ?? m.outbox.fromName
        m.outbox.retryBase = try r.double("retryBaseSeconds", default: m.outbox.retryBase, range: 0.1...86400)
        m.outbox.retryMax = try r.double("retryMaxSeconds", default: m.outbox.retryMax, range: 0.1...604800)
        m.outbox.pollInterval = try r.double("pollSeconds", default: m.outbox.pollInterval, range: 0.05...3600)
        // How long a replica's claim on a batch of mail lasts: if it dies mid-batch, another sends them after this.
        // Longer than a batch can take to send (batch × SMTP timeout), or a slow batch could be sent twice.
        m.outbox.claimSeconds = try r.int("claimSeconds", default: m.outbox.claimSeconds, range: 1...86400)
        var s = try r.section("smtp")
        if let host = try s.string("host", default: nil) {
            let security =
                SMTPSecurity(rawValue: try s.oneOf("security", default: "starttls", ["starttls", "tls", "none"]))
                ?? .starttls
            var settings = SMTPSettings(
                host: host, port: try s.int("port", default: security == .tls ? 465 : 587, range: 1...65535),
                security: security)
            settings.username = try s.string("username", default: nil)
            let filePassword = try s.string("password", default: nil)
            settings.password = ProcessInfo.processInfo.environment["GATEHOUSE_SMTP_PASSWORD"] ?? filePassword
            settings.caFile = try s.string("caFile", default: nil)
            settings.heloName = try s.string("heloName", default: settings.heloName) ?? settings.heloName
            settings.timeoutMillis = Int(try s.double("timeoutSeconds", default: 15, range: 1...600) * 1000)
            m.smtp = settings
        } else if !s.object.isEmpty {
            throw ConfigError("mail.smtp.host is required when mail.smtp is given")
        }
        try s.finish()
        try r.finish()
        if m.transport == .smtp && m.smtp == nil {
            throw ConfigError("mail.smtp.host is required when mail.transport is smtp")
        }
        return m
    }
}
