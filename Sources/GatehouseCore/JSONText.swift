/// Minimal JSON string quoting used on hot paths (logs, error bodies) where JSONEncoder would be too slow.
package enum JSONText {
    package static func quote(_ s: String) -> String {
        // Fast path: nothing to escape (the common case for ids, emails and names).
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xE2 }) { return "\"" + s + "\"" }
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out +=
                        "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                        + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// Appends `s` as a JSON string literal to a byte buffer (no intermediate String when nothing needs escaping).
    package static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        // Native strings are contiguous UTF-8: scan the bytes once, copy them once.
        var s = s
        let plain: Bool = s.withUTF8 { buf in
            for b in buf where b < 0x20 || b == 0x22 || b == 0x5C || b == 0xE2 { return false }
            out.append(0x22)
            out.append(contentsOf: buf)
            out.append(0x22)
            return true
        }
        if !plain { out.append(contentsOf: quote(s).utf8) }
    }
}
