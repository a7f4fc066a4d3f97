import Foundation
import Store

/// Which engine the store-backed suites run against. With `GATEHOUSE_TEST_POSTGRES` set to a PostgreSQL URL
/// (`Tests/run.sh` starts a throwaway cluster and runs the suites twice), every fixture's stores live in fresh
/// schemas of that database; otherwise in SQLite files in the fixture's temp directory. One suite, two backends.
package enum TestStores {
    package static let postgresURL: String? = {
        guard let u = ProcessInfo.processInfo.environment["GATEHOUSE_TEST_POSTGRES"], !u.isEmpty else { return nil }
        return u
    }()

    /// A schema prefix no other fixture uses (several test processes may share the database).
    package static func freshPrefix() -> String {
        "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
    }

    /// Where a fixture opens the store it would keep in the SQLite file `file`, and with which options.
    package static func location(_ file: String, options: Database.Options) -> (String, Database.Options) {
        guard let url = postgresURL else { return (file, options) }
        var o = options
        o.schema = freshPrefix()
        return (url, o)
    }
}
