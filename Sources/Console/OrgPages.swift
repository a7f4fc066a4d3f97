import Foundation
import GatehouseCore
import Gateway
import HTTP
import SAML
import TenantAPI
import TenantDomain
import Web

/// The smaller console tabs: settings (org id, rename), apps, roles (custom roles with a permission
/// checklist), API keys (secret shown once), SSO settings, and the audit log with filters.
enum OrgPages {

    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        b.console("GET", "/console/:org/settings", { c in try await settings(c, error: nil) }, gateway: g)
        b.console(
            "POST", "/console/:org/settings",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                do { _ = try await c.api.rename(form.value("name") ?? "") } catch let e as GatehouseError {
                    return try await settings(c, error: e.message, status: e.status)
                }
                return c.redirect("\(c.base)/settings", flash: "Organization renamed.")
            }, gateway: g)
        // Owners hand the org over to another member here (they become an admin).
        b.console(
            "POST", "/console/:org/transfer",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let email = (form.value("email") ?? "").trimmingCharacters(in: .whitespaces)
                do {
                    let owner = try await c.api.transfer(to: email)
                    return c.redirect(
                        "\(c.base)/settings", flash: "\(owner.email) now owns \(c.orgName); you are an admin.")
                } catch let e as GatehouseError {
                    return try await settings(c, error: nil, transferError: e.message, typed: email, status: e.status)
                }
            }, gateway: g)
        // Owners delete their org here, typing its name (shown); a wrong name keeps the form with the reason.
        b.console(
            "POST", "/console/:org/delete",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let typed = (form.value("confirmName") ?? "").trimmingCharacters(in: .whitespaces)
                guard typed == c.orgName else {
                    return try await settings(
                        c, error: nil, deleteError: "That is not the organization's name. Type \(c.orgName) exactly.",
                        typed: typed, status: 422)
                }
                do { try await c.api.deleteOrg(confirmName: typed) } catch let e as GatehouseError {
                    return try await settings(c, error: nil, deleteError: e.message, typed: typed, status: e.status)
                }
                var r = Response.redirect(to: "/")
                r.setCookie(Flash.set(c.g, "\(c.orgName) was deleted."))
                return r
            }, gateway: g)

        b.console(
            "GET", "/console/:org/apps",
            { c in
                let model = AppsPageModel(apps: try await c.api.apps(), permissions: c.permissions)
                return c.render("Apps", tab: "apps", body: OrgViews.apps(model, base: c.base, csrfField: c.csrfField))
            }, gateway: g)
        b.console(
            "POST", "/console/:org/apps",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let outcome = await c.outcome("App created.") {
                    _ = try await c.api.createApp(name: form.value("name") ?? "")
                }
                return c.redirect("\(c.base)/apps", flash: outcome)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/apps/:app/rename",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let app = try c.ctx.parameter("app")
                let outcome = await c.outcome("App renamed.") {
                    _ = try await c.api.renameApp(app, name: form.value("name") ?? "")
                }
                return c.redirect("\(c.base)/apps", flash: outcome)
            }, gateway: g)
        // Deleting an app ends everyone's access to it: a confirmation page says how many lose it first.
        b.console(
            "POST", "/console/:org/apps/:app/delete",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let id = try c.ctx.parameter("app")
                guard let app = try await c.api.apps().first(where: { $0.id == id }) else {
                    return c.redirect("\(c.base)/apps", flash: "That app no longer exists.")
                }
                guard form.value("confirm") == "yes" else {
                    let n = app.memberCount ?? 0
                    let body: HTML =
                        "<p>Delete <strong>\(app.name)</strong>? \(n == 1 ? "1 member loses" : "\(n) members lose")"
                        + " access to it, and their API keys for it stop working. This cannot be undone.</p>"
                        + "<form method=\"post\" action=\"\(c.base)/apps/\(id)/delete\">\(c.csrfField)<input"
                        + " type=\"hidden\" name=\"confirm\" value=\"yes\"><div class=\"actions\"><button"
                        + " type=\"submit\" class=\"danger\">Delete app</button><a class=\"button secondary\""
                        + " href=\"\(c.base)/apps\">Cancel</a></div></form>"
                    return c.render("Delete \(app.name)?", tab: "apps", body: body)
                }
                let outcome = await c.outcome("App deleted.") { try await c.api.deleteApp(id) }
                return c.redirect("\(c.base)/apps", flash: outcome)
            }, gateway: g)

        b.console(
            "GET", "/console/:org/roles",
            { c in
                let model = RolesPageModel(roles: try await c.api.roles(), permissions: c.permissions)
                return c.render(
                    "Roles", tab: "roles", body: OrgViews.roles(model, base: c.base, csrfField: c.csrfField))
            }, gateway: g)
        b.console(
            "POST", "/console/:org/roles",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let perms = form.filter { $0.0 == "permissions" }.compactMap { Permission(rawValue: $0.1) }
                let outcome = await c.outcome("Role created.") {
                    _ = try await c.api.createRole(RoleRequest(name: form.value("name") ?? "", permissions: perms))
                }
                return c.redirect("\(c.base)/roles", flash: outcome)
            }, gateway: g)

        // A custom role's edit page (name and permissions); the region checks the ceiling and the name.
        @Sendable func editRole(_ c: Console, error: String?, status: Int) async throws -> Response {
            let id = try c.ctx.parameter("role")
            guard c.may(.rolesManage), let role = try await c.api.roles().first(where: { $0.id == id && !$0.builtIn })
            else { throw GatehouseError.notFound("No such custom role.") }
            let choices = Permission.allCases.filter { !RolesPageModel.neverCustom.contains($0) }
            return c.render(
                "Edit \(role.name)", tab: "roles",
                body: OrgViews.editRole(role, choices: choices, base: c.base, csrfField: c.csrfField, error: error),
                status: status)
        }
        b.console(
            "GET", "/console/:org/roles/:role", { c in try await editRole(c, error: nil, status: 200) }, gateway: g)
        b.console(
            "POST", "/console/:org/roles/:role",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let perms = form.filter { $0.0 == "permissions" }.compactMap { Permission(rawValue: $0.1) }
                do {
                    _ = try await c.api.updateRole(
                        try c.ctx.parameter("role"), RoleRequest(name: form.value("name") ?? "", permissions: perms))
                } catch let e as GatehouseError where e.status < 500 {
                    return try await editRole(c, error: e.message, status: e.status)
                }
                return c.redirect("\(c.base)/roles", flash: "Role saved.")
            }, gateway: g)

        b.console(
            "POST", "/console/:org/roles/:role/delete",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let role = try c.ctx.parameter("role")
                let found = (try? await c.api.roles())?.first { $0.id == role }
                if let ask = c.confirmFirst(
                    form, title: "Delete the role?",
                    "Delete the role <strong>\(found?.name ?? role)</strong>? A role that members still hold cannot be"
                        + " deleted; give them another role first.", button: "Delete role", cancel: "\(c.base)/roles",
                    tab: "roles")
                {
                    return ask
                }
                let outcome = await c.outcome("Role deleted.") { try await c.api.deleteRole(role) }
                return c.redirect("\(c.base)/roles", flash: outcome)
            }, gateway: g)

        b.console("GET", "/console/:org/apikeys", { c in try await apiKeys(c, secret: nil) }, gateway: g)
        b.console(
            "POST", "/console/:org/apikeys",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let key: APIKeyView
                do { key = try await c.api.createAPIKey(APIKeyRequest(name: form.value("name") ?? "")) } catch let e
                    as GatehouseError
                {
                    return c.redirect("\(c.base)/apikeys", flash: e.message)
                }
                return try await apiKeys(c, secret: key.secret)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/apikeys/:key/revoke",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let key = try c.ctx.parameter("key")
                let name = (try? await c.api.apiKeys())?.first { $0.id == key }?.name ?? key
                if let ask = c.confirmFirst(
                    form, title: "Revoke the API key?",
                    "Revoke the API key <strong>\(name)</strong>? Every program using it is refused from now on; this"
                        + " cannot be undone.", button: "Revoke key", cancel: "\(c.base)/apikeys", tab: "apikeys")
                {
                    return ask
                }
                let outcome = await c.outcome("Key revoked.") { try await c.api.revokeAPIKey(key) }
                return c.redirect("\(c.base)/apikeys", flash: outcome)
            }, gateway: g)

        // SCIM tokens (the org's directory provisioning members), beside single sign-on.
        b.console("GET", "/console/:org/sso/scim", { c in try await scimTokens(c, secret: nil) }, gateway: g)
        b.console(
            "POST", "/console/:org/sso/scim",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let token: SCIMTokenView
                do {
                    token = try await c.api.createSCIMToken(
                        SCIMTokenRequest(name: form.value("name") ?? "", roleCeiling: form.value("ceiling")))
                } catch let e as GatehouseError {
                    return c.redirect("\(c.base)/sso/scim", flash: e.message)
                }
                return try await scimTokens(c, secret: token.secret)
            }, gateway: g)
        b.console(
            "POST", "/console/:org/sso/scim/:token/revoke",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                let id = try c.ctx.parameter("token")
                let name = (try? await c.api.scimTokens())?.first { $0.id == id }?.name ?? id
                if let ask = c.confirmFirst(
                    form, title: "Revoke the SCIM token?",
                    "Revoke the SCIM token <strong>\(name)</strong>? Your identity provider can no longer add, change"
                        + " or remove members with it; this cannot be undone.", button: "Revoke token",
                    cancel: "\(c.base)/sso/scim", tab: "sso")
                {
                    return ask
                }
                let outcome = await c.outcome("Token revoked.") { try await c.api.revokeSCIMToken(id) }
                return c.redirect("\(c.base)/sso/scim", flash: outcome)
            }, gateway: g)

        b.console(
            "GET", "/console/:org/audit",
            { c in
                let action = c.ctx.query("action") ?? ""
                let actor = c.ctx.query("actor") ?? ""
                let page = try await c.api.audit(AuditPageModel.query(action: action, actor: actor))
                let model = AuditPageModel(
                    org: c.org, action: action, actor: actor, events: page.events, now: c.g.clock.now())
                return c.render("Audit log", tab: "audit", body: OrgViews.audit(model, base: c.base))
            }, gateway: g)

        b.console("GET", "/console/:org/sso", { c in try await sso(c, error: nil) }, gateway: g)
        b.console(
            "POST", "/console/:org/sso",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                guard c.may(.ssoManage) else {
                    return try await sso(c, error: "You may not change SSO settings.", status: 403)
                }
                var update = SSOSettingsUpdate()
                if let xml = form.value("metadataXML"), !xml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    update.metadataXML = xml
                }
                update.jit = SSOSettings.JIT(
                    enabled: form.value("jit") == "1", defaultRole: form.value("jitRole") ?? "member")
                update.allowIdPInitiated = form.value("idpInitiated") == "1"
                update.minRSABits = form.value("minRSABits").flatMap { Int($0) }
                update.domains = (form.value("domains") ?? "").split(whereSeparator: {
                    $0 == "," || $0 == " " || $0 == "\n"
                }).map(String.init)
                do {
                    let current = try await c.g.sso.settings(org: c.org)
                    guard current != nil || update.metadataXML != nil else {
                        return try await sso(c, error: "Upload the identity provider's metadata first.", status: 422)
                    }
                    _ = try await c.g.saveSSOSettings(update, org: c.org, caller: c.session.caller)
                } catch let e as GatehouseError {
                    return try await sso(c, error: e.message, status: e.status)
                }
                return c.redirect("\(c.base)/sso", flash: "SSO settings saved.")
            }, gateway: g)
        b.console(
            "POST", "/console/:org/sso/oidc",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                func text(_ name: String) -> String? {
                    let v = (form.value(name) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                    return v.isEmpty ? nil : v
                }
                var variables: [String: String] = [:]
                for line in (form.value("variables") ?? "").split(whereSeparator: \.isNewline) {
                    let pair = line.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }
                    if pair.count == 2, !pair[0].isEmpty, !pair[1].isEmpty { variables[pair[0]] = pair[1] }
                }
                var claims = OIDCSettings.Claims()
                claims.firstName = text("firstName") ?? claims.firstName
                claims.lastName = text("lastName") ?? claims.lastName
                claims.variables = variables
                let update = OIDCSettingsUpdate(
                    preset: text("preset").flatMap(OIDCSettingsUpdate.Preset.init(rawValue:)), issuer: text("issuer"),
                    clientID: text("clientID") ?? "", clientSecret: text("clientSecret"),
                    allowedDomains: (form.value("allowedDomains") ?? "").split(whereSeparator: {
                        $0 == "," || $0 == " " || $0 == "\n"
                    }).map(String.init), hostedDomain: text("hostedDomain"), claims: claims,
                    jit: SSOSettings.JIT(
                        enabled: form.value("oidcJit") == "1", defaultRole: text("jitRole") ?? "member"))
                do { _ = try await c.g.saveOIDCSettings(update, org: c.org, caller: c.session.caller) } catch let e
                    as GatehouseError
                {
                    return try await sso(c, error: nil, oidcError: e.message, status: e.status)
                }
                return c.redirect("\(c.base)/sso", flash: "OpenID Connect settings saved.")
            }, gateway: g)
        b.console(
            "POST", "/console/:org/sso/oidc/delete",
            { c in
                let form = try c.ctx.formPairs()
                if let refused = c.checkForm(form) { return refused }
                do { try await c.g.deleteOIDCSettings(org: c.org, caller: c.session.caller) } catch let e
                    as GatehouseError
                {
                    return try await sso(c, error: nil, oidcError: e.message, status: e.status)
                }
                return c.redirect("\(c.base)/sso", flash: "The OpenID connection was removed.")
            }, gateway: g)
    }

    static func settings(
        _ c: Console, error: String?, deleteError: String? = nil, transferError: String? = nil, typed: String = "",
        status: Int = 200
    ) async throws -> Response {
        var h: HTML =
            "<label for=\"org-id\">Organization ID</label><div class=\"actions\"><input id=\"org-id\" type=\"text\""
            + " readonly value=\"\(c.org)\"><button type=\"button\" class=\"secondary\" data-copy=\"\(c.org)\""
            + " hidden>Copy</button></div>"
        if c.may(.orgRename) {
            h +=
                "<form method=\"post\" action=\"\(c.base)/settings\">\(c.csrfField)<label for=\"org-name\">Display"
                + " name</label>"
            h +=
                "<input id=\"org-name\" name=\"name\" type=\"text\" required"
                + " value=\"\(c.orgName)\"\(if: error != nil, " aria-describedby=\"name-error\" aria-invalid=\"true\"")>"
            if let error { h += "<p class=\"field-error\" role=\"alert\" id=\"name-error\">\(error)</p>" }
            h += "<div class=\"actions\"><button type=\"submit\">Save name</button></div></form>"
        } else {
            h +=
                "<label for=\"org-name\">Display name</label><input id=\"org-name\" type=\"text\" readonly"
                + " value=\"\(c.orgName)\"><p class=\"meta\">Only owners and admins can rename the organization."
                + "</p>"
        }
        if c.may(.orgTransfer) {
            h +=
                "<h2>Transfer ownership</h2><form method=\"post\" action=\"\(c.base)/transfer\" class=\"panel\">"
                + "\(c.csrfField)<p>The member you name becomes an owner of <strong>\(c.orgName)</strong>; you become"
                + " an admin.</p>"
            if let transferError {
                h += "<p class=\"field-error\" role=\"alert\" id=\"transfer-error\">\(transferError)</p>"
            }
            h +=
                "<label for=\"transfer-email\">The new owner's email (a member of the organization)</label><input"
                + " id=\"transfer-email\" name=\"email\" type=\"email\" required"
                + " value=\"\(transferError != nil ? typed : "")\"\(if: transferError != nil, " aria-invalid=\"true\"")"
                + "\(if: transferError != nil, " aria-describedby=\"transfer-error\"")>"
                + "<div class=\"actions\"><button type=\"submit\" class=\"secondary\">Transfer ownership</button></div>"
                + "</form>"
        }
        if c.may(.orgDelete) {
            h +=
                "<h2>Delete this organization</h2><form method=\"post\" action=\"\(c.base)/delete\" class=\"panel\">"
                + "\(c.csrfField)<p>This removes every member, invitation, app and API key of"
                + " <strong>\(c.orgName)</strong>. It cannot be undone.</p>"
            if let deleteError {
                h += "<p class=\"field-error\" role=\"alert\" id=\"delete-error\">\(deleteError)</p>"
            }
            h +=
                "<label for=\"confirm-name\">Type <strong>\(c.orgName)</strong> to confirm</label><input"
                + " id=\"confirm-name\" name=\"confirmName\" type=\"text\" required autocomplete=\"off\""
                + " value=\"\(deleteError != nil ? typed : "")\"\(if: deleteError != nil, " aria-invalid=\"true\"")"
                + "\(if: deleteError != nil, " aria-describedby=\"delete-error\"")>"
                + "<div class=\"actions\"><button type=\"submit\" class=\"danger\">Delete organization</button></div>"
                + "</form>"
        }
        return c.render("Settings", tab: "settings", body: h, status: status)
    }

    static func apiKeys(_ c: Console, secret: String?) async throws -> Response {
        let keys = try await c.api.apiKeys()
        var h: HTML = ""
        if let secret {
            h +=
                "<div class=\"flash\" role=\"status\"><p><strong>Copy this key now: it is shown only once.</strong>"
                + "</p><input id=\"new-key\" type=\"text\" readonly value=\"\(secret)\" aria-label=\"New API"
                + " key\"><div class=\"actions\"><button type=\"button\" data-copy=\"\(secret)\" hidden>Copy"
                + " key</button></div></div>"
        }
        h +=
            keys.isEmpty
            ? "<p class=\"empty\">No API keys yet. Name one below to let a program call the API as you, in this"
                + " organization only.</p>"
            : "<div class=\"table-wrap\"><table id=\"apikeys\"><thead><tr><th scope=\"col\">Name</th><th"
                + " scope=\"col\">Created</th><th scope=\"col\">Status</th><th scope=\"col\"><span class=\"meta\">"
                + "Actions</span></th></tr></thead><tbody>"
                + keys.map { k -> HTML in
                    let active: HTML = "<span class=\"badge joined\">Active</span>"
                    let revoked: HTML = "<span class=\"badge revoked\">Revoked</span>"
                    return "<tr><td>\(k.name)</td><td>\(CivilTime.short(k.createdAt))</td>"
                        + "<td>\(k.revokedAt == nil ? active : revoked)</td><td>"
                        + (k.revokedAt == nil
                            ? "<form method=\"post\" action=\"\(c.base)/apikeys/\(k.id)/revoke\">\(c.csrfField)"
                                + "<button type=\"submit\" class=\"secondary\">Revoke</button></form>"
                            : "") + "</td></tr>"
                }.joined() + "</tbody></table></div>"
        h +=
            "<form method=\"post\" action=\"\(c.base)/apikeys\" class=\"panel\">\(c.csrfField)<label"
            + " for=\"key-name\">New key name</label><input id=\"key-name\" name=\"name\" type=\"text\""
            + " required><div class=\"actions\"><button type=\"submit\">Create key</button></div></form>"
        return c.render("API keys", tab: "apikeys", body: h)
    }

    /// SCIM tokens: the endpoint to give the identity provider, the tokens (secret shown once), a form to make one.
    static func scimTokens(_ c: Console, secret: String?) async throws -> Response {
        guard c.may(.ssoManage) else {
            throw GatehouseError.forbidden("SCIM provisioning needs the sso.manage permission.")
        }
        let tokens = try await c.api.scimTokens()
        let endpoint = "\(c.g.settings.publicBaseURL)/scim/v2/orgs/\(c.org)"
        var h: HTML =
            "<p><a href=\"\(c.base)/sso\">← Single sign-on</a></p><p>Your identity provider (Okta, Entra ID…) adds,"
            + " changes, deactivates and removes members here, and puts them in groups — the organization's roles."
            + " Give it this URL and a token:</p><div class=\"kv\"><span>SCIM endpoint</span><code"
            + " id=\"scim-endpoint\">\(endpoint)</code></div>"
        if let secret {
            h +=
                "<div class=\"flash\" role=\"status\"><p><strong>Copy this token now: it is shown only once.</strong>"
                + "</p><input id=\"new-scim-token\" type=\"text\" readonly value=\"\(secret)\" aria-label=\"New SCIM"
                + " token\"><div class=\"actions\"><button type=\"button\" data-copy=\"\(secret)\" hidden>Copy"
                + " token</button></div></div>"
        }
        h +=
            tokens.isEmpty
            ? "<p class=\"empty\">No SCIM tokens yet. Make one below for your identity provider.</p>"
            : "<div class=\"table-wrap\"><table id=\"scim-tokens\"><thead><tr><th scope=\"col\">Name</th><th"
                + " scope=\"col\">Highest role it may give</th><th scope=\"col\">Created</th><th scope=\"col\">"
                + "<span class=\"meta\">Actions</span></th></tr></thead><tbody>"
                + tokens.map { t -> HTML in
                    "<tr><td>\(t.name)</td><td>\(Role.builtIn(t.roleCeiling)?.name ?? t.roleCeiling)</td>"
                        + "<td>\(CivilTime.short(t.createdAt))</td><td><form method=\"post\""
                        + " action=\"\(c.base)/sso/scim/\(t.id)/revoke\">\(c.csrfField)<button type=\"submit\""
                        + " class=\"secondary\">Revoke</button></form></td></tr>"
                }.joined() + "</tbody></table></div>"
        let options: HTML = Role.builtIns.reversed().map { r -> HTML in
            let selected: HTML = r.id == "member" ? " selected" : ""
            return "<option value=\"\(r.id)\"\(selected)>\(r.name)</option>"
        }.joined()
        let form: HTML = "<form method=\"post\" action=\"\(c.base)/sso/scim\" class=\"panel\">\(c.csrfField)"
        let name: HTML =
            "<label for=\"scim-name\">Token name (the audit log shows scim:&lt;name&gt;)</label><input"
            + " id=\"scim-name\" name=\"name\" type=\"text\" required>"
        let ceiling: HTML =
            "<label for=\"scim-ceiling\">Highest role it may give</label><select id=\"scim-ceiling\""
            + " name=\"ceiling\">\(options)</select>"
        h += form + name + ceiling + "<div class=\"actions\"><button type=\"submit\">Create token</button></div></form>"
        return c.render("SCIM provisioning", tab: "sso", body: h)
    }

    static func sso(
        _ c: Console, error: String?, oidcError: String? = nil, status: Int = 200
    ) async throws
        -> Response
    {
        guard c.may(.ssoManage) else {
            throw GatehouseError.forbidden("Managing single sign-on needs the sso.manage permission.")
        }
        let model = await SSOPageModel(
            org: c.org, sp: c.g.serviceProvider(org: c.org), settings: try c.g.sso.settings(org: c.org),
            roles: try await c.api.roles(), domains: try c.g.trust.claims(org: c.org), error: error,
            oidc: try c.g.sso.oidcSettings(org: c.org),
            redirectURI: OIDCProvider.redirectURI(baseURL: c.g.settings.publicBaseURL, org: c.org),
            oidcError: oidcError)
        let h =
            SSOPageView.render(model, base: c.base, csrfField: c.csrfField)
            + "<p><a href=\"\(c.base)/sso/scim\">SCIM provisioning: let your identity provider manage members"
            + " →</a></p>"
        return c.render("Single sign-on", tab: "sso", body: h, status: status)
    }
}
