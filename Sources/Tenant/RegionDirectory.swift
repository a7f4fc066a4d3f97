import GatehouseCore
import TenantAPI
import TenantDomain

/// The region services reachable from here, keyed by region. Routing is a pure function of the org id: the
/// region is read from the id, so no lookup is needed (and an id naming no known region is simply unknown).
package struct RegionDirectory: Sendable {
    package let services: [Region: RegionService]
    package init(_ services: [RegionService]) {
        var d: [Region: RegionService] = [:]
        for s in services { d[s.region] = s }
        self.services = d
    }

    /// The service holding `orgID`, or the same 404 an unknown org gets.
    package func service(forOrg orgID: String) throws -> RegionService {
        guard let id = OrgID(orgID), let s = services[id.region] else { throw Refusal.notFound.error }
        return s
    }

    package func service(forRegion region: String) throws -> RegionService {
        guard let r = Region(rawValue: region), let s = services[r] else {
            throw GatehouseError.notFound("No such region.")
        }
        return s
    }
}
