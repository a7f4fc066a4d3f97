internal import COpenSSL
import Foundation
import GatehouseCore

/// Password hashing with scrypt (OpenSSL `EVP_PBE_scrypt`). The parameters travel with each hash
/// (`scrypt$<logN>$<r>$<p>$<salt>$<hash>`, base64url), so they can be raised later without breaking old hashes.
///
/// scrypt is deliberately slow (~150 ms at N=2^15 here): callers run it off the event loops (`PasswordHasher`).
package struct ScryptParameters: Sendable, Equatable {
    package var logN: Int
    package var r: Int
    package var p: Int
    package init(logN: Int = 15, r: Int = 8, p: Int = 1) {
        self.logN = logN
        self.r = r
        self.p = p
    }
}

package enum Scrypt {
    package static func derive(
        _ password: String, salt: [UInt8], parameters: ScryptParameters, length: Int = 32
    ) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        let pw = Array(password.utf8)
        let n = UInt64(1) << UInt64(parameters.logN)
        let maxmem = UInt64(128) * UInt64(parameters.r) * (n + UInt64(parameters.p) + 2) + (1 << 20)
        let ok = pw.withUnsafeBufferPointer { pwb in
            salt.withUnsafeBufferPointer { sb in
                out.withUnsafeMutableBufferPointer { ob in
                    pwb.withMemoryRebound(to: CChar.self) { pwc in
                        EVP_PBE_scrypt(
                            pwc.baseAddress, pwc.count, sb.baseAddress, sb.count, n, UInt64(parameters.r),
                            UInt64(parameters.p),
                            maxmem, ob.baseAddress, ob.count)
                    }
                }
            }
        }
        return ok == 1 ? out : nil
    }

    /// A new hash string for `password`.
    package static func hash(_ password: String, parameters: ScryptParameters) -> String? {
        let salt = SecureRandom.bytes(16)
        guard let key = derive(password, salt: salt, parameters: parameters) else { return nil }
        return
            "scrypt$\(parameters.logN)$\(parameters.r)$\(parameters.p)$\(Base64URL.encode(salt))$\(Base64URL.encode(key))"
    }

    /// Checks `password` against a stored hash in constant time. Malformed hashes never verify.
    package static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]),
            let p = Int(parts[3]),
            (10...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
            let salt = Base64URL.decode(parts[4]), let expected = Base64URL.decode(parts[5]), expected.count >= 16,
            let key = derive(
                password, salt: Array(salt), parameters: ScryptParameters(logN: logN, r: r, p: p),
                length: expected.count)
        else { return false }
        return ConstantTime.equals(key, Array(expected))
    }
}

/// Runs scrypt on its own small pool of threads so hashing never blocks an event loop, and at most `width`
/// hashes run at once (a burst of logins queues instead of exhausting memory).
package final class PasswordHasher: Sendable {
    package let parameters: ScryptParameters
    private let queue: DispatchQueue
    private let slots: DispatchSemaphore

    package init(parameters: ScryptParameters = ScryptParameters(), width: Int = 2) {
        self.parameters = parameters
        queue = DispatchQueue(label: "gatehouse.scrypt", attributes: .concurrent)
        slots = DispatchSemaphore(value: width)
    }

    package func hash(_ password: String) async -> String? {
        await run { Scrypt.hash(password, parameters: self.parameters) }
    }

    package func verify(_ password: String, against stored: String) async -> Bool {
        await run { Scrypt.verify(password, against: stored) }
    }

    /// Spends the same time as a real check, for unknown accounts (no user enumeration through timing).
    package func verifyDummy(_ password: String) async {
        _ = await run { Scrypt.derive(password, salt: Array(repeating: 0, count: 16), parameters: self.parameters) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            queue.async {
                self.slots.wait()
                let v = work()
                self.slots.signal()
                c.resume(returning: v)
            }
        }
    }
}
