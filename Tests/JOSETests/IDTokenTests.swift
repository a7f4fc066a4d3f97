import Crypto
import Foundation
import GatehouseCore
import GatehouseTesting
import JOSE
import Testing

/// The ID-token verifier against a table of tokens, each made here with the provider's (test) keys and one
/// thing wrong. The oracle is the table itself: every refusal is named by OIDC Core §3.1.3.7 or RFC 8725
/// (JWT best practices), and a token with nothing wrong must pass. PyJWT-made tokens are checked from
/// outside by `Tests/OIDC/jose_interop.py`.
@Suite("JOSE: ID tokens verified as OIDC Core and RFC 8725 say")
struct IDTokenTests {
    static let issuer = "https://op.example.test"
    static let client = "gatehouse-client"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    struct Provider {
        let rsa: SAMLKit.KeyPair
        let ec: SAMLKit.KeyPair
        let other: SAMLKit.KeyPair
        let jwks: JWKSet
        let jwksJSON: String
    }

    static func jwk(_ key: PrivateKey, kid: String) throws -> String {
        let p = try #require(key.jwkParameters)
        if let n = p["n"], let e = p["e"] {
            return
                #"{"kty":"RSA","kid":"\#(kid)","use":"sig","n":"\#(Base64URL.encode(n))","e":"\#(Base64URL.encode(e))"}"#
        }
        return
            #"{"kty":"EC","kid":"\#(kid)","crv":"P-256","x":"\#(Base64URL.encode(p["x"]!))","y":"\#(Base64URL.encode(p["y"]!))"}"#
    }

    static func provider() throws -> Provider {
        let rsa = try SAMLKit.makeKeys("oidc-rsa")
        let ec = try SAMLKit.makeKeys("oidc-ec", ec: true)
        let other = try SAMLKit.makeKeys("oidc-other")
        let json = #"{"keys":[\#(try jwk(rsa.key, kid: "rsa1")),\#(try jwk(ec.key, kid: "ec1"))]}"#
        return Provider(rsa: rsa, ec: ec, other: other, jwks: try JWKSet(json: Array(json.utf8)), jwksJSON: json)
    }

    static func claims(_ changes: [String: Any?] = [:]) -> [String: Any] {
        var c: [String: Any] = [
            "iss": issuer, "aud": client, "sub": "user-123", "email": "ada@acme.test", "email_verified": true,
            "iat": now.timeIntervalSince1970 - 10, "exp": now.timeIntervalSince1970 + 300, "nonce": "n-0S6_WzA2Mj",
        ]
        for (k, v) in changes { c[k] = v ?? nil }
        return c
    }

