import Foundation
import GatehouseTesting
import Gateway
import TenantDomain
import Testing

/// Every list the OpenAPI document bounds (`maxItems`) is refused one entry over its bound, with a reason that
/// names the bound, even when every entry is one valid value repeated: the region once removed duplicates before
/// it counted, and schemathesis found a role made of 501 copies of permissions (ST201, "schema-violating request
/// accepted"). The cases are checked against the document's own list of bounds, so a bound added to the document
/// without a case here fails.
@Suite("List limits: every bound in the document is the server's")
struct ListLimitTests {
    /// A JSON list of `n` copies of `item` (already JSON).
    static func many(_ item: String, _ n: Int) -> String {
        "[" + Array(repeating: item, count: n).joined(separator: ",") + "]"
    }

    /// A request body with the list at `n` entries, per "METHOD pattern field" of `OpenAPIDocument.boundedLists`.
    static let bodies: [String: @Sendable (Int) -> String] = {
        let org = "/api/v1/orgs/:org"
        let present = #"{"variable":"team","op":"present","values":[]}"#
        let rule: [(String, @Sendable (Int) -> String)] = [
            ("rule.roles", { #"{"roles":\#(many(#""member""#, $0)),"appRoles":[],"conditions":[]}"# }),
            ("rule.appRoles", { #"{"roles":[],"appRoles":\#(many(#""viewer""#, $0)),"conditions":[]}"# }),
            ("rule.conditions", { #"{"roles":[],"appRoles":[],"conditions":\#(many(present, $0))}"# }),
            (
                "rule.conditions[].values",
                {
                    let oneOf = #"{"variable":"team","op":"one_of","values":\#(many(#""blue""#, $0))}"#
                    return #"{"roles":[],"appRoles":[],"conditions":[\#(oneOf)]}"#
                }
            ),
        ]
        var b: [String: @Sendable (Int) -> String] = [:]
        for (field, make) in rule { b["PATCH \(org)/apps/:app \(field)"] = { #"{"rule":\#(make($0))}"# } }
        b["POST \(org)/roles permissions"] = { #"{"name":"Big","permissions":\#(many(#""org.view""#, $0))}"# }
        b["PATCH \(org)/roles/:role permissions"] = { #"{"name":"Big","permissions":\#(many(#""org.view""#, $0))}"# }
        b["POST \(org)/invites emails"] = { #"{"emails":\#(many(#""x@example.com""#, $0)),"roles":["member"]}"# }
        b["POST \(org)/invites roles"] = { #"{"emails":["x@example.com"],"roles":\#(many(#""member""#, $0))}"# }
        b["POST \(org)/members/bulk members"] = { #"{"action":"remove","members":\#(many(#""mia""#, $0))}"# }
        b["POST \(org)/members/bulk roles"] = {
            #"{"action":"change_roles","members":["mia"],"roles":\#(many(#""member""#, $0))}"#
        }
        b["POST \(org)/members/copy members"] = { #"{"members":\#(many(#""mia""#, $0))}"# }
        b["PATCH \(org)/members/:member roles"] = { #"{"roles":\#(many(#""member""#, $0))}"# }
        b["POST \(org)/agencies/:agency/grants apps"] = {
            #"{"apps":\#(many(#""portal""#, $0)),"role":"viewer","emails":["x@example.com"]}"#
        }
        b["POST \(org)/agencies/:agency/grants emails"] = {
            #"{"apps":["portal"],"role":"viewer","emails":\#(many(#""x@example.com""#, $0))}"#
        }
        b["POST \(org)/agencies/:agency/revoke members"] = { #"{"members":\#(many(#""mia""#, $0))}"# }
        b["POST \(org)/agencies/:agency/revoke apps"] = { #"{"members":["mia"],"apps":\#(many(#""portal""#, $0))}"# }
        b["POST \(org)/agency-requests domains"] = { #"{"name":"Big","domains":\#(many(#""agency.example""#, $0))}"# }
        let region = "/api/v1/regions/:region"
        b["POST \(region)/agencies domains"] = { #"{"name":"Big","domains":\#(many(#""agency.example""#, $0))}"# }
        b["PATCH \(region)/agencies/:agency domains"] = { #"{"domains":\#(many(#""agency.example""#, $0))}"# }
        return b
    }()

    @Test func everyBoundInTheDocumentHasACase() {
        let documented = Set(OpenAPIDocument.boundedLists.map { "\($0.method) \($0.pattern) \($0.field)" })
        #expect(documented.count >= 19)
        #expect(documented.subtracting(Self.bodies.keys).sorted() == [], "bounded in the document, no case here")
        #expect(Set(Self.bodies.keys).subtracting(documented).sorted() == [], "a case for a bound not documented")
    }

    @Test func everyListOneOverItsBoundIsRefusedWithTheBound() async throws {
        let w = try await AppGateTests.world()
        let ops = w.f.browser("10.30.0.1")
        #expect(
            await ops.call("POST", "/api/v1/auth/login", #"{"email":"ops@x.test","password":"operator-pass-1"}"#)
                .status == 200)
        let role = await w.olga.call(
            "POST", "/api/v1/orgs/\(w.org)/roles", #"{"name":"Auditors","permissions":["audit.view"]}"#)
        let roleID = try #require(role.json["id"] as? String, "\(role.body)")
        let params = [
            ":org": w.org, ":app": w.app, ":role": roleID, ":member": w.miaID, ":agency": "agy_none", ":region": "eu",
        ]
        let before = try w.f.service(.eu).db.readNow { try $0.first("SELECT count(*) FROM audit_events")?.int(0) }
        for list in OpenAPIDocument.boundedLists {
            let key = "\(list.method) \(list.pattern) \(list.field)"
            guard let body = Self.bodies[key] else { continue }
            let path = list.pattern.split(separator: "/", omittingEmptySubsequences: false).map {
                params[String($0)] ?? String($0)
            }.joined(separator: "/")
            let caller = list.pattern.hasPrefix("/api/v1/regions/") ? ops : w.olga
            let r = await caller.call(list.method, path, body(list.max + 1))
            #expect((400..<500).contains(r.status), "\(key): \(r.status) \(r.body.prefix(300))")
            #expect(r.body.contains(String(list.max)), "\(key): the refusal names the bound: \(r.body.prefix(300))")
        }
        let after = try w.f.service(.eu).db.readNow { try $0.first("SELECT count(*) FROM audit_events")?.int(0) }
        #expect(before == after, "a refused list changes nothing")
    }
}
