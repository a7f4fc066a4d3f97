/// The one error type that crosses layers: a stable machine code, the HTTP status it maps to, a message safe
/// to show a client, and a private detail for logs only.
///
/// Why a struct and not a public enum: adding a code breaks no caller, and equality compares only the code,
/// so tests can `#expect(throws: GatehouseError.Code.invalidJSON)`-style match without caring about wording.
package struct GatehouseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case error code (the `code` of DESIGN.md's JSON error shape).
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let slug: String
        package init(_ slug: String) { self.slug = slug }
        package var description: String { slug }
    }

    package var code: Code
    /// HTTP status this error answers with.
    package var status: Int
    /// Safe for clients: never contains secrets or facts about other tenants.
    package var message: String
    /// Logs only.
    package var detail: String?
    /// Extra response headers (e.g. `Allow`, `Retry-After`).
    package var headers: [(String, String)]

    package init(_ code: Code, status: Int, _ message: String, detail: String? = nil, headers: [(String, String)] = [])
    {
        self.code = code
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers
    }

    package static func == (a: GatehouseError, b: GatehouseError) -> Bool { a.code == b.code }
    package func hash(into h: inout Hasher) { h.combine(code) }
    package var description: String { "\(code.slug) (\(status)): \(message)" + (detail.map { " [\($0)]" } ?? "") }
}

extension GatehouseError.Code {
    package static let badRequest = Self("bad_request")
    package static let malformedRequest = Self("malformed_request")
    package static let invalidJSON = Self("invalid_json")
    package static let validationFailed = Self("validation_failed")
    package static let unauthenticated = Self("unauthenticated")
    package static let forbidden = Self("forbidden")
    package static let notFound = Self("not_found")
    package static let methodNotAllowed = Self("method_not_allowed")
    package static let conflict = Self("conflict")
    package static let gone = Self("gone")
    package static let payloadTooLarge = Self("payload_too_large")
    package static let uriTooLong = Self("uri_too_long")
    package static let headersTooLarge = Self("headers_too_large")
    package static let unsupportedMediaType = Self("unsupported_media_type")
    package static let rateLimited = Self("rate_limited")
    package static let requestTimeout = Self("request_timeout")
    package static let internalError = Self("internal_error")
    package static let unavailable = Self("unavailable")
    package static let notImplemented = Self("not_implemented")
    package static let expectationFailed = Self("expectation_failed")
}

extension GatehouseError {
    package static func badRequest(_ m: String, detail: String? = nil) -> Self {
        .init(.badRequest, status: 400, m, detail: detail)
    }
    package static func invalidJSON(_ m: String) -> Self { .init(.invalidJSON, status: 400, m) }
    package static func validation(_ m: String) -> Self { .init(.validationFailed, status: 422, m) }
    package static func notFound(_ m: String = "Not found.") -> Self { .init(.notFound, status: 404, m) }
    package static func forbidden(_ m: String = "You are not allowed to do that.") -> Self {
        .init(.forbidden, status: 403, m)
    }
    package static func unauthenticated(_ m: String = "Sign in first.") -> Self {
        .init(.unauthenticated, status: 401, m)
    }
    package static func conflict(_ m: String) -> Self { .init(.conflict, status: 409, m) }
    package static func internalError(detail: String?) -> Self {
        .init(
            .internalError, status: 500, "Something went wrong on our side. The request id in the logs tells us what.",
            detail: detail)
    }
}
