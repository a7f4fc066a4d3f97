import HTTP
import Testing

/// What a parse produced: requests (method, target, body) in order, or the error that stopped it.
struct ParseOutcome: Equatable {
    var requests: [String] = []  // "METHOD target body"
    var continues = 0
    var error: String?
}

/// Feeds `input` in one piece, split at every offset, and byte by byte; every run must give the same outcome.
/// This is how the parser proves it does not depend on how TCP happens to slice the bytes.
/// Every run is made twice: bodies read whole, and bodies streamed (head, parts, end) with the same limit —
/// the streamed parts must add up to the same requests, and the same input must fail the same way.
func parseAllWays(_ input: String, limits: HTTPLimits = .default) -> ParseOutcome {
    let bytes = Array(input.utf8)
    var outcomes: [ParseOutcome] = []
    var splits: [[Int]] = [[bytes.count]]
    if bytes.count <= 600 {
        for cut in 1..<max(bytes.count, 1) { splits.append([cut, bytes.count]) }
        splits.append(Array(1...max(bytes.count, 1)))
    }
    var streamedLimits = limits
    streamedLimits.maxStreamedBodyBytes = limits.maxBodyBytes
    for streamed in [false, true] {
        for boundaries in splits {
            var parser =
                streamed
                ? HTTP1Parser(limits: streamedLimits, streamsBody: { _, _ in true }) : HTTP1Parser(limits: limits)
            var outcome = ParseOutcome()
            var start = 0
            var current: String?
            feeding: for end in boundaries where end <= bytes.count {
                parser.append(Array(bytes[start..<end]))
                start = end
                while true {
                    do {
                        switch try parser.next() {
                        case .needMore: continue feeding
                        case .sendContinue: outcome.continues = 1
                        case .request(let r):
                            outcome.requests.append(
                                "\(r.method) \(r.target) \(String(decoding: r.body, as: UTF8.self))")
                        case .requestHead(let r):
                            #expect(streamed && current == nil && r.body.isEmpty)
                            current = "\(r.method) \(r.target) "
                        case .bodyPart(let part):
                            #expect(current != nil && !part.isEmpty, "a part belongs to a streamed request")
                            current? += String(decoding: part, as: UTF8.self)
                        case .bodyEnd:
                            outcome.requests.append(current ?? "bodyEnd without a head")
                            current = nil
                        }
                    } catch {
                        outcome.error = error.code
                        break feeding
                    }
                }
            }
            outcomes.append(outcome)
        }
    }
    let first = outcomes[0]
    for (i, o) in outcomes.enumerated() where o.requests != first.requests || o.error != first.error {
        Issue.record(
            "\(i < splits.count ? "whole" : "streamed") split \(i % splits.count) gave \(o), whole input gave \(first)")
    }
    return first
}
