import Store

/// The gateway store's schema: accounts (global people), sessions (hashed ids), region admins and their
/// one-time bootstrap links.
package enum GatewaySchema {
    package static let migrations: [Migration] = [
        Migration(
            1, "instance",
            sql: """
                CREATE TABLE instance (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) STRICT;
                """),
        Migration(
            2, "accounts, sessions, region admins",
            sql: """
                CREATE TABLE accounts (
                    id TEXT PRIMARY KEY,
                    email TEXT NOT NULL UNIQUE,
                    first_name TEXT NOT NULL DEFAULT '',
                    last_name TEXT NOT NULL DEFAULT '',
                    password_hash TEXT,
                    created_at INTEGER NOT NULL,
                    password_changed_at INTEGER
                ) STRICT;

                CREATE TABLE sessions (
                    id_hash BLOB PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    method TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_seen INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX sessions_by_account ON sessions (account_id);

                CREATE TABLE region_admins (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    region TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, region)
                ) STRICT;

                CREATE TABLE bootstrap_tokens (
                    token_hash BLOB PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    region TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER
                ) STRICT;
                """),
        Migration(
            3, "saml",
            sql: """
                CREATE TABLE saml_settings (
                    org_id TEXT PRIMARY KEY,
                    settings TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    updated_by TEXT NOT NULL
                ) STRICT;

                CREATE TABLE saml_requests (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL,
                    next TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    answered_at INTEGER
                ) STRICT;
                CREATE INDEX saml_requests_by_expiry ON saml_requests (expires_at);

                CREATE TABLE saml_seen_assertions (
                    org_id TEXT NOT NULL,
                    assertion_id TEXT NOT NULL,
                    expires_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, assertion_id)
                ) STRICT;
                CREATE INDEX saml_seen_by_expiry ON saml_seen_assertions (expires_at);
                """),
        // An org's IdP is trusted for that org only: which accounts it may sign in (links, made while the person
        // proves the account) and which email domains it owns (claims, proven by a DNS TXT record).
        Migration(
            4, "sso trust: account links, domain claims, pending links",
            sql: """
                CREATE TABLE sso_links (
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    org_id TEXT NOT NULL,
                    via TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, org_id)
                ) STRICT;
                CREATE INDEX sso_links_by_org ON sso_links (org_id);

                CREATE TABLE sso_domains (
                    domain TEXT NOT NULL,
                    org_id TEXT NOT NULL,
                    token TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    verified_at INTEGER,
                    PRIMARY KEY (domain, org_id)
                ) STRICT;
                CREATE UNIQUE INDEX sso_domains_one_owner ON sso_domains (domain) WHERE verified_at IS NOT NULL;
                CREATE INDEX sso_domains_by_org ON sso_domains (org_id);

                CREATE TABLE sso_pending_links (
                    id_hash BLOB PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    org_id TEXT NOT NULL,
                    next TEXT NOT NULL,
                    nonce TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX sso_pending_links_by_expiry ON sso_pending_links (expires_at);
                """),
        // Single Logout: a session made by an IdP remembers the subject it named (NameID, SessionIndex), so the
        // IdP's LogoutRequest can end exactly those sessions and ours can name them; requests in flight say
        // whether they are sign-ins or logouts.
        Migration(
            5, "saml single logout",
            sql: """
                ALTER TABLE sessions ADD COLUMN saml_subject TEXT;
                ALTER TABLE sessions ADD COLUMN saml_name_id TEXT;
                ALTER TABLE sessions ADD COLUMN saml_session_index TEXT;
                CREATE INDEX sessions_by_saml_subject ON sessions (saml_name_id) WHERE saml_name_id IS NOT NULL;
                ALTER TABLE saml_requests ADD COLUMN kind TEXT NOT NULL DEFAULT 'authn';
                """),
        // OpenID Connect next to SAML: an org's connection (the client secret is kept to call the token endpoint
        // and never returned), and sign-ins in flight by the digest of their `state`, bound to the browser.
        Migration(
            6, "openid connect",
            sql: """
                CREATE TABLE oidc_settings (
                    org_id TEXT PRIMARY KEY,
                    settings TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    updated_by TEXT NOT NULL
                ) STRICT;
                CREATE TABLE oidc_requests (
                    state_hash BLOB PRIMARY KEY,
                    org_id TEXT NOT NULL,
                    browser_hash BLOB NOT NULL,
                    nonce TEXT NOT NULL,
                    verifier TEXT NOT NULL,
                    next TEXT NOT NULL,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX oidc_requests_by_org ON oidc_requests (org_id);
                CREATE INDEX oidc_requests_by_expiry ON oidc_requests (expires_at);
                """),
        // Forgot password: each row is a link's outbox entry (no secret: the link is derived with a key from the
        // keys directory, see `PasswordResets`), spent once, mailed at most once.
        Migration(
            7, "password resets",
            sql: """
                CREATE TABLE password_resets (
                    id TEXT PRIMARY KEY,
                    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    used_at INTEGER,
                    next_attempt_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    mail_started_at INTEGER,
                    mailed_at INTEGER
                ) STRICT;
                CREATE INDEX password_resets_by_account ON password_resets (account_id);
                CREATE INDEX password_resets_due ON password_resets (next_attempt_at) WHERE mailed_at IS NULL;
                """),
    ]
}
