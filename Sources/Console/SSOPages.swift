import Foundation
import GatehouseCore
import Gateway
import HTTP
import SAML
import TenantAPI
import TenantDomain
import Web

/// The SAML Service Provider of every org, as browsers meet it: SP metadata, "Sign in with SSO", SP-initiated
/// login (HTTP-Redirect), the ACS (HTTP-POST), and linking an existing account to the org's IdP.
enum SSOPages {
    static func register(on b: RouterBuilder, gateway g: GatewayService) {
        let logger = b.logger

        b.get("/sso/:org/metadata") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil else { throw Refusal.notFound.error }
            let settings = try await g.sso.settings(org: org)
            let sp = g.serviceProvider(org: org, signRequests: settings?.signRequests ?? false)
            return Response(
                status: 200,
                headers: [
                    "Content-Type": "application/samlmetadata+xml; charset=utf-8",
                    "Content-Disposition": "inline; filename=\"gatehouse-\(org)-sp.xml\"",
                ],
                body: Array(sp.metadataXML().utf8))
        }

        b.get("/sso/start") { ctx in
            let next = BrowserSession.safeNext(ctx.query("next"))
            let who = (ctx.query("who") ?? "").trimmingCharacters(in: .whitespaces)
            var org: String?
            if let at = who.lastIndex(of: "@") {
                // Only a domain the org has proven by DNS routes sign-ins to its IdP.
                org = try await g.trust.verifiedOrg(forDomain: String(who[who.index(after: at)...]))
            } else if OrgID(who) != nil {
                let saml = try await g.sso.settings(org: who) != nil
                let oidc = try await g.sso.oidcSettings(org: who) != nil
                if saml || oidc { org = who }
            }
            guard let org else {
                let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
                let message =
                    who.contains("@")
                    ? "No organization uses single sign-on for that email domain. Sign in with your password instead."
                    : "No organization with that ID uses single sign-on."
                var r = HTMLPage.render(
                    title: "Sign in", viewer: nil,
                    body: AccountPages.loginForm(csrf: csrf, next: next, ssoWho: who, ssoError: message),
                    status: 404)
                if let cookie { r.setCookie(cookie) }
                return r
            }
            // SAML when the org has it, else its OpenID Connect provider (an org may have both; SAML came first).
            let hasSAML = try await g.sso.settings(org: org) != nil
            let hasOIDC = try await g.sso.oidcSettings(org: org) != nil
            let start = !hasSAML && hasOIDC ? "oidc/login" : "login"
            return .redirect(to: "/sso/\(org)/\(start)?next=" + FormDecoding.percentEncode(next), status: 302)
        }

