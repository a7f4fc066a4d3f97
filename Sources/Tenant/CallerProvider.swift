import TenantAPI
import Web

/// Establishes the caller for a request, or throws 401.
public typealias CallerProvider = @Sendable (RequestContext) async throws -> Caller
