import Foundation
import Synchronization

/// One LISTEN connection per PostgreSQL server URL in this process, shared by every store on it: each store's
/// commits are announced on its own channel (`NOTIFY` inside the write transaction, delivered at commit), and the
/// listener moves that store's `CommitCounter`, so caches tagged with `Database.writeGeneration` see other
/// processes' writes within milliseconds.
///
/// While the connection is down (server restart, network), every subscribed counter moves every 250 ms: caches
/// then hold answers for at most that long, and the listener reconnects and LISTENs again.
final class PostgresListener: Sendable {
    final class Subscription: Sendable {
        fileprivate let channel: String
        fileprivate let listener: PostgresListener
        fileprivate let id: UInt64
        fileprivate init(channel: String, listener: PostgresListener, id: UInt64) {
            self.channel = channel
            self.listener = listener
            self.id = id
        }
        func cancel() { listener.remove(self) }
        /// Whether the channel is being listened to (commits elsewhere reach this store's counter).
        var isListening: Bool { listener.state.withLock { $0.listening.contains(channel) } }
    }

    fileprivate struct State {
        var subscribers: [String: [UInt64: CommitCounter]] = [:]
        var listening: Set<String> = []
        var nextID: UInt64 = 0
    }

    private static let listeners = Mutex<[String: PostgresListener]>([:])
    fileprivate let state = Mutex(State())
    private let location: String

    private init(location: String) {
        self.location = location
    }

    static func subscribe(_ location: String, channel: String, counter: CommitCounter) -> Subscription {
        let listener = listeners.withLock { all in
            if let l = all[location] { return l }
            let l = PostgresListener(location: location)
            all[location] = l
            l.start()
            return l
        }
        let id = listener.state.withLock { s in
            s.nextID += 1
            s.subscribers[channel, default: [:]][s.nextID] = counter
            return s.nextID
        }
        return Subscription(channel: channel, listener: listener, id: id)
    }

    private func remove(_ s: Subscription) {
        state.withLock { st in
            st.subscribers[s.channel]?[s.id] = nil
            if st.subscribers[s.channel]?.isEmpty == true { st.subscribers[s.channel] = nil }
        }
    }

    /// Moves the counters of every store on `channel`, but the one whose commit it was (its payload): that store
    /// moved its counter when it committed, and moving it again when the notification comes back would empty
    /// caches filled meanwhile.
    private func bump(_ channel: String, except origin: String? = nil) {
        let counters = state.withLock { s in s.subscribers[channel].map { Array($0.values) } ?? [] }
        for c in counters where c.token != origin { c.bump() }
    }

    private func bumpAll() {
        let counters = state.withLock { s in s.subscribers.values.flatMap(\.values) }
        for c in counters { c.bump() }
    }

    private func start() {
        let thread = Thread { [self] in
            var conn: SQLConnection? = nil
            while true {
                if conn == nil || conn?.isBroken == true {
                    conn = try? SQLConnection(postgres: location, schema: nil)
                    state.withLock { $0.listening = [] }
                }
                guard let c = conn else {
                    bumpAll()
                    Thread.sleep(forTimeInterval: 0.25)
                    continue
                }
                // LISTEN to channels subscribed since the last turn, then move their counters once: a commit made
                // elsewhere before the LISTEN took effect was not announced to us.
                let wanted = state.withLock { s in Set(s.subscribers.keys).subtracting(s.listening) }
                for channel in wanted where (try? c.execute("LISTEN \(channel)")) != nil {
                    bump(channel)
                    state.withLock { _ = $0.listening.insert(channel) }
                }
                guard let notified = c.waitForNotifications(timeoutMillis: 100) else {
                    conn = nil
                    bumpAll()
                    continue
                }
                for note in notified { bump(note.channel, except: note.payload) }
            }
        }
        thread.name = "gatehouse-listen"
        thread.start()
    }
}