        b.get("/sso/:org/login") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.settings(org: org) else { return notConfigured() }
            // Anonymous, and each start writes a row: limited per address, capped per org (SSOStore), pruned.
            if let wait = g.limiter.attempt([("sso-start:" + g.clientKey(ctx), g.settings.ssoStartsPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let next = BrowserSession.safeNext(ctx.query("next"))
            let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
            let id = ServiceProvider.newRequestID()
            do { try await g.sso.rememberRequest(id: id, org: org, next: next) } catch let e as GatehouseError
                where e.status == 429
            {
                return HTMLPage.slowDown(60)
            }
            if settings.idp.ssoBinding == SAMLNames.postBinding {
                // The IdP takes requests over HTTP-POST only: an auto-submitting form, signed inside the XML.
                let xml = sp.authnRequestXML(id: id, destination: settings.idp.ssoURL, now: g.clock.now())
                let value = try ServiceProvider.postValue(xml: xml, key: sp.signingKey, certificate: sp.certificate)
                return postForm(to: settings.idp.ssoURL, "SAMLRequest", value, relayState: next)
            }
            let url = try sp.redirectURL(
                idpSSOURL: settings.idp.ssoURL, requestID: id, relayState: next, now: g.clock.now())
            var r = Response.redirect(to: url, status: 302)
            r.headers.add("Cache-Control", "no-store")
            return r
        }

        // Single Logout, both directions, both bindings: the IdP's LogoutRequest (it ends every session it made
        // for that subject and gets a signed LogoutResponse) and the IdP's answer to ours.
        let slo: Handler = { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.settings(org: org) else { return notConfigured() }
            if let wait = g.limiter.attempt([("sso:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
            let expect = LogoutExpectations(
                certificates: settings.idpCertificates, issuer: settings.idp.entityID, destination: sp.sloURL,
                allowSHA1: settings.allowSHA1, now: g.clock.now())
            let message: LogoutMessage
            do {
                if ctx.request.method == "POST" {
                    let form = try ctx.formPairs()
                    let parameter = form.value("SAMLRequest") != nil ? "SAMLRequest" : "SAMLResponse"
                    message = try LogoutReader.fromPost(
                        parameter: parameter, value: form.value(parameter) ?? "", relayState: form.value("RelayState"),
                        expect)
                } else {
                    message = try LogoutReader.fromRedirect(rawQuery: String(ctx.request.query ?? ""), expect)
                }
                let id: String
                switch message {
                case .request(let i, _, _, _), .response(let i, _, _, _): id = i
                }
                // Each logout message is acted on once.
                switch try await g.sso.consume(
                    assertionID: "logout:" + id, org: org, until: g.clock.now().addingTimeInterval(900), requestID: nil)
                {
                case .accepted: break
                case .replayed, .requestAlreadyAnswered:
                    throw SAMLRefusal("replayed", "this logout message was already used")
                }
            } catch let r as SAMLRefusal {
                logger.warning(
                    "saml logout refused",
                    [
                        "org": .string(org), "saml.refusal": .string(r.code), "reason": .string(r.reason),
                        "reference": .string(ctx.request.id),
                    ])
                return HTMLPage.notice(
                    "Sign-out not accepted",
                    "The sign-out message was not accepted. If this keeps happening, give your administrator this "
                        + "reference: \(ctx.request.id).", action: ("Home", "/"), status: 403)
            }
            switch message {
            case .request(let id, let nameID, let indexes, let relay):
                let ended = try await g.sessions.revokeSAML(
                    method: .saml(org: org), nameID: nameID, sessionIndexes: indexes)
                logger.info("saml logout by the idp", ["org": .string(org), "sessions": .int(ended)])
                let destination = settings.idp.sloResponseURL ?? settings.idp.sloURL
                guard let destination else {
                    return HTMLPage.notice(
                        "Signed out", "You are signed out.", action: ("Sign in", "/login"), status: 200)
                }
                let xml = sp.logoutResponseXML(
                    id: ServiceProvider.newRequestID(), inResponseTo: id, destination: destination, now: g.clock.now())
                var r: Response
                if settings.idp.sloBinding == SAMLNames.postBinding {
                    let value = try ServiceProvider.postValue(xml: xml, key: sp.key, certificate: sp.certificate)
                    r = postForm(to: destination, "SAMLResponse", value, relayState: relay)
                } else {
                    r = .redirect(
                        to: try ServiceProvider.redirect(
                            to: destination, parameter: "SAMLResponse", xml: xml, relayState: relay, key: sp.key),
                        status: 302)
                    r.headers.add("Cache-Control", "no-store")
                }
                return r
            case .response(_, let inResponseTo, let success, _):
                guard try await g.sso.pendingRequest(id: inResponseTo, org: org, kind: .logout) != nil else {
                    logger.warning("saml logout response to an unknown request", ["org": .string(org)])
                    return HTMLPage.notice(
                        "Signed out", "You are signed out of Gatehouse.", action: ("Sign in", "/login"), status: 400)
                }
                logger.info("saml logout completed", ["org": .string(org), "idp.success": .bool(success)])
                return HTMLPage.notice(
                    "Signed out",
                    success
                        ? "You are signed out of Gatehouse and of your organization's identity provider."
                        : "You are signed out of Gatehouse. Your identity provider could not end its own session; "
                            + "close the browser to be sure.",
                    action: ("Sign in again", "/login"), status: 200)
            }
        }
        b.get("/sso/:org/slo", slo)
        b.post("/sso/:org/slo", slo)

        // The IdP's browser POST. No CSRF token can exist here (the form comes from the IdP); the signature, the
        // InResponseTo of a request this SP sent, and one-time assertion ids protect it instead.
        b.post("/sso/:org/acs") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.settings(org: org) else { return notConfigured() }
            if let wait = g.limiter.attempt([("sso:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                return HTMLPage.slowDown(wait)
            }
            let form = try ctx.formPairs()
            guard let posted = form.value("SAMLResponse") else {
                return HTMLPage.notice(
                    "Sign-in failed", "The identity provider did not send a SAML response.",
                    action: ("Try again", "/sso/\(org)/login"), status: 400)
            }
            let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
            let login: SAMLLogin
            var next: String?
            var requestID: String?
            do {
                let xml = try SAMLResponseValidator.decode(Array(posted.utf8))
                // One parse: the validator hands over the Response's InResponseTo, and the request it answers (if
                // this SP sent it and it is still live) decides what is expected.
                let parsed = try SAMLResponseValidator.parse(xml)
                if let irt = parsed.inResponseTo {
                    let found: String?
                    do { found = try await g.sso.pendingRequest(id: irt, org: org) } catch {
                        throw SAMLRefusal("unavailable", "sign-in is briefly unavailable; try again")
                    }
                    if let found {
                        requestID = irt
                        next = found
                    }
                }
                login = try SAMLResponseValidator.validate(
                    parsed,
                    SAMLExpectations(
                        certificates: settings.idpCertificates, issuer: .exactly(settings.idp.entityID),
                        audience: sp.entityID,
                        acsURL: sp.acsURL, inResponseTo: requestID, allowIdPInitiated: settings.allowIdPInitiated,
                        allowSHA1: settings.allowSHA1, decryptionKeys: sp.decryptionKeys, now: g.clock.now()))
                switch try await g.sso.consume(
                    assertionID: login.assertionID, org: org, until: login.validUntil, requestID: requestID)
                {
                case .accepted: break
                case .replayed: throw SAMLRefusal("replayed", "this sign-in response was already used")
                case .requestAlreadyAnswered: throw SAMLRefusal("replayed", "this sign-in request was already answered")
                }
            } catch let r as SAMLRefusal {
                Metrics.shared.increment("gatehouse_sso_refusals_total", [("protocol", "saml"), ("reason", r.code)])
                // The precise reason helps an attacker probe the checks: it goes to the log, under a reference the
                // person can give their administrator (`gatehouse saml verify` prints it too).
                logger.warning(
                    "saml response refused",
                    [
                        "org": .string(org), "saml.refusal": .string(r.code), "reason": .string(r.reason),
                        "reference": .string(ctx.request.id),
                    ])
                return HTMLPage.notice(
                    "Sign-in failed",
                    "Your identity provider's answer was not accepted. If this keeps happening, give your "
                        + "administrator this reference: \(ctx.request.id).",
                    action: ("Try again", "/sso/\(org)/login"), status: 403)
            }
            if next == nil, let relay = form.value("RelayState"), !relay.isEmpty {
                next = BrowserSession.safeNext(relay)
            }

            let mapping = settings.attributes
            let email = Email.normalize(
                (mapping.email.flatMap { login.attributes[$0]?.first } ?? login.nameID).trimmingCharacters(
                    in: .whitespaces))
            guard Email.isValid(email) else {
                return HTMLPage.notice(
                    "Sign-in failed", "Your identity provider did not give an email address Gatehouse can use.",
                    status: 403)
            }
            let first = PersonName.sanitized(login.attributes[mapping.firstName]?.first ?? "")
            let last = PersonName.sanitized(login.attributes[mapping.lastName]?.first ?? "")
            var variables: [String: String] = [:]
            for (attribute, variable) in mapping.variables {
                if let values = login.attributes[attribute], !values.isEmpty {
                    variables[variable] = String(values.joined(separator: ",").prefix(1024))
                }
            }
            return try await admit(
                g, ctx, org: org, email: email, first: first, last: last, variables: variables,
                jit: settings.jit, next: next, method: .saml(org: org),
                subject: ServiceProvider.Subject(
                    nameID: login.nameID, format: login.nameIDFormat, sessionIndex: login.sessionIndex),
                logger: logger)
        }

        // Linking an existing account to the org's IdP: the person proves the account with its password, once.
        b.get("/sso/:org/link") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let pending = try await pendingLink(g, ctx, org: org),
                let account = try await g.accounts.find(id: pending.accountID)
            else {
                return linkExpired(org)
            }
            let (csrf, cookie) = BrowserSession.preSessionToken(g, ctx)
            var r = HTMLPage.render(
                title: "Link your account", viewer: nil,
                body: linkForm(org: org, account: account, csrf: csrf, error: nil))
            r.headers.add("Cache-Control", "no-store")
            if let cookie { r.setCookie(cookie) }
            return r
        }

        b.post("/sso/:org/link") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let settings = try await g.sso.settings(org: org),
                let pending = try await pendingLink(g, ctx, org: org),
                let account = try await g.accounts.find(id: pending.accountID)
            else { return linkExpired(org) }
            let form = try ctx.formPairs()
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Link your account", viewer: nil,
                    body: linkForm(
                        org: org, account: account, csrf: csrf, error: "This form expired. Please try again."),
                    status: 403)
            }
            // The proof: the code mailed to the address, or the account's password.
            let via: String
            if let code = form.value("code"), !code.isEmpty {
                let failures = "linkcode:" + pending.codeSubject
                if let wait = g.limiter.delay(failures, g.settings.codeBackoff) { return HTMLPage.slowDown(wait) }
                guard g.tokens.checkCode(code, subject: pending.codeSubject, now: g.clock.now()) else {
                    g.limiter.fail(failures, g.settings.codeBackoff)
                    return HTMLPage.render(
                        title: "Link your account", viewer: nil,
                        body: linkForm(
                            org: org, account: account, csrf: csrf,
                            error: "That code is not right, or it has expired. Ask for a new one.", codeSent: true),
                        status: 401)
                }
                via = "mailed_code"
            } else {
                guard account.hasPassword else {
                    return HTMLPage.render(
                        title: "Link your account", viewer: nil,
                        body: linkForm(org: org, account: account, csrf: csrf, error: "Enter the code we emailed you."),
                        status: 422)
                }
                switch try await g.checkPassword(
                    email: account.email, password: form.value("password") ?? "", client: g.clientKey(ctx))
                {
                case .ok: break
                case .wait(let wait): return HTMLPage.slowDown(wait)
                case .wrong:
                    return HTMLPage.render(
                        title: "Link your account", viewer: nil,
                        body: linkForm(org: org, account: account, csrf: csrf, error: "That password is not right."),
                        status: 401)
                }
                via = "password"
            }
            try await g.trust.link(accountID: account.id, org: org, via: via)
            if let token = Cookies.value(named: pendingLinkCookie, in: ctx.request.headers) {
                try await g.trust.forgetPendingLink(token)
            }
            logger.info("sso account linked", ["org": .string(org), "account": .string(account.id)])
            let domainProven = try await g.trust.emailDomainVerified(account.email, org: org)
            var r = try await finishSignIn(
                g, ctx, org: org, account: account, created: nil, email: account.email, first: account.firstName,
                last: account.lastName, variables: [:],
                jitRole: settings.jit.enabled && domainProven ? settings.jit.defaultRole : nil, next: pending.next,
                method: .saml(org: org))
            r.setCookie(
                SetCookie(
                    name: pendingLinkCookie, value: "", path: "/sso/\(org)/", maxAge: 0, httpOnly: true,
                    secure: g.settings.secureCookies,
                    sameSite: .lax))
            return r
        }

        // A code to the account's address, the other proof for the link (the only one without a password).
        b.post("/sso/:org/link/code") { ctx in
            let org = try ctx.parameter("org")
            guard OrgID(org) != nil, let pending = try await pendingLink(g, ctx, org: org),
                let account = try await g.accounts.find(id: pending.accountID)
            else {
                return linkExpired(org)
            }
            let form = try ctx.formPairs()
            let (csrf, _) = BrowserSession.preSessionToken(g, ctx)
            guard BrowserSession.checkForm(g, ctx, form) else {
                return HTMLPage.render(
                    title: "Link your account", viewer: nil,
                    body: linkForm(
                        org: org, account: account, csrf: csrf, error: "This form expired. Please try again."),
                    status: 403)
            }
            if let wait = g.limiter.attempt([
                ("linkcode-send:" + pending.codeSubject, g.settings.codesPerInvite),
                ("code:" + g.clientKey(ctx), g.settings.acceptPerAddress),
            ]) {
                return HTMLPage.slowDown(wait)
            }
            try await g.regions.tenant(forOrg: org).sendSSOLinkCode(
                orgID: org, email: account.email, subject: pending.codeSubject)
            return HTMLPage.render(
                title: "Link your account", viewer: nil,
                body: linkForm(org: org, account: account, csrf: csrf, error: nil, codeSent: true))
        }
    }

    static let pendingLinkCookie = "gh_sso_link"

    static func pendingLink(
        _ g: GatewayService, _ ctx: RequestContext, org: String
    ) async throws -> SSOTrust.PendingLink? {
        guard let token = Cookies.value(named: pendingLinkCookie, in: ctx.request.headers) else { return nil }
        return try await g.trust.pendingLink(token, org: org)
    }

    static func linkExpired(_ org: String) -> Response {
        HTMLPage.notice(
            "Sign in again", "This sign-in has expired or was already used. Start again from your identity provider.",
            action: ("Sign in with SSO", "/sso/\(org)/login"), status: 410)
    }

    /// The page that explains the link and asks for the proof: the account's password, or a code mailed to it.
    static func linkForm(org: String, account: Account, csrf: String, error: String?, codeSent: Bool = false) -> HTML {
        var h: HTML = """
            <p>Your organization's identity provider signed you in as <strong>\(account.email)</strong>. A Gatehouse \
            account with that
            address already exists, and this is the first time this organization's single sign-on is used for it.</p>
            <p>To link them, prove the account is yours once. After that, this single sign-on opens this organization \
            (and only it) for you.</p>
            """
        if let error { h += "<p class=\"error\" role=\"alert\" id=\"link-error\">\(error)</p>" }
        if codeSent {
            h +=
                "<p class=\"notice\" role=\"status\">We sent a code to \(account.email). It works for about 10"
                + " minutes.</p>"
        }
        let describedBy: HTML = error != nil ? " aria-describedby=\"link-error\"" : ""
        if codeSent {
            h += """
                <form method="post" action="/sso/\(org)/link"><input type="hidden" name="csrf" value="\(csrf)">
                <label for="code">Code from the email</label>
                <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" \
                pattern="[0-9]{6}" maxlength="6" required\(describedBy)>
                <div class="actions"><button type="submit">Link and continue</button></div></form>
                """
        }
        if account.hasPassword {
            h += """
                <form method="post" action="/sso/\(org)/link"><input type="hidden" name="csrf" value="\(csrf)">
                <label for="password">Your Gatehouse password</label>
                <input id="password" name="password" type="password" autocomplete="current-password" \
                required\(codeSent ? "" : describedBy as HTML)>
                <div class="actions"><button type="submit">Link and continue</button></div></form>
                """
        }
        if !codeSent {
            let label = account.hasPassword ? "Email me a code instead" : "Email me a code"
            h += """
                <form method="post" action="/sso/\(org)/link/code"><input type="hidden" name="csrf" value="\(csrf)">
                <div class="actions"><button type="submit"\(if: account.hasPassword, " class=\"secondary\"")>\(label)</button></div></form>
                """
        }
        return h
    }

    /// After an IdP's answer was accepted (SAML or OpenID Connect): the account it names, linked or made under the
    /// org's rules, then `finishSignIn`.
    static func admit(
        _ g: GatewayService, _ ctx: RequestContext, org: String, email: String, first: String, last: String,
        variables: [String: String], jit: SSOSettings.JIT, next: String?, method: AuthMethod,
        subject: ServiceProvider.Subject?, logger: Logger
    ) async throws -> Response {
        // The IdP is org X's word, trusted for X only (SECURITY.md): it may sign in an existing account only
        // when the account is linked to X's IdP or the email's domain is proven by X; it may create an account
        // only for a pending invite of X or (JIT) an address in X's proven domains.
        let domainProven = try await g.trust.emailDomainVerified(email, org: org)
        let jitRole = jit.enabled && domainProven ? jit.defaultRole : nil
        var created: Account?
        var account = try await g.accounts.find(email: email)
        if let existing = account, !domainProven, try await !g.trust.isLinked(accountID: existing.id, org: org) {
            // This browser already proved the account with its password: that is the proof the link needs.
            if let token = g.sessionToken(ctx), let (s, a, _) = try await g.sessions.validateWithAccount(token),
                a.id == existing.id,
                s.method.provesAccount
            {
                try await g.trust.link(accountID: existing.id, org: org, via: "session")
            } else if case .oidc = method {
                // The link page finishes SAML sign-ins; an OpenID sign-in links through a password session instead.
                logger.info(
                    "oidc sign-in needs an account link", ["org": .string(org), "account": .string(existing.id)])
                return HTMLPage.notice(
                    "Link your account first",
                    "An account with this email address already exists. Sign in with its password once, then use "
                        + "single sign-on again: your account is then linked to your organization's provider.",
                    action: ("Sign in", "/login?next=" + FormDecoding.percentEncode("/sso/\(org)/oidc/login")),
                    status: 409)
            } else {
                logger.info(
                    "sso sign-in needs an account link", ["org": .string(org), "account": .string(existing.id)])
                let pending = try await g.trust.rememberPendingLink(
                    accountID: existing.id, org: org, next: next ?? "/")
                var r = Response.redirect(to: "/sso/\(org)/link")
                r.setCookie(
                    SetCookie(
                        name: SSOPages.pendingLinkCookie, value: pending, path: "/sso/\(org)/",
                        maxAge: SSOTrust.pendingLinkLifetime,
                        httpOnly: true, secure: g.settings.secureCookies, sameSite: .lax))
                return r
            }
        }
        if account == nil {
            do {
                account = try await g.accounts.create(email: email, firstName: first, lastName: last, password: nil)
                created = account
            } catch let e as GatehouseError where e.code == .accountExists {
                account = try await g.accounts.find(email: email)  // a concurrent sign-in made it first
                guard let a = account, try await g.trust.isLinked(accountID: a.id, org: org) || domainProven else {
                    return HTMLPage.notice(
                        "Try again", "Your sign-in crossed another one. Start again.",
                        action: ("Try again", "/sso/\(org)/login"), status: 409)
                }
            }
        }
        guard let account else { throw GatehouseError.internalError(detail: "account missing") }
        return try await finishSignIn(
            g, ctx, org: org, account: account, created: created, email: email, first: first, last: last,
            variables: variables, jitRole: jitRole, next: next, method: method, subject: subject)
    }

    /// The end of every accepted SSO sign-in: the region lets the account in (member, invite, or JIT), an
    /// account made by this IdP is linked to it, and the browser gets a session good for this org only.
    static func finishSignIn(
        _ g: GatewayService, _ ctx: RequestContext, org: String, account: Account, created: Account?, email: String,
        first: String, last: String, variables: [String: String], jitRole: String?, next: String?,
        method: AuthMethod, subject: ServiceProvider.Subject? = nil
    ) async throws -> Response {
        let result: SSOSignInResult
        do {
            let tenant = try g.regions.tenant(forOrg: org)
            result = try await tenant.ssoSignIn(
                SSOSignInRequest(
                    orgID: org, accountID: account.id, email: email, firstName: first, lastName: last,
                    userVariables: variables, jitRole: jitRole))
        } catch let e as GatehouseError {
            if let created { try? await g.accounts.deleteUnusedSSOAccount(id: created.id) }
            return HTMLPage.notice("You cannot sign in here", e.message, status: e.status)
        }
        if created != nil { try await g.trust.link(accountID: account.id, org: org, via: "created") }
        if let old = g.sessionToken(ctx) { try? await g.sessions.revoke(old) }
        let (token, _) = try await g.sessions.create(accountID: account.id, method: method, samlSubject: subject)
        let protocolName: String
        switch method {
        case .oidc: protocolName = "oidc"
        default: protocolName = "saml"
        }
        Metrics.shared.increment("gatehouse_sign_ins_total", [("method", protocolName), ("outcome", "ok")])
        var target = next ?? g.settings.destination(result.startingPage)
        if result.outcome == "invite_accepted" && target.hasPrefix("/invite/") {
            target = g.settings.destination(result.startingPage)
        }
        var r = Response.redirect(to: target)
        r.setCookie(g.sessionCookie(token))
        r.setCookie(BrowserSession.currentOrgCookie(g, org: org))
        return r
    }

    /// The way to the IdP's SLO endpoint for a session its org's IdP made (nil when the session was not made by an
    /// IdP, the IdP does no single logout, or the subject is unknown). The LogoutRequest is remembered so the
    /// IdP's answer is recognised once.
    static func singleLogout(_ g: GatewayService, token: String) async throws -> Response? {
        guard let (session, _, _) = try await g.sessions.validateWithAccount(token),
            case .saml(let org) = session.method,
            let settings = try await g.sso.settings(org: org), let sloURL = settings.idp.sloURL,
            let subject = try await g.sessions.samlSubject(token)
        else { return nil }
        let sp = g.serviceProvider(org: org, signRequests: settings.signRequests)
        let id = ServiceProvider.newRequestID()
        try await g.sso.rememberRequest(id: id, org: org, next: "/login", kind: .logout)
        let xml = sp.logoutRequestXML(id: id, destination: sloURL, subject: subject, now: g.clock.now())
        if settings.idp.sloBinding == SAMLNames.postBinding {
            let value = try ServiceProvider.postValue(xml: xml, key: sp.key, certificate: sp.certificate)
            return postForm(to: sloURL, "SAMLRequest", value, relayState: nil)
        }
        var r = Response.redirect(
            to: try ServiceProvider.redirect(
                to: sloURL, parameter: "SAMLRequest", xml: xml, relayState: nil, key: sp.key),
            status: 302)
        r.headers.add("Cache-Control", "no-store")
        return r
    }

    /// An auto-submitting form to the IdP (HTTP-POST binding). The page's policy lets forms go to that origin only;
    /// without script the person presses Continue.
    static func postForm(to action: String, _ parameter: String, _ value: String, relayState: String?) -> Response {
        var fields: HTML = "<input type=\"hidden\" name=\"\(parameter)\" value=\"\(value)\">"
        if let relayState, !relayState.isEmpty {
            fields += "<input type=\"hidden\" name=\"RelayState\" value=\"\(relayState)\">"
        }
        var r = HTMLPage.render(
            title: "Continuing to your identity provider", viewer: nil,
            body: """
                <form method="post" action="\(action)" data-autosubmit>\(fields)<p>Your browser is being sent to your \
                organization's identity provider.</p><div class="actions"><button type="submit">Continue</button></div>\
                </form>
                """)
        // The IdP's origin goes into a header the org admin's settings fill: only a plain host (letters, digits,
        // dots, dashes, an IPv6 literal) is written, anything else leaves `form-action 'self'` (the form then fails
        // closed).
        let origin = URL(string: action).flatMap { u -> String? in
            guard let scheme = u.scheme?.lowercased(), scheme == "https" || scheme == "http", let host = u.host,
                !host.isEmpty,
                host.unicodeScalars.allSatisfy({
                    CharacterSet.alphanumerics.contains($0) || ".-:[]".unicodeScalars.contains($0)
                }), host.allSatisfy(\.isASCII)
            else { return nil }
            return "\(scheme)://\(host)" + (u.port.map { ":\($0)" } ?? "")
        }
        if let csp = r.headers["Content-Security-Policy"], let origin {
            r.headers.set(
                "Content-Security-Policy",
                csp.replacingOccurrences(of: "form-action 'self'", with: "form-action \(origin)"))
        }
        return r
    }

    static func notConfigured() -> Response {
        HTMLPage.notice(
            "Single sign-on is not set up",
            "This organization has no single sign-on configured. Sign in with your password, or ask an administrator.",
            action: ("Sign in", "/login"), status: 404)
    }
}
