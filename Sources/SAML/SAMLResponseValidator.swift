import Crypto
import Foundation
import XML

/// What a Response must match: the identity provider's pinned certificates and entity id, this SP's audience
/// and ACS URL, the AuthnRequest it answers (if any), and the time.
package struct SAMLExpectations: Sendable {
    package var certificates: [Certificate]
    /// Which Issuer the Response and assertion must name. Spelled out: `.anyIssuer` only where a person checks a
    /// Response by hand (`gatehouse saml verify` without `--idp-entity-id`); the ACS always names the org's IdP.
    package var issuer: IssuerCheck
    package var audience: String
    package var acsURL: String
    /// The ID of the AuthnRequest this SP sent and this Response must answer; nil means IdP-initiated.
    package var inResponseTo: String?
    package var allowIdPInitiated: Bool
    package var allowSHA1: Bool
    /// The SP's private keys that may open an EncryptedAssertion (the current one and, during a rotation, the
    /// previous one). Empty: encrypted assertions are refused.
    package var decryptionKeys: [PrivateKey]
    package var now: Date
    package var maxSkew: TimeInterval

    package enum IssuerCheck: Sendable, Equatable {
        case exactly(String)
        case anyIssuer
    }

    package init(
        certificates: [Certificate], issuer: IssuerCheck, audience: String, acsURL: String, inResponseTo: String?,
        allowIdPInitiated: Bool, allowSHA1: Bool = false, decryptionKeys: [PrivateKey] = [], now: Date,
        maxSkew: TimeInterval = 120
    ) {
        self.certificates = certificates
        self.issuer = issuer
        self.audience = audience
        self.acsURL = acsURL
        self.inResponseTo = inResponseTo
        self.allowIdPInitiated = allowIdPInitiated
        self.allowSHA1 = allowSHA1
        self.decryptionKeys = decryptionKeys
        self.now = now
        self.maxSkew = min(maxSkew, 120)
    }
}

/// A verified assertion: who signed in, and what the IdP said about them.
package struct SAMLLogin: Sendable, Equatable {
    package let nameID: String
    package let nameIDFormat: String?
    package let attributes: [String: [String]]
    package let assertionID: String
    package let issuer: String
    package let sessionIndex: String?
    /// Until when the assertion id must be remembered to refuse a replay.
    package let validUntil: Date
    package let inResponseTo: String?
}

