import Foundation
import GatehouseCore

/// Values kept as JSON text in one column: the one codec every store uses to write and read them. Flat lists
/// and maps of strings are hand-written (they run for every row written and read, where JSONEncoder and
/// JSONDecoder would dominate the cost of a 10,000-invite request or a members page); anything else goes
/// through `Codable` with sorted keys, so equal values are equal text.
package enum JSONColumn {
    /// `["a","b"]`.
    package static func list(_ l: [String]) -> String {
        "[" + l.map(JSONText.quote).joined(separator: ",") + "]"
    }

    package static func readList(_ s: String) -> [String] {
        if s == "[]" { return [] }
        // Fast path for what this code writes: ["a","b"] with no escapes (role ids, app ids).
        let u = s.utf8
        if u.first == UInt8(ascii: "["), u.last == UInt8(ascii: "]"), !u.contains(UInt8(ascii: "\\")) {
            // Bytes, not Characters: this runs for the caller's roles on every org request.
            let b = Array(u)
            var out: [String] = []
            var ok = true
            var i = 1
            while i < b.count - 1 {
                var end = i
                while end < b.count - 1 && b[end] != UInt8(ascii: ",") { end += 1 }
                guard end - i >= 2, b[i] == UInt8(ascii: "\""), b[end - 1] == UInt8(ascii: "\"") else {
                    ok = false
                    break
                }
                out.append(String(decoding: b[(i + 1)..<(end - 1)], as: UTF8.self))
                i = end + 1
            }
            if ok { return out }
        }
        return (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String] ?? []
    }
    /// `{"k":"v"}` with sorted keys.
    package static func map(_ m: [String: String]) -> String {
        "{"
            + m.sorted { $0.key < $1.key }.map { JSONText.quote($0.key) + ":" + JSONText.quote($0.value) }.joined(
                separator: ",") + "}"
    }

    package static func readMap(_ s: String) -> [String: String] {
        if s == "{}" { return [:] }
        return (try? JSONSerialization.jsonObject(with: Data(s.utf8))) as? [String: String] ?? [:]
    }

    /// Any `Encodable` value (settings documents, small records).
    package static func value<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    /// The value a column holds, or nil when it is absent or does not decode as `T`.
    package static func read<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text, !text.isEmpty else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
