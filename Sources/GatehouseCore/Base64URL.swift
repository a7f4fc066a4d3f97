import Foundation

/// Base64url without padding (RFC 4648 §5), as used in tokens and cursors.
package enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// Written directly (session tokens, CSRF tokens and cursors are encoded on every request; going through
    /// `Data.base64EncodedString` and two `replacingOccurrences` cost more than the HMAC they carry).
    package static func encode<D: DataProtocol>(_ bytes: D) -> String {
        let b = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((b.count * 4 + 2) / 3)
        var i = 0
        while i + 3 <= b.count {
            let n = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = b.count - i
        if rest > 0 {
            let n = UInt32(b[i]) << 16 | (rest == 2 ? UInt32(b[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            if rest == 2 { out.append(alphabet[Int(n >> 6 & 63)]) }
        }
        return String(decoding: out, as: UTF8.self)
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
