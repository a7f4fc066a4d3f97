import Foundation

/// SCIM's discovery resources (RFC 7643 §5–7): what this server supports, its resource types and the schemas of
/// the attributes it keeps.
enum SCIMDiscovery {
    static func list(_ resources: [[String: Any]]) -> [String: Any] {
        [
            "schemas": [RegionService.scimList], "totalResults": resources.count, "startIndex": 1,
            "itemsPerPage": resources.count, "Resources": resources,
        ]
    }

    static func serviceProviderConfig(_ base: String) -> [String: Any] {
        [
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://github.com/gatehouse/gatehouse#scim",
            "patch": ["supported": true], "bulk": ["supported": false, "maxOperations": 0, "maxPayloadSize": 0],
            "filter": ["supported": true, "maxResults": 1000], "changePassword": ["supported": false],
            "sort": ["supported": false], "etag": ["supported": true],
            "authenticationSchemes": [
                [
                    "type": "oauthbearertoken", "name": "SCIM token",
                    "description": "An org SCIM token (Console → SSO → SCIM tokens): Authorization: Bearer ghs_…",
                    "primary": true,
                ]
            ],
            "meta": ["resourceType": "ServiceProviderConfig", "location": "\(base)/ServiceProviderConfig"],
        ]
    }

    static func resourceTypes(_ base: String) -> [[String: Any]] {
        [
            [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "User", "name": "User",
                "endpoint": "/Users", "description": "A member of the organization", "schema": RegionService.scimUser,
                "schemaExtensions": [
                    ["schema": RegionService.scimGatehouse, "required": true],
                    ["schema": RegionService.scimEnterprise, "required": false],
                ],
                "meta": ["resourceType": "ResourceType", "location": "\(base)/ResourceTypes/User"],
            ],
            [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"], "id": "Group", "name": "Group",
                "endpoint": "/Groups", "description": "A role of the organization (built-in or custom)",
                "schema": RegionService.scimGroup,
                "meta": ["resourceType": "ResourceType", "location": "\(base)/ResourceTypes/Group"],
            ],
        ]
    }

    static func attribute(
        _ name: String, _ type: String = "string", multi: Bool = false, required: Bool = false,
        caseExact: Bool = false, mutability: String = "readWrite", returned: String = "default",
        uniqueness: String = "none", sub: [[String: Any]]? = nil, canonical: [String]? = nil,
        referenceTypes: [String]? = nil
    ) -> [String: Any] {
        var a: [String: Any] = [
            "name": name, "type": type, "multiValued": multi, "description": name, "required": required,
            "caseExact": caseExact, "mutability": mutability, "returned": returned, "uniqueness": uniqueness,
        ]
        if let sub { a["subAttributes"] = sub }
        if let canonical { a["canonicalValues"] = canonical }
        if let referenceTypes { a["referenceTypes"] = referenceTypes }
        return a
    }

    static func schemas(_ base: String) -> [[String: Any]] {
        let user: [[String: Any]] = [
            attribute("userName", required: true, uniqueness: "server"),
            attribute(
                "name", "complex",
                sub: [attribute("givenName"), attribute("familyName")]),
            attribute("displayName", mutability: "readOnly"),
            // The person's address is their account's: given once, when the member is made.
            attribute(
                "emails", "complex", multi: true, required: true, mutability: "immutable",
                sub: [
                    attribute("value", required: true), attribute("type", canonical: ["work"]),
                    attribute("primary", "boolean"),
                ]),
            attribute("active", "boolean", required: true),
            attribute(
                "groups", "complex", multi: true, mutability: "readOnly",
                sub: [
                    attribute("value", mutability: "readOnly"), attribute("display", mutability: "readOnly"),
                    attribute("$ref", "reference", mutability: "readOnly", referenceTypes: ["Group"]),
                    attribute("type", mutability: "readOnly", canonical: ["direct"]),
                ]),
        ]
        let group: [[String: Any]] = [
            attribute("displayName", required: true),
            attribute(
                "members", "complex", multi: true,
                sub: [
                    attribute("value", mutability: "immutable"), attribute("display", mutability: "readOnly"),
                    attribute("$ref", "reference", mutability: "immutable", referenceTypes: ["User"]),
                    attribute("type", mutability: "immutable", canonical: ["User"]),
                ]),
        ]
        let gatehouse: [[String: Any]] = [
            // Each always has a value (a default when none was given): "required", never unassigned.
            attribute("userVariables", "complex", required: true, sub: []),
            attribute("startingPage", required: true, canonical: ["studio", "console", "portal", "agent_console"]),
            attribute("ssoOnly", "boolean", required: true),
        ]
        let enterprise: [[String: Any]] = [
            attribute("employeeNumber"), attribute("costCenter"), attribute("organization"), attribute("division"),
            attribute("department"),
            attribute(
                "manager", "complex",
                sub: [
                    attribute("value"), attribute("$ref", "reference", referenceTypes: ["User"]),
                    attribute("displayName", mutability: "readOnly"),
                ]),
        ]
        func schema(_ id: String, _ name: String, _ attributes: [[String: Any]]) -> [String: Any] {
            [
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"], "id": id, "name": name,
                "description": name, "attributes": attributes,
                "meta": ["resourceType": "Schema", "location": "\(base)/Schemas/\(id)"],
            ]
        }
        return [
            schema(RegionService.scimUser, "User", user), schema(RegionService.scimGroup, "Group", group),
            schema(RegionService.scimGatehouse, "Gatehouse user", gatehouse),
            schema(RegionService.scimEnterprise, "Enterprise user", enterprise),
        ]
    }
}
