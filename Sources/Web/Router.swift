import GatehouseCore
import HTTP

package typealias Handler = @Sendable (RequestContext) async throws -> Response
/// The one synchronous kind of handler: it runs on the event loop with no task and answers when everything it
/// needs is at hand without waiting (a health check; a session read and an in-process region read), or returns
/// nil and the route's async handler runs as usual. It must never block on I/O beyond an indexed read.
package typealias SyncHandler = @Sendable (RequestContext) -> Response?
/// A handler that answers later without a task (see `HTTPResponder.respondLater`): it returns false to decline (the
/// route's async handler then runs), or starts work the event loop drives and calls `done` once, on the loop, with
/// the response or the error the async handler would have returned or thrown.
package typealias LaterHandler =
    @Sendable (RequestContext, _ done: @escaping @Sendable (Result<Response, any Error>) -> Void) -> Bool

/// Middleware wraps handlers: `(context, next) -> response`.
package protocol Middleware: Sendable {
    func handle(_ context: RequestContext, next: Handler) async throws -> Response
}

/// Collects routes and middleware, then `build()` freezes them into a `Router`. Clashing routes (the same
/// method and pattern twice, or two parameter names at one position) fail the build.
package final class RouterBuilder {
    struct Entry {
        var method: String
        var pattern: String
        var handler: Handler?
        var sync: SyncHandler?
        var later: LaterHandler?
    }

    var entries: [Entry] = []
    var middleware: [any Middleware] = []
    package var logger: Logger
    /// How a refusal reads for a browser (an HTML page with a way back), when the app has pages: asked for
    /// every error the router makes (404, 405, a thrown error); nil keeps the JSON error shape. JSON clients
    /// always get JSON (see `ErrorPage.wantsHTML`).
    package var errorPage: ErrorPage?

    package init(logger: Logger = Logger(label: "http")) { self.logger = logger }

    package func use(_ m: any Middleware) { middleware.append(m) }

    /// Path prefixes whose request bodies are streamed to their handler (`Request.bodyStream`) instead of read
    /// whole first: the handler must pass the body on as it arrives (apps behind the gateway do).
    var streamedPrefixes: [String] = []
    package func streamRequestBodies(under prefix: String) { streamedPrefixes.append(prefix) }

    package func on(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        entries.append(Entry(method: method, pattern: pattern, handler: handler))
    }

    package func get(_ p: String, _ h: @escaping Handler) { on("GET", p, h) }
    package func post(_ p: String, _ h: @escaping Handler) { on("POST", p, h) }
    package func put(_ p: String, _ h: @escaping Handler) { on("PUT", p, h) }
    package func patch(_ p: String, _ h: @escaping Handler) { on("PATCH", p, h) }
    package func delete(_ p: String, _ h: @escaping Handler) { on("DELETE", p, h) }
    /// Every method: for forwarding, where the destination decides what a method means.
    package func any(_ p: String, _ h: @escaping Handler) { on("*", p, h) }

    /// A route with a synchronous first attempt on the event loop (see `SyncHandler`), and optionally the async
    /// handler that answers when it returns nil. No middleware runs on the synchronous attempt, so a router with
    /// middleware refuses such routes at build time unless the path is fixed (health checks).
    package func sync(_ method: String, _ pattern: String, _ sync: @escaping SyncHandler, else handler: Handler? = nil)
    {
        entries.append(Entry(method: method, pattern: pattern, handler: handler, sync: sync))
    }

    /// A route with a task-free first attempt (see `LaterHandler`) and the async handler for when it declines.
    /// Like `sync`, it skips middleware, so a router with middleware refuses it.
    package func later(
        _ method: String, _ pattern: String, _ later: @escaping LaterHandler, else handler: @escaping Handler
    ) {
        entries.append(Entry(method: method, pattern: pattern, handler: handler, later: later))
    }

    package func build() throws -> Router {
        let root = Router.Node()
        var syncFixed: [String: [String: Router.Route]] = [:]
        var syncPrefixes: [String] = []
        var laterPrefixes: [String] = []
        /// A route answered before middleware could run (sync or later) is only allowed where there is none; the
        /// literal start of its pattern lets every other request skip asking.
        func addPrefix(_ pattern: String, kind: String, to prefixes: inout [String]) throws {
            guard middleware.isEmpty else {
                throw RouteConflict(description: "\(kind) route \(pattern) in a router with middleware")
            }
            let prefix = String(pattern.prefix { $0 != ":" && $0 != "*" })
            // Every console page shares "/console/": one entry each, not one per route.
            if !prefixes.contains(prefix) { prefixes.append(prefix) }
        }
        for e in entries {
            let segments = try Router.split(pattern: e.pattern)
            let route = Router.Route(pattern: e.pattern, handler: e.handler, sync: e.sync, later: e.later)
            try root.insert(segments[...], method: e.method, route: route)
            if e.later != nil { try addPrefix(e.pattern, kind: "task-free", to: &laterPrefixes) }
            guard e.sync != nil else { continue }
            // Fixed paths are found by one dictionary probe; patterns with parameters by a prefix check first,
            // so every other request pays almost nothing for asking. A parameterized synchronous route would
            // skip middleware (authentication, say), so a router with middleware refuses it; a fixed one (a
            // health check) is a deliberate exception.
            if e.pattern.contains(":") || e.pattern.contains("*") {
                try addPrefix(e.pattern, kind: "synchronous", to: &syncPrefixes)
            } else {
                syncFixed[e.pattern, default: [:]][e.method] = route
            }
        }
        root.freeze()
        return Router(
            root: root, middleware: middleware, logger: logger, syncFixed: syncFixed,
            syncFixedLengths: Array(Set(syncFixed.keys.map(\.utf8.count))), syncPrefixes: syncPrefixes,
            errorPage: errorPage, routes: entries.map { ($0.method, $0.pattern) }, streamedPrefixes: streamedPrefixes,
            laterPrefixes: laterPrefixes)
    }
}

