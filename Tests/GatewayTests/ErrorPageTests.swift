import Foundation
import GatehouseCore
import HTTP
import Testing
import Web

/// Browsers get a page with a way back for the router's refusals; JSON clients keep JSON. The oracle is the
/// rule itself, written out: a page exactly when the method is GET or HEAD, the path is outside `/api/`,
/// `/internal/` and `/scim/`, and `Accept` names `text/html`.
@Suite("Error pages: content negotiation")
struct ErrorPageTests {
    static let browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

    @Test func pagesForBrowsersJSONForClients() async throws {
        let f = try GatewayFixture()
        let accepts: [String?] = [Self.browserAccept, "application/json", "*/*", nil]
        let cases: [(String, String, Int)] = [
            ("GET", "/no/such/page", 404),
            ("HEAD", "/no/such/page", 404),
            ("GET", "/api/v1/no/such/thing", 404),
            ("GET", "/api/v1/me", 401),
            ("DELETE", "/login", 405),
            ("GET", "/internal/v1/overview", 404),
        ]
        for (method, path, status) in cases {
            for accept in accepts {
                var h: HTTPHeaders = ["Host": "test"]
                if let accept { h.set("Accept", accept) }
                let r = await f.app.router.respond(to: Request(method: method, target: path, headers: h, id: "ep-1"))
                let page =
                    (method == "GET" || method == "HEAD") && !path.hasPrefix("/api/") && !path.hasPrefix("/internal/")
                    && accept?.contains("text/html") == true
                #expect(r.status == status, "\(method) \(path) \(accept ?? "-")")
                let type = r.headers["Content-Type"] ?? ""
                #expect(type.hasPrefix(page ? "text/html" : "application/json"), "\(method) \(path) \(accept ?? "-")")
                if page {
                    #expect(r.bodyText.contains("href=\"/\""), "a way back")
                    #expect(!r.bodyText.contains("\"error\""), "no JSON inside")
                }
            }
        }
        // A 405 keeps its Allow header on either path.
        let r = await f.app.router.respond(
            to: Request(method: "DELETE", target: "/login", headers: ["Host": "t", "Accept": Self.browserAccept]))
        #expect(r.headers["Allow"] != nil)
    }
}
