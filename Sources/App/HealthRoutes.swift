import GatehouseCore
import HTTP
import Store
import Web

/// `/healthz` (the process answers; served on the event loop, no task) and `/readyz` (every store answers a read).
enum HealthRoutes {
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
