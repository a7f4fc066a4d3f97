import Store

/// The schema of one region's database. Every row of an org lives here and only here; ids are text, times are
/// Unix seconds (UTC), lists are JSON text.
///
/// Member search: `member_tri` is an FTS5 trigram index over "first last email" (lower-cased), which finds
/// any substring of three or more characters; `member_chars` indexes the same text one character per token
/// (hex-coded so punctuation such as `@` and `.` are tokens too) and answers one- and two-character terms
/// as phrase queries. Both are keyed by the member's rowid. The sort indexes carry `search_text` so that a
/// search for a common term walks only the index, reading a table row just for the members it returns.
enum RegionSchema {
    static let migrations: [Migration] = [
        Migration(
            1, "orgs, roles, members, apps, invites, keys, audit, outbox",
            sql: tablesBeforeSearch + """
                CREATE VIRTUAL TABLE member_tri USING fts5(t, tokenize = 'trigram');
                CREATE VIRTUAL TABLE member_chars USING fts5(t, tokenize = 'unicode61');
                """ + tablesAfterSearch,
            // PostgreSQL searches with a trigram index on the text itself (pg_trgm answers LIKE '%term%').
            postgres: (try? PostgresDDL.translate(tablesBeforeSearch + tablesAfterSearch)).map {
                $0 + """
                    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
                    CREATE INDEX members_search ON members USING gin (search_text public.gin_trgm_ops);
                    """
            }),
        Migration(
            2, "outbox delivery state",
            sql: """
                ALTER TABLE outbox ADD COLUMN last_error TEXT;
                ALTER TABLE outbox ADD COLUMN gave_up INTEGER NOT NULL DEFAULT 0;
                """),
        // How many members hold each role, kept by triggers in the same transaction as every change (cascades
        // from a removed member included): the roles list used to count 10,000 rows on every console page.
        Migration(
            3, "role member counts",
            sql: """
                CREATE TABLE role_counts (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    role_id TEXT NOT NULL,
                    n INTEGER NOT NULL,
                    PRIMARY KEY (org_id, role_id)
                ) STRICT, WITHOUT ROWID;
                INSERT INTO role_counts (org_id, role_id, n)
                    SELECT org_id, role_id, count(*) FROM member_roles WHERE org_id IN (SELECT id FROM orgs)
                    GROUP BY org_id, role_id;
                CREATE TRIGGER member_roles_counted AFTER INSERT ON member_roles
                WHEN NEW.org_id IN (SELECT id FROM orgs) BEGIN
                    INSERT INTO role_counts (org_id, role_id, n) VALUES (NEW.org_id, NEW.role_id, 1)
                    ON CONFLICT (org_id, role_id) DO UPDATE SET n = n + 1;
                END;
                CREATE TRIGGER member_roles_uncounted AFTER DELETE ON member_roles BEGIN
                    UPDATE role_counts SET n = n - 1 WHERE org_id = OLD.org_id AND role_id = OLD.role_id;
                END;
                CREATE TRIGGER member_roles_recounted AFTER UPDATE OF org_id, role_id ON member_roles BEGIN
                    UPDATE role_counts SET n = n - 1 WHERE org_id = OLD.org_id AND role_id = OLD.role_id;
                    INSERT INTO role_counts (org_id, role_id, n) VALUES (NEW.org_id, NEW.role_id, 1)
                    ON CONFLICT (org_id, role_id) DO UPDATE SET n = n + 1;
                END;
                """,
            postgres: """
                CREATE TABLE role_counts (
                    org_id TEXT COLLATE "C" NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    role_id TEXT COLLATE "C" NOT NULL,
                    n BIGINT NOT NULL,
                    PRIMARY KEY (org_id, role_id)
                );
                INSERT INTO role_counts (org_id, role_id, n)
                    SELECT org_id, role_id, count(*) FROM member_roles WHERE org_id IN (SELECT id FROM orgs)
                    GROUP BY org_id, role_id;
                CREATE FUNCTION role_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('DELETE', 'UPDATE') THEN
                        UPDATE role_counts SET n = n - 1 WHERE org_id = OLD.org_id AND role_id = OLD.role_id;
                    END IF;
                    IF TG_OP = 'UPDATE' OR (TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM orgs WHERE id = NEW.org_id))
                    THEN
                        INSERT INTO role_counts (org_id, role_id, n) VALUES (NEW.org_id, NEW.role_id, 1)
                        ON CONFLICT (org_id, role_id) DO UPDATE SET n = role_counts.n + 1;
                    END IF;
                    RETURN NULL;
                END $$;
                CREATE TRIGGER member_roles_counted AFTER INSERT OR DELETE OR UPDATE OF org_id, role_id
                    ON member_roles FOR EACH ROW EXECUTE FUNCTION role_counts_keep();
                """),
        // Declined invitations get their own status (they were stored as `revoked`, which the console showed as
        // "Revoked"): the table is rebuilt for the wider CHECK, and the audit log says which were declined.
        Migration(
            4, "declined invitations",
            sql: """
                CREATE TABLE invites_new (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    email TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    sso_only INTEGER NOT NULL,
                    first_name TEXT NOT NULL DEFAULT '',
                    last_name TEXT NOT NULL DEFAULT '',
                    user_vars TEXT NOT NULL DEFAULT '{}',
                    starting_page TEXT NOT NULL,
                    apps TEXT NOT NULL DEFAULT '[]',
                    inviter_id TEXT NOT NULL,
                    inviter_name TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'joined', 'revoked', 'declined')),
                    version INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    joined_account_id TEXT
                ) STRICT;
                INSERT INTO invites_new SELECT * FROM invites;
                UPDATE invites_new SET status = 'declined' WHERE status = 'revoked' AND id IN
                    (SELECT json_extract(summary, '$.invite') FROM audit_events WHERE action = 'invite.declined');
                DROP TABLE invites;
                ALTER TABLE invites_new RENAME TO invites;
                CREATE INDEX invites_by_org ON invites (org_id, created_at, id);
                CREATE INDEX invites_by_email ON invites (email, org_id, status);
                """,
            postgres: """
                ALTER TABLE invites DROP CONSTRAINT invites_status_check;
                ALTER TABLE invites ADD CONSTRAINT invites_status_check
                    CHECK (status IN ('pending', 'joined', 'revoked', 'declined'));
                UPDATE invites SET status = 'declined' WHERE status = 'revoked' AND id IN
                    (SELECT CAST(summary AS json) ->> 'invite' FROM audit_events WHERE action = 'invite.declined');
                """),
        // Replicas of a region share a PostgreSQL store: signed gateway requests they have seen are rows, so a
        // replay to another replica is refused (unused while one process owns the store).
        Migration(
            5, "identity nonces",
            sql: """
                CREATE TABLE identity_nonces (
                    nonce TEXT PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                ) STRICT;
                CREATE INDEX identity_nonces_by_expiry ON identity_nonces (expires_at);
                """),
        // PostgreSQL's search for one- and two-character terms (SQLite has `member_chars`): every distinct one-
        // and two-character piece of the text, kept by the database, in a GIN index.
        Migration(
            6, "short search terms",
            sql: "",
            postgres: """
                CREATE FUNCTION gh_short_grams(t text) RETURNS text[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                    SELECT coalesce(array_agg(DISTINCT g), '{}') FROM (
                        SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) i
                        UNION SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) i
                    ) s
                $$;
                ALTER TABLE members ADD COLUMN search_grams text[] GENERATED ALWAYS AS (gh_short_grams(search_text))
                    STORED;
                CREATE INDEX members_short_search ON members USING gin (search_grams);
                """),
        // A mail goes out at most once: when its delivery started is committed before the SMTP transaction.
        Migration(
            7, "outbox delivery start",
            sql: "ALTER TABLE outbox ADD COLUMN attempt_started_at INTEGER;"),
        // Agencies: the region's register (kept by its admin), registration requests from orgs, the agencies
        // working for each org, and the affiliation of a membership (and of the invite that makes one).
        Migration(
            8, "agencies",
            sql: """
                CREATE TABLE agencies (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    domains TEXT NOT NULL DEFAULT '[]',
                    created_at INTEGER NOT NULL
                ) STRICT;
                CREATE TABLE agency_requests (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    domains TEXT NOT NULL DEFAULT '[]',
                    requested_by TEXT NOT NULL,
                    requester_email TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined')),
                    agency_id TEXT,
                    reason TEXT NOT NULL DEFAULT '',
                    created_at INTEGER NOT NULL,
                    decided_at INTEGER
                ) STRICT;
                CREATE INDEX agency_requests_by_status ON agency_requests (status, created_at);
                CREATE TABLE org_agencies (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    agency_id TEXT NOT NULL REFERENCES agencies(id),
                    added_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, agency_id)
                ) STRICT;
                ALTER TABLE members ADD COLUMN agency_id TEXT;
                ALTER TABLE invites ADD COLUMN agency_id TEXT;
                CREATE INDEX members_by_agency ON members (org_id, agency_id, name_key);
                """),
        // Apps behind the gateway: served under /apps/<slug>/ (one slug per org), forwarded to an upstream, entered
        // by members who meet the access rule.
        Migration(
            9, "apps behind the gateway",
            sql: """
                ALTER TABLE apps ADD COLUMN slug TEXT;
                ALTER TABLE apps ADD COLUMN upstream TEXT;
                ALTER TABLE apps ADD COLUMN rule TEXT NOT NULL DEFAULT '{}';
                CREATE UNIQUE INDEX apps_by_slug ON apps (org_id, slug);
                """),
        // The four starting pages become apps of every org that exists (new orgs get them when provisioned).
        Migration(
            10, "starting pages as apps",
            sql: ["studio|Studio", "console|Console", "portal|Portal", "agent-console|Agent Console"].map {
                let p = $0.split(separator: "|")
                return """
                    INSERT INTO apps (org_id, id, name, created_at, slug)
                        SELECT id, 'app_' || '\(p[0])_' || substr(id, 8), '\(p[1])', created_at, '\(p[0])' FROM orgs o
                        WHERE NOT EXISTS (SELECT 1 FROM apps a WHERE a.org_id = o.id AND a.slug = '\(p[0])');
                    """
            }.joined(separator: "\n")),
        // SCIM provisioning: org tokens (stored hashed, with the highest role they may grant), and on members the
        // IdP's userName when it is not the address (kept as given, found case-insensitively), its externalId, a
        // deactivation that keeps the member but takes every access away, and when the member
        // last changed (SCIM's lastModified and version).
        Migration(
            11, "scim",
            sql: """
                CREATE TABLE scim_tokens (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    secret_hash BLOB NOT NULL,
                    role_ceiling TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    last_used_at INTEGER,
                    revoked_at INTEGER
                ) STRICT;
                CREATE INDEX scim_tokens_by_org ON scim_tokens (org_id);
                CREATE TABLE scim_group_ids (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    role_id TEXT NOT NULL,
                    external_id TEXT NOT NULL,
                    PRIMARY KEY (org_id, role_id)
                ) STRICT;
                ALTER TABLE members ADD COLUMN external_id TEXT;
                ALTER TABLE members ADD COLUMN user_name TEXT;
                ALTER TABLE members ADD COLUMN scim_enterprise TEXT;
                ALTER TABLE members ADD COLUMN user_name_key TEXT;
                CREATE INDEX members_by_user_name ON members (org_id, user_name_key);
                ALTER TABLE members ADD COLUMN deactivated_at INTEGER;
                ALTER TABLE members ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX members_by_external_id ON members (org_id, external_id);
                """),
    ]

