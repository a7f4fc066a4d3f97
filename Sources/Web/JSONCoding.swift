import Foundation
import GatehouseCore
import HTTP

/// The JSON conventions of the API: ISO 8601 dates, camelCase keys as declared, stable key order in output.
package enum JSONCoding {
    package static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    package static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .iso8601
        return d
    }

    /// Decodes `bytes` into `T`, turning every failure into a client error that names what was wrong:
    /// 400 `invalid_json` for bytes that are not JSON, 422 `validation_failed` for JSON of the wrong shape.
    package static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard !bytes.isEmpty else {
            throw GatehouseError.invalidJSON("The request body is empty; a JSON object was expected.")
        }
        do {
            return try decoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw describe(error)
        } catch {
            throw GatehouseError.invalidJSON("The request body is not valid JSON.")
        }
    }

    static func describe(_ error: DecodingError) -> GatehouseError {
        func path(_ keys: [any CodingKey]) -> String {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "the body" : String(p.drop(while: { $0 == "." }))
        }
        switch error {
        case .dataCorrupted(let c) where c.codingPath.isEmpty:
            return .invalidJSON("The request body is not valid JSON.")
        case .dataCorrupted(let c):
            return .validation("`\(path(c.codingPath))` has an invalid value. \(c.debugDescription)")
        case .keyNotFound(let key, let c):
            return .validation("`\(path(c.codingPath + [key]))` is required.")
        case .typeMismatch(let type, let c):
            return .validation("`\(path(c.codingPath))` must be \(typeName(type)).")
        case .valueNotFound(let type, let c):
            return .validation("`\(path(c.codingPath))` must be \(typeName(type)), not null.")
        @unknown default:
            return .validation("The request body has the wrong shape.")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "true or false"
        case is Double.Type: return "a number"
        default:
            let n = String(describing: t)
            if n.hasPrefix("Array") { return "a list" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return "a \(n)"
        }
    }
}

extension Response {
    /// A JSON response of `value`.
    /// A JSON answer: written directly when the value is `JSONWritable` (every hot response body), else through
    /// `JSONEncoder`; both produce the same JSON (a test compares them).
    package static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> Response {
        if let w = value as? any JSONWritable {
            return Response(status: status, headers: ["Content-Type": "application/json"], json: w)
        }
        let data = try JSONCoding.encoder().encode(value)
        return Response(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
    }

    /// The same response, never stored by a browser or proxy: for answers that carry a secret (a CSRF token,
    /// a new API key, an account's overview).
    package func noStore() -> Response {
        var r = self
        r.headers.set("Cache-Control", "no-store")
        return r
    }

    /// DESIGN.md's error shape: `{"error": {"code": "…", "message": "…"}}`.
    /// The `GatehouseError` a body in DESIGN.md's error shape carries (read back by whoever forwarded the request),
    /// or nil when the body is not that shape.
    package static func decodeError(_ body: [UInt8], status: Int) -> GatehouseError? {
        struct Shape: Decodable {
            struct Inner: Decodable {
                let code: String
                let message: String
            }
            let error: Inner
        }
        guard let e = try? JSONDecoder().decode(Shape.self, from: Data(body)) else { return nil }
        return GatehouseError(.init(e.error.code), status: status, e.error.message)
    }

    package static func error(_ e: GatehouseError) -> Response {
        let body = "{\"error\":{\"code\":\(JSONText.quote(e.code.slug)),\"message\":\(JSONText.quote(e.message))}}"
        var r = Response(status: e.status, headers: ["Content-Type": "application/json"], body: Array(body.utf8))
        for (k, v) in e.headers { r.headers.add(k, v) }
        return r
    }

    package static func text(
        _ s: String, status: Int = 200, contentType: String = "text/plain; charset=utf-8"
    ) -> Response {
        Response(status: status, headers: ["Content-Type": contentType], body: Array(s.utf8))
    }

    package static func redirect(to location: String, status: Int = 303) -> Response {
        Response(status: status, headers: ["Location": location])
    }
}
