import Foundation
import HTTP

/// Builds the per-request JSON log line straight into a byte buffer. Logging every request is on by default,
/// so this is on the hot path: no `String(format:)`, no intermediate strings, and the timestamp text is
/// rebuilt once per second (milliseconds are patched in).
struct AccessLogLine {
    private var second = -1
    private var prefix: [UInt8] = []  // `{"time":"2026-11-23T10:37:17.`

    mutating func append(
        to out: inout [UInt8], request: Request, route: String, status: Int, bytes: Int, micros: UInt64
    ) {
        var tv = timeval()
        gettimeofday(&tv, nil)
        if Int(tv.tv_sec) != second {
            second = Int(tv.tv_sec)
            var t = time_t(tv.tv_sec)
            var tmv = tm()
            gmtime_r(&t, &tmv)
            func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
            prefix = Array(
                "{\"time\":\"\(tmv.tm_year + 1900)-\(two(tmv.tm_mon + 1))-\(two(tmv.tm_mday))T\(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec))."
                    .utf8)
        }
        out.append(contentsOf: prefix)
        let ms = Int(tv.tv_usec / 1000)
        out.append(UInt8(48 + ms / 100))
        out.append(UInt8(48 + ms / 10 % 10))
        out.append(UInt8(48 + ms % 10))
        literal("Z\",\"level\":\"info\",\"msg\":\"request\",\"request.id\":", &out)
        quoted(request.id, &out)
        literal(",\"http.method\":", &out)
        quoted(request.method, &out, max: 16)
        literal(",\"http.route\":", &out)
        quoted(route, &out, max: 128)
        literal(",\"http.status\":", &out)
        number(UInt64(status), &out)
        literal(",\"http.response_bytes\":", &out)
        number(UInt64(bytes), &out)
        literal(",\"duration_us\":", &out)
        number(micros, &out)
        literal(",\"net.peer\":", &out)
        quoted(request.remoteAddress, &out)
        literal("}\n", &out)
    }

    @inline(__always) private func literal(_ s: StaticString, _ out: inout [UInt8]) {
        s.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    /// Digits on the stack (a line has three numbers; an array each showed in profiles).
    private func number(_ v: UInt64, _ out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = v
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(48 + n % 10)
                n /= 10
            } while n > 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    /// JSON string with escaping of quotes, backslashes and control bytes; cut after `max` bytes. Runs of plain
    /// bytes are copied at once.
    private func quoted(_ s: String, _ out: inout [UInt8], max: Int = 256) {
        out.append(34)
        var s = s
        s.withUTF8 { all in
            let b = UnsafeBufferPointer(rebasing: all.prefix(max))
            var run = 0
            for (i, c) in b.enumerated() {
                let escaped: Bool
                switch c {
                case 34, 92, 0..<32, 127: escaped = true
                default: escaped = false
                }
                guard escaped else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: b[run..<i]))
                run = i + 1
                switch c {
                case 34: out.append(contentsOf: [92, 34])
                case 92: out.append(contentsOf: [92, 92])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [92, 117, 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[run...]))
        }
        out.append(34)
    }
}
