/// The one error type that crosses layers: a stable machine code, the HTTP status it maps to, a message safe
/// to show a client, and a private detail for logs only.
///
/// Why a struct and not a public enum: adding a code breaks no caller, and equality compares only the code,
/// so tests can `#expect(throws: GatehouseError.Code.invalidJSON)`-style match without caring about wording.
public struct GatehouseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable, snake_case error code (the `code` of DESIGN.md's JSON error shape).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let slug: String
        public init(_ slug: String) { self.slug = slug }
        public var description: String { slug }
    }

    public var code: Code
    /// HTTP status this error answers with.
    public var status: Int
    /// Safe for clients: never contains secrets or facts about other tenants.
    public var message: String
    /// Logs only.
    public var detail: String?
    /// Extra response headers (e.g. `Allow`, `Retry-After`).
    public var headers: [(String, String)]

    public init(_ code: Code, status: Int, _ message: String, detail: String? = nil, headers: [(String, String)] = []) {
        self.code = code
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers
    }

    public static func == (a: GatehouseError, b: GatehouseError) -> Bool { a.code == b.code }
    public func hash(into h: inout Hasher) { h.combine(code) }
    public var description: String { "\(code.slug) (\(status)): \(message)" + (detail.map { " [\($0)]" } ?? "") }
}

extension GatehouseError.Code {
    public static let badRequest = Self("bad_request")
    public static let malformedRequest = Self("malformed_request")
    public static let invalidJSON = Self("invalid_json")
    public static let validationFailed = Self("validation_failed")
    public static let unauthenticated = Self("unauthenticated")
    public static let forbidden = Self("forbidden")
    public static let notFound = Self("not_found")
    public static let methodNotAllowed = Self("method_not_allowed")
    public static let conflict = Self("conflict")
    public static let gone = Self("gone")
    public static let payloadTooLarge = Self("payload_too_large")
    public static let uriTooLong = Self("uri_too_long")
    public static let headersTooLarge = Self("headers_too_large")
    public static let unsupportedMediaType = Self("unsupported_media_type")
    public static let rateLimited = Self("rate_limited")
    public static let requestTimeout = Self("request_timeout")
    public static let internalError = Self("internal_error")
    public static let unavailable = Self("unavailable")
    public static let notImplemented = Self("not_implemented")
    public static let expectationFailed = Self("expectation_failed")
}

extension GatehouseError {
    public static func badRequest(_ m: String, detail: String? = nil) -> Self {
        .init(.badRequest, status: 400, m, detail: detail)
    }
    public static func invalidJSON(_ m: String) -> Self { .init(.invalidJSON, status: 400, m) }
    public static func validation(_ m: String) -> Self { .init(.validationFailed, status: 422, m) }
    public static func notFound(_ m: String = "Not found.") -> Self { .init(.notFound, status: 404, m) }
    public static func forbidden(_ m: String = "You are not allowed to do that.") -> Self {
        .init(.forbidden, status: 403, m)
    }
    public static func unauthenticated(_ m: String = "Sign in first.") -> Self {
        .init(.unauthenticated, status: 401, m)
    }
    public static func conflict(_ m: String) -> Self { .init(.conflict, status: 409, m) }
    public static func internalError(detail: String?) -> Self {
        .init(
            .internalError, status: 500, "Something went wrong on our side. The request id in the logs tells us what.",
            detail: detail)
    }
}
