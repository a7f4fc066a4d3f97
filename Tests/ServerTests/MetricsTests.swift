import Foundation
import GatehouseCore
import Testing

/// The exposition format as Prometheus reads it: HELP and TYPE once per family, cumulative histogram buckets
/// ending in +Inf with the count, escaped label values; and the request labels are fixed vocabularies.
@Suite("Metrics: the text exposition format")
struct MetricsTests {
    @Test func countersGaugesAndHistogramsRender() async {
        let m = Metrics()
        m.describe("t_requests_total", "counter", "Requests.")
        m.describe("t_latency_seconds", "histogram", "Latency.")
        m.increment("t_requests_total", [("route", "/a/:b"), ("status", "2xx")])
        m.increment("t_requests_total", [("route", "/a/:b"), ("status", "2xx")], by: 2)
        m.set("t_depth", [("region", "eu")], 7)
        m.add("t_open", [], 3)
        m.add("t_open", [], -1)
        m.observe("t_latency_seconds", [("route", "x\"y\\z")], seconds: 0.003)
        m.observe("t_latency_seconds", [("route", "x\"y\\z")], seconds: 9)
        let text = await m.render()
        #expect(text.contains("# HELP t_requests_total Requests.\n# TYPE t_requests_total counter\n"))
        #expect(text.contains("t_requests_total{route=\"/a/:b\",status=\"2xx\"} 3\n"))
        #expect(text.contains("t_depth{region=\"eu\"} 7\n") && text.contains("t_open 2\n"))
        #expect(text.contains("t_latency_seconds_bucket{route=\"x\\\"y\\\\z\",le=\"0.0025\"} 0\n"))
        #expect(text.contains("t_latency_seconds_bucket{route=\"x\\\"y\\\\z\",le=\"0.005\"} 1\n"))
        #expect(text.contains("t_latency_seconds_bucket{route=\"x\\\"y\\\\z\",le=\"5\"} 1\n"))
        #expect(text.contains("t_latency_seconds_bucket{route=\"x\\\"y\\\\z\",le=\"+Inf\"} 2\n"))
        #expect(text.contains("t_latency_seconds_count{route=\"x\\\"y\\\\z\"} 2\n"))
        #expect(text.components(separatedBy: "# TYPE t_latency_seconds").count == 2, "one TYPE line per family")
    }

    @Test func samplersAnswerAtScrapeTime() async {
        let m = Metrics()
        let box = Box()
        m.sample { [("t_sampled", [("region", "us")], Double(box.next()))] }
        #expect(await m.render().contains("t_sampled{region=\"us\"} 1\n"))
        #expect(await m.render().contains("t_sampled{region=\"us\"} 2\n"))
    }

    final class Box: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            n += 1
            return n
        }
    }
}