    private static let tablesBeforeSearch = """
                CREATE TABLE orgs (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
                    created_at INTEGER NOT NULL
                ) STRICT;

                CREATE TABLE custom_roles (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    permissions TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, id)
                ) STRICT;

                CREATE TABLE members (
                    rowid INTEGER PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    account_id TEXT NOT NULL,
                    email TEXT NOT NULL,
                    first_name TEXT NOT NULL DEFAULT '',
                    last_name TEXT NOT NULL DEFAULT '',
                    roles TEXT NOT NULL,
                    user_vars TEXT NOT NULL DEFAULT '{}',
                    starting_page TEXT NOT NULL DEFAULT 'studio',
                    sso_only INTEGER NOT NULL DEFAULT 0,
                    joined_at INTEGER NOT NULL,
                    last_active INTEGER NOT NULL DEFAULT 0,
                    app_count INTEGER NOT NULL DEFAULT 0,
                    name_key TEXT NOT NULL,
                    search_text TEXT NOT NULL,
                    UNIQUE (org_id, account_id),
                    UNIQUE (org_id, email)
                ) STRICT;
                CREATE INDEX members_by_last_active ON members (org_id, last_active, rowid, search_text);
                CREATE INDEX members_by_name ON members (org_id, name_key, rowid, search_text);
                CREATE INDEX members_by_apps ON members (org_id, app_count, rowid, search_text);
                CREATE INDEX members_by_account ON members (account_id);

                CREATE TABLE member_roles (
                    org_id TEXT NOT NULL,
                    role_id TEXT NOT NULL,
                    member_rowid INTEGER NOT NULL REFERENCES members(rowid) ON DELETE CASCADE,
                    PRIMARY KEY (org_id, role_id, member_rowid)
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX member_roles_by_member ON member_roles (member_rowid);

        """

