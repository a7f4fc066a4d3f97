import Foundation
import Gateway
import HTTP
import TenantAPI
import Web

/// What the console pages share besides the layout: asking a region as the signed-in person, and reading
/// the key/value rows of user variables from a form.
enum ConsoleForms {
    /// A region-API request (JSON body when given) forwarded as `caller`, with the page request's id.
    static func forward(
        _ g: GatewayService, _ tenant: any RegionTenant, _ method: String, _ target: String, body: (some Encodable)?,
        ctx: RequestContext, caller: Caller
    ) async throws -> Response {
        var headers: HTTPHeaders = ["Host": "gatehouse"]
        var bytes: [UInt8] = []
        if let body {
            bytes = Array(try JSONCoding.encoder().encode(body))
            headers.set("Content-Type", "application/json")
        }
        return try await g.forward(
            Request(
                method: method, target: target, headers: headers, body: bytes,
                id: ctx.request.id, remoteAddress: ctx.request.remoteAddress), to: tenant, caller: caller)
    }

    /// `varKey`/`varValue` rows, in order; rows with an empty name are skipped.
    static func variables(_ form: [(String, String)]) -> [String: String] {
        let keys = form.filter { $0.0 == "varKey" }.map { $0.1.trimmingCharacters(in: .whitespaces) }
        let values = form.filter { $0.0 == "varValue" }.map(\.1)
        var vars: [String: String] = [:]
        for (i, k) in keys.enumerated() where !k.isEmpty { vars[k] = i < values.count ? values[i] : "" }
        return vars
    }
}

/// One option of a select, a checkbox list or a radio group in a page model: its value, its label, whether it is
/// chosen.
struct Choice: Equatable {
    let value: String
    let label: String
    let selected: Bool
    /// A one-line description shown beside the label (roles say what they let someone do).
    var detail = ""
}