/// Validates a SAML Response (HTTP-POST binding) against `SAMLExpectations`: every check of DESIGN.md's
/// security baseline, in an order that gives the most useful reason first. The assertion read is always
/// the element whose signature was verified (or a direct child of the verified Response).
package enum SAMLResponseValidator {
    package static let maxResponseBytes = 256 * 1024

    /// Raw XML, or the base64 value an ACS receives.
    package static func decode(_ input: [UInt8]) throws(SAMLRefusal) -> [UInt8] {
        guard input.count <= maxResponseBytes * 2 else {
            throw SAMLRefusal("too_large", "the response is larger than \(maxResponseBytes) bytes")
        }
        guard let first = input.first(where: { !($0 == 32 || $0 == 9 || $0 == 10 || $0 == 13) }) else {
            throw SAMLRefusal("empty", "the response is empty")
        }
        if first == UInt8(ascii: "<") { return input }
        let compact = input.filter { !($0 == 32 || $0 == 9 || $0 == 10 || $0 == 13) }
        guard let data = Data(base64Encoded: Data(compact)), !data.isEmpty else {
            throw SAMLRefusal("not_base64", "the response is neither XML nor base64")
        }
        return Array(data)
    }

    static let limits = XMLLimits(maxBytes: maxResponseBytes, maxDepth: 32, maxNodes: 5000)

    package static func validate(_ xml: [UInt8], _ e: SAMLExpectations) throws(SAMLRefusal) -> SAMLLogin {
        try validate(xml) { _ in e }
    }

    /// Validates with expectations that depend on the Response's InResponseTo (the ACS looks up the request
    /// it answers), parsing the document once.
    package static func validate(
        _ xml: [UInt8], expectations: (_ inResponseTo: String?) throws(SAMLRefusal) -> SAMLExpectations
    ) throws(SAMLRefusal) -> SAMLLogin {
        let parsed = try parse(xml)
        return try validate(parsed, expectations(parsed.inResponseTo))
    }

    /// A Response parsed (hardened XML, the root checked), whose InResponseTo can be looked up (the request it
    /// answers, in the store: asynchronously) before it is validated. One parse either way.
    package struct ParsedResponse {
        let doc: XMLDocument
        let response: XMLElement
        package var inResponseTo: String? { response.attribute("InResponseTo") }
    }

    package static func parse(_ xml: [UInt8]) throws(SAMLRefusal) -> ParsedResponse {
        let doc: XMLDocument
        do { doc = try XMLDocument(parsing: xml, limits: limits) } catch {
            throw SAMLRefusal("xml_refused", "the response is not acceptable XML: \(error.reason)")
        }
        guard let response = doc.root, response.isNamed("Response", in: SAMLNames.protocol_) else {
            throw SAMLRefusal("not_a_response", "the document is not a samlp:Response")
        }
        return ParsedResponse(doc: doc, response: response)
    }

    package static func validate(_ parsed: ParsedResponse, _ e: SAMLExpectations) throws(SAMLRefusal) -> SAMLLogin {
        let (doc, response) = (parsed.doc, parsed.response)
        guard response.attribute("Version") == "2.0" else {
            throw SAMLRefusal("not_a_response", "the response is not SAML 2.0")
        }
        guard let responseID = response.attribute("ID"), !responseID.isEmpty else {
            throw SAMLRefusal("not_a_response", "the response has no ID")
        }
        if let dup = doc.duplicateIDs.first { throw SAMLRefusal("duplicate_id", "the ID \(dup) occurs more than once") }

        // Shape: exactly one assertion, plain or encrypted, a child of the Response; signatures only on the Response
        // or that assertion.
        let encrypted = response.descendants("EncryptedAssertion", in: SAMLNames.assertion)
        let plain = response.descendants("Assertion", in: SAMLNames.assertion)
        let carried = encrypted + plain
        guard carried.count == 1 else {
            throw SAMLRefusal(
                carried.isEmpty ? "no_assertion" : "multiple_assertions",
                carried.isEmpty
                    ? "the response carries no assertion"
                    : "the response carries \(carried.count) assertions; exactly one is accepted")
        }
        guard carried[0].parent == response else {
            throw SAMLRefusal("assertion_misplaced", "the assertion is not a direct child of the response")
        }
        for sig in response.descendants("Signature", in: DSig.ns)
        where !(sig.parent == response || (plain.first.map { sig.parent == $0 } ?? false)) {
            throw SAMLRefusal(
                "unexpected_signature", "a signature sits somewhere other than the response or its assertion")
        }

        // Status before signatures: an IdP error response is often unsigned, and its status is the useful reason.
        let status = response.firstChild("Status", in: SAMLNames.protocol_)?.firstChild(
            "StatusCode", in: SAMLNames.protocol_)
        guard let code = status?.attribute("Value") else {
            throw SAMLRefusal("status_missing", "the response has no status")
        }
        guard code == SAMLNames.success else {
            let sub =
                status?.firstChild("StatusCode", in: SAMLNames.protocol_)?.attribute("Value").map { " (\($0))" } ?? ""
            throw SAMLRefusal("status_not_success", "the identity provider answered \(code)\(sub)")
        }

        // Signatures: each one present must verify with a pinned key; at least one must cover the assertion. A
        // signed Response is verified before anything is decrypted (it covers the ciphertext as received).
        let keys = e.certificates.map(\.publicKey)
        var assertionTrusted = false
        let responseSigs = response.children("Signature", in: DSig.ns)
        guard responseSigs.count <= 1 else {
            throw SAMLRefusal("unexpected_signature", "more than one signature on one element")
        }
        do {
            if let s = responseSigs.first {
                let signed = try XMLSignature.verify(s, keys: keys, allowSHA1: e.allowSHA1)
                if signed == response && carried[0].parent == signed { assertionTrusted = true }
            }
        } catch {
            throw SAMLRefusal(error.code, error.reason)
        }
        // The assertion read from here on: the plain child, or the plaintext of the encrypted one (its own
        // document, kept alive by `decrypted`).
        var decrypted: XMLDocument?
        let assertion: XMLElement
        if let e0 = encrypted.first {
            let opened = try EncryptedAssertionDecryptor.decrypt(e0, keys: e.decryptionKeys, limits: limits)
            decrypted = opened.document
            assertion = opened.assertion
            if let dup = opened.document.duplicateIDs.first {
                throw SAMLRefusal("duplicate_id", "the ID \(dup) occurs more than once")
            }
            for sig in assertion.descendants("Signature", in: DSig.ns) where sig.parent != assertion {
                throw SAMLRefusal("unexpected_signature", "a signature sits inside the encrypted assertion")
            }
        } else {
            assertion = carried[0]
        }
        defer { withExtendedLifetime(decrypted) {} }
        let assertionSigs = assertion.children("Signature", in: DSig.ns)
        guard assertionSigs.count <= 1 else {
            throw SAMLRefusal("unexpected_signature", "more than one signature on one element")
        }
        do {
            if let s = assertionSigs.first {
                let signed = try XMLSignature.verify(s, keys: keys, allowSHA1: e.allowSHA1)
                if signed == assertion { assertionTrusted = true }
            }
        } catch {
            throw SAMLRefusal(error.code, error.reason)
        }
        guard assertionTrusted else {
            throw SAMLRefusal("unsigned", "neither the response nor the assertion is signed")
        }

        // Destination: required when the response is signed (SAML bindings 3.5.5.2), and always equal to our ACS.
        if let d = response.attribute("Destination") {
            guard d == e.acsURL else {
                throw SAMLRefusal("wrong_destination", "the response is addressed to \(d), not this service's ACS")
            }
        } else if !responseSigs.isEmpty {
            throw SAMLRefusal("wrong_destination", "a signed response must name its Destination")
        }

        // Issuer.
        try checkIssuer(response.firstChild("Issuer", in: SAMLNames.assertion), required: false, e)
        try checkIssuer(assertion.firstChild("Issuer", in: SAMLNames.assertion), required: true, e)
        let issuer = assertion.firstChild("Issuer", in: SAMLNames.assertion)?.text.trimmed ?? ""

        // InResponseTo: a response to a request we sent, or IdP-initiated where allowed.
        let responseIRT = response.attribute("InResponseTo")
        try checkInResponseTo(responseIRT, e)

        guard assertion.attribute("Version") == "2.0", let assertionID = assertion.attribute("ID"), !assertionID.isEmpty
        else {
            throw SAMLRefusal("assertion_malformed", "the assertion has no ID or is not SAML 2.0")
        }

        // Subject.
        guard let subject = assertion.firstChild("Subject", in: SAMLNames.assertion) else {
            throw SAMLRefusal("no_subject", "the assertion has no subject")
        }
        let nameIDs = subject.children("NameID", in: SAMLNames.assertion)
        guard nameIDs.count == 1 else {
            throw SAMLRefusal(
                "no_name_id",
                nameIDs.isEmpty
                    ? "the assertion has no NameID (encrypted NameIDs are not supported)"
                    : "the subject has more than one NameID")
        }
        let nameIDElement = nameIDs[0]
        guard nameIDElement.children.isEmpty, !nameIDElement.containsCommentOrPI else {
            throw SAMLRefusal(
                "name_id_tampered",
                "the NameID contains markup or a comment; refusing rather than guessing who it names")
        }
        let nameID = nameIDElement.text.trimmed
        guard !nameID.isEmpty, nameID.utf8.count <= 512 else {
            throw SAMLRefusal("no_name_id", "the NameID is empty or too long")
        }

        let now = e.now
        let skew = e.maxSkew
        var confirmationUntil: Date?
        var lastProblem = SAMLRefusal("no_bearer_confirmation", "the subject has no bearer confirmation")
        for sc in subject.children("SubjectConfirmation", in: SAMLNames.assertion)
        where sc.attribute("Method") == SAMLNames.bearer {
            guard let data = sc.firstChild("SubjectConfirmationData", in: SAMLNames.assertion) else { continue }
            guard data.attribute("Recipient") == e.acsURL else {
                lastProblem = SAMLRefusal(
                    "wrong_recipient",
                    "the assertion's Recipient is \(data.attribute("Recipient") ?? "missing"), not this service's ACS")
                continue
            }
            guard let until = data.attribute("NotOnOrAfter").flatMap(SAMLTime.parse) else {
                lastProblem = SAMLRefusal("expired", "the bearer confirmation has no valid NotOnOrAfter")
                continue
            }
            guard now < until.addingTimeInterval(skew) else {
                lastProblem = SAMLRefusal("expired", "the assertion expired at \(SAMLTime.format(until))")
                continue
            }
            if let nb = data.attribute("NotBefore") {
                guard let t = SAMLTime.parse(nb), now >= t.addingTimeInterval(-skew) else {
                    lastProblem = SAMLRefusal("not_yet_valid", "the bearer confirmation is not valid yet")
                    continue
                }
            }
            do { try checkInResponseTo(data.attribute("InResponseTo"), e, fromConfirmation: true) } catch {
                lastProblem = error
                continue
            }
            confirmationUntil = until
            break
        }
        guard let confirmationUntil else { throw lastProblem }

        // Conditions: time window and audience.
        guard let conditions = assertion.firstChild("Conditions", in: SAMLNames.assertion) else {
            throw SAMLRefusal("no_conditions", "the assertion has no Conditions (no audience restriction)")
        }
        var validUntil = confirmationUntil
        if let nb = conditions.attribute("NotBefore") {
            guard let t = SAMLTime.parse(nb) else {
                throw SAMLRefusal("not_yet_valid", "Conditions NotBefore is not a valid time")
            }
            guard now >= t.addingTimeInterval(-skew) else {
                throw SAMLRefusal("not_yet_valid", "the assertion is not valid before \(SAMLTime.format(t))")
            }
        }
        if let na = conditions.attribute("NotOnOrAfter") {
            guard let t = SAMLTime.parse(na) else {
                throw SAMLRefusal("expired", "Conditions NotOnOrAfter is not a valid time")
            }
            guard now < t.addingTimeInterval(skew) else {
                throw SAMLRefusal("expired", "the assertion expired at \(SAMLTime.format(t))")
            }
            validUntil = max(validUntil, t)
        }
        let restrictions = conditions.children("AudienceRestriction", in: SAMLNames.assertion)
        guard !restrictions.isEmpty else { throw SAMLRefusal("wrong_audience", "the assertion names no audience") }
        for r in restrictions
        where !r.children("Audience", in: SAMLNames.assertion).contains(where: { $0.text.trimmed == e.audience }) {
            throw SAMLRefusal(
                "wrong_audience", "the assertion is meant for another service (audience is not \(e.audience))")
        }

        // Authentication statement.
        let authn = assertion.children("AuthnStatement", in: SAMLNames.assertion)
        guard let statement = authn.first else {
            throw SAMLRefusal("no_authn_statement", "the assertion has no AuthnStatement")
        }
        if let sn = statement.attribute("SessionNotOnOrAfter") {
            guard let t = SAMLTime.parse(sn), now < t.addingTimeInterval(skew) else {
                throw SAMLRefusal("expired", "the IdP session has ended")
            }
        }

        // Attributes, read whole.
        var attributes: [String: [String]] = [:]
        for statement in assertion.children("AttributeStatement", in: SAMLNames.assertion) {
            for a in statement.children("Attribute", in: SAMLNames.assertion) {
                guard let name = a.attribute("Name") else { continue }
                attributes[name, default: []] += a.children("AttributeValue", in: SAMLNames.assertion).map(\.text)
            }
        }
        return SAMLLogin(
            nameID: nameID, nameIDFormat: nameIDElement.attribute("Format"), attributes: attributes,
            assertionID: assertionID,
            issuer: issuer, sessionIndex: statement.attribute("SessionIndex"),
            validUntil: validUntil.addingTimeInterval(skew),
            inResponseTo: responseIRT)
    }

    static func checkIssuer(_ element: XMLElement?, required: Bool, _ e: SAMLExpectations) throws(SAMLRefusal) {
        guard let element else {
            if required { throw SAMLRefusal("wrong_issuer", "the assertion has no Issuer") }
            return
        }
        if let f = element.attribute("Format"), f != SAMLNames.entityFormat {
            throw SAMLRefusal("wrong_issuer", "the Issuer format is not entity")
        }
        if case .exactly(let expected) = e.issuer, element.text.trimmed != expected {
            throw SAMLRefusal(
                "wrong_issuer",
                "the response was issued by \(element.text.trimmed), not the configured identity provider")
        }
    }

    static func checkInResponseTo(
        _ value: String?, _ e: SAMLExpectations, fromConfirmation: Bool = false
    ) throws(SAMLRefusal) {
        if let value {
            guard let expected = e.inResponseTo, value == expected else {
                throw SAMLRefusal(
                    "unknown_request", "the response answers a request this service never sent (InResponseTo \(value))")
            }
        } else if e.inResponseTo != nil {
            throw SAMLRefusal("unknown_request", "the response does not answer the request this service sent")
        } else if !e.allowIdPInitiated && !fromConfirmation {
            throw SAMLRefusal("idp_initiated_refused", "IdP-initiated sign-in is not enabled for this organization")
        }
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
