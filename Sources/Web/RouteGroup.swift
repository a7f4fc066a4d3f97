import GatehouseCore
import HTTP

/// Routes under one prefix that share middleware: what every handler of the group needs (who calls, which org)
/// is resolved once, by the middleware, and put in the context — not repeated at the top of each handler.
package struct RouteGroup {
    let builder: RouterBuilder
    let prefix: String
    let middleware: [any Middleware]

    package func on(_ method: String, _ path: String, _ handler: @escaping Handler) {
        builder.on(method, prefix + path, compose(handler))
    }

    package func get(_ p: String, _ h: @escaping Handler) { on("GET", p, h) }
    package func post(_ p: String, _ h: @escaping Handler) { on("POST", p, h) }
    package func put(_ p: String, _ h: @escaping Handler) { on("PUT", p, h) }
    package func patch(_ p: String, _ h: @escaping Handler) { on("PATCH", p, h) }
    package func delete(_ p: String, _ h: @escaping Handler) { on("DELETE", p, h) }
    /// Every method (forwarding).
    package func any(_ p: String, _ h: @escaping Handler) { on("*", p, h) }

    /// A route whose synchronous first attempt runs without the group's middleware (so it must establish what
    /// the middleware would, or decline), and whose async handler runs with it.
    package func sync(_ method: String, _ path: String, _ sync: @escaping SyncHandler, else handler: @escaping Handler)
    {
        builder.sync(method, prefix + path, sync, else: compose(handler))
    }

    /// The group's middleware around `handler`, first listed outermost.
    func compose(_ handler: @escaping Handler) -> Handler {
        middleware.reversed().reduce(handler) { next, m in { ctx in try await m.handle(ctx, next: next) } }
    }
}

extension RouterBuilder {
    /// A group of routes under `prefix` (a pattern, e.g. `/api/v1/orgs/:org`) sharing `middleware`.
    package func group(_ prefix: String, _ middleware: any Middleware...) -> RouteGroup {
        RouteGroup(builder: self, prefix: prefix, middleware: middleware)
    }
}
