import Crypto
import Foundation
import SAML
import XML

/// Test-only SAML material: keys made by the openssl command at test time (never committed), Responses
/// shaped like SimpleSAMLphp's, signed with our signer (whose output xmlsec1 also verifies, see
/// SAMLLibraryTests).
package enum SAMLKit {
    package struct KeyPair {
        package let key: PrivateKey
        package let certificate: Certificate
        package let certPath: String
        package let keyPath: String
    }

    package static let dir: String = {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("gh-saml-keys-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    package static func run(_ args: [String]) throws {
        guard try Subprocess.run(args).status == 0 else {
            throw SAMLRefusal("tool_failed", "\(args.joined(separator: " ")) failed")
        }
    }

    package static let lock = NSLock()

    /// Keys by name, made once per test process (tests run in parallel; one maker at a time).
    package static func makeKeys(_ name: String, ec: Bool = false, rsaBits: Int = 2048) throws -> KeyPair {
        lock.lock()
        defer { lock.unlock() }
        let key = "\(dir)/\(name).key"
        let crt = "\(dir)/\(name).crt"
        if !FileManager.default.fileExists(atPath: crt) {
            let alg =
                ec ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["-newkey", "rsa:\(rsaBits)"]
            try run(
                ["openssl", "req", "-x509"] + alg + [
                    "-nodes", "-keyout", key, "-out", crt, "-days", "30", "-subj", "/CN=gatehouse test \(name)",
                ])
        }
        return KeyPair(
            key: try PrivateKey(pem: try String(contentsOfFile: key, encoding: .utf8)),
            certificate: try Certificate(
                text: try String(contentsOfFile: crt, encoding: .utf8), minRSABits: Certificate.lowestMinRSABits),
            certPath: crt,
            keyPath: key)
    }

    package static let idp = "http://idp.example.test/metadata"

    package static func response(
        nameID: String = "alice@example.com", inResponseTo: String? = nil, audience: String, acs: String,
        destination: String? = nil, issuer: String = idp, now: Date, lifetime: TimeInterval = 300,
        attributes: [String: [String]] = ["email": ["alice@example.com"], "givenName": ["Alice"], "sn": ["Anderson"]]
    ) -> String {
        let irt = inResponseTo.map { " InResponseTo=\"\($0)\"" } ?? ""
        let t = SAMLTime.format(now)
        let na = SAMLTime.format(now.addingTimeInterval(lifetime))
        let nb = SAMLTime.format(now.addingTimeInterval(-30))
        let attrs = attributes.sorted { $0.key < $1.key }.map { name, values in
            "<saml:Attribute Name=\"\(name)\">"
                + values.map { "<saml:AttributeValue>\(esc($0))</saml:AttributeValue>" }.joined() + "</saml:Attribute>"
        }.joined()
        return """
            <samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" \
            xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r\(UUID().uuidString)" Version="2.0" \
            IssueInstant="\(t)" Destination="\(destination ?? acs)"\(irt)>\
            <saml:Issuer>\(issuer)</saml:Issuer><samlp:Status><samlp:StatusCode \
            Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>\
            <saml:Assertion ID="_a\(UUID().uuidString)" Version="2.0" \
            IssueInstant="\(t)"><saml:Issuer>\(issuer)</saml:Issuer>\
            <saml:Subject><saml:NameID \
            Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">\(esc(nameID))</saml:NameID>\
            <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData \
            NotOnOrAfter="\(na)" Recipient="\(acs)"\(irt)/></saml:SubjectConfirmation></saml:Subject>\
            <saml:Conditions NotBefore="\(nb)" \
            NotOnOrAfter="\(na)"><saml:AudienceRestriction><saml:Audience>\(audience)</saml:Audience>\
            </saml:AudienceRestriction></saml:Conditions>\
            <saml:AuthnStatement AuthnInstant="\(t)" \
            SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>\
            urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext>\
            </saml:AuthnStatement>\
            <saml:AttributeStatement>\(attrs)</saml:AttributeStatement></saml:Assertion></samlp:Response>
            """
    }

    package static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }

    package enum Part { case assertion, response, both }

    package static func sign(
        _ xml: String, with k: KeyPair, _ part: Part = .assertion, scheme: SignatureScheme = .rsaPKCS1(.sha256)
    ) throws -> [UInt8] {
        let doc = try XMLDocument(parsing: Array(xml.utf8))
        guard let root = doc.root, let assertion = root.firstChild("Assertion", in: SAMLNames.assertion) else {
            throw SAMLRefusal("fixture", "no assertion")
        }
        if part != .response {
            try XMLSignature.sign(
                assertion, key: k.key, scheme: scheme, certificate: k.certificate,
                after: assertion.firstChild("Issuer", in: SAMLNames.assertion))
        }
        if part != .assertion {
            try XMLSignature.sign(
                root, key: k.key, scheme: scheme, certificate: k.certificate,
                after: root.firstChild("Issuer", in: SAMLNames.assertion))
        }
        return doc.serialized()
    }
}
