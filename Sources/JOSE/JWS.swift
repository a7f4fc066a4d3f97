import Crypto
import Foundation
import GatehouseCore

/// Why a JOSE object (a JWS, a JWK, an ID token) was refused. One reason per refusal, as a type: pages and the
/// CLI show `message`, logs and metrics the `rawValue`.
package enum JOSERefusal: String, Error, Sendable, CaseIterable, CustomStringConvertible {
    case tooLarge = "token_too_large"
    case malformed = "token_malformed"
    case algorithmNotAllowed = "alg_not_allowed"
    case unknownKey = "unknown_kid"
    case keyDoesNotFitAlgorithm = "key_alg_mismatch"
    case badSignature = "bad_signature"
    case badKeySet = "bad_jwks"
    case wrongIssuer = "wrong_iss"
    case wrongAudience = "wrong_aud"
    case wrongAuthorizedParty = "wrong_azp"
    case expired = "expired"
    case notYetValid = "not_yet_valid"
    case issuedInTheFuture = "iat_in_future"
    case missingClaim = "missing_claim"
    case nonceMismatch = "nonce_mismatch"
    case emailNotVerified = "email_not_verified"

    package var message: String {
        switch self {
        case .tooLarge: return "The token is larger than any ID token should be."
        case .malformed: return "The token is not a compact JWS (three base64url parts with a JSON header and body)."
        case .algorithmNotAllowed:
            return "The token's algorithm is not accepted (only RS256, PS256 and ES256; never none or HMAC)."
        case .unknownKey: return "The token was signed with a key the provider does not publish."
        case .keyDoesNotFitAlgorithm: return "The provider's key does not fit the token's algorithm."
        case .badSignature: return "The token's signature does not verify."
        case .badKeySet: return "The provider's key set (JWKS) could not be read."
        case .wrongIssuer: return "The token was issued by another provider."
        case .wrongAudience: return "The token was issued for another application."
        case .wrongAuthorizedParty: return "The token was issued to another party (azp)."
        case .expired: return "The token has expired."
        case .notYetValid: return "The token is not valid yet."
        case .issuedInTheFuture: return "The token says it was issued in the future."
        case .missingClaim: return "The token lacks a required claim (sub, exp, iat, or email)."
        case .nonceMismatch: return "The token does not answer this sign-in (nonce)."
        case .emailNotVerified: return "The provider has not verified this email address."
        }
    }

    package var description: String { "\(rawValue): \(message)" }
}

/// The signature algorithms an ID token may use. Anything else — `none`, every HMAC (a provider's public key
/// used as an HMAC secret is the classic confusion attack), RSA 1.5 encryption algorithms — is refused before
/// any key is looked at.
package enum JWSAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256"
    case ps256 = "PS256"
    case es256 = "ES256"

    var scheme: SignatureScheme {
        switch self {
        case .rs256: return .rsaPKCS1(.sha256)
        case .ps256: return .rsaPSS(.sha256)
        case .es256: return .ecdsa(.sha256)
        }
    }
}

/// A JWS in compact serialization, parsed but not yet verified: `header.payload.signature`.
package struct CompactJWS: Sendable {
    /// ID tokens are a few kilobytes; anything near this is not one.
    package static let maxSize = 16 * 1024

    package let algorithm: JWSAlgorithm
    package let keyID: String?
    /// The payload's JSON object.
    package let claims: [String: JSONValue]
    let signingInput: [UInt8]
    let signature: [UInt8]

    package init(_ token: String) throws(JOSERefusal) {
        guard token.utf8.count <= Self.maxSize else { throw .tooLarge }
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(Substring(parts[0])),
            let payloadBytes = Base64URL.decode(Substring(parts[1])),
            let sig = Base64URL.decode(Substring(parts[2])),
            case .object(let header)? = try? JSONValue.parse(Array(headerBytes)),
            case .object(let claims)? = try? JSONValue.parse(Array(payloadBytes))
        else { throw .malformed }
        // `crit` names extensions the verifier must understand; we understand none (RFC 7515 §4.1.11).
        guard header["crit"] == nil, case .string(let alg)? = header["alg"] else { throw .malformed }
        guard let algorithm = JWSAlgorithm(rawValue: alg) else { throw .algorithmNotAllowed }
        self.algorithm = algorithm
        if let kid = header["kid"] {
            guard case .string(let k) = kid else { throw .malformed }
            keyID = k
        } else {
            keyID = nil
        }
        self.claims = claims
        signingInput = Array(token.utf8.prefix(parts[0].count + 1 + parts[1].count))
        signature = Array(sig)
    }

    /// Verifies the signature with `key` under the header's algorithm (the key must fit it).
    package func verify(with key: JWK) throws(JOSERefusal) {
        guard key.fits(algorithm) else { throw .keyDoesNotFitAlgorithm }
        if algorithm == .es256 && signature.count != 64 { throw .badSignature }
        guard key.publicKey.verify(signature, over: signingInput, scheme: algorithm.scheme) else { throw .badSignature }
    }
}
