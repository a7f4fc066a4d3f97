/// `application/x-www-form-urlencoded` and query-string decoding (WHATWG URL standard rules: `+` is a space,
/// percent-escapes are bytes, invalid escapes are kept literally).
package enum FormDecoding {
    /// Decodes `a=1&b=2` into ordered pairs. Limits the number of pairs so a huge query cannot allocate without bound.
    package static func pairs(_ s: some StringProtocol, maxPairs: Int = 1000) -> [(String, String)] {
        var out: [(String, String)] = []
        for part in s.split(separator: "&", omittingEmptySubsequences: true) {
            if out.count >= maxPairs { break }
            if let eq = part.firstIndex(of: "=") {
                out.append(
                    (
                        percentDecode(part[..<eq], plusIsSpace: true),
                        percentDecode(part[part.index(after: eq)...], plusIsSpace: true)
                    ))
            } else {
                out.append((percentDecode(part, plusIsSpace: true), ""))
            }
        }
        return out
    }

    package static func percentDecode(_ s: some StringProtocol, plusIsSpace: Bool) -> String {
        let u = Array(s.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            let c = u[i]
            if c == 37, i + 2 < u.count, let h = hex(u[i + 1]), let l = hex(u[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusIsSpace && c == 43 ? 32 : c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func percentEncode(_ s: String, keep: (UInt8) -> Bool = FormDecoding.isUnreserved) -> String {
        var out = ""
        for c in s.utf8 {
            if keep(c) {
                out.unicodeScalars.append(Unicode.Scalar(c))
            } else {
                let hexDigits = Array("0123456789ABCDEF".utf8)
                out.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(c >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hexDigits[Int(c & 15)]))
            }
        }
        return out
    }

    package static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case 48...57, 65...90, 97...122, 45, 46, 95, 126: return true
        default: return false
        }
    }

    static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
