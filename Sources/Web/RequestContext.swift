import GatehouseCore
import HTTP

/// A key for values that middleware attaches to a request (identity, session, org…), typed at the key.
package protocol ContextKey {
    associatedtype Value: Sendable
}

/// What a handler sees: the request, the matched route and its parameters, and values set by middleware.
package struct RequestContext: Sendable {
    package var request: Request {
        didSet { queryPairs = Self.parse(request) }
    }
    /// Query pairs in order (percent-decoded), parsed once per request: a list page asks for eight parameters.
    package private(set) var queryPairs: [(String, String)]
    /// The route pattern that matched, e.g. `/api/v1/orgs/:org`.
    package var route: String
    /// Path parameters, percent-decoded.
    package var parameters: [String: String]
    private var values: [ObjectIdentifier: any Sendable] = [:]

    package init(request: Request, route: String = "", parameters: [String: String] = [:]) {
        self.request = request
        self.route = route
        self.parameters = parameters
        queryPairs = Self.parse(request)
    }

    private static func parse(_ request: Request) -> [(String, String)] {
        guard let q = request.query, !q.isEmpty else { return [] }
        return FormDecoding.pairs(q)
    }

    package subscript<K: ContextKey>(_ key: K.Type) -> K.Value? {
        get { values[ObjectIdentifier(key)] as? K.Value }
        set { values[ObjectIdentifier(key)] = newValue }
    }

    /// A path parameter that the route guarantees exists.
    package func parameter(_ name: String) throws -> String {
        guard let v = parameters[name] else { throw GatehouseError.notFound() }
        return v
    }

    /// The first value of query parameter `name`.
    package func query(_ name: String) -> String? { queryPairs.first { $0.0 == name }?.1 }

    /// Every value of query parameter `name`.
    package func queryValues(_ name: String) -> [String] { queryPairs.filter { $0.0 == name }.map(\.1) }

    package var cookies: [String: String] { Cookies.parse(request.headers) }

    /// Decodes a JSON body. Refuses a body that is not declared as JSON (415) before reading it.
    package func decode<T: Decodable>(_ type: T.Type) throws -> T {
        // The media type exactly (parameters such as charset allowed): `application/jsonp` is not JSON.
        if let ct = request.headers["content-type"],
            ct.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased()
                != "application/json"
        {
            throw GatehouseError(.unsupportedMediaType, status: 415, "Send the body as application/json.")
        }
        return try JSONCoding.decode(T.self, from: request.body)
    }

    /// Decodes an `application/x-www-form-urlencoded` body into ordered pairs.
    package func formPairs() throws -> [(String, String)] {
        let ct = request.headers["content-type"]?.lowercased() ?? ""
        guard ct.hasPrefix("application/x-www-form-urlencoded") else {
            throw GatehouseError(
                .unsupportedMediaType, status: 415, "Send the form as application/x-www-form-urlencoded.")
        }
        return FormDecoding.pairs(String(decoding: request.body, as: UTF8.self))
    }
}
