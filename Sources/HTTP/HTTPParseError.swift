/// Why the parser refused a request. Each maps to a status and a stable code; the connection is closed after
/// the error response because the byte stream can no longer be trusted to frame the next request.
public struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    public var description: String { "\(status) \(code): \(message)" }

    public static let malformedRequestLine = Self(
        400, "malformed_request_line", "The request line is not `METHOD /target HTTP/1.1`.")
    public static let badHeaderName = Self(
        400, "bad_header_name", "A header name is empty or has characters a header name cannot have.")
    public static let badHeaderValue = Self(400, "bad_header_value", "A header value has control characters.")
    public static let bareLineFeed = Self(400, "bare_line_feed", "Lines must end with CRLF.")
    public static let obsoleteFolding = Self(
        400, "obsolete_line_folding", "Header lines must not be folded (RFC 9112 §5.2).")
    public static let lengthAndTransferEncoding = Self(
        400, "length_and_transfer_encoding", "A request must not carry both Content-Length and Transfer-Encoding.")
    public static let duplicateContentLength = Self(
        400, "duplicate_content_length", "Content-Length appears more than once.")
    public static let invalidContentLength = Self(
        400, "invalid_content_length", "Content-Length must be a non-negative decimal number.")
    public static let unsupportedTransferEncoding = Self(
        400, "unsupported_transfer_encoding", "Only `Transfer-Encoding: chunked` is supported.")
    public static let badChunk = Self(400, "bad_chunk", "The chunked body is malformed.")
    public static let missingHost = Self(400, "missing_host", "HTTP/1.1 requests need exactly one Host header.")
    public static let unsupportedVersion = Self(
        505, "http_version_not_supported", "Only HTTP/1.0 and HTTP/1.1 are supported.")
    public static let targetTooLong = Self(414, "uri_too_long", "The request target is too long.")
    public static let headersTooLarge = Self(431, "headers_too_large", "The request headers are too large or too many.")
    public static let bodyTooLarge = Self(413, "payload_too_large", "The request body is too large.")
    public static let unsupportedExpectation = Self(
        417, "expectation_failed", "Only `Expect: 100-continue` is supported.")
}
