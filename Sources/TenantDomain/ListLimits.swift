/// How many entries each list in a request may hold.
///
/// Why one table: the region's checks and the OpenAPI document both read it, so the document never describes a
/// bound the server does not keep. schemathesis sends one entry more than a documented `maxItems` and expects a
/// refusal; a role request with 501 copies of one permission was once accepted (the server removed duplicates
/// before it counted). Every list is counted as sent, duplicates included.
package enum ListLimits {
    /// Addresses in one invite request (the region's default; `RegionSettings` may lower it).
    package static let invites = 10_000
    /// Members in one bulk action or copy (the region's default; `RegionSettings` may lower it).
    package static let bulkMembers = 10_000
    /// Addresses or members in one agency grant or revocation.
    package static let agencyPeople = 500
    /// Apps in one agency grant or revocation.
    package static let agencyApps = 50
    /// Role ids in one request (an invite's, a member's, a bulk change's).
    package static let roles = 100
    /// Permissions of one custom role: each permission at most once in spirit, counted as sent.
    package static var permissions: Int { Permission.allCases.count }
    /// Mail domains of one agency.
    package static let agencyDomains = 20
    /// An app's access rule: org roles, app roles, conditions, and values of one `one_of` condition.
    package static let ruleRoles = 20
    package static let ruleAppRoles = 3
    package static let ruleConditions = 20
    package static let ruleValues = 50
}
