import Foundation

/// Base64url without padding (RFC 4648 §5), as used in tokens and cursors.
package enum Base64URL {
    package static func encode<D: DataProtocol>(_ bytes: D) -> String {
        var s = Data(bytes).base64EncodedString()
        s = s.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while s.hasSuffix("=") { s.removeLast() }
        return s
    }

    /// Decodes strictly: only the URL-safe alphabet, no padding, no whitespace. Returns nil on anything else.
    package static func decode(_ s: some StringProtocol) -> Data? {
        var out = String()
        out.reserveCapacity(s.utf8.count + 3)
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.unicodeScalars.append(Unicode.Scalar(c))
            case UInt8(ascii: "-"): out.append("+")
            case UInt8(ascii: "_"): out.append("/")
            default: return nil
            }
        }
        if out.utf8.count % 4 == 1 { return nil }
        while out.utf8.count % 4 != 0 { out.append("=") }
        return Data(base64Encoded: out)
    }
}
