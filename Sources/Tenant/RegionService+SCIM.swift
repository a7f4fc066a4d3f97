import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

/// SCIM 2.0 (RFC 7643/7644) for one org: its directory (Okta, Entra ID…) provisions members with an org SCIM token.
///
/// - Users are members (`id` = the account id, `userName` = the address). Create adds a member for the account the
///   gateway found or made (`account` in the query, set by the gateway only); `active: false` deactivates — the
///   member stays listed, but every access is refused (the membership query skips them), API keys end at once;
///   DELETE removes the member (rule 6).
/// - Groups are the org's roles, built-in and custom: adding a member to a group gives the role. A token grants
///   nothing above its role ceiling and changes no member whose roles exceed it; the last owner stays.
/// - Every change is in the audit log as `scim:<token name>`.
extension RegionService {
    static let scimUser = "urn:ietf:params:scim:schemas:core:2.0:User"
    static let scimGroup = "urn:ietf:params:scim:schemas:core:2.0:Group"
    static let scimEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    static let scimGatehouse = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User"
    static let scimList = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    static let scimPatch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    // MARK: - Tokens (the console and the JSON API)

    package func createSCIMToken(_ caller: Caller, org: OrgID, request: SCIMTokenRequest) async throws -> SCIMTokenView
    {
        let name = try DisplayName.validated(request.name, max: 100)
        let ceilingID = request.roleCeiling ?? "member"
        guard let ceiling = Role.builtIn(ceilingID) else {
            throw GatehouseError.validation(
                "`roleCeiling` must be a built-in role: viewer, member, manager, admin or owner.")
        }
        let random = IDs.random(SecureRandom.bytes(20))
        let secret = Base64URL.encode(SecureRandom.bytes(32))
        let token = "ghs_\(region.rawValue)_\(random)_\(secret)"
        let id = "scim_" + random
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .ssoManage)
            // A token grants at most what its maker may; an owner-level token only from an owner.
            guard ceiling.permissions.isSubset(of: a.actor.permissions),
                ceiling.id != "owner" || a.actor.permissions.isSuperset(of: Role.owner.permissions)
            else {
                throw GatehouseError(
                    .forbidden, status: 403, "A SCIM token cannot grant more than you may: choose a lower role ceiling."
                )
            }
            try conn.run(
                "INSERT INTO scim_tokens (id, org_id, name, secret_hash, role_ceiling, created_by, created_at) VALUES"
                    + " (?, ?, ?, ?, ?, ?, ?)",
                [id, org, name, Digest.sha256.hash(secret), ceiling.id, caller.accountID, now])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "scim_token.created", target: id,
                ["name": name, "roleCeiling": ceiling.id])
            return SCIMTokenView(
                id: id, name: name, roleCeiling: ceiling.id, createdBy: caller.accountID, createdAt: Self.date(now),
                lastUsedAt: nil, secret: token)
        }
    }

    package func listSCIMTokens(_ caller: Caller, org: OrgID) async throws -> [SCIMTokenView] {
        try await db.read { conn in
            _ = try self.access(conn, org, caller, requiring: .ssoManage)
            var out: [SCIMTokenView] = []
            try conn.forEach(
                "SELECT id, name, role_ceiling, created_by, created_at, last_used_at FROM scim_tokens WHERE org_id = ?"
                    + " AND revoked_at IS NULL ORDER BY created_at",
                [org]
            ) { s in
                out.append(
                    SCIMTokenView(
                        id: s.string(0), name: s.string(1), roleCeiling: s.string(2), createdBy: s.string(3),
                        createdAt: Self.date(s.int(4)), lastUsedAt: s.isNull(5) ? nil : Self.date(s.int(5)),
                        secret: nil))
            }
            return out
        }
    }

    package func revokeSCIMToken(_ caller: Caller, org: OrgID, token id: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            _ = try self.access(conn, org, caller, requiring: .ssoManage)
            guard
                let row = try conn.first(
                    "SELECT name FROM scim_tokens WHERE org_id = ? AND id = ? AND revoked_at IS NULL", [org, id])
            else { throw GatehouseError.notFound("No such SCIM token.") }
            try conn.run("UPDATE scim_tokens SET revoked_at = ? WHERE id = ?", [now, id])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "scim_token.revoked", target: id,
                ["name": row.string("name") ?? ""])
        }
    }

    /// The gateway's question for `Bearer ghs_…`: the token's org, id, name and ceiling while it is live.
    package func authenticateSCIMToken(_ token: String) async throws -> SCIMTokenIdentity? {
        let parts = token.split(separator: "_", maxSplits: 3, omittingEmptySubsequences: false)
        guard token.utf8.count < 200, parts.count == 4, parts[0] == "ghs", parts[1] == region.rawValue,
            parts[2].count == 20, parts[2].allSatisfy({ $0.isLetter || $0.isNumber })
        else { return nil }
        let id = "scim_\(parts[2])"
        let secret = String(parts[3])
        return try await db.read { conn in
            guard
                let row = try conn.first(
                    "SELECT t.org_id, t.name, t.role_ceiling, t.secret_hash, t.revoked_at, o.status FROM scim_tokens t"
                        + " JOIN orgs o ON o.id = t.org_id WHERE t.id = ?", [id]),
                ConstantTime.equals(row.blob("secret_hash") ?? [], Digest.sha256.hash(secret)),
                row.int("revoked_at") == nil, OrgStatus(stored: row.string("status") ?? "") == .active
            else { return nil }
            return SCIMTokenIdentity(
                org: row.string("org_id") ?? "", id: id, name: row.string("name") ?? "",
                roleCeiling: row.string("role_ceiling") ?? "viewer")
        }
    }

    // MARK: - The acting token

    struct SCIMActor {
        let tokenID: String
        let auditName: String
        let ceiling: PermissionSet
        let ceilingIsOwner: Bool
    }

    /// The SCIM caller's token, re-read in this transaction (revoked a moment ago: refused now).
    func scimActor(_ conn: SQLConnection, _ org: OrgID, _ caller: Caller) throws -> SCIMActor {
        guard caller.authMethod == .scim, caller.scopeOrg == org.raw, caller.accountID.hasPrefix("scim:"),
            org.region == region
        else { throw SCIMError(401, nil, "A SCIM token of this organization is required.") }
        let id = String(caller.accountID.dropFirst(5))
        guard
            let row = try conn.first(
                "SELECT name, role_ceiling FROM scim_tokens WHERE id = ? AND org_id = ? AND revoked_at IS NULL",
                [id, org])
        else { throw SCIMError(401, nil, "This SCIM token has been revoked.") }
        let ceiling = Role.builtIn(row.string("role_ceiling") ?? "") ?? Role.viewer
        return SCIMActor(
            tokenID: id, auditName: "scim:" + (row.string("name") ?? id), ceiling: ceiling.permissions,
            ceilingIsOwner: ceiling.id == "owner")
    }

    /// Whether the token may touch a member holding `roles` (nobody above its ceiling).
    func scimMayTouch(_ actor: SCIMActor, _ catalog: RoleCatalog, roles: [String]) -> Bool {
        catalog.permissions(of: roles).isSubset(of: actor.ceiling) && (actor.ceilingIsOwner || !roles.contains("owner"))
    }

    // MARK: - Users

    /// One member as a SCIM User (JSON object).
    func scimUser(_ m: SCIMMember, catalog: RoleCatalog, base: String) -> [String: Any] {
        // Attributes without a value are left out (SCIM's "unassigned"), defaults included.
        var user: [String: Any] = [
            "schemas": [Self.scimUser, Self.scimGatehouse],
            "id": m.row.accountID,
            "userName": m.userName ?? m.row.email,
            "displayName": MemberRows.displayName(m.row),
            "emails": [["value": m.row.email, "type": "work", "primary": true]],
            "active": m.deactivatedAt == nil,
            "groups": m.row.roles.map { r -> [String: Any] in
                ["value": r, "display": catalog.role(r)?.name ?? r, "$ref": "\(base)/Groups/\(r)", "type": "direct"]
            },
        ]
        var name: [String: Any] = [:]
        if !m.row.firstName.isEmpty { name["givenName"] = m.row.firstName }
        if !m.row.lastName.isEmpty { name["familyName"] = m.row.lastName }
        if !name.isEmpty { user["name"] = name }
        // Always a value (defaults included): the schema calls them required, there is no "unassigned" for them.
        user[Self.scimGatehouse] =
            [
                "userVariables": m.row.userVariables, "startingPage": m.row.startingPage.rawValue,
                "ssoOnly": m.row.ssoOnly,
            ] as [String: Any]
        if let ext = m.externalID { user["externalId"] = ext }
        if let e = m.enterprise, let o = try? JSONSerialization.jsonObject(with: Data(e.utf8)) as? [String: Any],
            !o.isEmpty
        {
            user[Self.scimEnterprise] = o
            user["schemas"] = [Self.scimUser, Self.scimGatehouse, Self.scimEnterprise]
        }
        user["meta"] = [
            "resourceType": "User", "created": Self.scimDate(m.row.joinedAt),
            "lastModified": Self.scimDate(max(m.updatedAt, m.row.joinedAt)),
            "location": "\(base)/Users/\(m.row.accountID)", "version": Self.scimVersion(m),
        ]
        return user
    }

    /// A member row with the SCIM columns.
    struct SCIMMember {
        let row: MemberRows.Loaded
        let externalID: String?
        let deactivatedAt: Int?
        let updatedAt: Int
        /// The IdP's userName when it is not the address.
        let userName: String?
        /// The enterprise extension's attributes as the IdP gave them (employeeNumber, department, manager…).
        let enterprise: String?
    }

    static let scimColumns =
        MemberRows.columns + ", m.external_id, m.deactivated_at, m.updated_at, m.user_name, m.scim_enterprise"

    static func scimMember(_ s: Statement) -> SCIMMember {
        let n = MemberRows.Column.allCases.count
        return SCIMMember(
            row: MemberRows.read(s), externalID: s.isNull(n) ? nil : s.string(n),
            deactivatedAt: s.isNull(n + 1) ? nil : s.int(n + 1), updatedAt: s.int(n + 2),
            userName: s.isNull(n + 3) ? nil : s.string(n + 3), enterprise: s.isNull(n + 4) ? nil : s.string(n + 4))
    }

    func scimMembers(
        _ conn: SQLConnection, _ org: OrgID, where clause: String, _ args: [SQLValue]
    ) throws
        -> [SCIMMember]
    {
        var out: [SCIMMember] = []
        try conn.forEach(
            "SELECT \(Self.scimColumns) FROM members m WHERE m.org_id = ? \(clause)", [.text(org.raw)] + args
        ) { out.append(Self.scimMember($0)) }
        return out
    }

    /// The member whose SCIM userName is `name` (case-insensitive): one given by the IdP, else the address.
    func scimMembers(_ conn: SQLConnection, _ org: OrgID, userName name: String) throws -> [SCIMMember] {
        let byName = try scimMembers(conn, org, where: "AND m.user_name_key = ?", [.text(name.lowercased())])
        if !byName.isEmpty { return byName }
        return try scimMembers(
            conn, org, where: "AND m.user_name_key IS NULL AND m.email = ?", [.text(Email.normalize(name))]
        ).filter { $0.row.email.lowercased() == name.lowercased() }
    }

    static func scimDate(_ seconds: Int) -> String {
        var b: [UInt8] = []
        ISO8601Bytes.append(date(seconds), to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// A weak ETag of the representation (without its meta): any change to what SCIM shows changes it.
    /// A user's version from the fields its representation is made of (cheaper than hashing the JSON, which was
    /// a third of a SCIM lookup): any change to what SCIM shows changes it.
    static func scimVersion(_ m: SCIMMember) -> String {
        let r = m.row
        var text = [
            r.accountID, m.userName ?? "", r.email, r.firstName, r.lastName, r.roles.joined(separator: ","),
            r.startingPage.rawValue, r.ssoOnly ? "1" : "0", m.externalID ?? "", m.deactivatedAt.map(String.init) ?? "",
        ].joined(separator: "\u{1}")
        for k in r.userVariables.keys.sorted() { text += "\u{1}\(k)\u{2}\(r.userVariables[k] ?? "")" }
        return "W/\"" + Digest.sha256.hash(Array(text.utf8)).hexString.prefix(16) + "\""
    }

    static func scimVersion(_ resource: [String: Any]) -> String {
        var r = resource
        r["meta"] = nil
        let bytes = (try? JSONSerialization.data(withJSONObject: r, options: [.sortedKeys])) ?? Data()
        return "W/\"" + Digest.sha256.hash(Array(bytes)).hexString.prefix(16) + "\""
    }

    package struct SCIMQuery: Sendable {
        package var filter: String?
        package var startIndex = 1
        package var count = 100
        package init() {}

        /// The filter parsed (a bad one is SCIM's `invalidFilter`), the 1-based start and the page size (≤ 1000).
        func parsed() throws -> (filter: SCIMFilter?, start: Int, count: Int) {
            let f = try filter.map { text -> SCIMFilter in
                do { return try SCIMFilter.parse(text) } catch let e as SCIMFilter.Invalid {
                    throw SCIMError(400, "invalidFilter", e.detail)
                }
            }
            return (f, max(1, startIndex), min(max(0, count), 1000))
        }
    }

    package func scimListUsers(_ caller: Caller, org: OrgID, query: SCIMQuery, base: String) async throws -> SCIMObject
    {
        let (filter, start, count) = try query.parsed()
        return try await db.read { conn in
            _ = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            var matched: [SCIMMember]
            var total: Int
            if let eq = filter?.equality, ["username", "emails", "externalid", "id"].contains(eq.attribute) {
                // Indexed: one row at most (userNames, addresses and account ids are unique in an org).
                switch eq.attribute {
                case "username": matched = try self.scimMembers(conn, org, userName: eq.value)
                case "emails":
                    matched = try self.scimMembers(
                        conn, org, where: "AND m.email = ?", [.text(Email.normalize(eq.value))]
                    ).filter { $0.row.email.lowercased() == eq.value.lowercased() }
                case "externalid":
                    matched = try self.scimMembers(conn, org, where: "AND m.external_id = ?", [.text(eq.value)])
                default: matched = try self.scimMembers(conn, org, where: "AND m.account_id = ?", [.text(eq.value)])
                }
                total = matched.count
                matched = Array(matched.dropFirst(start - 1).prefix(count))
            } else if let filter {
                let all = try self.scimMembers(conn, org, where: "ORDER BY m.rowid", [])
                let hits = all.filter { filter.matches(self.scimUser($0, catalog: catalog, base: base)) }
                total = hits.count
                matched = Array(hits.dropFirst(start - 1).prefix(count))
            } else {
                total = try conn.first("SELECT count(*) FROM members WHERE org_id = ?", [org])?.int(0) ?? 0
                matched = try self.scimMembers(
                    conn, org, where: "ORDER BY m.rowid LIMIT ? OFFSET ?",
                    [.integer(Int64(count)), .integer(Int64(start - 1))])
            }
            return SCIMObject([
                "schemas": [Self.scimList], "totalResults": total, "startIndex": start, "itemsPerPage": matched.count,
                "Resources": matched.map { self.scimUser($0, catalog: catalog, base: base) },
            ])
        }
    }

    package func scimGetUser(_ caller: Caller, org: OrgID, id: String, base: String) async throws -> SCIMObject {
        try await db.read { conn in
            _ = try self.scimActor(conn, org, caller)
            guard let m = try self.scimMembers(conn, org, where: "AND m.account_id = ?", [.text(id)]).first else {
                throw SCIMError(404, nil, "No such user in this organization.")
            }
            return SCIMObject(self.scimUser(m, catalog: try self.loadCatalog(conn, org), base: base))
        }
    }

    /// What a SCIM User body says, checked: names, externalId, active, and the Gatehouse extension.
    struct SCIMUserInput {
        var userName: String
        var firstName = ""
        var lastName = ""
        var externalID: String?
        var active = true
        var userVariables: [String: String]?
        var startingPage: StartingPage?
        var ssoOnly: Bool?
        /// The enterprise extension, checked (nil: not given).
        var enterprise: String?
    }

    static func scimInput(_ body: [String: Any]) throws -> SCIMUserInput {
        guard let userName = body.scim("userName") as? String,
            !userName.trimmingCharacters(in: .whitespaces).isEmpty, userName.utf8.count <= 256,
            !userName.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
        else {
            throw SCIMError(400, "invalidValue", "`userName` is required: 1–256 bytes, no control characters.")
        }
        var input = SCIMUserInput(userName: userName)
        if let name = body.scim("name") as? [String: Any] {
            input.firstName = (name.scim("givenName") as? String) ?? ""
            input.lastName = (name.scim("familyName") as? String) ?? ""
        }
        do { try PersonName.validate(input.firstName, input.lastName) } catch let e as GatehouseError {
            throw SCIMError(400, "invalidValue", e.message)
        }
        if let ext = body.scim("externalId") {
            guard let s = ext as? String, s.utf8.count <= 256 else {
                throw SCIMError(400, "invalidValue", "`externalId` must be a string of at most 256 bytes.")
            }
            input.externalID = s
        }
        if let a = body.scim("active") {
            guard let b = scimBool(a) else { throw SCIMError(400, "invalidValue", "`active` must be true or false.") }
            input.active = b
        }
        if let ext = body.scim(scimGatehouse) as? [String: Any] {
            if let vars = ext.scim("userVariables") {
                guard let v = vars as? [String: String] else {
                    throw SCIMError(400, "invalidValue", "`userVariables` must map names to strings.")
                }
                if let r = UserVariables.validate(v) { throw SCIMError(400, "invalidValue", r.message) }
                input.userVariables = v
            }
            if let p = ext.scim("startingPage") {
                guard let s = p as? String, let page = StartingPage(rawValue: s) else {
                    throw SCIMError(
                        400, "invalidValue", "`startingPage` must be studio, console, portal or agent_console.")
                }
                input.startingPage = page
            }
            if let s = ext.scim("ssoOnly") {
                guard let b = scimBool(s) else {
                    throw SCIMError(400, "invalidValue", "`ssoOnly` must be true or false.")
                }
                input.ssoOnly = b
            }
        }
        if let e = body.scim(scimEnterprise) {
            guard let o = e as? [String: Any] else {
                throw SCIMError(400, "invalidValue", "The enterprise extension must be an object.")
            }
            input.enterprise = try scimEnterpriseJSON(o)
        }
        return input
    }

    /// The enterprise extension's attributes (RFC 7643 §4.3) kept: strings of at most 256 bytes without control
    /// characters, and `manager` with its `value` and `$ref`. Anything else is refused.
    static func scimEnterpriseJSON(_ o: [String: Any]) throws -> String {
        func clean(_ v: Any, _ name: String) throws -> String {
            guard let s = v as? String, s.utf8.count <= 256,
                !s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f })
            else { throw SCIMError(400, "invalidValue", "`\(name)` must be a string of at most 256 bytes.") }
            return s
        }
        var out: [String: Any] = [:]
        for (k, v) in o where !(v is NSNull) {
            switch k.lowercased() {
            case "schemas": continue
            case "employeenumber", "costcenter", "organization", "division", "department":
                let name =
                    ["employeenumber": "employeeNumber", "costcenter": "costCenter"][k.lowercased()] ?? k.lowercased()
                out[name] = try clean(v, name)
            case "manager":
                guard let m = v as? [String: Any] else {
                    throw SCIMError(400, "invalidValue", "`manager` must be an object.")
                }
                var mo: [String: Any] = [:]
                for (mk, mv) in m where !(mv is NSNull) {
                    switch mk.lowercased() {
                    case "value": mo["value"] = try clean(mv, "manager.value")
                    case "$ref": mo["$ref"] = try clean(mv, "manager.$ref")
                    case "displayname": continue  // the server's to say (readOnly)
                    default: throw SCIMError(400, "invalidPath", "Unknown attribute manager.\(mk).")
                    }
                }
                if !mo.isEmpty { out["manager"] = mo }
            default: throw SCIMError(400, "invalidPath", "Unknown enterprise attribute \(k).")
            }
        }
        return String(
            decoding: (try? JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])) ?? Data("{}".utf8),
            as: UTF8.self)
    }

    /// SCIM booleans as Entra ID sends them too ("True", "False").
    static func scimBool(_ v: Any) -> Bool? {
        if let b = v as? Bool { return b }
        if let s = v as? String { return ["true": true, "false": false][s.lowercased()] }
        return nil
    }

    /// POST /Users: a member for the account the gateway found or made for `userName`.
    package func scimCreateUser(
        _ caller: Caller, org: OrgID, accountID: String, body: [String: Any], base: String
    ) async throws -> SCIMObject {
        let input = try Self.scimInput(body)
        guard let email = SCIMAddress.email(in: body) else {
            throw SCIMError(
                400, "invalidValue", "Give the person's email address: as `userName`, or in `emails` (primary or work)."
            )
        }
        let now = nowSeconds
        return try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            if try conn.first(
                "SELECT 1 FROM members WHERE org_id = ? AND (account_id = ? OR email = ?)", [org, accountID, email])
                != nil
            {
                throw SCIMError(409, "uniqueness", "\(email) is already a member of this organization.")
            }
            if !(try self.scimMembers(conn, org, userName: input.userName).isEmpty) {
                throw SCIMError(409, "uniqueness", "Another member has the userName \(input.userName).")
            }
            if let ext = input.externalID,
                try conn.first("SELECT 1 FROM members WHERE org_id = ? AND external_id = ?", [org, ext]) != nil
            {
                throw SCIMError(409, "uniqueness", "Another member has this externalId.")
            }
            // The default role a directory's new person gets: member, or the ceiling when that is lower.
            let role = Role.member.permissions.isSubset(of: actor.ceiling) ? "member" : "viewer"
            let rowid = try MemberRows.insert(
                conn,
                .init(
                    orgID: org.raw, accountID: accountID, email: email, firstName: input.firstName,
                    lastName: input.lastName, roles: [role], userVariables: input.userVariables ?? [:],
                    startingPage: input.startingPage ?? .studio, ssoOnly: input.ssoOnly ?? false, joinedAt: now))
            try conn.run(
                "UPDATE members SET external_id = ?, deactivated_at = ?, updated_at = ?, user_name = ?,"
                    + " user_name_key = ?, scim_enterprise = ? WHERE rowid = ?",
                [
                    input.externalID.map { SQLValue.text($0) } ?? .null, input.active ? .null : .integer(Int64(now)),
                    .integer(Int64(now)), .text(input.userName), .text(input.userName.lowercased()),
                    input.enterprise.map { SQLValue.text($0) } ?? .null, .integer(rowid),
                ])
            try self.audit(
                conn, org: org, at: now, actor: actor.auditName, action: "member.provisioned", target: accountID,
                ["email": email, "roles": role, "active": input.active ? "true" : "false"])
            guard let m = try self.scimMembers(conn, org, where: "AND m.rowid = ?", [.integer(rowid)]).first else {
                throw SCIMError(500, nil, "The new member could not be read back.")
            }
            return SCIMObject(self.scimUser(m, catalog: catalog, base: base))
        }
    }

    /// PUT /Users/:id (replace) and PATCH (operations applied to the current representation, then replaced).
    package func scimReplaceUser(
        _ caller: Caller, org: OrgID, id: String, ifMatch: String?, base: String, resetAbsent: Bool,
        change: @escaping @Sendable ([String: Any]) throws -> [String: Any]
    ) async throws -> SCIMObject {
        let now = nowSeconds
        return try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            guard let m = try self.scimMembers(conn, org, where: "AND m.account_id = ?", [.text(id)]).first else {
                throw SCIMError(404, nil, "No such user in this organization.")
            }
            let current = self.scimUser(m, catalog: catalog, base: base)
            try Self.checkIfMatch(ifMatch, current)
            var input = try Self.scimInput(try change(current))
            if resetAbsent {
                // PATCH: what the operations removed is gone (a PUT that leaves the extension out keeps it).
                input.userVariables = input.userVariables ?? [:]
                input.startingPage = input.startingPage ?? .studio
                input.ssoOnly = input.ssoOnly ?? false
                input.enterprise = input.enterprise ?? "{}"
            }
            guard self.scimMayTouch(actor, catalog, roles: m.row.roles) else {
                throw SCIMError(403, nil, "This member's roles are above this token's role ceiling.")
            }
            var changed: [String: String] = [:]
            if input.userName != (m.userName ?? m.row.email) {
                if try self.scimMembers(conn, org, userName: input.userName).contains(where: {
                    $0.row.rowid != m.row.rowid
                }) {
                    throw SCIMError(409, "uniqueness", "Another member has the userName \(input.userName).")
                }
                try conn.run(
                    "UPDATE members SET user_name = ?, user_name_key = ? WHERE rowid = ?",
                    [input.userName, input.userName.lowercased(), m.row.rowid])
                changed["userName"] = input.userName
            }
            if input.firstName != m.row.firstName || input.lastName != m.row.lastName {
                try MemberRows.setNames(
                    conn, rowid: m.row.rowid, first: input.firstName, last: input.lastName, email: m.row.email)
                changed["name"] = "\(input.firstName) \(input.lastName)"
            }
            if input.externalID != m.externalID {
                if let ext = input.externalID,
                    try conn.first(
                        "SELECT 1 FROM members WHERE org_id = ? AND external_id = ? AND rowid <> ?",
                        [org, ext, m.row.rowid])
                        != nil
                {
                    throw SCIMError(409, "uniqueness", "Another member has this externalId.")
                }
                try conn.run(
                    "UPDATE members SET external_id = ? WHERE rowid = ?",
                    [input.externalID.map { SQLValue.text($0) } ?? .null, m.row.rowid])
                changed["externalId"] = input.externalID ?? ""
            }
            if let vars = input.userVariables, vars != m.row.userVariables {
                try conn.run("UPDATE members SET user_vars = ? WHERE rowid = ?", [JSONColumn.map(vars), m.row.rowid])
                changed["userVariables"] = vars.keys.sorted().joined(separator: ",")
            }
            if let page = input.startingPage, page != m.row.startingPage {
                try conn.run("UPDATE members SET starting_page = ? WHERE rowid = ?", [page.rawValue, m.row.rowid])
                changed["startingPage"] = page.rawValue
            }
            if let e = input.enterprise, e != (m.enterprise ?? "{}") {
                try conn.run(
                    "UPDATE members SET scim_enterprise = ? WHERE rowid = ?", [e == "{}" ? nil : e, m.row.rowid])
                changed["enterprise"] = "updated"
            }
            if let sso = input.ssoOnly, sso != m.row.ssoOnly {
                try conn.run("UPDATE members SET sso_only = ? WHERE rowid = ?", [sso, m.row.rowid])
                changed["ssoOnly"] = sso ? "true" : "false"
            }
            if !changed.isEmpty {
                try self.audit(
                    conn, org: org, at: now, actor: actor.auditName, action: "member.updated", target: id, changed)
            }
            if input.active != (m.deactivatedAt == nil) {
                if input.active {
                    try conn.run("UPDATE members SET deactivated_at = NULL WHERE rowid = ?", [m.row.rowid])
                    try self.audit(
                        conn, org: org, at: now, actor: actor.auditName, action: "member.reactivated", target: id,
                        ["email": m.row.email])
                } else {
                    if m.row.roles.contains("owner"), try self.ownerCount(conn, org) <= 1 {
                        throw SCIMError(409, nil, "The organization's last owner cannot be deactivated.")
                    }
                    try conn.run("UPDATE members SET deactivated_at = ? WHERE rowid = ?", [now, m.row.rowid])
                    // Like a removal for everything it could do: its API keys end now.
                    try MemberRows.revokeKeys(
                        conn, orgID: org, accountID: id, app: nil, at: now, reason: "member_deactivated")
                    try self.audit(
                        conn, org: org, at: now, actor: actor.auditName, action: "member.deactivated", target: id,
                        ["email": m.row.email])
                }
            }
            try conn.run("UPDATE members SET updated_at = ? WHERE rowid = ?", [now, m.row.rowid])
            guard let after = try self.scimMembers(conn, org, where: "AND m.rowid = ?", [.integer(m.row.rowid)]).first
            else { throw SCIMError(404, nil, "No such user in this organization.") }
            return SCIMObject(self.scimUser(after, catalog: catalog, base: base))
        }
    }

    package func scimDeleteUser(_ caller: Caller, org: OrgID, id: String, ifMatch: String?, base: String) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            guard let m = try self.scimMembers(conn, org, where: "AND m.account_id = ?", [.text(id)]).first else {
                throw SCIMError(404, nil, "No such user in this organization.")
            }
            try Self.checkIfMatch(ifMatch, self.scimUser(m, catalog: catalog, base: base))
            guard self.scimMayTouch(actor, catalog, roles: m.row.roles) else {
                throw SCIMError(403, nil, "This member's roles are above this token's role ceiling.")
            }
            if m.row.roles.contains("owner"), try self.ownerCount(conn, org) <= 1 {
                throw SCIMError(409, nil, "The organization's last owner cannot be removed.")
            }
            try self.remove(conn, org: org, m.row, at: now, actor: actor.auditName)
        }
    }

    static func checkIfMatch(_ ifMatch: String?, _ current: [String: Any]) throws {
        guard let ifMatch, ifMatch != "*" else { return }
        let version = (current["meta"] as? [String: Any])?["version"] as? String ?? ""
        let wanted = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard wanted.contains(version) else {
            throw SCIMError(412, nil, "The resource changed since you read it (its version is \(version)).")
        }
    }

    // MARK: - Groups (the org's roles)

    func scimGroup(_ role: Role, members: [(String, String)], externalID: String?, base: String) -> [String: Any] {
        scimGroup(id: role.id, name: role.name, members: members, externalID: externalID, base: base)
    }

    func scimGroup(
        id: String, name: String, members: [(String, String)], externalID: String?, base: String
    ) -> [String: Any] {
        var g: [String: Any] = [
            "schemas": [Self.scimGroup], "id": id, "displayName": name,
            "members": members.map { ["value": $0.0, "$ref": "\(base)/Users/\($0.0)", "type": "User"] },
        ]
        if let externalID { g["externalId"] = externalID }
        g["meta"] = [
            "resourceType": "Group", "location": "\(base)/Groups/\(id)", "version": Self.scimVersion(g),
        ]
        return g
    }

    /// The IdP's externalId for a group (a role), when it gave one.
    func groupExternalID(_ conn: SQLConnection, _ org: OrgID, _ role: String) throws -> String? {
        try conn.first("SELECT external_id FROM scim_group_ids WHERE org_id = ? AND role_id = ?", [org, role])?
            .string("external_id")
    }

    func setGroupExternalID(_ conn: SQLConnection, _ org: OrgID, _ role: String, _ ext: String?) throws {
        try conn.run("DELETE FROM scim_group_ids WHERE org_id = ? AND role_id = ?", [org, role])
        if let ext {
            try conn.run(
                "INSERT INTO scim_group_ids (org_id, role_id, external_id) VALUES (?, ?, ?)", [org, role, ext])
        }
    }

    func groupMembers(_ conn: SQLConnection, _ org: OrgID, role: String) throws -> [(String, String)] {
        var out: [(String, String)] = []
        try conn.forEach(
            "SELECT m.account_id, m.email FROM member_roles r JOIN members m ON m.rowid = r.member_rowid WHERE r.org_id"
                + " = ? AND r.role_id = ? ORDER BY m.rowid",
            [org, role]
        ) { out.append(($0.string(0), $0.string(1))) }
        return out
    }

    /// The org's apps as groups (`App: <name>`, id = the app's): their members hold a grant of the app.
    func appGroups(_ conn: SQLConnection, _ org: OrgID) throws -> [(id: String, name: String)] {
        var out: [(id: String, name: String)] = []
        try conn.forEach("SELECT id, name FROM apps WHERE org_id = ? ORDER BY created_at, id", [org]) {
            out.append(($0.string(0), "App: " + $0.string(1)))
        }
        return out
    }

    func appMembers(_ conn: SQLConnection, _ org: OrgID, app: String) throws -> [(String, String)] {
        var out: [(String, String)] = []
        try conn.forEach(
            "SELECT m.account_id, m.email FROM app_grants g JOIN members m ON m.rowid = g.member_rowid WHERE g.org_id"
                + " = ? AND g.app_id = ? ORDER BY m.rowid",
            [org, app]
        ) { out.append(($0.string(0), $0.string(1))) }
        return out
    }

    func appGroup(_ conn: SQLConnection, _ org: OrgID, _ id: String, base: String) throws -> [String: Any]? {
        guard let app = try appGroups(conn, org).first(where: { $0.id == id }) else { return nil }
        return scimGroup(
            id: app.id, name: app.name, members: try appMembers(conn, org, app: id),
            externalID: try groupExternalID(conn, org, id), base: base)
    }

    package func scimListGroups(
        _ caller: Caller, org: OrgID, query: SCIMQuery, withMembers: Bool, base: String
    ) async throws -> SCIMObject {
        let (filter, start, count) = try query.parsed()
        return try await db.read { conn in
            _ = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            let needMembers = withMembers || filter != nil
            let groups =
                try catalog.all.map { r in
                    self.scimGroup(
                        r, members: needMembers ? try self.groupMembers(conn, org, role: r.id) : [],
                        externalID: try self.groupExternalID(conn, org, r.id), base: base)
                }
                + self.appGroups(conn, org).map { app in
                    self.scimGroup(
                        id: app.id, name: app.name,
                        members: needMembers ? try self.appMembers(conn, org, app: app.id) : [],
                        externalID: try self.groupExternalID(conn, org, app.id), base: base)
                }
            let hits = filter.map { f in groups.filter { f.matches($0) } } ?? groups
            var page = Array(hits.dropFirst(start - 1).prefix(count))
            if !withMembers {
                page = page.map {
                    var g = $0
                    g["members"] = nil
                    return g
                }
            }
            return SCIMObject([
                "schemas": [Self.scimList], "totalResults": hits.count, "startIndex": start,
                "itemsPerPage": page.count, "Resources": page,
            ])
        }
    }

    package func scimGetGroup(_ caller: Caller, org: OrgID, id: String, base: String) async throws -> SCIMObject {
        try await db.read { conn in
            _ = try self.scimActor(conn, org, caller)
            guard let role = try self.loadCatalog(conn, org).role(id) else {
                guard let app = try self.appGroup(conn, org, id, base: base) else {
                    throw SCIMError(404, nil, "No such group (role or app) in this organization.")
                }
                return SCIMObject(app)
            }
            return SCIMObject(
                self.scimGroup(
                    role, members: try self.groupMembers(conn, org, role: id),
                    externalID: try self.groupExternalID(conn, org, id), base: base))
        }
    }

    /// PATCH/PUT on a group: the members it should have afterwards (by account id), and its new name for a custom
    /// role. Each member gained or lost is checked against the ceiling; the last owner stays.
    package func scimChangeGroup(
        _ caller: Caller, org: OrgID, id: String, ifMatch: String?, base: String,
        change: @escaping @Sendable (_ current: [String: Any]) throws -> [String: Any]
    ) async throws -> SCIMObject {
        let now = nowSeconds
        return try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            guard let role = catalog.role(id) else {
                guard let current = try self.appGroup(conn, org, id, base: base) else {
                    throw SCIMError(404, nil, "No such group (role or app) in this organization.")
                }
                try Self.checkIfMatch(ifMatch, current)
                try self.changeAppGroup(
                    conn, org, actor, catalog, app: id, current: current, wanted: try change(current), at: now)
                return SCIMObject(try self.appGroup(conn, org, id, base: base) ?? current)
            }
            let before = try self.groupMembers(conn, org, role: id)
            let current = self.scimGroup(
                role, members: before, externalID: try self.groupExternalID(conn, org, id), base: base)
            try Self.checkIfMatch(ifMatch, current)
            let wanted = try change(current)
            if let raw = wanted["displayName"] as? String, raw != role.name {
                guard !role.builtIn else {
                    throw SCIMError(400, "mutability", "\(role.name) is a built-in role: its name stays.")
                }
                let name: String
                do { name = try DisplayName.validated(raw, max: 60, field: "displayName") } catch let e
                    as GatehouseError
                {
                    throw SCIMError(400, "invalidValue", e.message)
                }
                do { try Self.checkRoleName(name, id: role.id, in: catalog, except: role.id) } catch {
                    throw SCIMError(409, "uniqueness", "A role called \(name) already exists.")
                }
                try conn.run("UPDATE custom_roles SET name = ? WHERE org_id = ? AND id = ?", [name, org, role.id])
                try self.audit(
                    conn, org: org, at: now, actor: actor.auditName, action: "role.renamed", target: role.id,
                    ["before": role.name, "after": name])
            }
            let wantedIDs = Set(
                ((wanted["members"] as? [Any]) ?? []).compactMap { ($0 as? [String: Any])?["value"] as? String })
            let beforeIDs = Set(before.map(\.0))
            let added = wantedIDs.subtracting(beforeIDs)
            let removed = beforeIDs.subtracting(wantedIDs)
            guard role.permissions.isSubset(of: actor.ceiling), role.id != "owner" || actor.ceilingIsOwner else {
                throw SCIMError(403, nil, "\(role.name) is above this token's role ceiling.")
            }
            for account in added.sorted() {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: account) else {
                    throw SCIMError(400, "invalidValue", "\(account) is not a user of this organization.")
                }
                guard self.scimMayTouch(actor, catalog, roles: m.roles) else {
                    throw SCIMError(403, nil, "\(m.email)'s roles are above this token's role ceiling.")
                }
                try self.scimSetRoles(conn, org, m, to: m.roles + [id], at: now, auditAs: actor.auditName)
            }
            for account in removed.sorted() {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: account) else { continue }
                guard self.scimMayTouch(actor, catalog, roles: m.roles) else {
                    throw SCIMError(403, nil, "\(m.email)'s roles are above this token's role ceiling.")
                }
                if id == "owner", try self.ownerCount(conn, org) <= 1 {
                    throw SCIMError(409, nil, "The organization's last owner keeps the owner role.")
                }
                try self.scimSetRoles(conn, org, m, to: m.roles.filter { $0 != id }, at: now, auditAs: actor.auditName)
            }
            let renamed = try self.loadCatalog(conn, org).role(id) ?? role
            try self.updateGroupExternalID(conn, org, id, current: current, wanted: wanted)
            return SCIMObject(
                self.scimGroup(
                    renamed, members: try self.groupMembers(conn, org, role: id),
                    externalID: try self.groupExternalID(conn, org, id), base: base))
        }
    }

    /// Members added to an app's group get the app (as viewers; an admin changes the app role in the console), those
    /// left out lose it (their keys scoped to it end, rule 6). Needs a ceiling that may grant apps; agency people get
    /// apps from their agency's grants, not from the directory.
    func changeAppGroup(
        _ conn: SQLConnection, _ org: OrgID, _ actor: SCIMActor, _ catalog: RoleCatalog, app: String,
        current: [String: Any], wanted: [String: Any], at now: Int
    ) throws {
        if let name = wanted["displayName"] as? String, name != current["displayName"] as? String {
            throw SCIMError(400, "mutability", "An app's group is named after the app: rename the app in the console.")
        }
        let ids = { (o: [String: Any]) in
            Set(((o["members"] as? [Any]) ?? []).compactMap { ($0 as? [String: Any])?["value"] as? String })
        }
        let before = ids(current)
        let after = ids(wanted)
        if before != after {
            guard actor.ceiling.contains(.appsGrant) else {
                throw SCIMError(403, nil, "This token's role ceiling does not include giving apps (apps.grant).")
            }
        }
        for account in after.subtracting(before).sorted() + before.subtracting(after).sorted() {
            guard let m = try MemberRows.load(conn, orgID: org, accountID: account) else {
                throw SCIMError(400, "invalidValue", "\(account) is not a user of this organization.")
            }
            guard self.scimMayTouch(actor, catalog, roles: m.roles) else {
                throw SCIMError(403, nil, "\(m.email)'s roles are above this token's role ceiling.")
            }
            guard m.agency == nil else {
                throw SCIMError(403, nil, "\(m.email) is an agency person: their apps come from their agency's grants.")
            }
            if after.contains(account) {
                try self.grant(conn, org: org, app: app, member: m, role: .viewer, at: now, actor: actor.auditName)
            } else {
                try self.revoke(conn, org: org, app: app, member: m, at: now, actor: actor.auditName)
            }
            try conn.run("UPDATE members SET updated_at = ? WHERE rowid = ?", [now, m.rowid])
        }
        try updateGroupExternalID(conn, org, app, current: current, wanted: wanted)
    }

    /// A group's externalId as the change left it (checked: at most 256 bytes).
    func updateGroupExternalID(
        _ conn: SQLConnection, _ org: OrgID, _ id: String, current: [String: Any], wanted: [String: Any]
    ) throws {
        let ext = wanted.scim("externalId") as? String
        guard ext != (current["externalId"] as? String) else { return }
        guard ext.map({ $0.utf8.count <= 256 }) ?? true else {
            throw SCIMError(400, "invalidValue", "`externalId` must be at most 256 bytes.")
        }
        try setGroupExternalID(conn, org, id, ext)
    }

    /// A member's roles as SCIM leaves them: at least viewer (SCIM takes roles away, not the membership), the
    /// member marked changed, and the change audited when `auditAs` names the token.
    func scimSetRoles(
        _ conn: SQLConnection, _ org: OrgID, _ m: MemberRows.Loaded, to wanted: [String], at now: Int,
        auditAs actor: String?
    ) throws {
        let roles = wanted.isEmpty ? ["viewer"] : wanted
        try MemberRows.setRoles(conn, orgID: org, rowid: m.rowid, roles: roles)
        try conn.run("UPDATE members SET updated_at = ? WHERE rowid = ?", [now, m.rowid])
        guard let actor else { return }
        try audit(
            conn, org: org, at: now, actor: actor, action: "member.roles_changed", target: m.accountID,
            ["roles.before": m.roles.joined(separator: ","), "roles.after": roles.joined(separator: ",")])
    }

    /// POST /Groups: a custom role that lets its holders see the org (an administrator gives it more in the
    /// console), held by the members the body names.
    package func scimCreateGroup(
        _ caller: Caller, org: OrgID, body: [String: Any], base: String
    ) async throws
        -> SCIMObject
    {
        guard let raw = body.scim("displayName") as? String else {
            throw SCIMError(400, "invalidValue", "`displayName` is required.")
        }
        let name: String
        do { name = try DisplayName.validated(raw, max: 60, field: "displayName") } catch let e as GatehouseError {
            throw SCIMError(400, "invalidValue", e.message)
        }
        let id = "custom-" + IDs.random(SecureRandom.bytes(10)).lowercased()
        let perms: PermissionSet = [.orgView, .membersView]
        let now = nowSeconds
        try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            do { try Self.checkRoleName(name, id: id, in: try self.loadCatalog(conn, org), except: nil) } catch {
                throw SCIMError(409, "uniqueness", "A role called \(name) already exists.")
            }
            try conn.run(
                "INSERT INTO custom_roles (org_id, id, name, permissions, created_at) VALUES (?, ?, ?, ?, ?)",
                [org, id, name, JSONColumn.list(perms.sorted().map(\.rawValue)), now])
            try self.audit(
                conn, org: org, at: now, actor: actor.auditName, action: "role.created", target: id,
                ["name": name, "permissions": perms.sorted().map(\.rawValue).joined(separator: ",")])
        }
        let given = SCIMObject([
            "members": body.scim("members") ?? [],
            "externalId": body.scim("externalId") ?? NSNull(),
        ])
        let made = try await scimChangeGroup(caller, org: org, id: id, ifMatch: nil, base: base) { current in
            var c = current
            c["members"] = given.value["members"]
            c["externalId"] = given.value["externalId"] is NSNull ? nil : given.value["externalId"]
            return c
        }
        return made
    }

    /// DELETE /Groups/:id: a custom role goes; its holders keep their other roles (or viewer).
    package func scimDeleteGroup(_ caller: Caller, org: OrgID, id: String, ifMatch: String?, base: String) async throws
    {
        let now = nowSeconds
        try await db.write { conn in
            let actor = try self.scimActor(conn, org, caller)
            let catalog = try self.loadCatalog(conn, org)
            guard let role = catalog.role(id) else {
                if try self.appGroup(conn, org, id, base: base) != nil {
                    throw SCIMError(
                        400, "mutability", "Apps are deleted in the console; SCIM changes who may open them.")
                }
                throw SCIMError(404, nil, "No such group (role or app) in this organization.")
            }
            guard !role.builtIn else {
                throw SCIMError(400, "mutability", "\(role.name) is a built-in role: it stays.")
            }
            guard role.permissions.isSubset(of: actor.ceiling) else {
                throw SCIMError(403, nil, "\(role.name) is above this token's role ceiling.")
            }
            let holders = try self.groupMembers(conn, org, role: id)
            try Self.checkIfMatch(
                ifMatch,
                self.scimGroup(role, members: holders, externalID: try self.groupExternalID(conn, org, id), base: base))
            let invites =
                try conn.first(
                    "SELECT count(*) FROM invites, \(conn.dialect.jsonArray("invites.roles", as: "j")) WHERE org_id = ?"
                        + " AND status = 'pending' AND j.value = ?", [org, id])?.int(0) ?? 0
            guard invites == 0 else {
                throw SCIMError(409, nil, "\(role.name) is offered by \(invites) pending invite(s); revoke them first.")
            }
            for (account, _) in holders {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: account) else { continue }
                try self.scimSetRoles(conn, org, m, to: m.roles.filter { $0 != id }, at: now, auditAs: nil)
            }
            try conn.run("DELETE FROM custom_roles WHERE org_id = ? AND id = ?", [org, id])
            try self.setGroupExternalID(conn, org, id, nil)
            try self.audit(
                conn, org: org, at: now, actor: actor.auditName, action: "role.deleted", target: id,
                ["name": role.name, "holders": String(holders.count)])
        }
    }
}
