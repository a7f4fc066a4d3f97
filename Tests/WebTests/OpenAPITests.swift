import App
import Foundation
import GatehouseTesting
import Gateway
import Testing
import Web

/// The OpenAPI document against the routers: every JSON route under /api/v1 (the gateway's and a region's tenant
/// API) is in the document with its method, and the document names no route that does not exist. The forwarding
/// wildcards (the gateway hands /api/v1/orgs/:org/* and /api/v1/regions/:region/* to the region) are not routes a
/// client calls; SCIM is described by its own schema endpoints.
@Suite("OpenAPI document")
struct OpenAPITests {
    static func routes(_ role: GatehouseApp.Role) throws -> Set<String> {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-oa-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = GatehouseConfig()
        c.dataDirectory = dir
        let app = try GatehouseApp(config: c, role: role, logSink: .discard, startBackground: false)
        return Set(
            app.router.routes.filter { $0.pattern.hasPrefix("/api/v1/") && !$0.pattern.hasSuffix("/*") }.map {
                "\($0.method) \($0.pattern)"
            })
    }

    @Test func theDocumentNamesEveryRouteAndNoOther() throws {
        let served = try Self.routes(.allInOne).union(try Self.routes(.region(.eu)))
        let documented = Set(OpenAPIDocument.routes.map { "\($0.method) \($0.pattern)" })
        #expect(served.count >= 80)
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
    }

    @Test func theDocumentIsServedAndIsOpenAPI31() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-oa-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = GatehouseConfig()
        c.dataDirectory = dir
        let app = try GatehouseApp(config: c, logSink: .discard, startBackground: false)
        let r = await TestClient(app.router).send("GET", "/api/v1/openapi.json")
        #expect(r.status == 200 && r.headers["Content-Type"] == "application/json")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        #expect(paths["/api/v1/orgs/{org}/members/{member}"]?["patch"] != nil)
        #expect(paths.keys.allSatisfy { !$0.contains(":") })
    }
}
