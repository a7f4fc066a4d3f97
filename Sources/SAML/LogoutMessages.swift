import Compression
import Crypto
import Foundation
import XML

/// What an incoming logout message must match: the org's IdP (its pinned certificates and entity id), this SP's
/// SLO URL, and the time.
package struct LogoutExpectations: Sendable {
    package var certificates: [Certificate]
    package var issuer: String
    package var destination: String
    package var allowSHA1: Bool
    package var now: Date
    package var maxSkew: TimeInterval = 120

    package init(certificates: [Certificate], issuer: String, destination: String, allowSHA1: Bool, now: Date) {
        self.certificates = certificates
        self.issuer = issuer
        self.destination = destination
        self.allowSHA1 = allowSHA1
        self.now = now
    }
}

/// A verified logout message from the org's IdP.
package enum LogoutMessage: Sendable, Equatable {
    /// IdP-initiated: end the sessions of this subject (every one of them when no SessionIndex is named).
    case request(id: String, nameID: String, sessionIndexes: [String], relayState: String?)
    /// The answer to a LogoutRequest this SP sent.
    case response(id: String, inResponseTo: String, success: Bool, relayState: String?)
}

/// Reads LogoutRequests and LogoutResponses in either binding. Unsigned messages are refused (a logout message
/// ends sessions, so only the org's IdP may send one): over HTTP-Redirect the query signature over the raw
/// `SAMLRequest=…&RelayState=…&SigAlg=…` octets; over HTTP-POST an enveloped signature on the message itself.
package enum LogoutReader {
    package static let maxBytes = 64 * 1024
    static let limits = XMLLimits(maxBytes: maxBytes, maxDepth: 16, maxNodes: 500)

    /// HTTP-Redirect: `rawQuery` is the query string exactly as received (the signature covers its octets).
    package static func fromRedirect(rawQuery: String, _ e: LogoutExpectations) throws(SAMLRefusal) -> LogoutMessage {
        guard rawQuery.utf8.count <= 4 * maxBytes else { throw SAMLRefusal("too_large", "the message is too large") }
        var raw: [String: String] = [:]
        for part in rawQuery.split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(kv[0])
            guard ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"].contains(name) else { continue }
            guard raw[name] == nil else { throw SAMLRefusal("malformed", "\(name) appears more than once") }
            raw[name] = kv.count > 1 ? String(kv[1]) : ""
        }
        let parameter: String
        switch (raw["SAMLRequest"], raw["SAMLResponse"]) {
        case (.some, nil): parameter = "SAMLRequest"
        case (nil, .some): parameter = "SAMLResponse"
        default: throw SAMLRefusal("malformed", "give exactly one of SAMLRequest and SAMLResponse")
        }
        guard let sigAlg = raw["SigAlg"], let sigText = raw["Signature"] else {
            throw SAMLRefusal("unsigned", "logout messages must be signed by the identity provider")
        }
        var signed = parameter + "=" + raw[parameter]!
        if let relay = raw["RelayState"] { signed += "&RelayState=" + relay }
        signed += "&SigAlg=" + sigAlg
        guard let algURI = sigAlg.removingPercentEncoding, let (scheme, isSHA1) = DSig.signatureMethods[algURI] else {
            throw SAMLRefusal("algorithm_refused", "signature algorithm \(sigAlg) is not accepted")
        }
        if isSHA1 && !e.allowSHA1 {
            throw SAMLRefusal("sha1_refused", "SHA-1 signatures are not allowed for this identity provider")
        }
        guard let sigB64 = sigText.removingPercentEncoding, let signature = Data(base64Encoded: sigB64) else {
            throw SAMLRefusal("signature_malformed", "the Signature parameter is not base64")
        }
        guard
            e.certificates.contains(where: {
                $0.publicKey.verify(Array(signature), over: Array(signed.utf8), scheme: scheme)
            })
        else { throw SAMLRefusal("signature_invalid", "the message was not signed by the organization's IdP") }
        guard let b64 = raw[parameter]!.removingPercentEncoding, let deflated = Data(base64Encoded: b64) else {
            throw SAMLRefusal("malformed", "\(parameter) is not base64")
        }
        let xml: [UInt8]
        do { xml = try RawDeflate.inflate(Array(deflated), maxOutput: maxBytes) } catch {
            throw SAMLRefusal("malformed", "\(parameter) is not DEFLATE data within \(maxBytes) bytes")
        }
        let relay = raw["RelayState"].flatMap { $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        return try read(xml, parameter: parameter, relayState: relay, signatureChecked: true, e)
    }

    /// HTTP-POST: the form's base64 value; the message must carry an enveloped signature.
    package static func fromPost(
        parameter: String, value: String, relayState: String?, _ e: LogoutExpectations
    ) throws(SAMLRefusal) -> LogoutMessage {
        let compact = value.filter { !$0.isWhitespace }
        guard compact.utf8.count <= 2 * maxBytes, let data = Data(base64Encoded: compact) else {
            throw SAMLRefusal("malformed", "\(parameter) is not base64 within \(maxBytes) bytes")
        }
        return try read(Array(data), parameter: parameter, relayState: relayState, signatureChecked: false, e)
    }

    static func read(
        _ xml: [UInt8], parameter: String, relayState: String?, signatureChecked: Bool, _ e: LogoutExpectations
    ) throws(SAMLRefusal) -> LogoutMessage {
        let doc: XMLDocument
        do { doc = try XMLDocument(parsing: xml, limits: limits) } catch {
            throw SAMLRefusal("xml_refused", "the message is not acceptable XML: \(error.reason)")
        }
        let expected = parameter == "SAMLRequest" ? "LogoutRequest" : "LogoutResponse"
        guard let root = doc.root, root.isNamed(expected, in: SAMLNames.protocol_) else {
            throw SAMLRefusal("not_logout", "\(parameter) does not carry a samlp:\(expected)")
        }
        guard root.attribute("Version") == "2.0", let id = root.attribute("ID"), !id.isEmpty, id.utf8.count <= 256
        else {
            throw SAMLRefusal("malformed", "the message has no ID or is not SAML 2.0")
        }
        if let dup = doc.duplicateIDs.first { throw SAMLRefusal("duplicate_id", "the ID \(dup) occurs more than once") }
        let signatures = root.descendants("Signature", in: DSig.ns)
        for s in signatures where s.parent != root {
            throw SAMLRefusal("unexpected_signature", "a signature sits somewhere other than the message")
        }
        if !signatureChecked {
            guard signatures.count == 1 else {
                throw SAMLRefusal("unsigned", "logout messages must be signed by the identity provider")
            }
            let signed: XMLElement
            do {
                signed = try XMLSignature.verify(
                    signatures[0], keys: e.certificates.map(\.publicKey), allowSHA1: e.allowSHA1)
            } catch {
                throw SAMLRefusal(error.code, error.reason)
            }
            guard signed == root else { throw SAMLRefusal("unsigned", "the signature does not cover the message") }
        }
        guard root.firstChild("Issuer", in: SAMLNames.assertion)?.text.trimmed == e.issuer else {
            throw SAMLRefusal("wrong_issuer", "the message was not issued by the organization's IdP")
        }
        if let d = root.attribute("Destination") {
            guard d == e.destination else {
                throw SAMLRefusal("wrong_destination", "the message is addressed to \(d), not this service's SLO URL")
            }
        } else if !signatureChecked {
            throw SAMLRefusal("wrong_destination", "a signed message must name its Destination")
        }
        guard let issued = root.attribute("IssueInstant").flatMap(SAMLTime.parse),
            issued < e.now.addingTimeInterval(e.maxSkew), issued > e.now.addingTimeInterval(-600 - e.maxSkew)
        else { throw SAMLRefusal("expired", "the message's IssueInstant is missing or not recent") }

        if expected == "LogoutResponse" {
            guard let irt = root.attribute("InResponseTo"), !irt.isEmpty else {
                throw SAMLRefusal("unknown_request", "the logout response answers no request")
            }
            let code = root.firstChild("Status", in: SAMLNames.protocol_)?.firstChild(
                "StatusCode", in: SAMLNames.protocol_)?.attribute("Value")
            return .response(id: id, inResponseTo: irt, success: code == SAMLNames.success, relayState: relayState)
        }
        if let na = root.attribute("NotOnOrAfter") {
            guard let t = SAMLTime.parse(na), e.now < t.addingTimeInterval(e.maxSkew) else {
                throw SAMLRefusal("expired", "the logout request has expired")
            }
        }
        let names = root.children("NameID", in: SAMLNames.assertion)
        guard names.count == 1, names[0].children.isEmpty, !names[0].containsCommentOrPI else {
            throw SAMLRefusal("no_name_id", "the logout request must name one subject in a plain NameID")
        }
        let nameID = names[0].text.trimmed
        guard !nameID.isEmpty, nameID.utf8.count <= 512 else {
            throw SAMLRefusal("no_name_id", "the NameID is empty or too long")
        }
        let indexes = root.children("SessionIndex", in: SAMLNames.protocol_).map(\.text.trimmed)
        guard indexes.count <= 20 else { throw SAMLRefusal("malformed", "too many SessionIndex elements") }
        return .request(id: id, nameID: nameID, sessionIndexes: indexes, relayState: relayState)
    }
}
