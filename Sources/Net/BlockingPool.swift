import Foundation

/// Runs blocking work (sockets to SMTP servers, remote regions, app upstreams) on its own threads, at most
/// `width` of them, and resumes the awaiting task with the result. Event loops never block on the network.
///
/// Why its own threads and not a concurrent DispatchQueue with a semaphore (as before): a block that waits on the
/// semaphore holds a Dispatch worker, so under load Dispatch kept adding threads — dozens, all runnable on the
/// same cores as the event loops; proxied requests spent most of their time being scheduled. Here `width` threads
/// are started as work arrives and then wait on one condition for the next job.
package final class BlockingPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private let width: Int
    private let label: String

    package init(label: String, width: Int) {
        self.label = label
        self.width = max(1, width)
    }

    package func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { c in
            submit { c.resume(with: Result { try work() }) }
        }
    }

    private func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        if idle == 0 && threads < width {
            threads += 1
            // The thread holds the pool: pools live as long as what owns them, in practice the process.
            let t = Thread { self.work() }
            t.name = label
            t.start()
        } else {
            condition.signal()
        }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count {
                idle += 1
                condition.wait()
                idle -= 1
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
