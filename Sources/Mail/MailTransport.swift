import Foundation
import GatehouseCore

/// Delivers one rendered message. Blocking: the outbox sender calls it on its own thread. Throws
/// `MailError` so the sender can tell a temporary failure (retry later) from a permanent one.
package protocol MailTransport: Sendable {
    func deliver(_ message: MailMessage, rendered: String) throws
}

package struct MailError: Error, Sendable, CustomStringConvertible {
    /// 4xx replies, timeouts and refused connections are temporary; 5xx replies to the recipient are not.
    package let permanent: Bool
    package let message: String
    package init(permanent: Bool, _ message: String) {
        self.permanent = permanent
        self.message = message
    }
    package var description: String { message }
}

/// Development transport: writes each message as a `.eml` file and logs the link, so a developer without
/// an SMTP server can still follow invite links.
package struct DevMailTransport: MailTransport {
    package let directory: String
    package let logger: Logger

    package init(directory: String, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    package func deliver(_ message: MailMessage, rendered: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let stamp = Int(Date().timeIntervalSince1970 * 1000)
            let safe = message.to.map { $0.isLetter || $0.isNumber || $0 == "." || $0 == "@" ? $0 : "_" }
            let path = "\(directory)/\(stamp)-\(String(safe)).eml"
            try Data(rendered.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            // The link is a bearer credential for the invitee: it is logged only by this development transport.
            logger.info(
                "mail written",
                [
                    "mail.to": .string(message.to), "mail.subject": .string(message.subject),
                    "mail.file": .string(path), "mail.link": .string(message.link ?? ""),
                ])
        } catch {
            throw MailError(permanent: false, "cannot write mail file: \(error)")
        }
    }
}
