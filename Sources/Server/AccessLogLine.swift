import Foundation
import GatehouseCore
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
        // Counted first (a quoted byte is at most six), then written in one go (`ByteWriter`).
        func most(_ s: String, _ max: Int) -> Int { 2 + 6 * min(s.utf8.count, max) }
        let size =
            prefix.count + 3 + 200 + 60 + most(request.id, 256) + most(request.method, 16) + most(route, 128)
            + most(request.remoteAddress, 256)
        out.appendWritten(maxCount: size) { w in
            prefix.withUnsafeBufferPointer { w.put($0) }
            let ms = Int(tv.tv_usec / 1000)
            w.put(UInt8(48 + ms / 100))
            w.put(UInt8(48 + ms / 10 % 10))
            w.put(UInt8(48 + ms % 10))
            w.literal("Z\",\"level\":\"info\",\"msg\":\"request\",\"request.id\":")
            quoted(request.id, &w)
            w.literal(",\"http.method\":")
            quoted(request.method, &w, max: 16)
            w.literal(",\"http.route\":")
            quoted(route, &w, max: 128)
            w.literal(",\"http.status\":")
            w.decimal(UInt64(clamping: status))
            w.literal(",\"http.response_bytes\":")
            w.decimal(UInt64(clamping: bytes))
            w.literal(",\"duration_us\":")
            w.decimal(micros)
            w.literal(",\"net.peer\":")
            quoted(request.remoteAddress, &w)
            w.literal("}\n")
        }
    }

    /// JSON string with escaping of quotes, backslashes and control bytes; cut after `max` bytes. Runs of plain
    /// bytes are copied at once.
    private func quoted(_ s: String, _ w: inout ByteWriter, max: Int = 256) {
        w.put(34)
        var s = s
        s.withUTF8 { b in
            let n = Swift.min(b.count, max)
            var run = 0
            for i in 0..<n {
                let c = b[i]
                guard c == 34 || c == 92 || c < 32 || c == 127 else { continue }
                w.put(UnsafeBufferPointer(rebasing: b[run..<i]))
                run = i + 1
                w.put(92)
                switch c {
                case 34: w.put(34)
                case 92: w.put(92)
                default:
                    let hex: StaticString = "0123456789abcdef"
                    w.literal("u00")
                    w.put(hex.utf8Start[Int(c >> 4)])
                    w.put(hex.utf8Start[Int(c & 15)])
                }
            }
            w.put(UnsafeBufferPointer(rebasing: b[run..<n]))
        }
        w.put(34)
    }
}
