import Foundation
import Net

/// How the SMTP connection is protected.
package enum SMTPSecurity: String, Sendable {
    /// Plain connection upgraded with STARTTLS, which is required (a server that does not offer it is refused).
    case starttls
    /// TLS from the first byte (port 465).
    case tls
    /// No encryption: only for a relay on loopback; credentials are then refused on any other host.
    case none
}

package struct SMTPSettings: Sendable {
    package var host: String
    package var port: Int
    package var security: SMTPSecurity
    package var username: String?
    package var password: String?
    /// CA bundle for verifying the server (nil: the system's trust store).
    package var caFile: String?
    package var heloName: String
    package var timeoutMillis: Int

    package init(
        host: String, port: Int, security: SMTPSecurity = .starttls, username: String? = nil, password: String? = nil,
        caFile: String? = nil, heloName: String = "gatehouse.localhost", timeoutMillis: Int = 15_000
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.caFile = caFile
        self.heloName = heloName
        self.timeoutMillis = timeoutMillis
    }
}

/// Sends mail through an SMTP submission server (RFC 5321): EHLO, STARTTLS (RFC 3207) with certificate and
/// host-name checks, AUTH PLAIN or LOGIN (RFC 4954) only over TLS, then one envelope per message.
/// A connection per message keeps failure handling simple; invite mail is not a bulk stream.
package struct SMTPTransport: MailTransport {
    package let settings: SMTPSettings

    package init(settings: SMTPSettings) { self.settings = settings }

    struct Reply {
        let code: Int
        let lines: [String]
        var text: String { lines.joined(separator: " / ") }
    }

    package func deliver(_ message: MailMessage, rendered: String) throws {
        for addr in [message.from, message.to] where addr.contains(where: { "\r\n<>".contains($0) }) || addr.isEmpty {
            throw MailError(permanent: true, "refusing an address with line breaks or brackets")
        }
        let s: ClientStream
        do {
            s = try ClientStream(
                host: settings.host, port: settings.port, connectTimeoutMillis: min(settings.timeoutMillis, 5_000),
                ioTimeoutMillis: settings.timeoutMillis)
        } catch {
            throw MailError(permanent: false, "SMTP server \(settings.host):\(settings.port) unreachable: \(error)")
        }
        defer { s.close() }
        do {
            if settings.security == .tls { try s.startTLS(serverName: settings.host, caFile: settings.caFile) }
            try expect(read(s), 220, "greeting")
            var caps = try ehlo(s)
            if settings.security == .starttls {
                guard caps.contains("STARTTLS") else {
                    throw MailError(permanent: false, "the SMTP server does not offer STARTTLS")
                }
                try command(s, "STARTTLS", expect: 220)
                try s.startTLS(serverName: settings.host, caFile: settings.caFile)
                caps = try ehlo(s)
            }
            if let user = settings.username, let pass = settings.password {
                guard s.isTLS || ["127.0.0.1", "::1", "localhost"].contains(settings.host) else {
                    throw MailError(permanent: false, "refusing to send SMTP credentials without TLS")
                }
                try authenticate(s, caps: caps, user: user, pass: pass)
            }
            try command(s, "MAIL FROM:<\(message.from)>", expect: 250)
            let rcpt = try send(s, "RCPT TO:<\(message.to)>")
            guard rcpt.code == 250 || rcpt.code == 251 else {
                throw MailError(permanent: rcpt.code >= 500, "recipient refused: \(rcpt.code) \(rcpt.text)")
            }
            try command(s, "DATA", expect: 354)
            try s.write(Self.dotStuffed(rendered) + ".\r\n")
            try expect(read(s), 250, "message")
            _ = try? send(s, "QUIT")
        } catch let e as MailError {
            throw e
        } catch {
            throw MailError(permanent: false, "SMTP conversation failed: \(error)")
        }
    }

    func ehlo(_ s: ClientStream) throws -> Set<String> {
        let r = try send(s, "EHLO \(settings.heloName)")
        try expect(r, 250, "EHLO")
        var caps: Set<String> = []
        for line in r.lines.dropFirst() {
            let upper = line.uppercased()
            caps.insert(String(upper.split(separator: " ").first ?? ""))
            if upper.hasPrefix("AUTH") { for m in upper.split(separator: " ").dropFirst() { caps.insert("AUTH=" + m) } }
        }
        return caps
    }

    func authenticate(_ s: ClientStream, caps: Set<String>, user: String, pass: String) throws {
        let b64 = { (t: String) in Data(t.utf8).base64EncodedString() }
        if caps.contains("AUTH=PLAIN") {
            try command(s, "AUTH PLAIN " + b64("\0\(user)\0\(pass)"), expect: 235, hide: true)
        } else if caps.contains("AUTH=LOGIN") {
            try command(s, "AUTH LOGIN", expect: 334)
            try command(s, b64(user), expect: 334, hide: true)
            try command(s, b64(pass), expect: 235, hide: true)
        } else {
            throw MailError(permanent: false, "the SMTP server offers neither AUTH PLAIN nor AUTH LOGIN")
        }
    }

    func send(_ s: ClientStream, _ line: String) throws -> Reply {
        try s.write(line + "\r\n")
        return try read(s)
    }

    func command(_ s: ClientStream, _ line: String, expect code: Int, hide: Bool = false) throws {
        try expect(send(s, line), code, hide ? "AUTH" : String(line.prefix(while: { $0 != " " && $0 != ":" })))
    }

    func expect(_ r: Reply, _ code: Int, _ what: String) throws {
        guard r.code == code else { throw MailError(permanent: false, "\(what): server answered \(r.code) \(r.text)") }
    }

    func read(_ s: ClientStream) throws -> Reply {
        var lines: [String] = []
        while true {
            let line = try s.readLine(max: 2_048)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), lines.count < 100
            else {
                throw MailError(permanent: false, "malformed SMTP reply")
            }
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { return Reply(code: code, lines: lines) }
        }
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets another "."; the message ends with CRLF.
    static func dotStuffed(_ text: String) -> String {
        var out = text.replacingOccurrences(of: "\r\n.", with: "\r\n..")
        if out.hasPrefix(".") { out = "." + out }
        if !out.hasSuffix("\r\n") { out += "\r\n" }
        return out
    }
}
