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

    /// Quoted-printable parts: the text reads as text in the raw message (a link is findable with grep), every
    /// line is at most 76 characters, and Python's decoder gives back exactly what was written, for awkward input.
    @Test(arguments: [
        "Join Acme:\n\nhttps://gh.test/invite/gh1.eyJhbGciOiJIUzI1NiJ9eyJpbnZpdGUiOiJpbnZfMTIzNDU2Nzg5MCJ9"
            + ".c2lnbmF0dXJl\n",
        "Grüße aus Köln = 100% ✓\n.leading dot\ntrailing space \ttab\t\n" + String(repeating: "=", count: 100),
        String(repeating: "a", count: 75) + "." + String(repeating: "b", count: 200) + " \n\n",
        "", "x", "line\r\nwith crlf\r\n",
    ])
    func quotedPrintableRoundTrips(_ text: String) throws {
        let qp = MIMEMessage.quotedPrintable(text)
        let lines = qp.split(separator: "\r\n", omittingEmptySubsequences: false)
        #expect(lines.allSatisfy { $0.utf8.count <= 76 }, "\(lines.map(\.utf8.count))")
        #expect(lines.allSatisfy { !$0.hasPrefix(".") })
        #expect(qp.utf8.allSatisfy { $0 == 9 || $0 == 13 || $0 == 10 || (32...126).contains($0) })
        let decoded = try #require(
            String(
                data: try python(
                    "import quopri,sys;sys.stdout.buffer.write(quopri.decodestring(sys.stdin.buffer.read()))", qp),
                encoding: .utf8))
        #expect(
            decoded == text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n"))
        if text.hasPrefix("Join") {
            #expect(qp.contains("https://gh.test/invite/"), "the link is readable in the raw part")
        }
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