package struct RouteConflict: Error, CustomStringConvertible {
    package let description: String
}

/// A frozen routing table and middleware chain; the application's `HTTPResponder`.
///
/// 404 when no pattern matches the path; 405 with `Allow` when a pattern matches but not the method (`HEAD`
/// is served by `GET`). Every error becomes DESIGN.md's JSON error shape; anything that is not a
/// `GatehouseError` is logged with its detail and answered with a plain 500.
package final class Router: HTTPResponder, Sendable {
    struct Route: Sendable {
        let pattern: String
        let handler: Handler?
        let sync: SyncHandler?
        var later: LaterHandler? = nil
    }

    enum Segment: Equatable {
        case literal(String)
        case parameter(String)
        /// `*` as the last segment: the rest of the path, zero or more segments.
        case rest
    }

    /// A class: matching walks these on every request, and copying a struct of four collections per step cost
    /// retains and releases that showed in profiles. Mutated only while the router is built, then frozen.
    final class Node: @unchecked Sendable {
        var literals: [String: Node] = [:]
        /// The same children as a list, for matching without allocating a String per path segment (nodes have
        /// few children, so comparing bytes beats hashing). Filled by `freeze()`.
        var literalList: [(name: [UInt8], node: Node)] = []
        var parameterName: String?
        var parameter: [Node] = []  // zero or one child (an array keeps the struct recursive)
        var rest: [Node] = []  // zero or one: the node of a trailing `*`
        var routes: [String: Route] = [:]  // by method
        /// The same routes as a list, for finding a request's without hashing its method (a node has one to five
        /// methods; comparing small strings beats two hash probes). Filled by `freeze()`.
        var routeList: [(method: String, route: Route)] = []

        init() {}

        func insert(_ segs: ArraySlice<Segment>, method: String, route: Route) throws {
            guard let first = segs.first else {
                if routes[method] != nil {
                    throw RouteConflict(description: "\(method) \(route.pattern) is registered twice")
                }
                routes[method] = route
                return
            }
            switch first {
            case .literal(let s):
                let child = literals[s] ?? Node()
                try child.insert(segs.dropFirst(), method: method, route: route)
                literals[s] = child
            case .parameter(let name):
                if let existing = parameterName, existing != name {
                    throw RouteConflict(description: "\(route.pattern): parameter :\(name) clashes with :\(existing)")
                }
                parameterName = name
                let child = parameter.first ?? Node()
                try child.insert(segs.dropFirst(), method: method, route: route)
                parameter = [child]
            case .rest:
                guard segs.count == 1 else {
                    throw RouteConflict(description: "\(route.pattern): * must be the last segment")
                }
                let child = rest.first ?? Node()
                try child.insert(segs.dropFirst(), method: method, route: route)
                rest = [child]
            }
        }

        func freeze() {
            for key in literals.keys { literals[key]?.freeze() }
            if !parameter.isEmpty { parameter[0].freeze() }
            if !rest.isEmpty { rest[0].freeze() }
            literalList = literals.sorted { $0.key < $1.key }.map { (name: Array($0.key.utf8), node: $0.value) }
            routeList = routes.sorted { $0.key < $1.key }.map { (method: $0.key, route: $0.value) }
        }

        /// The route for `method`: its own, else one for any method, else (HEAD) the GET route.
        func route(for method: String) -> Route? {
            for r in routeList where r.method == method { return r.route }
            for r in routeList where r.method == "*" { return r.route }
            if method == "HEAD" { for r in routeList where r.method == "GET" { return r.route } }
            return nil
        }
    }

    let root: Node
    let middleware: [any Middleware]
    let logger: Logger
    /// Synchronous routes on fixed paths, found with one dictionary lookup (no trie walk).
    let syncFixed: [String: [String: Route]]
    /// The byte lengths of those paths: most requests skip making a String of their path to probe with.
    let syncFixedLengths: [Int]
    /// The literal beginnings of synchronous routes with parameters: other requests skip the trie walk.
    let syncPrefixes: [String]
    let errorPage: ErrorPage?
    /// Every (method, pattern) registered, in order (the OpenAPI drift test reads them).
    package let routes: [(method: String, pattern: String)]
    /// Paths whose request bodies are streamed (see `RouterBuilder.streamRequestBodies`).
    let streamedPrefixes: [String]
    /// The literal beginnings of task-free routes: other requests skip asking.
    let laterPrefixes: [String]

    /// A class, not a struct: the server asks the router up to three times per request through an existential, and
    /// copying eleven fields (a retain and a release each) every time showed in profiles of the proxied GET.
    init(
        root: Node, middleware: [any Middleware], logger: Logger, syncFixed: [String: [String: Route]],
        syncFixedLengths: [Int], syncPrefixes: [String], errorPage: ErrorPage?,
        routes: [(method: String, pattern: String)], streamedPrefixes: [String], laterPrefixes: [String]
    ) {
        self.root = root
        self.middleware = middleware
        self.logger = logger
        self.syncFixed = syncFixed
        self.syncFixedLengths = syncFixedLengths
        self.syncPrefixes = syncPrefixes
        self.errorPage = errorPage
        self.routes = routes
        self.streamedPrefixes = streamedPrefixes
        self.laterPrefixes = laterPrefixes
    }

    package func respondLater(to request: Request, _ done: @escaping @Sendable (Response) -> Void) -> Bool {
        guard !laterPrefixes.isEmpty, Self.path(request.path, startsWithOneOf: laterPrefixes),
            case .success(let (route, params)) = lookup(request), let later = route.later
        else { return false }
        let context = RequestContext(request: request, route: route.pattern, parameters: params)
        let pattern = route.pattern  // captured alone, not the route with its three handlers
        return later(context) { result in
            var response: Response
            switch result {
            case .success(let r): response = r
            case .failure(let error): response = self.recovered(error, context)
            }
            response.route = pattern
            done(response)
        }
    }

    package func streamsRequestBody(method: String, target: String) -> Bool {
        Self.path(target[...], startsWithOneOf: streamedPrefixes)
    }

    /// Whether `path` begins with one of `prefixes`, compared as bytes in place (asked several times per request;
    /// the generic `starts(with:)` over string views cost hundreds of instructions each).
    static func path(_ path: Substring, startsWithOneOf prefixes: [String]) -> Bool {
        var path = path
        return path.withUTF8 { p in
            prefixes.contains { prefix in
                var prefix = prefix
                return prefix.withUTF8 { w in
                    guard w.count <= p.count else { return false }
                    for k in 0..<w.count where p[k] != w[k] { return false }
                    return true
                }
            }
        }
    }

    static func split(pattern: String) throws -> [Segment] {
        guard pattern.hasPrefix("/") else { throw RouteConflict(description: "pattern \(pattern) must start with /") }
        if pattern == "/" { return [] }
        return pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0 == "*" ? .rest : $0.hasPrefix(":") ? .parameter(String($0.dropFirst())) : .literal(String($0))
        }
    }

    /// Finds the node for a path; literal segments win over parameters, with backtracking. Works on the path's
    /// bytes in place: no array of segments, no String per segment (only for parameters).
    func match(_ path: Substring) -> (Node, [String: String])? {
        guard path.utf8.first == UInt8(ascii: "/") else { return nil }
        var params: [String: String] = [:]
        let walkBytes = { (buf: UnsafeBufferPointer<UInt8>) -> Node? in
            Self.walk(self.root, buf, buf.count == 1 ? nil : 1, &params)
        }
        var path = path
        let found = path.withUTF8(walkBytes)
        guard let node = found else { return nil }
        return (node, params)
    }

    /// `start` is where the next segment begins, or nil when the path has no segments left.
    private static func walk(
        _ node: Node, _ buf: UnsafeBufferPointer<UInt8>, _ start: Int?, _ params: inout [String: String]
    ) -> Node? {
        guard let start else { return node.routes.isEmpty ? node.rest.first ?? node : node }
        var end = start
        while end < buf.count && buf[end] != UInt8(ascii: "/") { end += 1 }
        let next: Int? = end < buf.count ? end + 1 : nil
        let seg = UnsafeBufferPointer(rebasing: buf[start..<end])
        for child in node.literalList where child.name.count == seg.count && child.name.elementsEqual(seg) {
            if let found = walk(child.node, buf, next, &params) { return found }
            break
        }
        if let name = node.parameterName, let child = node.parameter.first, !seg.isEmpty {
            let raw = String(decoding: seg, as: UTF8.self)
            params[name] = seg.contains(37) ? FormDecoding.percentDecode(raw[...], plusIsSpace: false) : raw
            if let found = walk(child, buf, next, &params) { return found }
            params[name] = nil
        }
        return node.rest.first
    }

    func lookup(_ request: Request) -> Result<(Route, [String: String]), GatehouseError> {
        guard let (node, params) = match(request.path), !node.routes.isEmpty else {
            return .failure(GatehouseError(.notFound, status: 404, "No such resource."))
        }
        if let r = node.route(for: request.method) {
            return .success((r, params))
        }
        var allowed = Set(node.routes.keys)
        if allowed.contains("GET") { allowed.insert("HEAD") }
        let allow = allowed.sorted().joined(separator: ", ")
        return .failure(
            GatehouseError(
                .methodNotAllowed, status: 405, "\(request.method) is not allowed here; use \(allow).",
                headers: [("Allow", allow)]))
    }

    /// The synchronous first attempt: a route with a `SyncHandler` answers here, on the caller's thread, or
    /// nil sends the request down `respond`.
    package func respondImmediately(to request: Request) -> Response? {
        if syncFixedLengths.contains(request.path.utf8.count), let byMethod = syncFixed[String(request.path)],
            let route = byMethod[request.method] ?? (request.method == "HEAD" ? byMethod["GET"] : nil),
            let sync = route.sync
        {
            return sync(RequestContext(request: request, route: route.pattern, parameters: [:])).map {
                answered($0, route)
            }
        }
        guard !syncPrefixes.isEmpty, Self.path(request.path, startsWithOneOf: syncPrefixes),
            case .success(let (route, params)) = lookup(request), let sync = route.sync
        else { return nil }
        return sync(RequestContext(request: request, route: route.pattern, parameters: params)).map {
            answered($0, route)
        }
    }

    private func answered(_ response: Response, _ route: Route) -> Response {
        var r = response
        r.route = route.pattern
        return r
    }

    package func respond(to request: Request) async -> Response {
        switch lookup(request) {
        case .failure(let e):
            return failure(e, request)
        case .success(let (route, params)):
            let context = RequestContext(request: request, route: route.pattern, parameters: params)
            // The async handler when there is one (the synchronous attempt already declined); a synchronous-only
            // route answers here too when called directly.
            var response: Response
            if let handler = route.handler {
                response = await run(context, handler)
            } else {
                response =
                    route.sync?(context)
                    ?? Response.error(.internalError(detail: "synchronous route declined: \(route.pattern)"))
            }
            response.route = route.pattern
            return response
        }
    }

    private func run(_ context: RequestContext, _ handler: @escaping Handler) async -> Response {
        var next: Handler = handler
        for m in middleware.reversed() {
            let inner = next
            next = { ctx in try await m.handle(ctx, next: inner) }
        }
        do {
            return try await next(context)
        } catch {
            return recovered(error, context)
        }
    }

    /// A handler's error as the answer: logged when it is ours to fix, then the router's refusal.
    private func recovered(_ error: any Error, _ context: RequestContext) -> Response {
        if let e = error as? GatehouseError {
            if e.status >= 500 {
                logger.error(
                    "request failed",
                    [
                        "request.id": .string(context.request.id), "error.code": .string(e.code.slug),
                        "error.detail": .string(e.detail ?? ""),
                    ])
            }
            return failure(e, context.request)
        } else {
            logger.error(
                "unhandled error",
                ["request.id": .string(context.request.id), "error.detail": .string(String(describing: error))])
            return failure(.internalError(detail: nil), context.request)
        }
    }

    /// The router's own refusals: a page for a browser when the app has one, else the JSON error shape.
    private func failure(_ e: GatehouseError, _ request: Request) -> Response {
        if let errorPage, ErrorPage.wantsHTML(request), let page = errorPage.render(e, request) {
            var r = page
            for (k, v) in e.headers where r.headers[k] == nil { r.headers.add(k, v) }
            return r
        }
        return Response.error(e)
    }
}

/// Renders a refusal as a page for a browser. Content negotiation is decided here, once: a browser navigating
/// (`GET`/`HEAD` whose `Accept` names `text/html`) outside the JSON APIs gets the page; everything else —
/// `/api/`, `/internal/`, `/scim/`, an `Accept` without HTML, any other method — keeps JSON.
package struct ErrorPage: Sendable {
    package let render: @Sendable (GatehouseError, Request) -> Response?
    package init(render: @escaping @Sendable (GatehouseError, Request) -> Response?) { self.render = render }

    package static func wantsHTML(_ request: Request) -> Bool {
        guard request.method == "GET" || request.method == "HEAD" else { return false }
        let path = request.path
        if path.hasPrefix("/api/") || path.hasPrefix("/internal/") || path.hasPrefix("/scim/") { return false }
        guard let accept = request.headers["accept"]?.lowercased() else { return false }
        return accept.contains("text/html")
    }
}
