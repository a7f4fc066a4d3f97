import Crypto
import GatehouseCore
import HTTP
import Store
import Web

/// `/healthz` (the process answers; served on the event loop, no task) and `/readyz` (every store answers a read).
enum HealthRoutes {
    /// `/metrics` in Prometheus' text format, behind a bearer token (see `Metrics`); 404 without one configured.
    static func metrics(on builder: RouterBuilder, token: String?) {
        builder.get("/metrics") { ctx in
            guard let token else { throw GatehouseError.notFound() }
            let presented = ctx.request.headers["authorization"].map { Array($0.utf8) } ?? []
            guard ConstantTime.equals(presented, Array("Bearer \(token)".utf8)) else {
                var r = Response.error(GatehouseError.unauthenticated("Metrics need `Authorization: Bearer <token>`."))
                r.headers.set("WWW-Authenticate", "Bearer")
                return r
            }
            return Response(
                status: 200,
                headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store"],
                body: Array(await Metrics.shared.render().utf8))
        }
    }

    static func register(on builder: RouterBuilder, stores: [(String, Database)]) {
        let ok = Array("ok".utf8)
        builder.sync("GET", "/healthz") { _ in
            Response(status: 200, headers: ["Content-Type": "text/plain; charset=utf-8"], body: ok)
        }
        builder.get("/readyz") { _ in
            var failing: [String] = []
            for (name, db) in stores {
                do { _ = try await db.read { try $0.first("SELECT 1") } } catch { failing.append(name) }
            }
            if failing.isEmpty { return Response.text("ready") }
            return Response.error(
                GatehouseError(
                    .unavailable, status: 503, "Not ready: \(failing.joined(separator: ", ")) store unavailable."))
        }
    }
}
