import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// `/scim/v2/orgs/:org/…`: an org's directory provisioning its members. The gateway checks the SCIM token (its
/// region says whether it is live and whose it is: a token of one org is nothing anywhere else, an API key is not a
/// token) and forwards to the org's region as that token.
///
/// Creating a user needs an account, which the gateway keeps: it finds the one for `userName` or makes one without
/// a password (the person signs in by SSO, or sets a password through "forgot password", which proves the address).
/// An existing account is linked only when the org has proved the address's domain (SSO settings → domains): a
/// directory vouches for its own domain, not for anyone's account.
package enum SCIMGatewayRoutes {
    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.any("/scim/v2/orgs/:org/*") { ctx in
            do {
                let org = try ctx.parameter("org")
                guard OrgID(org) != nil else { throw SCIMError(404, nil, "No such organization.") }
                let identity = try await token(g, ctx, org: org)
                let tenant = try g.regions.tenant(forOrg: org)
                var request = ctx.request
                let path = String(request.path)
                if request.method == "POST" && path.hasSuffix("/Users") {
                    let account = try await account(g, org: org, body: request.body)
                    // The only `account` the region reads: set here, whatever the client sent.
                    request.target = path + "?account=" + FormDecoding.percentEncode(account)
                }
                return try await g.forward(request, to: tenant, caller: .scim(identity))
            } catch let e as SCIMError {
                return e.response
            } catch let e as GatehouseError {
                return SCIMError(e.status, nil, e.message).response
            }
        }
    }

    /// The live SCIM token of `org` in the Authorization header, or 401.
    static func token(_ g: GatewayService, _ ctx: RequestContext, org: String) async throws -> SCIMTokenIdentity {
        guard let auth = ctx.request.headers["authorization"], auth.hasPrefix("Bearer ghs_") else {
            throw SCIMError(
                401, nil, "Use `Authorization: Bearer <SCIM token>` (an org's SCIM token; an API key is not one).")
        }
        let token = String(auth.dropFirst(7))
        let region = token.split(separator: "_", maxSplits: 2).dropFirst().first.map(String.init) ?? ""
        guard let tenant = try? g.regions.tenant(forRegion: region),
            let identity = try await tenant.authenticateSCIMToken(token), identity.org == org
        else {
            throw SCIMError(401, nil, "This SCIM token is not valid for this organization (it may have been revoked).")
        }
        return identity
    }

    /// The account for a new SCIM user: found (when the org proved its domain) or made without a password.
    static func account(_ g: GatewayService, org: String, body: [UInt8]) async throws -> String {
        guard let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw SCIMError(400, "invalidSyntax", "The body must be a JSON object.")
        }
        guard o.scim("userName") is String else { throw SCIMError(400, "invalidValue", "`userName` is required.") }
        guard let email = SCIMAddress.email(in: o) else {
            throw SCIMError(
                400, "invalidValue", "Give the person's email address: as `userName`, or in `emails` (primary or work)."
            )
        }
        if let existing = try await g.accounts.find(email: email) {
            let domain = String(email.split(separator: "@").last ?? "")
            guard try await g.trust.verifiedOrg(forDomain: domain) == org else {
                throw SCIMError(
                    409, "uniqueness",
                    "\(email) already has a Gatehouse account. Prove the domain \(domain) (SSO settings → domains) to"
                        + " provision it, or invite the person instead.")
            }
            return existing.id
        }
        let name = o.scim("name") as? [String: Any] ?? [:]
        let first = name.scim("givenName") as? String ?? ""
        let last = name.scim("familyName") as? String ?? ""
        do {
            return try await g.accounts.create(email: email, firstName: first, lastName: last, password: nil).id
        } catch let e as GatehouseError {
            throw SCIMError(400, "invalidValue", e.message)
        }
    }
}
