/// Just enough DER to turn a JWK into `SubjectPublicKeyInfo` for OpenSSL (`PublicKey(spki:)`): lengths,
/// unsigned INTEGERs, SEQUENCE and BIT STRING. Inputs are bounded by the JWK parser.
enum DER {
    static func length(_ n: Int) -> [UInt8] {
        if n < 0x80 { return [UInt8(n)] }
        var bytes: [UInt8] = []
        var v = n
        while v > 0 {
            bytes.insert(UInt8(v & 0xFF), at: 0)
            v >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] { [tag] + length(content.count) + content }

    static func sequence(_ parts: [UInt8]...) -> [UInt8] { tlv(0x30, parts.flatMap { $0 }) }

    /// A non-negative INTEGER from big-endian bytes: leading zeros dropped, one added when the top bit is set.
    static func unsignedInteger(_ bytes: [UInt8]) -> [UInt8] {
        var b = Array(bytes.drop { $0 == 0 })
        if b.isEmpty { b = [0] }
        if b[0] & 0x80 != 0 { b.insert(0, at: 0) }
        return tlv(0x02, b)
    }

    static func bitString(_ bytes: [UInt8]) -> [UInt8] { tlv(0x03, [0] + bytes) }

    /// rsaEncryption with NULL parameters.
    static let rsaAlgorithm: [UInt8] = [
        0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
    ]
    /// id-ecPublicKey on prime256v1 (P-256).
    static let p256Algorithm: [UInt8] = [
        0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D,
        0x03, 0x01, 0x07,
    ]

    static func rsaPublicKey(n: [UInt8], e: [UInt8]) -> [UInt8] {
        sequence(rsaAlgorithm, bitString(sequence(unsignedInteger(n), unsignedInteger(e))))
    }

    static func p256PublicKey(x: [UInt8], y: [UInt8]) -> [UInt8] {
        sequence(p256Algorithm, bitString([0x04] + x + y))
    }
}
