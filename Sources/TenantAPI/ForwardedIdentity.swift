import Crypto
import Foundation
import GatehouseCore
import TenantDomain

/// The caller the gateway vouches for, carried to a region in another process in one header:
///
///     X-Gatehouse-Identity: gi1.<key id>.<unix seconds>.<nonce>.<base64url caller JSON>.<base64url MAC>
///
/// The MAC is HMAC-SHA256, with the key the id names, over the header's own fields plus the request's method,
/// target (path and query) and body digest, so a header cannot be moved to another request, and a changed
/// body, path or identity breaks it. Keys come from a `KeyRing` shared by the gateway and the regions.
package enum ForwardedIdentity {
    package static let header = "X-Gatehouse-Identity"
    /// How far the timestamp may be from the region's clock, either way.
    package static let window: TimeInterval = 30

    package static func signedText(
        keyID: String, timestamp: String, nonce: String, method: String, target: String, body: [UInt8], identity: String
    ) -> [UInt8] {
        Array(
            "gi1\n\(keyID)\n\(timestamp)\n\(nonce)\n\(method)\n\(target)\n\(Digest.sha256.hash(body).hexString)\n\(identity)"
                .utf8)
    }

    package static func sign(
        method: String, target: String, body: [UInt8], caller: Caller, keys: KeyRing, now: Date
    ) -> String {
        let identity = Base64URL.encode((try? JSONEncoder().encode(caller)) ?? Data())
        let ts = String(Int(now.timeIntervalSince1970))
        let nonce = Base64URL.encode(SecureRandom.bytes(16))
        let mac = HMAC.authenticate(
            signedText(
                keyID: keys.active.id, timestamp: ts, nonce: nonce, method: method, target: target, body: body,
                identity: identity),
            key: keys.active.secret.value)
        return "gi1.\(keys.active.id).\(ts).\(nonce).\(identity).\(Base64URL.encode(mac))"
    }
}
