import Store

/// The gateway store's schema. Accounts, sessions and SSO state arrive with the gateway issue.
enum GatewaySchema {
    static let migrations: [Migration] = [
        Migration(1, "instance", sql: """
            CREATE TABLE instance (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) STRICT;
            """),
    ]
}
