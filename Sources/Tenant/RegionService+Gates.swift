import Compression
import Crypto
import Foundation
import GatehouseCore
import Store
import TenantAPI
import TenantDomain

/// Apps behind the gateway: where an app is served and forwarded (slug, upstream), who may enter it (the access
/// rule over roles, app roles and user variables), and the region's decision for one caller — the gateway asks
/// for it on every request into an app, so it is one read.
extension RegionService {
    /// Changes an app (`apps.create`): name, slug, upstream, rule. Every field is checked before anything changes.
    package func updateApp(_ caller: Caller, org: OrgID, app: String, patch: AppPatch) async throws -> AppView {
        let name = try patch.name.map { try DisplayName.validated($0, max: 100) }
        if let slug = patch.slug, !Self.validSlug(slug) {
            throw GatehouseError.validation(
                "`slug` must be 1–63 lower-case letters, digits and dashes, starting with a letter or digit.")
        }
        if let upstream = patch.upstream, !upstream.isEmpty, let why = Self.upstreamProblem(upstream) {
            throw GatehouseError.validation(why)
        }
        if let why = patch.rule?.problem() { throw GatehouseError.validation(why) }
        let now = nowSeconds
        return try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .appsCreate)
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            guard let current = try self.appViews(conn, org: org, only: app).first else {
                throw GatehouseError.notFound("No such app.")
            }
            if let roles = patch.rule?.roles {
                for r in roles where a.catalog.role(r) == nil {
                    throw GatehouseError.validation("Unknown role `\(r)` in the rule.")
                }
            }
            if let slug = patch.slug, slug != current.slug,
                try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND slug = ?", [org, slug]) != nil
            {
                throw GatehouseError(
                    .conflict, status: 409, "Another app of this organization is served at /apps/\(slug)/.")
            }
            let view = AppView(id: current.id, name: name ?? current.name, createdAt: current.createdAt).with(
                slug: patch.slug ?? current.slug,
                upstream: patch.upstream.map { $0.isEmpty ? nil : $0 } ?? current.upstream,
                rule: patch.rule ?? current.rule)
            try conn.run(
                "UPDATE apps SET name = ?, slug = ?, upstream = ?, rule = ? WHERE org_id = ? AND id = ?",
                [
                    view.name, view.slug, view.upstream, Self.ruleJSON(view.rule ?? AppAccessRule()), org, app,
                ])
            var summary: [String: String] = [:]
            if let n = name { summary["name"] = n }
            if let s = patch.slug { summary["slug"] = s }
            if let u = patch.upstream { summary["upstream"] = u }
            if patch.rule != nil { summary["rule"] = Self.ruleJSON(view.rule ?? AppAccessRule()) }
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "app.updated", target: app, summary)
            return view
        }
    }

    /// The region's decision for the gateway: the caller must pass every org check (membership, suspension,
    /// SSO-only, the IdP's reach), hold the app, and meet its rule. An unknown slug answers 404, as an unknown org.
    package func appEntry(
        orgID: String, slug: String, caller: Caller, asMember: String? = nil
    ) async throws -> AppEntryAnswer {
        guard let org = OrgID(orgID), Self.validSlug(slug) else { throw GatehouseError.notFound("No such app.") }
        return try await db.read { conn in
            let a = try self.access(conn, org, caller)
            guard let app = try self.appViews(conn, org: org, slug: slug).first else {
                throw GatehouseError.notFound("No such app.")
            }
            guard let asMember else {
                guard let m = try MemberRows.load(conn, orgID: org, accountID: caller.accountID) else {
                    throw Refusal.notFound.error
                }
                return try self.decide(conn, app: app, member: m, catalog: a.catalog, org: org)
            }
            let m = try self.viewable(conn, a, org: org, member: asMember)
            var answer = try self.decide(conn, app: app, member: m, catalog: a.catalog, org: org)
            answer.viewer = AppViewer(
                accountID: caller.accountID, email: caller.email, memberName: MemberRows.displayName(m))
            return answer
        }
    }

    /// Whom an admin may view an app as: a member of this org they see (`members.view`; agency people their own
    /// agency) whose permissions they all hold (rule 2's test), never themselves.
    func viewable(_ conn: SQLConnection, _ a: OrgAccess, org: OrgID, member: String) throws -> MemberRows.Loaded {
        try Rules.requires(.membersView, a.actor).orThrow()
        guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
            throw GatehouseError.notFound("No such member.")
        }
        guard m.accountID != a.actor.accountID else {
            throw GatehouseError.validation("That is you: open the app itself.")
        }
        try Rules.rankProtection(a.actor, target: a.catalog.permissions(of: m.roles)).orThrow()
        return m
    }

    /// Records the start or end of viewing an app as a member (rules as `viewable`).
    package func recordAppViewAs(
        _ caller: Caller, org: OrgID, app: String, member: String, started: Bool
    ) async throws {
        let now = nowSeconds
        try await db.write { conn in
            let a = try self.access(conn, org, caller)
            guard try self.appViews(conn, org: org, only: app).first != nil else {
                throw GatehouseError.notFound("No such app.")
            }
            let m = try self.viewable(conn, a, org: org, member: member)
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID,
                action: started ? "app.view_as_started" : "app.view_as_ended", target: m.accountID, ["app": app])
        }
    }

    /// "Would Max get in?" (`apps.create`): the decision and its reason for one member.
    package func checkEntry(_ caller: Caller, org: OrgID, app: String, member: String) async throws -> AppCheckAnswer {
        try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .appsCreate)
            guard let view = try self.appViews(conn, org: org, only: app).first else {
                throw GatehouseError.notFound("No such app.")
            }
            guard let m = try MemberRows.load(conn, orgID: org, accountID: member), Self.sees(a, m) else {
                throw GatehouseError.notFound("No such member.")
            }
            let d = try self.decide(conn, app: view, member: m, catalog: a.catalog, org: org)
            return AppCheckAnswer(member: member, allowed: d.allowed, code: d.code, reason: d.reason)
        }
    }

    /// The four starting pages are apps of every org, served at `/apps/<slug>/` once an admin connects them to an
    /// upstream (until then the gateway says they are not connected), configurable like any other app.
    static let startingPages: [(StartingPage, String, String)] = [
        (.studio, "Studio", "studio"), (.console, "Console", "console"), (.portal, "Portal", "portal"),
        (.agentConsole, "Agent Console", "agent-console"),
    ]

    static func addStartingPages(_ conn: SQLConnection, org: String, at: Int) throws {
        for (_, name, slug) in startingPages {
            try conn.run(
                "INSERT INTO apps (org_id, id, name, created_at, slug) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [org, "app_" + IDs.random(SecureRandom.bytes(20)), name, at, slug])
        }
    }

    // MARK: - Export and import

    /// The app's definition as a ZIP (`app.json` and a README), for another org (`apps.create`).
    package func exportApp(_ caller: Caller, org: OrgID, app: String) async throws -> (String, [UInt8]) {
        try await db.read { conn in
            let a = try self.access(conn, org, caller, requiring: .appsCreate)
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            guard let v = try self.appViews(conn, org: org, only: app).first else {
                throw GatehouseError.notFound("No such app.")
            }
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let json = try e.encode(AppExport(name: v.name, slug: v.slug, upstream: v.upstream, rule: v.rule))
            let readme =
                "\(v.name), exported from Gatehouse. Import it in another organization (Apps → Import an app).\n"
                + "It carries the app's name, slug, upstream and access rule; no members, grants, API keys or user\n"
                + "variables. Roles the rule names must exist in the organization it is imported into.\n"
            let zip = ZipArchive.write([
                .init(name: "app.json", data: Array(json)), .init(name: "README.txt", data: Array(readme.utf8)),
            ])
            let file = (v.slug ?? v.name.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" })
            return ((file.isEmpty ? "app" : file) + ".gatehouse-app.zip", zip)
        }
    }

    /// Imports an exported app as a new app of `org` (`apps.create`): checked like any change; a slug already used
    /// here and rule roles this org lacks are left out and reported, as is everything org-level that never travels.
    package func importApp(_ caller: Caller, org: OrgID, zip: [UInt8]) async throws -> AppImportResult {
        guard zip.count <= 1 << 20 else {
            throw GatehouseError(.payloadTooLarge, status: 413, "An app export is at most 1 MB.")
        }
        let entries: [ZipArchive.Entry]
        do { entries = try ZipArchive.read(zip) } catch {
            throw GatehouseError.validation("That is not an app export: \(error.reason).")
        }
        guard let json = entries.first(where: { $0.name == "app.json" })?.data,
            let def = try? JSONDecoder().decode(AppExport.self, from: Data(json)), def.format == "gatehouse-app/1"
        else { throw GatehouseError.validation("That is not an app export (no readable app.json).") }
        guard let name = try? DisplayName.validated(def.name, max: 100) else {
            throw GatehouseError.validation("The app's name is not valid.")
        }
        if let s = def.slug, !Self.validSlug(s) { throw GatehouseError.validation("The app's slug is not valid.") }
        if let u = def.upstream, let why = Self.upstreamProblem(u) { throw GatehouseError.validation(why) }
        if let why = def.rule?.problem() { throw GatehouseError.validation(why) }
        let now = nowSeconds
        let id = randomID("app_")
        return try await db.write { conn in
            let a = try self.access(conn, org, caller, requiring: .appsCreate)
            try AgencyRules.staffOnly(try self.agencyActor(conn, a)).orThrow()
            var toSetAgain: [String] = []
            var slug = def.slug
            if let s = slug, try conn.first("SELECT 1 FROM apps WHERE org_id = ? AND slug = ?", [org, s]) != nil {
                toSetAgain.append("The slug \(s) is taken by another app here: choose one.")
                slug = nil
            }
            var rule = def.rule
            if let r = rule {
                let missing = r.roles.filter { a.catalog.role($0) == nil }
                for m in missing {
                    toSetAgain.append("The rule named the role \(m), which this organization lacks: it was left out.")
                }
                rule = AppAccessRule(
                    roles: r.roles.filter { a.catalog.role($0) != nil }, appRoles: r.appRoles, conditions: r.conditions)
                if !missing.isEmpty && rule?.roles.isEmpty == true && !r.roles.isEmpty {
                    // Dropping every listed role would open the app to every role: keep it closed instead.
                    rule?.roles = ["owner"]
                    toSetAgain.append("Until you choose roles again, only owners may enter.")
                }
                if !r.conditions.isEmpty {
                    toSetAgain.append(
                        "The rule's user-variable conditions came along; members here need those variables set.")
                }
            }
            try conn.run(
                "INSERT INTO apps (org_id, id, name, created_at, slug, upstream, rule) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [org, id, name, now, slug, def.upstream, Self.ruleJSON(rule ?? AppAccessRule())])
            try self.audit(
                conn, org: org, at: now, actor: caller.accountID, action: "app.imported", target: id,
                ["name": name, "slug": slug ?? ""])
            let view = AppView(id: id, name: name, createdAt: Self.date(now), memberCount: 0).with(
                slug: slug, upstream: def.upstream, rule: rule)
            return AppImportResult(
                app: view,
                leftBehind: [
                    "members and their access", "grants", "API keys", "user variables", "audit history",
                ], toSetAgain: toSetAgain)
        }
    }

    func decide(
        _ conn: SQLConnection, app: AppView, member m: MemberRows.Loaded, catalog: RoleCatalog, org: OrgID
    ) throws -> AppEntryAnswer {
        let grant = try MemberRows.grants(conn, rowids: [m.rowid])[m.rowid]?.first { $0.app == app.id }
        let entry = (app.rule ?? AppAccessRule()).entry(
            app: app.name, appRole: grant?.role, roles: m.roles, roleName: { catalog.role($0)?.name ?? $0 },
            variables: m.userVariables)
        let name = [m.firstName, m.lastName].filter { !$0.isEmpty }.joined(separator: " ")
        return AppEntryAnswer(
            appID: app.id, appName: app.name, slug: app.slug ?? "", upstream: app.upstream, allowed: entry.allowed,
            code: entry.code, reason: entry.reason,
            identity: entry.allowed
                ? AppIdentity(
                    accountID: m.accountID, email: m.email, name: name, orgID: org.raw, region: region.rawValue,
                    roles: m.roles, appRole: grant?.role ?? .viewer, userVariables: m.userVariables, agency: m.agency)
                : nil)
    }

    /// The org's apps with their gateway fields (one app by id or slug when given).
    func appViews(_ conn: SQLConnection, org: OrgID, only: String? = nil, slug: String? = nil) throws -> [AppView] {
        var sql = "SELECT a.id, a.name, a.created_at, a.slug, a.upstream, a.rule FROM apps a WHERE a.org_id = ?"
        var b: [any SQLBindable] = [org]
        if let only {
            sql += " AND a.id = ?"
            b.append(only)
        }
        if let slug {
            sql += " AND a.slug = ?"
            b.append(slug)
        }
        return try conn.query(sql + " ORDER BY a.name, a.id", b).map {
            AppView(
                id: $0.string("id") ?? "", name: $0.string("name") ?? "",
                createdAt: Self.date($0.int("created_at") ?? 0)
            )
            .with(slug: $0.string("slug"), upstream: $0.string("upstream"), rule: Self.rule($0.string("rule") ?? "{}"))
        }
    }

    static func validSlug(_ s: String) -> Bool {
        guard (1...63).contains(s.utf8.count), let first = s.utf8.first, first != UInt8(ascii: "-") else {
            return false
        }
        return s.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
    }

    /// An upstream is an http(s) origin with an optional path: no user info, query or fragment. Whether the
    /// gateway may reach it is the operator's decision (`apps.upstreams` in the gateway's configuration).
    static func upstreamProblem(_ raw: String) -> String? {
        guard raw.utf8.count <= 300, let u = URLComponents(string: raw), let scheme = u.scheme,
            ["http", "https"].contains(scheme), let host = u.host, !host.isEmpty
        else { return "`upstream` must be an http:// or https:// URL." }
        if u.user != nil || u.password != nil || u.query != nil || u.fragment != nil {
            return "`upstream` may not carry user info, a query or a fragment."
        }
        return nil
    }

    /// Stored rules are the full encoding; anything unreadable is the empty rule's opposite: nobody enters.
    static func rule(_ s: String) -> AppAccessRule? {
        if s == "{}" { return nil }
        return (try? JSONDecoder().decode(AppAccessRule.self, from: Data(s.utf8)))
            ?? AppAccessRule(roles: ["(unreadable rule)"])
    }

    static func ruleJSON(_ r: AppAccessRule) -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return (try? e.encode(r)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

extension AppView {
    func with(slug: String?, upstream: String?, rule: AppAccessRule?) -> AppView {
        var v = self
        v.slug = slug
        v.upstream = upstream
        v.rule = rule
        return v
    }
}
