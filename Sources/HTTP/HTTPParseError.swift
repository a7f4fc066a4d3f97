/// Why the parser refused a request. Each maps to a status and a stable code; the connection is closed after
/// the error response because the byte stream can no longer be trusted to frame the next request.
package struct HTTPParseError: Error, Sendable, Equatable, CustomStringConvertible {
    package let status: Int
    package let code: String
    package let message: String

    init(_ status: Int, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    package static func == (a: Self, b: Self) -> Bool { a.code == b.code }
    package var description: String { "\(status) \(code): \(message)" }

    package static let malformedRequestLine = Self(
        400, "malformed_request_line", "The request line is not `METHOD /target HTTP/1.1`.")
    package static let badHeaderName = Self(
        400, "bad_header_name", "A header name is empty or has characters a header name cannot have.")
    package static let badHeaderValue = Self(400, "bad_header_value", "A header value has control characters.")
    package static let bareLineFeed = Self(400, "bare_line_feed", "Lines must end with CRLF.")
    package static let obsoleteFolding = Self(
        400, "obsolete_line_folding", "Header lines must not be folded (RFC 9112 §5.2).")
    package static let lengthAndTransferEncoding = Self(
        400, "length_and_transfer_encoding", "A request must not carry both Content-Length and Transfer-Encoding.")
    package static let duplicateContentLength = Self(
        400, "duplicate_content_length", "Content-Length appears more than once.")
    package static let invalidContentLength = Self(
        400, "invalid_content_length", "Content-Length must be a non-negative decimal number.")
    package static let unsupportedTransferEncoding = Self(
        400, "unsupported_transfer_encoding", "Only `Transfer-Encoding: chunked` is supported.")
    package static let badChunk = Self(400, "bad_chunk", "The chunked body is malformed.")
    package static let missingHost = Self(400, "missing_host", "HTTP/1.1 requests need exactly one Host header.")
    package static let unsupportedVersion = Self(
        505, "http_version_not_supported", "Only HTTP/1.0 and HTTP/1.1 are supported.")
    package static let targetTooLong = Self(414, "uri_too_long", "The request target is too long.")
    package static let headersTooLarge = Self(
        431, "headers_too_large", "The request headers are too large or too many.")
    package static let bodyTooLarge = Self(413, "payload_too_large", "The request body is too large.")
    package static let unsupportedExpectation = Self(
        417, "expectation_failed", "Only `Expect: 100-continue` is supported.")
}
