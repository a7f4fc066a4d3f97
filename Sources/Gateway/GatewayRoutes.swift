import Foundation
import GatehouseCore
import HTTP
import TenantAPI
import TenantDomain
import Web

/// The gateway's own JSON API: sign-in, sessions, `/api/v1/me`, and the invite link (preview, accept with
/// sign-up, decline). The region API is registered beside it with `GatewayService.caller` as its caller.
package enum GatewayRoutes {
    package static func register(on b: RouterBuilder, gateway g: GatewayService) {
        SSOSettingsRoutes.register(on: b, gateway: g)
        b.get("/api/v1/openapi.json") { _ in
            Response(
                status: 200, headers: ["Content-Type": "application/json", "Cache-Control": "public, max-age=300"],
                body: OpenAPIDocument.json)
        }
        b.post("/api/v1/auth/login") { ctx in
            let req = try ctx.decode(LoginRequest.self)
            // One answer for an unknown email and a wrong password (and the same time: see Accounts.authenticate).
            let account: Account
            switch try await g.checkPassword(email: req.email, password: req.password, client: g.clientKey(ctx)) {
            case .ok(let a): account = a
            case .wait(let wait): throw RateLimiter.refusal(wait)
            case .wrong:
                throw GatehouseError(
                    .invalidCredentials, status: 401, "That email and password do not match an account.")
            }
            // Rotation: a login always gets a new session id; an old cookie presented with it is ended.
            if let old = g.sessionToken(ctx) { try? await g.sessions.revoke(old) }
            let (token, _) = try await g.sessions.create(accountID: account.id, method: .password)
            var r = try Response.json(SessionAnswer(account: account, csrfToken: g.sessions.csrfToken(for: token)))
                .noStore()
            r.setCookie(g.sessionCookie(token))
            return r
        }

        b.post("/api/v1/auth/logout") { ctx in
            _ = try await g.caller(ctx)  // CSRF-checked: another site cannot sign you out either
            if let token = g.sessionToken(ctx) { try await g.sessions.revoke(token) }
            var r = Response(status: 204)
            r.setCookie(SetCookie.expire(Sessions.cookieName, secure: g.settings.secureCookies))
            return r
        }

        b.post("/api/v1/auth/logout-everywhere") { ctx in
            let caller = try await g.caller(ctx)
            try g.requireAccountWide(caller)
            try await g.sessions.revokeAll(accountID: caller.accountID)
            var r = Response(status: 204)
            r.setCookie(SetCookie.expire(Sessions.cookieName, secure: g.settings.secureCookies))
            return r
        }

        b.post("/api/v1/auth/password") { ctx in
            let caller = try await g.caller(ctx)
            try g.requireAccountWide(caller)
            let req = try ctx.decode(PasswordChangeRequest.self)
            switch try await g.checkPassword(
                email: caller.email, password: req.currentPassword, client: g.clientKey(ctx))
            {
            case .ok: break
            case .wait(let wait): throw RateLimiter.refusal(wait)
            case .wrong:
                throw GatehouseError(.invalidCredentials, status: 401, "The current password is not right.")
            }
            try await g.accounts.setPassword(accountID: caller.accountID, password: req.newPassword)
            // Every session of the account ends; this browser gets a fresh one.
            try await g.sessions.revokeAll(accountID: caller.accountID)
            let (token, _) = try await g.sessions.create(accountID: caller.accountID, method: .password)
            guard let account = try await g.accounts.find(id: caller.accountID) else {
                throw GatehouseError.unauthenticated()
            }
            var r = try Response.json(SessionAnswer(account: account, csrfToken: g.sessions.csrfToken(for: token)))
                .noStore()
            r.setCookie(g.sessionCookie(token))
            return r
        }

        // Forgot password: the same answer whether or not the address has an account.
        b.post("/api/v1/auth/password/forgot") { ctx in
            let req = try ctx.decode(PasswordForgotRequest.self)
            try await g.resets.request(email: req.email, client: g.clientKey(ctx))
            return try Response.json(
                ["status": "accepted", "message": g.resets.acknowledgement], status: 202)
        }

        // Spends a link from the mail: a new password, every session ended; sign in afresh.
        b.post("/api/v1/auth/password/reset") { ctx in
            let req = try ctx.decode(PasswordResetRequest.self)
            _ = try await g.resets.complete(req.token, password: req.password, hasher: g.accounts.hasher)
            return try Response.json(["status": "changed"])
        }

        // The caller's account and orgs. A caller scoped to one org (SSO session, API key) sees that org only.
        // `/me` is what every page load asks: answered on the event loop when the caller is known at once and
        // every region answers at once (`immediateOverview`), and remembered whole until the next write in any
        // store (`GatewayService.answers`); else the same answer the async way.
        @Sendable func me(
            _ ctx: RequestContext, _ caller: Caller, _ account: Account?,
            _ overview: (memberships: [MembershipSummary], pending: [PendingInviteSummary], unavailable: [Region])
        ) throws -> Response {
            guard let account else { throw GatehouseError.unauthenticated() }
            let pending = overview.pending.map {
                var p = $0
                p.token = nil
                return p
            }
            let csrf = g.sessionToken(ctx).map { g.sessions.csrfToken(for: $0) }
            return try Response.json(
                MeAnswer(
                    account: account, authMethod: caller.authMethod.wire, regionAdminOf: caller.regionAdminOf,
                    scopeOrg: caller.scopeOrg, memberships: overview.memberships, pendingInvites: pending,
                    csrfToken: caller.authMethod == .apiKey ? nil : csrf, unavailableRegions: overview.unavailable)
            ).noStore()
        }
        b.sync(
            "GET", "/api/v1/me",
            { ctx in
                guard let caller = g.immediateCaller(ctx), let generation = g.dataGeneration else { return nil }
                if let known = g.answers.answer(AnswerKey(ctx.request), generation: generation, now: g.clock.now()) {
                    return known
                }
                guard let account = g.accountNow(caller.accountID),
                    let overview = g.immediateOverview(caller), var r = try? me(ctx, caller, account, overview)
                else {
                    return nil
                }
                g.answers.remember(&r, AnswerKey(ctx.request), generation: generation, now: g.clock.now())
                return r
            },
            else: { ctx in
                let caller = try await g.caller(ctx)
                let account = try await g.accounts.find(id: caller.accountID)
                return try me(ctx, caller, account, await g.overview(caller))
            })

        // The invite link.
        b.get("/api/v1/invites/:token") { ctx in
            let token = try ctx.parameter("token")
            let claims = try g.verifyInviteToken(token)
            var viewer: Account?
            if let session = g.sessionToken(ctx) { viewer = try await g.sessions.validateWithAccount(session)?.1 }
            let found = try await g.region(for: claims).inviteForToken(token)
            let (invite, orgName) = (found.invite, found.orgName)
            let roleNames = invite.roles.map { Role.builtIn($0)?.name ?? $0 }
            return try .json(
                InvitePreview(
                    inviteID: invite.id, orgID: invite.orgID, orgName: orgName, email: invite.email,
                    roles: invite.roles,
                    roleNames: roleNames, inviterName: invite.inviterName, ssoOnly: invite.ssoOnly,
                    firstName: invite.firstName, lastName: invite.lastName, expiresAt: invite.expiresAt,
                    accountExists: claims.emailProven
                        || viewer.map { Email.normalize($0.email) == invite.email } == true
                        ? try await g.accounts.find(email: invite.email) != nil : nil))
        }

        b.post("/api/v1/invites/:token/accept") { ctx in
            let token = try ctx.parameter("token")
            let claims = try g.verifyInviteToken(token)
            if let wait = g.limiter.attempt([
                ("accept:" + claims.inviteID, g.settings.acceptPerInvite),
                ("accept:" + g.clientKey(ctx), g.settings.acceptPerAddress),
            ]) {
                throw RateLimiter.refusal(wait)
            }
            let region = try g.region(for: claims)
            let invite = try await region.inviteForToken(token).invite
            let body = ctx.request.body.isEmpty ? AcceptRequest() : try ctx.decode(AcceptRequest.self)
            var newSession: String?
            let caller: Caller
            if g.sessionToken(ctx) != nil || ctx.request.headers["authorization"] != nil {
                caller = try await g.caller(ctx)
            } else {
                // Sign-up through the link (rule 8): only a mailed link (or a code mailed to the address) proves
                // the address; a copied link does not. Whether the address has an account is told only then.
                try g.requireEmailProof(claims, code: body.code, client: g.clientKey(ctx))
                if try await g.accounts.find(email: invite.email) != nil {
                    throw GatehouseError(
                        .loginRequired, status: 401,
                        "You already have an account for \(invite.email): sign in, then open the link again.")
                }
                if invite.ssoOnly { throw Refusal.ssoRequired(invite.orgID).error }
                guard let password = body.password else {
                    throw GatehouseError.validation(
                        "Choose a password (at least \(Accounts.minimumPasswordLength) characters) to create your"
                            + " account."
                    )
                }
                let account = try await g.accounts.create(
                    email: invite.email, firstName: body.firstName ?? invite.firstName,
                    lastName: body.lastName ?? invite.lastName, password: password)
                let (t, _) = try await g.sessions.create(accountID: account.id, method: .password)
                newSession = t
                caller = Caller(
                    accountID: account.id, email: account.email, displayName: account.displayName, authMethod: .password
                )
            }
            guard caller.authMethod != .apiKey else {
                throw GatehouseError.forbidden("Invitations are accepted by people, not API keys.")
            }
            try g.reachesInvite(caller.authMethod, invite).orThrow()
            let account = try await g.accounts.find(id: caller.accountID)
            let result = try await region.acceptInvite(
                AcceptInviteRequest(
                    token: token, accountID: caller.accountID, email: caller.email,
                    firstName: account?.firstName, lastName: account?.lastName))
            var r = try Response.json(
                AcceptAnswer(
                    orgID: result.orgID, redirect: g.settings.destination(result.startingPage),
                    csrfToken: newSession.map { g.sessions.csrfToken(for: $0) })
            ).noStore()
            if let newSession { r.setCookie(g.sessionCookie(newSession)) }
            return r
        }

        // A code to the invited address, for sign-up through a copied link. Same answer whatever the address.
        b.post("/api/v1/invites/:token/code") { ctx in
            let token = try ctx.parameter("token")
            let claims = try g.verifyInviteToken(token)
            if let wait = g.limiter.attempt([
                ("code:" + claims.inviteID, g.settings.codesPerInvite),
                ("code:" + g.clientKey(ctx), g.settings.acceptPerAddress),
            ]) {
                throw RateLimiter.refusal(wait)
            }
            try await g.region(for: claims).sendInviteCode(token: token)
            return Response(status: 202)
        }

        b.post("/api/v1/invites/:token/decline") { ctx in
            let token = try ctx.parameter("token")
            let claims = try g.verifyInviteToken(token)
            let caller = try await g.caller(ctx)
            guard caller.authMethod != .apiKey else {
                throw GatehouseError.forbidden("Invitations are declined by people, not API keys.")
            }
            let region = try g.region(for: claims)
            try g.reachesInvite(caller.authMethod, try await region.inviteForToken(token).invite, declining: true)
                .orThrow()
            try await region.declineInvite(
                DeclineInviteRequest(token: token, accountID: caller.accountID, email: caller.email))
            return Response(status: 204)
        }

        b.post("/api/v1/auth/bootstrap") { ctx in
            let req = try ctx.decode(BootstrapRequest.self)
            if let wait = g.limiter.attempt([("bootstrap:" + g.clientKey(ctx), g.settings.acceptPerAddress)]) {
                throw RateLimiter.refusal(wait)
            }
            let (account, _) = try await g.redeemBootstrap(token: req.token, password: req.password)
            let (token, _) = try await g.sessions.create(accountID: account.id, method: .password)
            var r = try Response.json(SessionAnswer(account: account, csrfToken: g.sessions.csrfToken(for: token)))
                .noStore()
            r.setCookie(g.sessionCookie(token))
            return r
        }
    }
}
