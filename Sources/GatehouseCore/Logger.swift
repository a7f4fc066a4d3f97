import Foundation
import Synchronization

/// One JSON object per line, with dotted keys (`request.id`, `http.status`).
///
/// Why our own: no package dependencies, and tests need to read what was logged (see `LogSink.memory`)
/// to prove that secrets never reach the log.
package struct Logger: Sendable {
    package enum Level: Int, Sendable, Comparable, CustomStringConvertible {
        case debug, info, warning, error
        package static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        package var description: String { ["debug", "info", "warning", "error"][rawValue] }
    }

    package let sink: LogSink
    package var minimum: Level
    package var label: String

    package init(label: String, sink: LogSink = .standardError, minimum: Level = .info) {
        self.label = label
        self.sink = sink
        self.minimum = minimum
    }

    package func log(
        _ level: Level, _ message: @autoclosure () -> String, _ fields: @autoclosure () -> [String: LogValue] = [:]
    ) {
        guard level >= minimum else { return }
        var line =
            "{\"time\":\"\(Logger.timestamp())\",\"level\":\"\(level)\",\"logger\":\(LogValue.string(label).json),\"msg\":\(LogValue.string(message()).json)"
        for (k, v) in fields().sorted(by: { $0.key < $1.key }) {
            line += ",\(LogValue.string(k).json):\(v.json)"
        }
        line += "}\n"
        sink.write(line)
    }

    package func info(_ m: @autoclosure () -> String, _ f: @autoclosure () -> [String: LogValue] = [:]) {
        log(.info, m(), f())
    }
    package func warning(_ m: @autoclosure () -> String, _ f: @autoclosure () -> [String: LogValue] = [:]) {
        log(.warning, m(), f())
    }
    package func error(_ m: @autoclosure () -> String, _ f: @autoclosure () -> [String: LogValue] = [:]) {
        log(.error, m(), f())
    }
    package func debug(_ m: @autoclosure () -> String, _ f: @autoclosure () -> [String: LogValue] = [:]) {
        log(.debug, m(), f())
    }

    package static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = time_t(tv.tv_sec)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tmv.tm_year + 1900, tmv.tm_mon + 1, tmv.tm_mday,
            tmv.tm_hour, tmv.tm_min, tmv.tm_sec, Int(tv.tv_usec / 1000))
    }
}

/// A value in a log line. Secrets have no case here on purpose: wrap them in `Redacted` and they print as `"[redacted]"`.
package enum LogValue: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)

    package init(stringLiteral v: String) { self = .string(v) }
    package init(integerLiteral v: Int) { self = .int(v) }

    package var json: String {
        switch self {
        case .int(let i): return String(i)
        case .double(let d): return d.isFinite ? String(format: "%.3f", d) : "null"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s): return JSONText.quote(s)
        }
    }
}

/// Where log lines go.
package final class LogSink: Sendable {
    private let target: Target
    private let memoryLines = Mutex<[String]>([])
    private enum Target: Sendable {
        case fd(Int32)
        case memory, discard
    }

    private init(_ t: Target) { target = t }
    package static let standardError = LogSink(.fd(2))
    package static let standardOutput = LogSink(.fd(1))
    package static let discard = LogSink(.discard)
    /// Keeps lines in memory so tests can read them.
    package static func memory() -> LogSink { LogSink(.memory) }

    package func write(_ line: String) {
        switch target {
        case .fd(let fd):
            var l = line
            l.withUTF8 { LogSink.writeAll(fd, UnsafeRawBufferPointer($0)) }
        case .memory:
            memoryLines.withLock { lines in
                for l in line.split(separator: "\n") { lines.append(String(l)) }
            }
        case .discard: break
        }
    }

    /// Writes pre-formatted JSON lines (the server's batched access log).
    package func write(bytes: [UInt8]) {
        switch target {
        case .fd(let fd):
            bytes.withUnsafeBytes { LogSink.writeAll(fd, $0) }
        case .memory, .discard: write(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer) {
        var off = 0
        while off < buf.count {
            guard let base = buf.baseAddress else { break }
            let n = Glibc.write(fd, base + off, buf.count - off)
            if n <= 0 { break }
            off += n
        }
    }

    /// Lines written so far (memory sinks only).
    package var lines: [String] {
        memoryLines.withLock { $0 }
    }
}

/// Wraps a secret so it cannot be printed or logged by accident.
package struct Redacted<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    package let value: Value
    package init(_ value: Value) { self.value = value }
    package var description: String { "[redacted]" }
    package var debugDescription: String { "[redacted]" }
}
