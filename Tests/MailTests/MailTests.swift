import Foundation
import GatehouseTesting
import Testing

@testable import Mail

@Suite("Mail: MIME rendering and SMTP framing")
struct MailTests {
    @Test func rendersMultipartWithEncodedHeaders() throws {
        let m = MailMessage(
            from: "gh@x.test", fromName: "Gätehouse", to: "mia@acme.test",
            subject: "Olga invited you to join Acme Ünited",
            text: "Hello\r\n.dot line", html: "<p>Hi</p>")
        let raw = MIMEMessage.render(m, date: Date(timeIntervalSince1970: 0), messageID: "1@gh", boundary: "b1")
        #expect(raw.contains("Subject: =?utf-8?B?"))
        #expect(raw.contains("From: =?utf-8?B?"))
        #expect(raw.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        #expect(raw.contains("Content-Type: multipart/alternative; boundary=\"b1\""))
        #expect(raw.split(separator: "\r\n", omittingEmptySubsequences: false).allSatisfy { $0.utf8.count <= 998 })
        // Python's email parser decodes what we wrote back to the same words.
        let parsed = try #require(
            String(
                data: try python(
                    "import email,sys;from email import"
                        + " policy;m=email.message_from_string(sys.stdin.read(),policy=policy.default);"
                        + "print(m['subject']);print(m.get_body(('plain',)).get_content())",
                    raw), encoding: .utf8))
        #expect(parsed.hasPrefix("Olga invited you to join Acme Ünited\n"))
        #expect(parsed.contains(".dot line"))
    }

    @Test func headerValuesCannotInjectLines() {
        let w = MIMEMessage.encodedWord("Hi\r\nBcc: evil@x.test")
        #expect(!w.contains("\r\nBcc"))
    }

    @Test func dotStuffing() {
        #expect(SMTPTransport.dotStuffed(".a\r\n.b\r\nc") == "..a\r\n..b\r\nc\r\n")
    }

    func python(_ code: String, _ input: String) throws -> Data {
        try Subprocess.run(["python3", "-c", code], input: Data(input.utf8)).stdout
    }
}