    static func part(_ object: [String: Any]) -> String {
        Base64URL.encode(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    /// A compact JWS over `claims` signed with `key` the way `alg` says (PKCS #1, PSS, or raw ECDSA).
    static func token(
        _ claims: [String: Any], alg: String = "RS256", kid: String? = "rsa1", key: PrivateKey?,
        extraHeader: [String: Any] = [:]
    ) throws -> String {
        var header: [String: Any] = ["alg": alg, "typ": "JWT"]
        if let kid { header["kid"] = kid }
        for (k, v) in extraHeader { header[k] = v }
        let input = part(header) + "." + part(claims)
        guard let key else { return input + "." }
        let sig = try key.sign(Array(input.utf8), digest: .sha256, pss: alg == "PS256")
        return input + "." + Base64URL.encode(sig)
    }

    @Test func theRefusalTable() throws {
        let p = try Self.provider()
        let t = Self.now.timeIntervalSince1970
        let policy = IDTokenPolicy(issuer: Self.issuer, clientID: Self.client, nonce: "n-0S6_WzA2Mj")
        let publicPEM = try String(contentsOfFile: p.rsa.certPath, encoding: .utf8)
        let hsInput = Self.part(["alg": "HS256", "kid": "rsa1"]) + "." + Self.part(Self.claims())
        let hsWithPublicKey =
            hsInput + "." + Base64URL.encode(HMAC.authenticate(Array(hsInput.utf8), key: Array(publicPEM.utf8)))
        let valid = try Self.token(Self.claims(), key: p.rsa.key)
        let parts = valid.split(separator: ".").map(String.init)
        let cases: [(String, String, JOSERefusal?)] = [
            ("RS256", valid, nil),
            ("PS256", try Self.token(Self.claims(), alg: "PS256", key: p.rsa.key), nil),
            ("ES256", try Self.token(Self.claims(), alg: "ES256", kid: "ec1", key: p.ec.key), nil),
            ("exp within the 2-minute skew", try Self.token(Self.claims(["exp": t - 60]), key: p.rsa.key), nil),
            (
                "several audiences with azp = us",
                try Self.token(Self.claims(["aud": [Self.client, "other"], "azp": Self.client]), key: p.rsa.key), nil
            ),
            ("alg none", try Self.token(Self.claims(), alg: "none", key: nil), .algorithmNotAllowed),
            ("HS256 keyed with the provider's public key", hsWithPublicKey, .algorithmNotAllowed),
            ("RS512", try Self.token(Self.claims(), alg: "RS512", key: p.rsa.key), .algorithmNotAllowed),
            ("signed by another key under our kid", try Self.token(Self.claims(), key: p.other.key), .badSignature),
            ("unknown kid", try Self.token(Self.claims(), kid: "rotated-away", key: p.rsa.key), .unknownKey),
            (
                "ES256 header naming the RSA key", try Self.token(Self.claims(), alg: "ES256", key: p.ec.key),
                .keyDoesNotFitAlgorithm
            ),
            (
                "payload changed after signing",
                parts[0] + "." + Self.part(Self.claims(["sub": "admin"])) + "." + parts[2], .badSignature
            ),
            ("expired beyond the skew", try Self.token(Self.claims(["exp": t - 121]), key: p.rsa.key), .expired),
            ("issued in the future", try Self.token(Self.claims(["iat": t + 300]), key: p.rsa.key), .issuedInTheFuture),
            ("not valid yet", try Self.token(Self.claims(["nbf": t + 300]), key: p.rsa.key), .notYetValid),
            (
                "issuer with a trailing slash", try Self.token(Self.claims(["iss": Self.issuer + "/"]), key: p.rsa.key),
                .wrongIssuer
            ),
            ("another audience", try Self.token(Self.claims(["aud": "someone-else"]), key: p.rsa.key), .wrongAudience),
            (
                "several audiences, no azp", try Self.token(Self.claims(["aud": [Self.client, "x"]]), key: p.rsa.key),
                .wrongAuthorizedParty
            ),
            ("azp of another party", try Self.token(Self.claims(["azp": "x"]), key: p.rsa.key), .wrongAuthorizedParty),
            (
                "another sign-in's nonce", try Self.token(Self.claims(["nonce": "other"]), key: p.rsa.key),
                .nonceMismatch
            ),
            ("no nonce", try Self.token(Self.claims(["nonce": nil]), key: p.rsa.key), .nonceMismatch),
            (
                "email_verified false", try Self.token(Self.claims(["email_verified": false]), key: p.rsa.key),
                .emailNotVerified
            ),
            (
                "email_verified as the string \"true\"",
                try Self.token(Self.claims(["email_verified": "true"]), key: p.rsa.key), .emailNotVerified
            ),
            (
                "no email_verified", try Self.token(Self.claims(["email_verified": nil]), key: p.rsa.key),
                .emailNotVerified
            ),
            ("no sub", try Self.token(Self.claims(["sub": nil]), key: p.rsa.key), .missingClaim),
            ("no email", try Self.token(Self.claims(["email": nil]), key: p.rsa.key), .missingClaim),
            ("exp as a string", try Self.token(Self.claims(["exp": "\(t + 300)"]), key: p.rsa.key), .missingClaim),
            (
                "a crit header", try Self.token(Self.claims(), key: p.rsa.key, extraHeader: ["crit": ["exp"]]),
                .malformed
            ),
            ("two parts", parts[0] + "." + parts[1], .malformed),
            ("not base64url", parts[0] + ".@@." + parts[2], .malformed),
            ("over 16 KB", String(repeating: "a", count: 16 * 1024 + 1), .tooLarge),
            (
                "ES256 with a DER signature", try Self.derES256(p), .badSignature
            ),
        ]
        for (name, token, expected) in cases {
            do {
                let verified = try IDToken.verify(token, keys: p.jwks, policy: policy, now: Self.now)
                #expect(expected == nil, "\(name): accepted, expected \(expected?.rawValue ?? "")")
                #expect(verified.subject == "user-123" && verified.email == "ada@acme.test", "\(name)")
            } catch {
                #expect(error == expected, "\(name): \(error.rawValue), expected \(expected?.rawValue ?? "acceptance")")
            }
        }
    }

    /// ES256 signatures are raw `r || s` (64 bytes); the DER form OpenSSL produces is refused.
    static func derES256(_ p: Provider) throws -> String {
        let good = try token(claims(), alg: "ES256", kid: "ec1", key: p.ec.key)
        let parts = good.split(separator: ".").map(String.init)
        let raw = Array(try #require(Base64URL.decode(parts[2])))
        var der: [UInt8] = [0x02, 0x21, 0x00] + raw[0..<32] + [0x02, 0x21, 0x00] + raw[32..<64]
        der = [0x30, UInt8(der.count)] + der
        return parts[0] + "." + parts[1] + "." + Base64URL.encode(der)
    }

    @Test func keySetsKeepOnlyUsableSigningKeys() throws {
        let p = try Self.provider()
        let weak = try SAMLKit.makeKeys("oidc-weak", rsaBits: 1024)
        let rsa = try Self.jwk(p.rsa.key, kid: "a")
        let cases: [(String, String, [String]?)] = [
            ("two keys", #"{"keys":[\#(rsa),\#(try Self.jwk(p.ec.key, kid: "b"))]}"#, ["a", "b"]),
            (
                "an encryption key is skipped",
                #"{"keys":[\#(rsa.replacingOccurrences(of: "\"sig\"", with: "\"enc\""))]}"#, nil
            ),
            ("a 1024-bit key is skipped", #"{"keys":[\#(try Self.jwk(weak.key, kid: "w")),\#(rsa)]}"#, ["a"]),
            ("a key with private members is skipped", #"{"keys":[\#(rsa.dropLast()),"d":"AQAB"}]}"#, nil),
            ("an unknown key type is skipped", #"{"keys":[{"kty":"oct","k":"c2VjcmV0"},\#(rsa)]}"#, ["a"]),
            ("another curve is skipped", #"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]}"#, nil),
            ("not a key set", #"{"kty":"RSA"}"#, nil),
            ("not JSON", "keys", nil),
        ]
        for (name, json, kids) in cases {
            let set = try? JWKSet(json: Array(json.utf8))
            #expect(set?.keys.map { $0.keyID ?? "" } == kids, "\(name)")
        }
        // Without a kid, the one fitting key is used; with two candidates the token is refused, not tried.
        let policy = IDTokenPolicy(issuer: Self.issuer, clientID: Self.client, nonce: nil)
        let noKid = try Self.token(Self.claims(), kid: nil, key: p.rsa.key)
        #expect((try? IDToken.verify(noKid, keys: p.jwks, policy: policy, now: Self.now)) != nil)
        let twoRSA = try JWKSet(json: Array(#"{"keys":[\#(rsa),\#(try Self.jwk(p.other.key, kid: "o"))]}"#.utf8))
        #expect(throws: JOSERefusal.unknownKey) {
            try IDToken.verify(noKid, keys: twoRSA, policy: policy, now: Self.now)
        }
        // A key that names another algorithm is not used for this one.
        let pinned = try JWKSet(json: Array(#"{"keys":[\#(rsa.dropLast()),"alg":"PS256"}]}"#.utf8))
        let rs256 = try Self.token(Self.claims(), kid: "a", key: p.rsa.key)
        #expect(throws: JOSERefusal.keyDoesNotFitAlgorithm) {
            try IDToken.verify(rs256, keys: pinned, policy: policy, now: Self.now)
        }
    }
}
