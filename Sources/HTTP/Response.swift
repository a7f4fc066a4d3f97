import GatehouseCore

/// An HTTP response. Bodies are bytes; `Content-Length` is always computed by the serializer.
package struct Response: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    /// The bytes on the wire. A JSON answer made from a `JSONWritable` value is written when first read (by the
    /// serializer, or a caller in another process); one read in this process through `value` never is.
    package var body: [UInt8] {
        get { storedBody ?? value?.jsonBytes ?? [] }  // see `materializeBody` for readers that read twice
        set {
            storedBody = newValue
            value = nil
        }
    }
    private var storedBody: [UInt8]?
    /// When true the connection is closed after this response (the parser asked for it, or the handler did).
    package var closeConnection: Bool
    /// The route pattern that answered (`/api/v1/orgs/:org`), set by the router for the access log, which never
    /// logs raw paths (they can carry tokens such as invite links). Never written to the wire.
    package var route: String?
    /// The typed value the JSON body was written from (`Response.json` with a `JSONWritable`), kept while the
    /// answer stays in this process: the console's in-process calls to a region read it instead of parsing the
    /// bytes back. Never written to the wire; a region in another process answers with bytes only, which decode
    /// to an equal value (a test checks every such type).
    package private(set) var value: (any JSONWritable)?
    /// A body still arriving (an app upstream's answer), written by the server as it comes; `body` is then empty.
    /// Only the event loop's own upstream connections make one, so only a server's connection ever meets one.
    package var bodySource: (any ResponseBodySource)?
    /// For an answer to HEAD: the length of the body a GET would get, when it is not this answer's (empty) body —
    /// a proxied HEAD keeps its upstream's `Content-Length`.
    package var headLength: Int?

    package init(status: Int = 200, headers: HTTPHeaders = [:], body: [UInt8] = [], closeConnection: Bool = false) {
        self.status = status
        self.headers = headers
        storedBody = body
        self.closeConnection = closeConnection
    }

    package init(status: Int = 200, contentType: String, body: String) {
        self.init(status: status, headers: ["Content-Type": contentType], body: Array(body.utf8))
    }

    package var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Writes a JSON answer's bytes now, so later reads of `body` (the access log, the serializer) share them.
    package mutating func materializeBody() {
        if storedBody == nil, let value { storedBody = value.jsonBytes }
    }

    /// A JSON answer whose bytes are `value`'s, written only when something reads `body`.
    package init(status: Int, headers: HTTPHeaders, json value: any JSONWritable) {
        self.status = status
        self.headers = headers
        self.closeConnection = false
        self.value = value
    }
}

/// Reason phrases for the status codes Gatehouse sends.
package enum HTTPStatus {
    package static func reason(_ code: Int) -> String {
        switch code {
        case 100: return "Continue"
        case 200: return "OK"
        case 201: return "Created"
        case 202: return "Accepted"
        case 204: return "No Content"
        case 301: return "Moved Permanently"
        case 302: return "Found"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 307: return "Temporary Redirect"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 411: return "Length Required"
        case 413: return "Content Too Large"
        case 414: return "URI Too Long"
        case 415: return "Unsupported Media Type"
        case 417: return "Expectation Failed"
        case 422: return "Unprocessable Content"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 502: return "Bad Gateway"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Status \(code)"
        }
    }
}
