import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The key of a remembered region-API read (`ResponseCache`): the whole `Caller` (account, email, name, how
/// they signed in, the org or app a key is limited to) and the raw request target. Two callers never share an
/// answer, and a region read depends on nothing else of the request (no other header reaches a GET handler).
struct RegionReadKey: Hashable, Sendable {
    let caller: Caller
    let target: String

    /// `/api/v1/orgs/<org>/…` → the org (a hit notes the caller's activity in it, as the read would have).
    static func org(inPath path: Substring) -> OrgID? {
        let prefix = "/api/v1/orgs/"
        guard path.hasPrefix(prefix) else { return nil }
        return OrgID(String(path.dropFirst(prefix.count).prefix { $0 != "/" }))
    }
}
