import GatehouseCore
import Tenant
import TenantAPI
import TenantDomain
import Web

/// A `CallerProvider` for tests and tools that reads `X-Test-Caller: <account>|<email>|<name>|<region-admin>`.
/// - Warning: it trusts the header; never install it on a network-facing server.
package enum UnverifiedTestCaller {
    package static let header = "X-Test-Caller"

    package static let provider: CallerProvider = { ctx in
        guard let raw = ctx.request.headers[header] else { throw GatehouseError.unauthenticated() }
        let p = raw.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard p.count >= 2, !p[0].isEmpty else { throw GatehouseError.unauthenticated() }
        return Caller(
            accountID: p[0], email: p[1], displayName: p.count > 2 ? p[2] : "",
            regionAdminOf: p.count > 3 ? Region(rawValue: p[3]) : nil,
            authMethod: p.count > 4 ? AuthMethod(wire: p[4]) ?? .password : .password)
    }

    package static func value(_ c: Caller) -> String {
        "\(c.accountID)|\(c.email)|\(c.displayName)|\(c.regionAdminOf?.rawValue ?? "")|\(c.authMethod.wire)"
    }
}
