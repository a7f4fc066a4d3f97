internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (seeded from the kernel).
package enum SecureRandom {
    package static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes {
            RAND_bytes($0.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(count))
        }
        // RAND_bytes fails only if the DRBG cannot be seeded; continuing without randomness is never acceptable.
        precondition(ok == 1 || count == 0, "OpenSSL RAND_bytes failed")
        return out
    }
}
