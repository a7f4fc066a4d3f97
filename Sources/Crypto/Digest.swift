internal import COpenSSL

/// SHA-2 digests over OpenSSL's EVP interface.
package enum Digest: String, Sendable, CaseIterable {
    case sha1 = "SHA1"
    case sha256 = "SHA256"
    case sha384 = "SHA384"
    case sha512 = "SHA512"

    var md: OpaquePointer? {
        switch self {
        case .sha1: return Self.fetched.sha1
        case .sha256: return Self.fetched.sha256
        case .sha384: return Self.fetched.sha384
        case .sha512: return Self.fetched.sha512
        }
    }

    /// The implementations, fetched from OpenSSL's default provider once. Why: `EVP_sha256()` and friends are
    /// looked up again on every use (a provider query, a lock, a hash-table probe), which was most of the cost of
    /// hashing a session token on every request. Fetched objects are immutable and safe to share between threads.
    private struct Fetched: @unchecked Sendable {
        let sha1 = EVP_MD_fetch(nil, "SHA1", nil) ?? EVP_sha1()
        let sha256 = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256()
        let sha384 = EVP_MD_fetch(nil, "SHA384", nil) ?? EVP_sha384()
        let sha512 = EVP_MD_fetch(nil, "SHA512", nil) ?? EVP_sha512()
    }
    private static let fetched = Fetched()

    package var byteCount: Int {
        switch self {
        case .sha1: return 20
        case .sha256: return 32
        case .sha384: return 48
        case .sha512: return 64
        }
    }

    package func hash(_ data: some Collection<UInt8>) -> [UInt8] {
        if let h = data.withContiguousStorageIfAvailable({ hash(UnsafeRawBufferPointer($0)) }) { return h }
        return Array(data).withUnsafeBytes { hash($0) }
    }

    /// A string's UTF-8 hashed in place (a session token is hashed on every request: no copies).
    package func hash(_ s: String) -> [UInt8] {
        var s = s
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    private func hash(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { out, count in
            var len: UInt32 = 0
            _ = EVP_Digest(input.baseAddress, input.count, out.baseAddress, &len, md, nil)
            count = Int(len)
        }
    }
}

/// HMAC over OpenSSL. Verification compares in constant time.
package enum HMAC {
    package static func authenticate(
        _ message: some Collection<UInt8>, key: [UInt8], digest: Digest = .sha256
    ) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        let msg = Array(message)
        key.withUnsafeBytes { k in
            msg.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    _ = COpenSSL.HMAC(
                        digest.md, k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        m.count,
                        o.baseAddress?.assumingMemoryBound(to: UInt8.self), &len)
                }
            }
        }
        return Array(out.prefix(Int(len)))
    }

    package static func isValid(
        _ mac: [UInt8], for message: some Collection<UInt8>, key: [UInt8], digest: Digest = .sha256
    ) -> Bool {
        ConstantTime.equals(mac, authenticate(message, key: key, digest: digest))
    }
}

/// Comparison of secrets whose time does not depend on where they differ.
package enum ConstantTime {
    package static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
        }
    }
}

extension Array where Element == UInt8 {
    /// Lower-case hex, for digests in logs and ids.
    package var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