    private static let tablesAfterSearch = """

                CREATE TABLE apps (
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, id)
                ) STRICT;

                CREATE TABLE app_grants (
                    org_id TEXT NOT NULL,
                    app_id TEXT NOT NULL,
                    member_rowid INTEGER NOT NULL REFERENCES members(rowid) ON DELETE CASCADE,
                    role TEXT NOT NULL,
                    granted_at INTEGER NOT NULL,
                    PRIMARY KEY (org_id, app_id, member_rowid),
                    FOREIGN KEY (org_id, app_id) REFERENCES apps(org_id, id) ON DELETE CASCADE
                ) STRICT, WITHOUT ROWID;
                CREATE INDEX app_grants_by_member ON app_grants (member_rowid);

                CREATE TABLE invites (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    email TEXT NOT NULL,
                    roles TEXT NOT NULL,
                    sso_only INTEGER NOT NULL,
                    first_name TEXT NOT NULL DEFAULT '',
                    last_name TEXT NOT NULL DEFAULT '',
                    user_vars TEXT NOT NULL DEFAULT '{}',
                    starting_page TEXT NOT NULL,
                    apps TEXT NOT NULL DEFAULT '[]',
                    inviter_id TEXT NOT NULL,
                    inviter_name TEXT NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('pending', 'joined', 'revoked')),
                    version INTEGER NOT NULL DEFAULT 1,
                    created_at INTEGER NOT NULL,
                    expires_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    joined_account_id TEXT
                ) STRICT;
                CREATE INDEX invites_by_org ON invites (org_id, created_at, id);
                CREATE INDEX invites_by_email ON invites (email, org_id, status);

                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY,
                    org_id TEXT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
                    account_id TEXT NOT NULL,
                    app_id TEXT,
                    name TEXT NOT NULL,
                    secret_hash BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    revoked_reason TEXT
                ) STRICT;
                CREATE INDEX api_keys_by_member ON api_keys (org_id, account_id);

                CREATE TABLE audit_events (
                    id INTEGER PRIMARY KEY,
                    org_id TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    summary TEXT NOT NULL
                ) STRICT;
                CREATE INDEX audit_by_org ON audit_events (org_id, id);

                CREATE TABLE outbox (
                    id INTEGER PRIMARY KEY,
                    org_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    sent_at INTEGER
                ) STRICT;
                CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
        """
}
