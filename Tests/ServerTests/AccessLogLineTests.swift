import Foundation
import HTTP
import Testing

@testable import Server

@Suite("The access log line")
struct AccessLogLineTests {
    /// Every line is one JSON object whatever the request held: quotes, backslashes and control bytes escaped,
    /// long fields cut, numbers exact.
    @Test func aLineIsJSONWithItsFieldsEscapedCutAndExact() throws {
        var line = AccessLogLine()
        let methods = ["GET", "G\"T", "P\\T", "X\u{1}\u{1F}\u{7F}", String(repeating: "M", count: 40), "", "É"]
        let routes = ["/apps/*", "/a\"b\\c\nd", String(repeating: "r", count: 300), "(unmatched)"]
        for method in methods {
            for route in routes {
                for (status, bytes, micros) in [(200, 0, UInt64(0)), (502, 1_234_567_890_123, UInt64(Int64.max))] {
                    var out: [UInt8] = []
                    var request = Request(method: method, target: "/secret?token=1")
                    request.id = "gh-\"id\""
                    request.remoteAddress = "127.0.0.1:5\n"
                    line.append(
                        to: &out, request: request, route: route, status: status, bytes: bytes, micros: micros)
                    #expect(out.last == 10 && out.dropLast().allSatisfy { $0 != 10 }, "one line")
                    let obj = try #require(
                        try JSONSerialization.jsonObject(with: Data(out.dropLast())) as? [String: Any])
                    #expect(obj["http.method"] as? String == String(decoding: method.utf8.prefix(16), as: UTF8.self))
                    #expect(obj["http.route"] as? String == String(decoding: route.utf8.prefix(128), as: UTF8.self))
                    #expect(obj["http.status"] as? Int == status)
                    #expect((obj["http.response_bytes"] as? NSNumber)?.int64Value == Int64(bytes))
                    #expect((obj["duration_us"] as? NSNumber)?.uint64Value == micros)
                    #expect(obj["request.id"] as? String == "gh-\"id\"")
                    #expect(obj["net.peer"] as? String == "127.0.0.1:5\n")
                    #expect(!String(decoding: out, as: UTF8.self).contains("secret"))
                }
            }
        }
    }
}
