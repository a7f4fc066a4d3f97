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

/// Renders a `MailMessage` as an RFC 5322 message: `multipart/alternative`, UTF-8 parts in base64 (so no line
/// is too long and no byte needs escaping), RFC 2047 encoded subject and display name when not ASCII.
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
            out += "Content-Transfer-Encoding: base64\r\n\r\n"
            out += base64Lines(Array(body.utf8))
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
