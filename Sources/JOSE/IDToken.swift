import Crypto
import Foundation
import GatehouseCore

/// What an OpenID Connect ID token must satisfy for one sign-in (OIDC Core §3.1.3.7): the provider's exact
/// issuer, our client id among the audiences (and as `azp` when there are several), times within `skew`, the
/// nonce this sign-in sent, and a verified email.
package struct IDTokenPolicy: Sendable {
    package var issuer: String
    package var clientID: String
    /// The nonce bound to this sign-in's pre-session; nil only for offline checks that have none.
    package var nonce: String?
    package var skew: TimeInterval = 120
    package var requireVerifiedEmail = true

    package init(issuer: String, clientID: String, nonce: String?) {
        self.issuer = issuer
        self.clientID = clientID
        self.nonce = nonce
    }
}

/// A verified ID token's identity: the provider's subject, the email, and every claim (for claim → user
/// variable mapping).
package struct IDToken: Sendable {
    package let subject: String
    package let email: String
    package let issuedAt: Date
    package let expiresAt: Date
    package let claims: [String: JSONValue]

    /// Verifies `token` against `keys` and `policy` at `now`. The order is fixed: shape and algorithm first,
    /// then the signature, and only then the claims, so nothing unsigned is ever believed.
    package static func verify(
        _ token: String, keys: JWKSet, policy: IDTokenPolicy, now: Date
    ) throws(JOSERefusal) -> IDToken {
        let jws = try CompactJWS(token)
        try jws.verify(with: try keys.key(for: jws))
        let c = jws.claims
        guard c["iss"]?.string == policy.issuer else { throw .wrongIssuer }
        let audiences: [String]
        switch c["aud"] {
        case .string(let a)?: audiences = [a]
        case .array(let list)?: audiences = list.compactMap(\.string)
        default: throw .wrongAudience
        }
        guard audiences.contains(policy.clientID) else { throw .wrongAudience }
        if let azp = c["azp"] {
            guard azp.string == policy.clientID else { throw .wrongAuthorizedParty }
        } else if audiences.count > 1 {
            throw .wrongAuthorizedParty
        }
        guard let sub = c["sub"]?.string, !sub.isEmpty, sub.utf8.count <= 255, let exp = c["exp"]?.number,
            let iat = c["iat"]?.number
        else { throw .missingClaim }
        let t = now.timeIntervalSince1970
        guard exp > t - policy.skew else { throw .expired }
        guard iat <= t + policy.skew else { throw .issuedInTheFuture }
        if let nbf = c["nbf"] {
            guard let n = nbf.number else { throw .malformed }
            guard n <= t + policy.skew else { throw .notYetValid }
        }
        if let expected = policy.nonce {
            guard let got = c["nonce"]?.string, ConstantTime.equals(Array(got.utf8), Array(expected.utf8)) else {
                throw .nonceMismatch
            }
        }
        guard let email = c["email"]?.string, !email.isEmpty, email.utf8.count <= 320 else { throw .missingClaim }
        if policy.requireVerifiedEmail && c["email_verified"]?.bool != true { throw .emailNotVerified }
        return IDToken(
            subject: sub, email: email, issuedAt: Date(timeIntervalSince1970: iat),
            expiresAt: Date(timeIntervalSince1970: exp), claims: c)
    }
}
