import HTTP
import Testing

@Suite("Forms, cookies, serializer")
struct CodecTests {
    @Test func formDecoding() {
        let pairs = FormDecoding.pairs("a=1&b=hello+world&c=%E2%9C%93&d&e=%zz&a=2")
        #expect(pairs.map { "\($0.0)=\($0.1)" } == ["a=1", "b=hello world", "c=✓", "d=", "e=%zz", "a=2"])
    }

    @Test func formPairsAreCapped() {
        let many = (0..<5000).map { "k\($0)=v" }.joined(separator: "&")
        #expect(FormDecoding.pairs(many).count == 1000)
    }

    @Test func cookieParsing() {
        let c = Cookies.parse(["Cookie": "a=1; b=\"two\"; a=ignored;  c=3"])
        #expect(c == ["a": "1", "b": "two", "c": "3"])
    }

    @Test func singleCookieLookup() {
        let h: HTTPHeaders = ["Cookie": "gh_sessionx=no; gh_session=abc; other=1"]
        #expect(Cookies.value(named: "gh_session", in: h) == "abc")
        #expect(Cookies.value(named: "missing", in: h) == nil)
        #expect(Cookies.value(named: "other", in: h) == "1")
    }

    @Test func setCookieAttributes() {
        let c = SetCookie(name: "gh_session", value: "abc", maxAge: 3600, secure: true, sameSite: .lax)
        #expect(c.headerValue == "gh_session=abc; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax")
        #expect(SetCookie.expire("x").headerValue.contains("Max-Age=0"))
    }

    @Test func serializerComputesLengthAndStripsInjectedLines() {
        var out: [UInt8] = []
        let r = Response(
            status: 200, headers: ["X-Evil": "a\r\nSet-Cookie: pwned=1", "Content-Length": "999"],
            body: Array("hello".utf8))
        ResponseSerializer.serialize(r, keepAlive: false, date: "D", requestID: "r1", into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(!text.contains("999"))
        #expect(!text.contains("\r\nSet-Cookie"))
        #expect(text.contains("Connection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\nhello"))
    }

    @Test func httpDate() {
        #expect(HTTPDate.format(epochSeconds: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}

/// The byte-wise readers of the hot path against plain oracles over generated input.
@Suite("Header names and cookies, read in place")
struct InPlaceReaderTests {
    /// `Cookies.value` (a scan in place, memchr per pair) finds what the full parse finds, for every name.
    @Test func oneCookieIsFoundAsTheFullParseFindsIt() {
        let names = ["gh_session", "gh_org", "a", "gh_sessionx", "gh_"]
        let values = ["1", "\"quoted\"", "", "x=y", "long-\(String(repeating: "v", count: 300))"]
        let separators = ["; ", ";", " ;  ", ";\t", "\t; "]
        var headers: [String] = []
        for (i, n) in names.enumerated() {
            for (j, v) in values.enumerated() {
                let other = names[(i + j + 1) % names.count]
                let sep = separators[(i + j) % separators.count]
                headers.append("\(n)=\(v)\(sep)\(other)=o\(j)")
                headers.append("\(other)=o\(j)\(sep)\(n)=\(v)\(sep)")
                headers.append("\(sep)\(n)=\(v)")
            }
        }
        headers += ["", ";", ";;", "gh_session", "=x", "gh_session=", "  gh_org=1  "]
        for h in headers {
            let fields: HTTPHeaders = ["Cookie": h]
            let all = Cookies.parse(fields)
            for n in names {
                #expect(Cookies.value(named: n, in: fields) == all[n], "\(n) in [\(h)]")
            }
        }
    }

    /// `sameName` (bytes, A–Z folded) against folding each name's bytes and comparing them.
    @Test func headerNamesCompareAsTheirFoldedBytes() {
        func folded(_ s: String) -> [UInt8] { s.utf8.map { (65...90).contains($0) ? $0 | 0x20 : $0 } }
        let names = [
            "Cookie", "cookie", "COOKIE", "CoOkIe", "cookies", "Cooki", "Content-Length", "content-length",
            "X-Gatehouse-Email", "x-gatehouse-email", "É", "é", "", "@", "`", "[", "{", "Host", "host ", "h0st",
        ]
        for a in names {
            for b in names {
                #expect(HTTPHeaders.sameName(a, b) == (folded(a) == folded(b)), "\(a) vs \(b)")
                #expect(HTTPHeaders.sameName(String(a[...]), b) == HTTPHeaders.sameName(a, b))
            }
        }
    }
}
