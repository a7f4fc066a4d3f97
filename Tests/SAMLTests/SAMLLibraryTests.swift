import Compression
import Crypto
import Foundation
import GatehouseTesting
import SAML
import Testing
import XML

@Suite("SAML library: exclusive C14N, XML-DSig, Response validation, metadata, AuthnRequest")
struct SAMLLibraryTests {
    static let vector =
        #"<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c"><a:child z="2" b:attr="1" y="&amp;&lt;&#x9;">"#
        + #"t&gt;<!--c--><c:x/><d xmlns="urn:d"/></a:child></a:root>"#

    /// Expected output computed by lxml (libxml2's C14N through another binding) for the same input.
    @Test func exclusiveC14NMatchesReferenceVectors() throws {
        let doc = try XMLDocument(parsing: Array(Self.vector.utf8))
        let child = try #require(doc.root?.children.first)
        let plain =
            #"<a:child xmlns:a="urn:a" xmlns:b="urn:b" y="&amp;&lt;&#x9;" z="2" b:attr="1">t&gt;<c:x xmlns:c="urn:c"></c:x><d xmlns="urn:d"></d></a:child>"#
        #expect(String(decoding: try ExclusiveC14N.canonicalize(child), as: UTF8.self) == plain)
        #expect(
            String(decoding: try ExclusiveC14N.canonicalize(child, withComments: true), as: UTF8.self)
                == plain.replacingOccurrences(of: "t&gt;<c:x", with: "t&gt;<!--c--><c:x"))
        #expect(
            String(decoding: try ExclusiveC14N.canonicalize(child, inclusivePrefixes: ["c"]), as: UTF8.self)
                == #"<a:child xmlns:a="urn:a" xmlns:b="urn:b" xmlns:c="urn:c" y="&amp;&lt;&#x9;" z="2" "#
                + #"b:attr="1">t&gt;<c:x></c:x><d xmlns="urn:d"></d></a:child>"#
        )
        let x = try #require(child.children.first)
        #expect(
            String(decoding: try ExclusiveC14N.canonicalize(child, excluding: x), as: UTF8.self)
                == #"<a:child xmlns:a="urn:a" xmlns:b="urn:b" y="&amp;&lt;&#x9;" z="2" b:attr="1">t&gt;<d xmlns="urn:d"></d></a:child>"#
        )
    }

    @Test func hardenedParserRefusesDoctypeAndLimits() {
        #expect(throws: XMLRefusal.self) {
            try XMLDocument(parsing: Array(#"<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>"#.utf8))
        }
        #expect(throws: XMLRefusal.self) {
            try XMLDocument(
                parsing: Array(
                    ("<a>" + String(repeating: "<b>", count: 100) + String(repeating: "</b>", count: 100) + "</a>").utf8
                ))
        }
        #expect(throws: XMLRefusal.self) {
            try XMLDocument(parsing: Array(repeating: 0x20, count: 10), limits: XMLLimits(maxBytes: 5))
        }
    }

    /// Our signatures verify with xmlsec1 (a tool nobody here wrote), RSA and ECDSA.
    @Test(arguments: ["rsa", "ec"]) func ourSignaturesVerifyWithXmlsec1(kind: String) throws {
        let k = try SAMLKit.makeKeys(kind, ec: kind == "ec")
        let now = Date()
        let xml = SAMLKit.response(audience: "sp", acs: "https://sp.test/acs", now: now)
        let signed = try SAMLKit.sign(xml, with: k, .both, scheme: kind == "ec" ? .ecdsa(.sha256) : .rsaPKCS1(.sha256))
        let path = "\(SAMLKit.dir)/signed-\(kind).xml"
        try Data(signed).write(to: URL(fileURLWithPath: path))
        for node in [
            "urn:oasis:names:tc:SAML:2.0:protocol:Response", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        ] {
            let r = try Subprocess.run([
                "xmlsec1", "--verify", "--pubkey-cert-pem", k.certPath, "--id-attr:ID", node, "--node-xpath",
                node.hasSuffix("Response") ? "/*/*[local-name()='Signature']" : "/*/*/*[local-name()='Signature']",
                path,
            ])
            #expect(r.status == 0, "xmlsec1 refused our \(kind) signature on \(node)")
        }
        let e = SAMLExpectations(
            certificates: [k.certificate], issuer: .exactly(SAMLKit.idp), audience: "sp", acsURL: "https://sp.test/acs",
            inResponseTo: nil, allowIdPInitiated: true, now: now)
        #expect(try SAMLResponseValidator.validate(signed, e).nameID == "alice@example.com")
    }

    /// The clock edges: 2 minutes of skew at most, on both ends.
    @Test func timeWindowWithSkew() throws {
        let k = try SAMLKit.makeKeys("rsa")
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let signed = try SAMLKit.sign(
            SAMLKit.response(audience: "sp", acs: "https://sp.test/acs", now: issued, lifetime: 300), with: k)
        func check(_ offset: TimeInterval, skew: TimeInterval = 120) -> String {
            let e = SAMLExpectations(
                certificates: [k.certificate], issuer: .exactly(SAMLKit.idp), audience: "sp",
                acsURL: "https://sp.test/acs",
                inResponseTo: nil, allowIdPInitiated: true, now: issued.addingTimeInterval(offset), maxSkew: skew)
            do { return try SAMLResponseValidator.validate(signed, e).nameID } catch { return error.code }
        }
        #expect(check(0) == "alice@example.com")
        #expect(check(300 + 119) == "alice@example.com")
        #expect(check(300 + 120) == "expired")
        #expect(check(-30 - 120) == "alice@example.com")
        #expect(check(-30 - 121) == "not_yet_valid")
        #expect(check(300 + 100, skew: 3600) == "alice@example.com")
        #expect(check(300 + 121, skew: 3600) == "expired", "skew is capped at 2 minutes")
    }

    @Test func certificateRotationAndStrangers() throws {
        let old = try SAMLKit.makeKeys("rsa")
        let new = try SAMLKit.makeKeys("rsa2")
        let stranger = try SAMLKit.makeKeys("rsa3")
        let now = Date()
        func verdict(_ signer: SAMLKit.KeyPair, pinned: [SAMLKit.KeyPair]) throws -> String {
            let signed = try SAMLKit.sign(
                SAMLKit.response(audience: "sp", acs: "https://sp.test/acs", now: now), with: signer)
            let e = SAMLExpectations(
                certificates: pinned.map(\.certificate), issuer: .anyIssuer, audience: "sp",
                acsURL: "https://sp.test/acs",
                inResponseTo: nil, allowIdPInitiated: true, now: now)
            do { return try SAMLResponseValidator.validate(signed, e).nameID } catch { return error.code }
        }
        #expect(try verdict(old, pinned: [old, new]) == "alice@example.com")
        #expect(try verdict(new, pinned: [old, new]) == "alice@example.com")
        #expect(try verdict(stranger, pinned: [old, new]) == "signature_invalid")
    }

    @Test func idpInitiatedOnlyWhenAllowed() throws {
        let k = try SAMLKit.makeKeys("rsa")
        let now = Date()
        let signed = try SAMLKit.sign(SAMLKit.response(audience: "sp", acs: "https://sp.test/acs", now: now), with: k)
        let e = SAMLExpectations(
            certificates: [k.certificate], issuer: .anyIssuer, audience: "sp", acsURL: "https://sp.test/acs",
            inResponseTo: nil, allowIdPInitiated: false, now: now)
        #expect(
            throws: SAMLRefusal("idp_initiated_refused", "IdP-initiated sign-in is not enabled for this organization")
        ) {
            try SAMLResponseValidator.validate(signed, e)
        }
    }

    static let metadata = """
        <md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" \
        xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.test/meta">
        <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>CERT1</ds:X509Certificate>\
        </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
        <md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>CERT2</ds:X509Certificate></ds:X509Data>\
        </ds:KeyInfo></md:KeyDescriptor>
        <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>CERT3</ds:X509Certificate>\
        </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
        <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" \
        Location="https://idp.test/sso/post"/>
        <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" \
        Location="https://idp.test/sso/redirect"/>
        </md:IDPSSODescriptor></md:EntityDescriptor>
        """

    @Test func idpMetadataImport() throws {
        let a = try SAMLKit.makeKeys("rsa")
        let b = try SAMLKit.makeKeys("rsa2")
        let c = try SAMLKit.makeKeys("rsa3")
        let xml = Self.metadata.replacingOccurrences(of: "CERT1", with: a.certificate.base64).replacingOccurrences(
            of: "CERT2", with: b.certificate.base64
        )
        .replacingOccurrences(of: "CERT3", with: c.certificate.base64)
        let idp = try IdPMetadata.parse(Array(xml.utf8))
        #expect(idp.entityID == "https://idp.test/meta")
        #expect(idp.ssoURL == "https://idp.test/sso/redirect")
        #expect(
            idp.certificates == [a.certificate.base64, b.certificate.base64],
            "signing certificates only, both for rotation")
        let wrapped =
            "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">" + xml
            + "</md:EntitiesDescriptor>"
        #expect(try IdPMetadata.parse(Array(wrapped.utf8)).entityID == "https://idp.test/meta")
        func refusal(_ text: String) -> String? {
            do {
                _ = try IdPMetadata.parse(Array(text.utf8))
                return nil
            } catch { return error.code }
        }
        #expect(refusal("<x/>") == "invalid_metadata")
        // An IdP that offers sign-in over HTTP-POST only gets POST-binding requests; one offering neither is refused.
        let postOnly = try IdPMetadata.parse(Array(xml.replacingOccurrences(of: "HTTP-Redirect", with: "SOAP").utf8))
        #expect(postOnly.ssoBinding == SAMLNames.postBinding && postOnly.ssoURL == "https://idp.test/sso/post")
        #expect(
            refusal(
                xml.replacingOccurrences(of: "HTTP-Redirect", with: "SOAP").replacingOccurrences(
                    of: "HTTP-POST", with: "SOAP")) == "invalid_metadata")
        #expect(
            refusal(xml.replacingOccurrences(of: a.certificate.base64, with: "bm90IGEgY2VydA=="))
                == "invalid_certificate")
        #expect(
            refusal(xml.replacingOccurrences(of: "IDPSSODescriptor", with: "SPSSODescriptor")) == "invalid_metadata")
    }

    /// The redirect binding: the request inflates to our AuthnRequest, and the query signature verifies over
    /// exactly `SAMLRequest=…&RelayState=…&SigAlg=…`.
    @Test func signedRedirectAuthnRequest() throws {
        let k = try SAMLKit.makeKeys("rsa")
        let sp = ServiceProvider(
            baseURL: "https://gh.test", orgID: "org_eu_x", key: k.key, certificate: k.certificate,
            signAuthnRequests: true)
        #expect(sp.entityID == "https://gh.test/sso/org_eu_x/metadata")
        #expect(sp.acsURL == "https://gh.test/sso/org_eu_x/acs")
        let url = try sp.redirectURL(
            idpSSOURL: "https://idp.test/sso?tenant=1", requestID: "_req1", relayState: "/console?x=1&y=2", now: Date())
        #expect(url.hasPrefix("https://idp.test/sso?tenant=1&SAMLRequest="))
        let query = String(url.split(separator: "?", maxSplits: 1)[1].dropFirst("tenant=1&".count))
        let parts = Dictionary(
            uniqueKeysWithValues: query.split(separator: "&").map { p -> (String, String) in
                let kv = p.split(separator: "=", maxSplits: 1)
                return (String(kv[0]), String(kv[1]))
            })
        let request = try #require(parts["SAMLRequest"]?.removingPercentEncoding.flatMap { Data(base64Encoded: $0) })
        let xml = String(decoding: try RawDeflate.inflate(Array(request), maxOutput: 100_000), as: UTF8.self)
        #expect(
            xml.contains(#"ID="_req1""#)
                && xml.contains(#"AssertionConsumerServiceURL="https://gh.test/sso/org_eu_x/acs""#))
        #expect(parts["RelayState"]?.removingPercentEncoding == "/console?x=1&y=2")
        let signedPart = query.components(separatedBy: "&Signature=")[0]
        let signature = try #require(parts["Signature"]?.removingPercentEncoding.flatMap { Data(base64Encoded: $0) })
        #expect(
            k.certificate.publicKey.verify(Array(signature), over: Array(signedPart.utf8), scheme: .rsaPKCS1(.sha256)))
        #expect(sp.metadataXML().contains(#"AuthnRequestsSigned="true""#))
    }

    /// Logout messages: only the org's IdP may end sessions, so each binding's signature is required and checked,
    /// and the Issuer, Destination and time must match; our own LogoutResponse verifies with xmlsec1's rules.
    @Test func logoutMessagesMustBeSignedByTheIdP() throws {
        let idp = try SAMLKit.makeKeys("rsa")
        let other = try SAMLKit.makeKeys("rsa2")
        let now = Date()
        let slo = "https://gh.test/sso/org_eu_x/slo"
        let expect = LogoutExpectations(
            certificates: [idp.certificate], issuer: "https://idp.test/meta", destination: slo, allowSHA1: false,
            now: now)
        // The IdP is modelled by a ServiceProvider value whose entity id is the IdP's: same message shapes.
        let asIdP = ServiceProvider(baseURL: "https://idp.test", orgID: "x")
        func request(issuer: String = "https://idp.test/meta", destination: String = slo, at: Date = now) -> String {
            asIdP.logoutRequestXML(
                id: "_lr1", destination: destination,
                subject: .init(nameID: "alice@example.com", format: SAMLNames.emailFormat, sessionIndex: "_s1"), now: at
            ).replacingOccurrences(of: asIdP.entityID, with: issuer)
        }
        func query(_ xml: String, key: PrivateKey?) throws -> String {
            let url = try ServiceProvider.redirect(
                to: slo, parameter: "SAMLRequest", xml: xml, relayState: "r 1", key: key)
            return String(url.split(separator: "?", maxSplits: 1)[1])
        }
        func refusal(_ body: () throws(SAMLRefusal) -> LogoutMessage) -> String? {
            do {
                _ = try body()
                return nil
            } catch { return error.code }
        }
        let good = try LogoutReader.fromRedirect(rawQuery: query(request(), key: idp.key), expect)
        #expect(
            good
                == .request(id: "_lr1", nameID: "alice@example.com", sessionIndexes: ["_s1"], relayState: "r 1"))
        let unsigned = try query(request(), key: nil)
        #expect(
            refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: unsigned, expect) }
                == "unsigned")
        let stranger = try query(request(), key: other.key)
        #expect(
            refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: stranger, expect) }
                == "signature_invalid")
        let wrongIssuer = try query(request(issuer: "https://evil.test/"), key: idp.key)
        #expect(
            refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: wrongIssuer, expect) }
                == "wrong_issuer")
        let elsewhere = try query(request(destination: "https://other.test/slo"), key: idp.key)
        #expect(
            refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: elsewhere, expect) }
                == "wrong_destination")
        let old = try query(request(at: now.addingTimeInterval(-3600)), key: idp.key)
        #expect(refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: old, expect) } == "expired")
        // A changed RelayState breaks the query signature.
        let relayChanged = try query(request(), key: idp.key).replacingOccurrences(
            of: "RelayState=r", with: "RelayState=x")
        #expect(
            refusal { () throws(SAMLRefusal) in try LogoutReader.fromRedirect(rawQuery: relayChanged, expect) }
                == "signature_invalid")

        // HTTP-POST: an enveloped signature on the message itself; without one, or by another key, refused.
        let posted = try ServiceProvider.postValue(xml: request(), key: idp.key, certificate: idp.certificate)
        #expect(
            try LogoutReader.fromPost(parameter: "SAMLRequest", value: posted, relayState: nil, expect)
                == .request(id: "_lr1", nameID: "alice@example.com", sessionIndexes: ["_s1"], relayState: nil))
        let plain = try ServiceProvider.postValue(xml: request(), key: nil, certificate: nil)
        #expect(
            refusal { () throws(SAMLRefusal) in
                try LogoutReader.fromPost(parameter: "SAMLRequest", value: plain, relayState: nil, expect)
            } == "unsigned")
        let byOther = try ServiceProvider.postValue(xml: request(), key: other.key, certificate: other.certificate)
        #expect(
            refusal { () throws(SAMLRefusal) in
                try LogoutReader.fromPost(parameter: "SAMLRequest", value: byOther, relayState: nil, expect)
            } == "signature_invalid")

        // Our POST-binding messages verify with xmlsec1 (a tool nobody here wrote).
        let sp = ServiceProvider(
            baseURL: "https://gh.test", orgID: "org_eu_x", key: idp.key, certificate: idp.certificate)
        let response = sp.logoutResponseXML(
            id: "_r9", inResponseTo: "_lr1", destination: "https://idp.test/slo", now: now)
        let signed = try #require(
            Data(base64Encoded: try ServiceProvider.postValue(xml: response, key: sp.key, certificate: sp.certificate)))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("lr-\(UUID().uuidString).xml")
        try signed.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try SAMLKit.run([
            "xmlsec1", "--verify", "--pubkey-cert-pem", idp.certPath, "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse", file.path,
        ])
    }

    @Test func samlTimes() {
        #expect(SAMLTime.parse("2026-11-23T12:00:00Z")?.timeIntervalSince1970 == 1_795_435_200)
        #expect(SAMLTime.parse("2026-11-23T12:00:00.250Z")?.timeIntervalSince1970 == 1_795_435_200.25)
        #expect(SAMLTime.parse("2026-11-23T12:00:00+00:00") != nil)
        for bad in [
            "2026-11-23T12:00:00", "2026-11-23T12:00:00+01:00", "2026-13-01T00:00:00Z", "x", "2026-11-23T12:00:00.Z",
        ] {
            #expect(SAMLTime.parse(bad) == nil, "\(bad)")
        }
        let d = Date(timeIntervalSince1970: 1_795_435_200)
        #expect(SAMLTime.format(d) == "2026-11-23T12:00:00Z")
        #expect(
            SAMLTime.parse(SAMLTime.format(Date(timeIntervalSince1970: 951_782_400)))
                == Date(timeIntervalSince1970: 951_782_400))
    }
}
