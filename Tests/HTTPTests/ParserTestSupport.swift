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
func parseAllWays(_ input: String, limits: HTTPLimits = .default) -> ParseOutcome {
    let bytes = Array(input.utf8)
    var outcomes: [ParseOutcome] = []
    var splits: [[Int]] = [[bytes.count]]
    if bytes.count <= 600 {
        for cut in 1..<max(bytes.count, 1) { splits.append([cut, bytes.count]) }
        splits.append(Array(1...max(bytes.count, 1)))
    }
    for boundaries in splits {
        var parser = HTTP1Parser(limits: limits)
        var outcome = ParseOutcome()
        var start = 0
        feeding: for end in boundaries where end <= bytes.count {
            parser.append(Array(bytes[start..<end]))
            start = end
            while true {
                do {
                    switch try parser.next() {
                    case .needMore: continue feeding
                    case .sendContinue: outcome.continues = 1
                    case .request(let r):
                        outcome.requests.append("\(r.method) \(r.target) \(String(decoding: r.body, as: UTF8.self))")
                    }
                } catch {
                    outcome.error = error.code
                    break feeding
                }
            }
        }
        outcomes.append(outcome)
    }
    let first = outcomes[0]
    for (i, o) in outcomes.enumerated() where o.requests != first.requests || o.error != first.error {
        Issue.record("split \(i) gave \(o), whole input gave \(first)")
    }
    return first
}
