import Crypto
import Foundation
import SAML

/// `gatehouse saml verify`: checks a SAML Response offline with the same validator as the ACS, the given
/// certificate pinned. Exit 0 and the NameID on stdout's first line, or exit 1 and one reason on stderr.
enum SAMLVerifyCommand {
    static let usage = """
        gatehouse saml verify — check a SAML Response offline

        Usage:
          gatehouse saml verify --idp-cert <pem> --audience <sp entity id> --acs <url>
                                [--in-response-to <id>] [--idp-entity-id <id>] [--now <ISO 8601>] [--allow-sha1]
                                [--sp-key <pem>]... [--min-rsa-bits 2048|1024]
                                <response.xml | ->

        The input is raw XML or the base64 value posted to an ACS ("-" reads stdin). Without --in-response-to the
        response is treated as IdP-initiated. --idp-cert may be given twice (certificate rotation). --sp-key opens
        an encrypted assertion (give the current and the previous key during a rotation); the decrypted assertion
        is then checked exactly like a plain one. --min-rsa-bits 1024 accepts a legacy IdP's 1024-bit key.
        Exit 0: valid; the NameID is printed on the first line, then attributes as name=value lines.
        Exit 1: refused; one reason on stderr. Exit 2: bad usage.
        """

    static func run(_ args: [String]) -> Int32 {
        guard args.first == "verify" else {
            FileHandle.standardError.write(Data("gatehouse saml: unknown subcommand. Usage:\n\(usage)\n".utf8))
            return 2
        }
        var certPaths: [String] = []
        var audience: String?
        var acs: String?
        var inResponseTo: String?
        var idpEntityID: String?
        var now = Date()
        var allowSHA1 = false
        var spKeyPaths: [String] = []
        var minRSABits = Certificate.defaultMinRSABits
        var input: String?
        var i = 1
        let a = args
        func value() -> String? {
            i += 1
            return i < a.count ? a[i] : nil
        }
        while i < a.count {
            switch a[i] {
            case "--help", "-h":
                print(usage)
                return 0
            case "--idp-cert":
                guard let v = value() else { return usageError("--idp-cert needs a file") }
                certPaths.append(v)
            case "--audience":
                guard let v = value() else { return usageError("--audience needs a value") }
                audience = v
            case "--acs":
                guard let v = value() else { return usageError("--acs needs a URL") }
                acs = v
            case "--in-response-to":
                guard let v = value() else { return usageError("--in-response-to needs an id") }
                inResponseTo = v
            case "--idp-entity-id":
                guard let v = value() else { return usageError("--idp-entity-id needs a value") }
                idpEntityID = v
            case "--now":
                guard let v = value() else { return usageError("--now needs a time") }
                guard let t = SAMLTime.parse(v) ?? ISO8601DateFormatter().date(from: v) else {
                    return usageError("--now: not an ISO 8601 time: \(v)")
                }
                now = t
            case "--allow-sha1": allowSHA1 = true
            case "--sp-key":
                guard let v = value() else { return usageError("--sp-key needs a PEM file") }
                spKeyPaths.append(v)
            case "--min-rsa-bits":
                guard let v = value(), let n = Int(v),
                    [Certificate.lowestMinRSABits, Certificate.defaultMinRSABits].contains(n)
                else { return usageError("--min-rsa-bits is 2048 (the default) or 1024") }
                minRSABits = n
            default:
                if a[i].hasPrefix("--") { return usageError("unknown option \(a[i])") }
                guard input == nil else { return usageError("only one input file") }
                input = a[i]
            }
            i += 1
        }
        guard !certPaths.isEmpty else { return usageError("--idp-cert is required") }
        guard let audience else { return usageError("--audience is required") }
        guard let acs else { return usageError("--acs is required") }
        guard let input else { return usageError("give a response file or - for stdin") }

        var certificates: [Certificate] = []
        for path in certPaths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                return refuse("cannot read certificate \(path)")
            }
            do { certificates.append(try Certificate(text: text, minRSABits: minRSABits)) } catch {
                return refuse("certificate \(path): \(error.reason)")
            }
        }
        var spKeys: [PrivateKey] = []
        for path in spKeyPaths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                return refuse("cannot read SP key \(path)")
            }
            do { spKeys.append(try PrivateKey(pem: text)) } catch { return refuse("SP key \(path): \(error.reason)") }
        }
        let raw: Data?
        if input == "-" {
            raw = try? FileHandle.standardInput.readToEnd() ?? Data()
        } else {
            raw = FileManager.default.contents(atPath: input)
        }
        guard let raw else { return refuse("cannot read \(input)") }
        guard raw.count <= SAMLResponseValidator.maxResponseBytes * 2 else {
            return refuse("the response is larger than \(SAMLResponseValidator.maxResponseBytes) bytes")
        }
        let expectations = SAMLExpectations(
            certificates: certificates, issuer: idpEntityID.map { .exactly($0) } ?? .anyIssuer, audience: audience,
            acsURL: acs,
            inResponseTo: inResponseTo, allowIdPInitiated: inResponseTo == nil, allowSHA1: allowSHA1,
            decryptionKeys: spKeys, now: now)
        do {
            let xml = try SAMLResponseValidator.decode(Array(raw))
            let login = try SAMLResponseValidator.validate(xml, expectations)
            var out = login.nameID + "\n"
            for name in login.attributes.keys.sorted() {
                for v in login.attributes[name] ?? [] {
                    out += "\(name)=\(v.replacingOccurrences(of: "\n", with: " "))\n"
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            return 0
        } catch {
            return refuse("\(error.code): \(error.reason)")
        }
    }

    static func refuse(_ reason: String) -> Int32 {
        FileHandle.standardError.write(Data("refused: \(reason)\n".utf8))
        return 1
    }

    static func usageError(_ reason: String) -> Int32 {
        FileHandle.standardError.write(Data("gatehouse saml verify: \(reason)\n".utf8))
        return 2
    }
}
