import Crypto
import Foundation
import GatehouseCore

/// A set of HMAC keys with one active for signing and all usable for verifying, so keys can rotate: add a key,
/// make it active, drop the old one once nothing signed with it is still valid.
///
/// Stored as `{"active": "k1", "keys": {"k1": "<base64url, 32+ bytes>"}}` with mode 600 in the keys directory
/// (never committed). Several processes sharing a keys directory (the split deployment) agree on one file:
/// the first to start creates it atomically and the others read it.
package struct KeyRing: Sendable {
    package struct Key: Sendable {
        package let id: String
        package let secret: Redacted<[UInt8]>
        package init(id: String, secret: [UInt8]) {
            self.id = id
            self.secret = Redacted(secret)
        }
    }

    package let active: Key
    private let keys: [String: Key]

    package init(active: Key, others: [Key] = []) {
        self.active = active
        var k: [String: Key] = [active.id: active]
        for o in others { k[o.id] = o }
        keys = k
    }

    package func key(_ id: String) -> Key? { keys[id] }

    package static func loadOrCreate(path: String) throws -> KeyRing {
        if let data = FileManager.default.contents(atPath: path), !data.isEmpty { return try parse(data, path: path) }
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let id = "k" + String(Int(Date().timeIntervalSince1970))
        let json = "{\"active\": \"\(id)\", \"keys\": {\"\(id)\": \"\(Base64URL.encode(SecureRandom.bytes(32)))\"}}\n"
        // Written to a private temporary file, then linked into place: link() fails if another process won the
        // race, and then its file is the one everybody uses.
        let temp = path + ".tmp-\(getpid())"
        guard
            FileManager.default.createFile(
                atPath: temp, contents: Data(json.utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw GatehouseError(.internalError, status: 500, "cannot write \(temp)")
        }
        _ = link(temp, path)
        unlink(temp)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GatehouseError(.internalError, status: 500, "cannot read \(path)")
        }
        return try parse(data, path: path)
    }

    static func parse(_ data: Data, path: String) throws -> KeyRing {
        struct File: Decodable {
            let active: String
            let keys: [String: String]
        }
        guard let f = try? JSONDecoder().decode(File.self, from: data) else {
            throw GatehouseError(
                .internalError, status: 500, "\(path) is not a key file ({\"active\": …, \"keys\": {…}})")
        }
        var all: [Key] = []
        for (id, b64) in f.keys {
            guard let secret = Base64URL.decode(b64), secret.count >= 32 else {
                throw GatehouseError(
                    .internalError, status: 500, "key \(id) in \(path) must be at least 32 bytes of base64url")
            }
            all.append(Key(id: id, secret: Array(secret)))
        }
        guard let active = all.first(where: { $0.id == f.active }) else {
            throw GatehouseError(.internalError, status: 500, "the active key \(f.active) is missing from \(path)")
        }
        return KeyRing(active: active, others: all.filter { $0.id != f.active })
    }
}
