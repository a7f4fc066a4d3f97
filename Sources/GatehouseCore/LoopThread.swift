import Foundation

/// Marks the threads that run event loops, so code below the server can tell where it runs: a store that talks
/// to a database server over the network (PostgreSQL) must never block one (`Database` checks this in debug
/// builds, and the tests run debug builds against PostgreSQL over real sockets).
package enum LoopThread {
    private static let key = "gatehouse.eventLoop"

    /// Called once by each event loop's thread when it starts.
    package static func markCurrent() {
        Thread.current.threadDictionary[key] = true
    }

    package static var isCurrent: Bool {
        Thread.current.threadDictionary[key] as? Bool ?? false
    }
}
