import Foundation
import JOSE

/// `gatehouse oidc verify`: checks an OpenID Connect ID token offline with the same verifier as the sign-in
/// callback, against a saved JWKS. Exit 0 and the subject and email on stdout, or exit 1 and one reason.
enum OIDCVerifyCommand {
    static let usage = """
        gatehouse oidc verify — check an OpenID Connect ID token offline

        Usage:
          gatehouse oidc verify --issuer <url> --client-id <id> --jwks <file> [--nonce <value>]
                                [--now <unix seconds | ISO 8601>] [--allow-unverified-email]
                                <id_token | ->

        The JWKS file is the provider's `jwks_uri` document. Only RS256, PS256 and ES256 are accepted; the issuer
        must match exactly, the client id must be an audience (and `azp` when there are several), times allow
        2 minutes of skew, and the email must be verified unless --allow-unverified-email. Without --nonce the
        nonce is not checked (a sign-in always checks it).
        Exit 0: valid; the subject on the first line, the email on the second.
        Exit 1: refused; one reason on stderr (`code: message`). Exit 2: bad usage.
        """

    static func run(_ args: [String]) -> Int32 {
        guard args.first == "verify" else {
            FileHandle.standardError.write(Data("gatehouse oidc: unknown subcommand. Usage:\n\(usage)\n".utf8))
            return 2
        }
        var issuer: String?
        var clientID: String?
        var jwksPath: String?
        var nonce: String?
        var now = Date()
        var verifiedEmail = true
        var input: String?
        var i = 1
        func value() -> String? {
            i += 1
            return i < args.count ? args[i] : nil
        }
        while i < args.count {
            switch args[i] {
            case "--help", "-h":
                print(usage)
                return 0
            case "--issuer":
                guard let v = value() else { return usageError("--issuer needs a URL") }
                issuer = v
            case "--client-id":
                guard let v = value() else { return usageError("--client-id needs a value") }
                clientID = v
            case "--jwks":
                guard let v = value() else { return usageError("--jwks needs a file") }
                jwksPath = v
            case "--nonce":
                guard let v = value() else { return usageError("--nonce needs a value") }
                nonce = v
            case "--now":
                guard let v = value() else { return usageError("--now needs a time") }
                if let seconds = Double(v) {
                    now = Date(timeIntervalSince1970: seconds)
                } else if let d = ISO8601DateFormatter().date(from: v) {
                    now = d
                } else {
                    return usageError("--now takes unix seconds or an ISO 8601 time")
                }
            case "--allow-unverified-email":
                verifiedEmail = false
            default:
                guard input == nil, !args[i].hasPrefix("--") else { return usageError("unexpected \(args[i])") }
                input = args[i]
            }
            i += 1
        }
        guard let issuer, let clientID, let jwksPath, let input else {
            return usageError("--issuer, --client-id, --jwks and a token are required")
        }
        guard let jwksData = FileManager.default.contents(atPath: jwksPath) else {
            return usageError("cannot read \(jwksPath)")
        }
        let raw: String
        if input == "-" {
            raw = String(decoding: FileHandle.standardInput.readDataToEndOfFile().prefix(64 * 1024), as: UTF8.self)
        } else {
            raw = input
        }
        var policy = IDTokenPolicy(issuer: issuer, clientID: clientID, nonce: nonce)
        policy.requireVerifiedEmail = verifiedEmail
        do {
            let keys = try JWKSet(json: Array(jwksData))
            let token = try IDToken.verify(
                raw.trimmingCharacters(in: .whitespacesAndNewlines), keys: keys, policy: policy, now: now)
            FileHandle.standardOutput.write(Data("\(token.subject)\n\(token.email)\n".utf8))
            return 0
        } catch {
            FileHandle.standardError.write(Data("refused: \(error)\n".utf8))
            return 1
        }
    }

    static func usageError(_ reason: String) -> Int32 {
        FileHandle.standardError.write(Data("gatehouse oidc verify: \(reason)\n".utf8))
        return 2
    }
}
