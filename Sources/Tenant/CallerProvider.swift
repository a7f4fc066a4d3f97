import TenantAPI
import Web

/// Establishes the caller for a request, or throws 401.
package typealias CallerProvider = @Sendable (RequestContext) async throws -> Caller
