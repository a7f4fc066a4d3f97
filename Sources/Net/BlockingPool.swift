import Dispatch

/// Runs blocking work (sockets to SMTP servers and remote regions) on its own threads, at most `width` at a
/// time, and resumes the awaiting task with the result. Event loops never block on the network this way.
package final class BlockingPool: Sendable {
    private let queue: DispatchQueue
    private let slots: DispatchSemaphore

    package init(label: String, width: Int) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
        slots = DispatchSemaphore(value: max(1, width))
    }

    package func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            queue.async {
                self.slots.wait()
                defer { self.slots.signal() }
                c.resume(with: Result { try work() })
            }
        }
    }
}
