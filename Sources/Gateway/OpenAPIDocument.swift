import GatehouseCore
import TenantDomain

/// The OpenAPI 3.1 document of every JSON route under `/api/v1` (the gateway's own, SSO settings, and the regions'
/// tenant API the gateway forwards), served at `/api/v1/openapi.json`. SCIM has its own schema endpoints.
///
/// Why a table here and not generated from the handlers: handlers decode their bodies with `Decodable` types Swift
/// cannot list without an instance. The table is checked instead: a test compares its paths and methods with the
/// routers' (`OpenAPITests`), so a route added without its entry, or an entry without its route, fails the build's
/// tests; schemathesis then checks the answers against it over a real socket.
package enum OpenAPIDocument {
    /// A JSON value written in order (readable diffs, stable bytes).
    indirect enum J {
        case s(String)
        case i(Int)
        case b(Bool)
        case a([J])
        case o([(String, J)])

        var text: String {
            switch self {
            case .s(let v): return JSONText.quote(v)
            case .i(let v): return String(v)
            case .b(let v): return v ? "true" : "false"
            case .a(let v): return "[" + v.map(\.text).joined(separator: ",") + "]"
            case .o(let v): return "{" + v.map { JSONText.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
            }
        }
    }

    // MARK: - Schemas

    static let str = J.o([("type", .s("string"))])
    static let bool = J.o([("type", .s("boolean"))])
    static let int = J.o([("type", .s("integer"))])
    static let any = J.o([])
    static let anyObject = J.o([("type", .s("object"))])
    static func arr(_ items: J) -> J { .o([("type", .s("array")), ("items", items)]) }
    static func ref(_ name: String) -> J { .o([("$ref", .s("#/components/schemas/\(name)"))]) }
    static let strings = arr(str)
    static let stringMap = J.o([("type", .s("object")), ("additionalProperties", str)])
    static let appRole = J.o([("type", .s("string")), ("enum", .a(["viewer", "editor", "admin"].map { .s($0) }))])
    static func text(_ min: Int, _ max: Int) -> J {
        // At least one visible character, no control characters (the API trims and refuses those).
        .o([
            ("type", .s("string")), ("minLength", .i(min)), ("maxLength", .i(max)),
            ("pattern", .s("^[^\\u0000-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u001f\\u007f]*$")),
        ])
    }
    /// A person's name: may be empty, never control characters.
    static let personName = J.o([
        ("type", .s("string")), ("maxLength", .i(100)), ("pattern", .s("^[^\\u0000-\\u001f\\u007f]*$")),
    ])
    /// An address the API accepts (a plain subset of `Email.isValid`: what a client should send).
    static let email = J.o([
        ("type", .s("string")), ("maxLength", .i(254)),
        ("pattern", .s("^[A-Za-z0-9_+-]{1,32}(\\.[A-Za-z0-9_+-]{1,16})?@([A-Za-z0-9]{1,20}\\.){1,3}[A-Za-z]{2,10}$")),
    ])
    static let password = J.o([("type", .s("string")), ("minLength", .i(10)), ("maxLength", .i(1024))])
    /// A list and its bound: every bound is one the region keeps (`ListLimits`), so none has a default.
    static func list(_ items: J, min: Int = 0, max: Int) -> J {
        .o([("type", .s("array")), ("items", items), ("minItems", .i(min)), ("maxItems", .i(max))])
    }
    static func oneOf(_ values: [String]) -> J { .o([("type", .s("string")), ("enum", .a(values.map { .s($0) }))]) }
    static let limit = J.o([("type", .s("integer")), ("minimum", .i(1)), ("maximum", .i(200))])
    /// Addresses as a list or as one text (the API also reads a pasted text of many).
    static func emails(max: Int) -> J { J.o([("oneOf", .a([list(email, min: 1, max: max), email]))]) }
    static func members(max: Int) -> J { list(str, min: 1, max: max) }
    static let roleIDs = list(str, max: ListLimits.roles)
    static let permissions = list(
        oneOf(Permission.allCases.map(\.rawValue)), min: 1, max: ListLimits.permissions)
    /// A plain mail domain (example.com).
    static let domain = J.o([
        ("type", .s("string")), ("maxLength", .i(253)),
        ("pattern", .s("^([a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?\\.){1,4}[a-z]{2,20}$")),
    ])
    static let domains = list(domain, min: 1, max: ListLimits.agencyDomains)
    static let slug = J.o([("type", .s("string")), ("pattern", .s("^[a-z0-9][a-z0-9-]{0,62}$"))])

    /// An object with these properties, `required` of them present. The others may also be null (the API reads
    /// null as "not given": for a PATCH, unchanged).
    static func obj(_ props: [(String, J)], required: [String] = []) -> J {
        let props = props.map { name, schema in
            required.contains(name)
                ? (name, schema) : (name, J.o([("anyOf", .a([schema, .o([("type", .s("null"))])]))]))
        }
        var o: [(String, J)] = [("type", .s("object")), ("properties", .o(props))]
        if !required.isEmpty { o.append(("required", .a(required.map { .s($0) }))) }
        return .o(o)
    }

    static let error = obj(
        [
            (
                "error",
                obj(
                    [("code", str), ("message", str), ("field", str), ("details", any)], required: ["code", "message"])
            )
        ], required: ["error"])

    // MARK: - Operations

    struct Op {
        let method: String
        /// The router's pattern (`/api/v1/orgs/:org`); written with `{org}` in the document.
        let pattern: String
        let summary: String
        let tag: String
        var body: J? = nil
        var ok: [Int] = [200]
        var query: [(String, J)] = []
        /// Public: no session or key needed.
        var open = false
        /// The answer's content type when not JSON.
        var produces: String? = nil
    }

    static let login = obj(
        [("email", email), ("password", .o([("type", .s("string")), ("maxLength", .i(1024))]))],
        required: ["email", "password"])
    static let rule = obj(
        [
            ("roles", list(str, max: ListLimits.ruleRoles)), ("appRoles", list(appRole, max: ListLimits.ruleAppRoles)),
            (
                "conditions",
                list(
                    obj(
                        [
                            ("variable", str), ("op", oneOf(["equals", "one_of", "present"])),
                            ("values", list(str, max: ListLimits.ruleValues)),
                        ], required: ["variable", "op", "values"]), max: ListLimits.ruleConditions)
            ),
        ], required: ["roles", "appRoles", "conditions"])
    static let personFields: [(String, J)] = [
        ("firstName", personName), ("lastName", personName), ("userVariables", stringMap), ("startingPage", str),
        ("ssoOnly", bool),
    ]

    static let operations: [Op] = {
        let org = "/api/v1/orgs/:org"
        let region = "/api/v1/regions/:region"
        return [
            Op(method: "GET", pattern: "/api/v1/openapi.json", summary: "This document", tag: "Meta", open: true),
            // Sessions and accounts
            Op(
                method: "POST", pattern: "/api/v1/auth/login", summary: "Sign in with email and password",
                tag: "Sessions", body: login, open: true),
            Op(
                method: "POST", pattern: "/api/v1/auth/logout", summary: "Sign out this session", tag: "Sessions",
                ok: [204]),
            Op(
                method: "POST", pattern: "/api/v1/auth/logout-everywhere", summary: "End every session of the account",
                tag: "Sessions", ok: [204]),
            Op(
                method: "POST", pattern: "/api/v1/auth/password", summary: "Change the password", tag: "Sessions",
                body: obj(
                    [("currentPassword", str), ("newPassword", password)], required: ["currentPassword", "newPassword"])
            ),
            Op(
                method: "POST", pattern: "/api/v1/auth/password/forgot", summary: "Mail a password reset link",
                tag: "Sessions", body: obj([("email", email)], required: ["email"]), ok: [202], open: true),
            Op(
                method: "POST", pattern: "/api/v1/auth/password/reset", summary: "Set a password from a reset link",
                tag: "Sessions", body: obj([("token", str), ("password", password)], required: ["token", "password"]),
                open: true),
            Op(
                method: "POST", pattern: "/api/v1/auth/bootstrap", summary: "First operator: set the password",
                tag: "Sessions", body: obj([("token", str), ("password", password)], required: ["token", "password"]),
                open: true),
            Op(
                method: "GET", pattern: "/api/v1/me", summary: "Who is signed in, their orgs and invites",
                tag: "Sessions"),
            // Invites (the invitee's side)
            Op(
                method: "GET", pattern: "/api/v1/invites/:token", summary: "What an invite link offers",
                tag: "Invites", open: true),
            Op(
                method: "POST", pattern: "/api/v1/invites/:token/accept", summary: "Accept an invite", tag: "Invites",
                body: obj([("password", password), ("code", str), ("firstName", personName), ("lastName", personName)]),
                open: true),
            Op(
                method: "POST", pattern: "/api/v1/invites/:token/code", summary: "Mail a sign-in code for an invite",
                tag: "Invites", ok: [202], open: true),
            Op(
                method: "POST", pattern: "/api/v1/invites/:token/decline", summary: "Decline an invite",
                tag: "Invites", ok: [204], open: true),
            // Org
            Op(method: "GET", pattern: org, summary: "The org", tag: "Orgs"),
            Op(
                method: "PATCH", pattern: org, summary: "Rename the org", tag: "Orgs",
                body: obj([("name", text(1, 100))], required: ["name"])),
            Op(
                method: "DELETE", pattern: org, summary: "Delete the org (owner)", tag: "Orgs",
                body: obj([("confirmName", str)], required: ["confirmName"]), ok: [204]),
            Op(
                method: "POST", pattern: org + "/transfer", summary: "Transfer ownership", tag: "Orgs",
                body: obj([("email", email)], required: ["email"])),
            // Members
            Op(
                method: "GET", pattern: org + "/members", summary: "Members, searched, filtered, sorted, paged",
                tag: "Members",
                query: [
                    ("q", str), ("role", str), ("status", oneOf(["active", "inactive", "never"])),
                    ("sort", oneOf(["name", "apps", "last_active"])), ("order", oneOf(["asc", "desc"])),
                    ("cursor", str), ("limit", limit), ("agency", str),
                ]),
            Op(
                method: "POST", pattern: org + "/members/bulk", summary: "One action on many members", tag: "Members",
                body: obj(
                    [
                        (
                            "action",
                            .o([
                                ("type", .s("string")),
                                ("enum", .a(["change_roles", "remove", "grant_app", "revoke_app"].map { .s($0) })),
                            ])
                        ), ("members", members(max: ListLimits.bulkMembers)), ("roles", roleIDs), ("app", str),
                        ("appRole", appRole),
                    ], required: ["action", "members"]), ok: [200, 409]),
            Op(
                method: "POST", pattern: org + "/members/copy", summary: "Members' addresses, for copying",
                tag: "Members", body: obj([("members", list(str, max: ListLimits.bulkMembers))], required: ["members"]),
                produces: "text/plain"),
            Op(method: "GET", pattern: org + "/members/:member", summary: "One member", tag: "Members"),
            Op(
                method: "PATCH", pattern: org + "/members/:member", summary: "Change a member", tag: "Members",
                body: obj([("roles", roleIDs)] + personFields)),
            Op(
                method: "DELETE", pattern: org + "/members/:member", summary: "Remove a member (keys die at once)",
                tag: "Members", ok: [204]),
            Op(
                method: "GET", pattern: org + "/members/:member/permissions", summary: "What a member may do",
                tag: "Members"),
            // Invites (the org's side)
            Op(
                method: "POST", pattern: org + "/invites", summary: "Invite people by email", tag: "Invites",
                body: obj(
                    [
                        ("emails", emails(max: ListLimits.invites)),
                        ("roles", list(str, min: 1, max: ListLimits.roles)),
                        ("apps", arr(anyObject)),
                    ] + personFields,
                    required: ["emails", "roles"]), ok: [200, 201]),
            Op(
                method: "GET", pattern: org + "/invites", summary: "Pending invites", tag: "Invites",
                query: [
                    ("status", oneOf(["pending", "joined", "expired", "revoked"])), ("cursor", str), ("limit", limit),
                ]),
            Op(
                method: "POST", pattern: org + "/invites/:invite/resend", summary: "Send an invite again",
                tag: "Invites"),
            Op(
                method: "POST", pattern: org + "/invites/:invite/revoke", summary: "Revoke an invite", tag: "Invites",
                ok: [204]),
            Op(
                method: "GET", pattern: org + "/invites/:invite/link", summary: "An invite's link, to pass on",
                tag: "Invites"),
            // Roles
            Op(method: "GET", pattern: org + "/roles", summary: "Built-in and custom roles", tag: "Roles"),
            Op(
                method: "POST", pattern: org + "/roles", summary: "Create a custom role", tag: "Roles",
                body: obj([("name", text(1, 60)), ("permissions", permissions)], required: ["name", "permissions"]),
                ok: [201]),
            Op(
                method: "PATCH", pattern: org + "/roles/:role", summary: "Change a custom role", tag: "Roles",
                body: obj([("name", text(1, 60)), ("permissions", permissions)], required: ["name", "permissions"])),
            Op(
                method: "DELETE", pattern: org + "/roles/:role", summary: "Delete a custom role", tag: "Roles",
                ok: [204]),
            // Apps
            Op(method: "GET", pattern: org + "/apps", summary: "The org's apps", tag: "Apps"),
            Op(
                method: "POST", pattern: org + "/apps", summary: "Create an app", tag: "Apps",
                body: obj([("name", text(1, 100))], required: ["name"]), ok: [201]),
            Op(
                method: "PATCH", pattern: org + "/apps/:app", summary: "Name, slug, upstream, access rule",
                tag: "Apps", body: obj([("name", text(1, 100)), ("slug", slug), ("upstream", str), ("rule", rule)])),
            Op(method: "DELETE", pattern: org + "/apps/:app", summary: "Delete an app", tag: "Apps", ok: [204]),
            Op(
                method: "GET", pattern: org + "/apps/:app/export", summary: "The app's definition as a ZIP file",
                tag: "Apps", produces: "application/zip"),
            Op(
                method: "POST", pattern: org + "/apps/import", summary: "Import an app from its ZIP file",
                tag: "Apps", ok: [201]),
            Op(
                method: "POST", pattern: org + "/apps/:app/view-as", summary: "Start or end viewing an app as a member",
                tag: "Apps", body: obj([("member", str), ("started", bool)], required: ["member", "started"]),
                ok: [204]),
            Op(
                method: "GET", pattern: org + "/apps/:app/check", summary: "Would this member get in, and why",
                tag: "Apps", query: [("member!", str)]),
            Op(
                method: "POST", pattern: org + "/apps/:app/grants", summary: "Grant the app to a member", tag: "Apps",
                body: obj([("member", str), ("role", appRole)], required: ["member", "role"]), ok: [204]),
            Op(
                method: "DELETE", pattern: org + "/apps/:app/grants/:member", summary: "Take the app from a member",
                tag: "Apps", ok: [204]),
            // API keys
            Op(method: "GET", pattern: org + "/apikeys", summary: "Your API keys in this org", tag: "API keys"),
            Op(
                method: "POST", pattern: org + "/apikeys", summary: "Create an API key (shown once)",
                tag: "API keys", body: obj([("name", text(1, 100)), ("app", str)], required: ["name"]), ok: [201]),
            Op(
                method: "DELETE", pattern: org + "/apikeys/:key", summary: "Revoke an API key", tag: "API keys",
                ok: [204]),
            // Audit
            Op(
                method: "GET", pattern: org + "/audit", summary: "The org's audit log", tag: "Audit",
                query: [("cursor", str), ("limit", limit), ("actor", str), ("action", str), ("target", str)]),
            Op(
                method: "GET", pattern: org + "/audit/export", summary: "The audit log as CSV", tag: "Audit",
                query: [("actor", str), ("action", str), ("target", str)], produces: "application/x-ndjson"),
            // Agencies (the org's side)
            Op(method: "GET", pattern: org + "/agencies", summary: "Agencies working for the org", tag: "Agencies"),
            Op(
                method: "GET", pattern: org + "/agencies/register", summary: "Agencies the region knows",
                tag: "Agencies"),
            Op(
                method: "POST", pattern: org + "/agencies", summary: "Take on a registered agency", tag: "Agencies",
                body: obj([("agency", str)], required: ["agency"]), ok: [204]),
            Op(
                method: "DELETE", pattern: org + "/agencies/:agency", summary: "End an agency's work for the org",
                tag: "Agencies"),
            Op(
                method: "POST", pattern: org + "/agencies/:agency/grants", summary: "Give agency people apps",
                tag: "Agencies",
                body: obj(
                    [
                        ("apps", list(str, min: 1, max: ListLimits.agencyApps)), ("role", appRole),
                        ("emails", emails(max: ListLimits.agencyPeople)),
                    ],
                    required: ["apps", "role", "emails"])
            ),
            Op(
                method: "POST", pattern: org + "/agencies/:agency/revoke", summary: "Take apps from agency people",
                tag: "Agencies",
                body: obj(
                    [
                        ("members", members(max: ListLimits.agencyPeople)),
                        ("apps", list(str, max: ListLimits.agencyApps)),
                    ],
                    required: ["members"]),
                ok: [204]),
            Op(
                method: "GET", pattern: org + "/agency-requests", summary: "The org's requests for agencies",
                tag: "Agencies"),
            Op(
                method: "POST", pattern: org + "/agency-requests", summary: "Ask the region to register an agency",
                tag: "Agencies",
                body: obj([("name", text(1, 100)), ("domains", domains)], required: ["name", "domains"]),
                ok: [201]),
            // SSO settings
            Op(method: "GET", pattern: org + "/sso", summary: "SAML settings", tag: "SSO"),
            Op(
                method: "PUT", pattern: org + "/sso", summary: "Set SAML settings", tag: "SSO",
                body: obj([
                    ("metadataXML", str), ("idpEntityID", str), ("ssoURL", str), ("certificates", strings),
                    ("allowIdPInitiated", bool), ("signRequests", bool), ("jit", anyObject), ("attributes", anyObject),
                    ("domains", strings), ("minRSABits", int),
                ])),
            Op(method: "DELETE", pattern: org + "/sso", summary: "Remove SAML settings", tag: "SSO", ok: [204]),
            Op(method: "GET", pattern: org + "/sso/oidc", summary: "OpenID Connect settings", tag: "SSO"),
            Op(
                method: "PUT", pattern: org + "/sso/oidc", summary: "Set OpenID Connect settings", tag: "SSO",
                body: obj(
                    [
                        ("preset", str), ("issuer", str), ("clientID", str), ("clientSecret", str), ("scopes", strings),
                        ("allowedDomains", strings), ("hostedDomain", str), ("claims", anyObject),
                    ], required: ["clientID"])),
            Op(
                method: "DELETE", pattern: org + "/sso/oidc", summary: "Remove OpenID Connect settings", tag: "SSO",
                ok: [204]),
            Op(method: "GET", pattern: org + "/sso/domains", summary: "Claimed email domains", tag: "SSO"),
            Op(
                method: "POST", pattern: org + "/sso/domains", summary: "Claim a domain (proved by DNS)", tag: "SSO",
                body: obj([("domain", domain)], required: ["domain"]), ok: [201]),
            Op(
                method: "POST", pattern: org + "/sso/domains/:domain/verify", summary: "Check a domain's DNS proof",
                tag: "SSO"),
            Op(
                method: "DELETE", pattern: org + "/sso/domains/:domain", summary: "Give up a domain", tag: "SSO",
                ok: [204]),
            // SCIM tokens (the SCIM API itself is described by its own /Schemas)
            Op(
                method: "GET", pattern: org + "/scim-tokens", summary: "The org's SCIM tokens (without secrets)",
                tag: "SCIM"),
            Op(
                method: "POST", pattern: org + "/scim-tokens", summary: "Create a SCIM token (shown once)", tag: "SCIM",
                body: obj(
                    [
                        ("name", text(1, 100)),
                        ("roleCeiling", oneOf(["viewer", "member", "manager", "admin", "owner"])),
                    ],
                    required: ["name"]), ok: [201]),
            Op(
                method: "DELETE", pattern: org + "/scim-tokens/:token", summary: "Revoke a SCIM token", tag: "SCIM",
                ok: [204]),
            // Regions (region admins)
            Op(
                method: "GET", pattern: region + "/orgs", summary: "The region's orgs", tag: "Regions",
                query: [("q", str), ("cursor", str), ("limit", limit)]),
            Op(
                method: "POST", pattern: region + "/orgs", summary: "Create an org and invite its owner",
                tag: "Regions",
                body: obj(
                    [
                        ("name", text(1, 100)), ("ownerEmail", email), ("ownerFirstName", personName),
                        ("ownerLastName", personName),
                    ],
                    required: ["name", "ownerEmail"]), ok: [201]),
            Op(method: "GET", pattern: region + "/orgs/:org", summary: "One org of the region", tag: "Regions"),
            Op(
                method: "DELETE", pattern: region + "/orgs/:org", summary: "Delete an org", tag: "Regions",
                body: obj([("confirmName", str)], required: ["confirmName"]), ok: [204]),
            Op(method: "POST", pattern: region + "/orgs/:org/suspend", summary: "Suspend an org", tag: "Regions"),
            Op(
                method: "POST", pattern: region + "/orgs/:org/reactivate", summary: "Reactivate an org",
                tag: "Regions"),
            Op(
                method: "POST", pattern: region + "/orgs/:org/owner-invite/resend",
                summary: "Send the owner's invite again", tag: "Regions"),
            Op(
                method: "GET", pattern: region + "/orgs/:org/owner-invite/link", summary: "The owner's invite link",
                tag: "Regions"),
            Op(method: "GET", pattern: region + "/agencies", summary: "Registered agencies", tag: "Regions"),
            Op(
                method: "POST", pattern: region + "/agencies", summary: "Register an agency", tag: "Regions",
                body: obj([("name", text(1, 100)), ("domains", domains)], required: ["name", "domains"]), ok: [201]),
            Op(
                method: "PATCH", pattern: region + "/agencies/:agency", summary: "Change an agency", tag: "Regions",
                body: obj([("name", text(1, 100)), ("domains", domains)])),
            Op(
                method: "DELETE", pattern: region + "/agencies/:agency", summary: "Remove an agency", tag: "Regions",
                ok: [204]),
            Op(
                method: "GET", pattern: region + "/agency-requests", summary: "Orgs' requests for agencies",
                tag: "Regions", query: [("status", oneOf(["pending", "approved", "declined"]))]),
            Op(
                method: "POST", pattern: region + "/agency-requests/:request/:decision",
                summary: "Approve or decline a request (decision: approve or decline)", tag: "Regions",
                body: obj([("agencyID", str), ("reason", str)])),
        ]
    }()

    /// `/api/v1/orgs/:org` → `/api/v1/orgs/{org}`.
    static func openAPIPath(_ pattern: String) -> String {
        pattern.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
        }.joined(separator: "/")
    }

    /// (method, router pattern) of every operation, for the drift test.
    package static var routes: [(method: String, pattern: String)] { operations.map { ($0.method, $0.pattern) } }

    /// Every list in a request body the document bounds (`maxItems`), with its place in the body (`rule.conditions`,
    /// `rule.conditions[].values`): a test sends each one entry over its bound and expects the region to refuse.
    package static var boundedLists: [(method: String, pattern: String, field: String, max: Int)] {
        func walk(_ schema: J, _ path: String, into out: inout [(String, Int)]) {
            guard case .o(let fields) = schema else { return }
            func field(_ name: String) -> J? { fields.first { $0.0 == name }?.1 }
            if case .i(let max)? = field("maxItems") { out.append((path, max)) }
            if let items = field("items") { walk(items, path + "[]", into: &out) }
            for alternatives in ["anyOf", "oneOf"] {
                if case .a(let each)? = field(alternatives) { each.forEach { walk($0, path, into: &out) } }
            }
            if case .o(let props)? = field("properties") {
                for (name, s) in props { walk(s, path.isEmpty ? name : path + "." + name, into: &out) }
            }
        }
        return operations.flatMap { op -> [(method: String, pattern: String, field: String, max: Int)] in
            var found: [(String, Int)] = []
            if let body = op.body { walk(body, "", into: &found) }
            return found.map { (op.method, op.pattern, $0.0, $0.1) }
        }
    }

    static func operation(_ op: Op) -> J {
        var params: [J] = []
        for seg in op.pattern.split(separator: "/") where seg.hasPrefix(":") {
            params.append(
                .o([("name", .s(String(seg.dropFirst()))), ("in", .s("path")), ("required", .b(true)), ("schema", str)])
            )
        }
        for (name, schema) in op.query {
            // A trailing "!" marks a required query parameter.
            let required = name.hasSuffix("!")
            params.append(
                .o([
                    ("name", .s(required ? String(name.dropLast()) : name)), ("in", .s("query")),
                    ("required", .b(required)), ("schema", schema),
                ]))
        }
        var responses: [(String, J)] = op.ok.map { code in
            if code == 204 || code == 202 { return (String(code), .o([("description", .s("Done"))])) }
            let media = op.produces ?? "application/json"
            let schema = op.produces == nil ? any : str
            return (
                String(code), .o([("description", .s("OK")), ("content", .o([(media, .o([("schema", schema)]))]))])
            )
        }
        responses.append(
            (
                "4XX",
                .o([
                    ("description", .s("Refused: the error says why")),
                    ("content", .o([("application/json", .o([("schema", ref("Error"))]))])),
                ])
            ))
        var o: [(String, J)] = [
            ("summary", .s(op.summary)), ("tags", .a([.s(op.tag)])),
            (
                "operationId",
                .s(op.method.lowercased() + openAPIPath(op.pattern).replacingOccurrences(of: "/", with: "_"))
            ),
        ]
        if !params.isEmpty { o.append(("parameters", .a(params))) }
        if let body = op.body {
            o.append(
                (
                    "requestBody",
                    .o([
                        ("required", .b(true)), ("content", .o([("application/json", .o([("schema", body)]))])),
                    ])
                ))
        }
        o.append(("responses", .o(responses)))
        if op.open { o.append(("security", .a([]))) }
        return .o(o)
    }

    /// The whole document, written once.
    package static let json: [UInt8] = {
        var paths: [(String, J)] = []
        var order: [String] = []
        var byPath: [String: [(String, J)]] = [:]
        for op in operations {
            let p = openAPIPath(op.pattern)
            if byPath[p] == nil { order.append(p) }
            byPath[p, default: []].append((op.method.lowercased(), operation(op)))
        }
        for p in order { paths.append((p, .o(byPath[p]!))) }
        let doc = J.o([
            ("openapi", .s("3.1.0")),
            (
                "info",
                .o([
                    ("title", .s("Gatehouse API")), ("version", .s("1")),
                    (
                        "description",
                        .s(
                            "Organizations, members, invites, roles, apps, API keys, audit, agencies, SSO settings"
                                + " and regions. Authenticate with a session cookie (gh_session, plus X-CSRF-Token on"
                                + " writes) or an org API key (Authorization: Bearer ghk_…). Errors are"
                                + " {\"error\":{\"code\",\"message\"}}.")
                    ),
                ])
            ),
            ("paths", .o(paths)),
            (
                "components",
                .o([
                    ("schemas", .o([("Error", error)])),
                    (
                        "securitySchemes",
                        .o([
                            ("apiKey", .o([("type", .s("http")), ("scheme", .s("bearer"))])),
                            (
                                "session",
                                .o([("type", .s("apiKey")), ("in", .s("cookie")), ("name", .s("gh_session"))])
                            ),
                        ])
                    ),
                ])
            ),
            ("security", .a([.o([("apiKey", .a([]))]), .o([("session", .a([]))])])),
        ])
        return Array(doc.text.utf8)
    }()
}
