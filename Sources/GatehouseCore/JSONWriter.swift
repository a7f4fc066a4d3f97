import Foundation

/// A response body written straight to bytes, in the shape `JSONCoding.encoder()` produces (sorted keys, ISO 8601
/// dates in seconds, slashes unescaped, nil optionals left out). Why: on a list of 50 members `JSONEncoder` spent
/// 60 % of the request's CPU boxing every value; this writes the same JSON at a fraction of that.
///
/// Types opt in through `JSONWritable`; `Response.json` takes the writer whenever the value conforms, so there
/// is one path for every route. Each conformance writes its keys in sorted order, and a test compares it with
/// `JSONEncoder`'s output for values full of characters that need escaping.
package struct JSONWriter {
    package private(set) var bytes: [UInt8]
    /// Per open container: whether it already holds an element (so the next one needs a comma).
    private var filled: [Bool] = []
    private var afterKey = false

    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    private mutating func prefix() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = filled.indices.last {
            if filled[last] { bytes.append(UInt8(ascii: ",")) } else { filled[last] = true }
        }
    }

    package mutating func beginObject() {
        prefix()
        bytes.append(UInt8(ascii: "{"))
        filled.append(false)
    }

    package mutating func endObject() {
        filled.removeLast()
        bytes.append(UInt8(ascii: "}"))
    }

    package mutating func beginArray() {
        prefix()
        bytes.append(UInt8(ascii: "["))
        filled.append(false)
    }

    package mutating func endArray() {
        filled.removeLast()
        bytes.append(UInt8(ascii: "]"))
    }

    /// A key (plain ASCII, as every key of ours is); the next value belongs to it.
    package mutating func key(_ k: StaticString) {
        prefix()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: k.utf8Start, count: k.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// A key taken from data (a user variable's name, a summary key): escaped like any string.
    package mutating func key(_ k: String) {
        prefix()
        JSONText.appendQuoted(k, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    package mutating func string(_ s: String) {
        prefix()
        JSONText.appendQuoted(s, to: &bytes)
    }

    package mutating func int(_ v: Int) {
        prefix()
        bytes.append(contentsOf: String(v).utf8)
    }

    package mutating func bool(_ v: Bool) {
        prefix()
        bytes.append(contentsOf: (v ? "true" : "false").utf8)
    }

    package mutating func date(_ d: Date) {
        prefix()
        bytes.append(UInt8(ascii: "\""))
        ISO8601Bytes.append(d, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    package mutating func strings(_ list: [String]) {
        beginArray()
        for s in list { string(s) }
        endArray()
    }

    /// A `[String: String]` as JSONEncoder writes it with sorted keys.
    package mutating func map(_ m: [String: String]) {
        beginObject()
        for (k, v) in m.sorted(by: { $0.key < $1.key }) {
            key(k)
            string(v)
        }
        endObject()
    }

    /// Writes a nested value that writes itself.
    package mutating func value(_ v: some JSONWritable) { v.writeJSON(to: &self) }

    package mutating func values(_ list: [some JSONWritable]) {
        beginArray()
        for v in list { v.writeJSON(to: &self) }
        endArray()
    }

    // Keyed shorthands; optionals left out when nil, as the synthesized `Encodable` does.
    package mutating func field(_ k: StaticString, _ v: String) {
        key(k)
        string(v)
    }
    package mutating func field(_ k: StaticString, _ v: String?) {
        if let v { field(k, v) }
    }
    package mutating func field(_ k: StaticString, _ v: Int) {
        key(k)
        int(v)
    }
    package mutating func field(_ k: StaticString, _ v: Int?) {
        if let v { field(k, v) }
    }
    package mutating func field(_ k: StaticString, _ v: Bool) {
        key(k)
        bool(v)
    }
    package mutating func field(_ k: StaticString, _ v: Date) {
        key(k)
        date(v)
    }
    package mutating func field(_ k: StaticString, _ v: Date?) {
        if let v { field(k, v) }
    }
    package mutating func field(_ k: StaticString, _ v: [String]) {
        key(k)
        strings(v)
    }
}

/// A value that writes its own JSON (see `JSONWriter`): the same JSON its `Encodable` conformance produces.
package protocol JSONWritable: Encodable, Sendable {
    func writeJSON(to w: inout JSONWriter)
}

extension JSONWritable {
    package var jsonBytes: [UInt8] {
        var w = JSONWriter()
        writeJSON(to: &w)
        return w.bytes
    }
}

/// ISO 8601 (UTC, whole seconds) as bytes, without a formatter: `2026-11-23T12:00:00Z` (years 0–9999).
package enum ISO8601Bytes {
    package static func string(_ d: Date) -> String {
        var out: [UInt8] = []
        append(d, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    package static func append(_ d: Date, to out: inout [UInt8]) {
        let (year, month, day, secs) = CivilTime.parts(d)
        @inline(__always) func two(_ v: Int) {
            out.append(UInt8(48 + v / 10))
            out.append(UInt8(48 + v % 10))
        }
        two(year / 100 % 100)
        two(year % 100)
        out.append(45)
        two(month)
        out.append(45)
        two(day)
        out.append(84)
        two(secs / 3600)
        out.append(58)
        two(secs / 60 % 60)
        out.append(58)
        two(secs % 60)
        out.append(90)
    }
}

/// A list of written values is written too (`[RoleView]`, `[AppView]`, …).
extension Array: JSONWritable where Element: JSONWritable {
    package func writeJSON(to w: inout JSONWriter) { w.values(self) }
}

extension Date {
    /// The time the wire carries (ISO 8601 in whole seconds).
    package var wholeSeconds: Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}

/// UTC calendar parts of a time by integer arithmetic (H. Hinnant's `civil_from_days`): no libc or ICU call on the
/// paths that print dates for every row.
package enum CivilTime {
    package static func parts(_ d: Date) -> (year: Int, month: Int, day: Int, secondOfDay: Int) {
        let t = Int(d.timeIntervalSince1970.rounded(.down))
        var days = t / 86_400
        var secs = t % 86_400
        if secs < 0 {
            secs += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day, secs)
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `23 Nov 2026` (UTC), as the console's tables show dates.
    package static func short(_ d: Date) -> String {
        let p = parts(d)
        return "\(p.day) \(months[p.month - 1]) \(p.year)"
    }

    /// `23 Nov 2026, 14:05 UTC`: the exact time, shown on hover next to a relative one.
    package static func exact(_ d: Date) -> String {
        let p = parts(d)
        let hh = p.secondOfDay / 3600
        let mm = p.secondOfDay / 60 % 60
        return short(d) + ", \(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm) UTC"
    }

    /// How far ahead `d` is, in the words a person uses: `in 12 minutes`, `in 5 hours`, `in 2 days`; nil when it
    /// has passed. Rounded down, so "in 2 days" never means less than two days.
    package static func until(_ d: Date, now: Date) -> String? {
        let s = Int(d.timeIntervalSince(now).rounded(.down))
        guard s > 0 else { return nil }
        func unit(_ n: Int, _ one: String) -> String { "in \(n) \(one)\(n == 1 ? "" : "s")" }
        if s < 3600 { return unit(max(1, s / 60), "minute") }
        if s < 48 * 3600 { return unit(s / 3600, "hour") }
        return unit(s / 86_400, "day")
    }

    /// How long ago `d` was, in words: `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`; past a month, the
    /// date. Rounded down, as `until` is.
    package static func ago(_ d: Date, now: Date) -> String {
        let s = Int(now.timeIntervalSince(d).rounded(.down))
        func unit(_ n: Int, _ one: String) -> String { "\(n) \(one)\(n == 1 ? "" : "s") ago" }
        if s < 60 { return "just now" }
        if s < 3600 { return unit(s / 60, "minute") }
        if s < 48 * 3600 { return unit(s / 3600, "hour") }
        if s < 31 * 86_400 { return unit(s / 86_400, "day") }
        return short(d)
    }
}
