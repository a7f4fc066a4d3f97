import Foundation

/// One email to one recipient, with a plain-text and an HTML part (mail clients pick the one they can show).
package struct MailMessage: Sendable, Equatable {
    package var from: String
    package var fromName: String
    package var to: String
    package var subject: String
    package var text: String
    package var html: String
    /// The link the mail exists to deliver (an invite URL), logged by the dev transport.
    package var link: String?

    package init(
        from: String, fromName: String = "Gatehouse", to: String, subject: String, text: String, html: String,
        link: String? = nil
    ) {
        self.from = from
        self.fromName = fromName
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.link = link
    }
}

/// Renders a `MailMessage` as an RFC 5322 message: `multipart/alternative`, UTF-8 parts in quoted-printable (so
/// no line is too long, and the text part of a saved `.eml` still reads as text: an administrator can copy a link
/// out of it), RFC 2047 encoded subject and display name when not ASCII.
package enum MIMEMessage {
    package static func render(_ m: MailMessage, date: Date, messageID: String, boundary: String) -> String {
        var out = ""
        out += "From: \(encodedWord(m.fromName)) <\(m.from)>\r\n"
        out += "To: <\(m.to)>\r\n"
        out += "Subject: \(encodedWord(m.subject))\r\n"
        out += "Date: \(rfc5322Date(date))\r\n"
        out += "Message-ID: <\(messageID)>\r\n"
        out += "MIME-Version: 1.0\r\n"
        out += "Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n"
        out += "\r\n"
        for (type, body) in [("text/plain", m.text), ("text/html", m.html)] {
            out += "--\(boundary)\r\n"
            out += "Content-Type: \(type); charset=utf-8\r\n"
            out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            out += quotedPrintable(body) + "\r\n"
        }
        out += "--\(boundary)--\r\n"
        return out
    }

    /// Header text: as-is when printable ASCII without line breaks, else `=?utf-8?B?…?=` words.
    static func encodedWord(_ s: String) -> String {
        let clean = s.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if clean.utf8.allSatisfy({ $0 >= 32 && $0 < 127 }) && !clean.contains("=?") { return clean }
        // Split on character boundaries so each word decodes on its own (at most 45 bytes → 60 base64 chars).
        var words: [String] = []
        var chunk: [UInt8] = []
        for ch in clean {
            let bytes = Array(String(ch).utf8)
            if chunk.count + bytes.count > 45 {
                words.append(chunk.isEmpty ? "" : "=?utf-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?utf-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2045 §6.7: printable ASCII as is, `=` and other bytes as `=XX`, line breaks as CRLF, lines of at most 76
    /// characters joined by soft breaks (`=` at the end), whitespace before a break encoded. A line that starts
    /// with `.` gets `=2E`, so no SMTP server's dot handling can touch it.
    static func quotedPrintable(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(
            separator: "\n", omittingEmptySubsequences: false)
        for (n, line) in lines.enumerated() {
            if n > 0 { out += Array("\r\n".utf8) }
            var width = 0
            let bytes = Array(line.utf8)
            for (i, b) in bytes.enumerated() {
                let last = i == bytes.count - 1
                let plain =
                    (b >= 33 && b <= 126 && b != 61 && !(b == 46 && width == 0)) || ((b == 32 || b == 9) && !last)
                let piece: [UInt8] = plain ? [b] : [61, hex[Int(b >> 4)], hex[Int(b & 15)]]
                // Room for the piece and a soft break's `=` (or for the line's end).
                if width + piece.count > (last ? 76 : 75) {
                    out += [61, 13, 10]
                    width = 0
                    if b == 46 {  // a dot that now starts a line
                        out += [61, 50, 69]
                        width = 3
                        continue
                    }
                }
                out += piece
                width += piece.count
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func base64Lines(_ bytes: [UInt8]) -> String {
        let b = Data(bytes).base64EncodedString()
        var out = ""
        var i = b.startIndex
        while i < b.endIndex {
            let j = b.index(i, offsetBy: 76, limitedBy: b.endIndex) ?? b.endIndex
            out += b[i..<j] + "\r\n"
            i = j
        }
        return out
    }

    static func rfc5322Date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: d)
    }
}
