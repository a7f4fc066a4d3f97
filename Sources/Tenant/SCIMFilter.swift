import Foundation
import GatehouseCore

/// SCIM filters (RFC 7644 §3.4.2.2) parsed and evaluated against a resource's JSON: `eq ne co sw ew gt ge lt le pr`,
/// `and`, `or`, `not (…)`, parentheses, attribute paths with sub-attributes and schema URN prefixes, and value
/// paths (`emails[type eq "work"].value eq "a@b.c"`, `members[value eq "acc_…"]`). Attribute names compare
/// case-insensitively, as SCIM's do; string values too, except `id` and `externalId` (case-exact).
///
/// Hostile input is bounded: at most 1,000 characters and 50 nested levels; anything else is `invalidFilter`.
indirect enum SCIMFilter: Equatable, Sendable {
    enum Op: String, Sendable { case eq, ne, co, sw, ew, gt, ge, lt, le }
    enum Value: Equatable, Sendable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case null
    }

    case compare(path: [String], op: Op, value: Value)
    case present(path: [String])
    case valuePath(attribute: String, filter: SCIMFilter, sub: [String]?, op: Op?, value: Value?)
    case and(SCIMFilter, SCIMFilter)
    case or(SCIMFilter, SCIMFilter)
    case not(SCIMFilter)

    struct Invalid: Error {
        let detail: String
    }

    // MARK: - Parsing

    static func parse(_ text: String) throws -> SCIMFilter {
        guard text.utf8.count <= 1000 else { throw Invalid(detail: "The filter is longer than 1,000 characters.") }
        var p = Parser(tokens: try tokenize(text))
        let f = try p.orExpr(depth: 0)
        guard p.atEnd else { throw Invalid(detail: "Unexpected `\(p.peek?.text ?? "")` in the filter.") }
        return f
    }

    enum Token: Equatable {
        case word(String)
        case string(String)
        case open, close, openBracket, closeBracket

        var text: String {
            switch self {
            case .word(let w): return w
            case .string(let s): return "\"\(s)\""
            case .open: return "("
            case .close: return ")"
            case .openBracket: return "["
            case .closeBracket: return "]"
            }
        }
    }

    static func tokenize(_ text: String) throws -> [Token] {
        var out: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            switch c {
            case " ", "\t", "\n", "\r": i += 1
            case "(":
                out.append(.open)
                i += 1
            case ")":
                out.append(.close)
                i += 1
            case "[":
                out.append(.openBracket)
                i += 1
            case "]":
                out.append(.closeBracket)
                i += 1
            case "\"":
                var s = String.UnicodeScalarView()
                i += 1
                var closed = false
                while i < chars.count {
                    let d = chars[i]
                    if d == "\\" {
                        guard i + 1 < chars.count else { break }
                        let e = chars[i + 1]
                        switch e {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "r": s.append("\r")
                        case "u":
                            guard i + 5 < chars.count,
                                let v = UInt32(String(String.UnicodeScalarView(chars[(i + 2)...(i + 5)])), radix: 16),
                                let u = Unicode.Scalar(v)
                            else { throw Invalid(detail: "A bad \\u escape in the filter.") }
                            s.append(u)
                            i += 4
                        default: s.append(e)
                        }
                        i += 2
                        continue
                    }
                    if d == "\"" {
                        closed = true
                        i += 1
                        break
                    }
                    s.append(d)
                    i += 1
                }
                guard closed else { throw Invalid(detail: "A string in the filter is not closed.") }
                out.append(.string(String(s)))
            default:
                var w = String.UnicodeScalarView()
                while i < chars.count, !" \t\n\r()[]\"".unicodeScalars.contains(chars[i]) {
                    w.append(chars[i])
                    i += 1
                }
                out.append(.word(String(w)))
            }
            guard out.count <= 300 else { throw Invalid(detail: "The filter has too many parts.") }
        }
        return out
    }

    struct Parser {
        let tokens: [Token]
        var i = 0

        init(tokens: [Token]) { self.tokens = tokens }

        var atEnd: Bool { i >= tokens.count }
        var peek: Token? { i < tokens.count ? tokens[i] : nil }

        mutating func next() -> Token? {
            defer { i += 1 }
            return peek
        }

        func isWord(_ w: String) -> Bool {
            if case .word(let x) = peek { return x.lowercased() == w }
            return false
        }

        mutating func orExpr(depth: Int) throws -> SCIMFilter {
            guard depth < 50 else { throw Invalid(detail: "The filter nests too deeply.") }
            var left = try andExpr(depth: depth)
            while isWord("or") {
                i += 1
                left = .or(left, try andExpr(depth: depth))
            }
            return left
        }

        mutating func andExpr(depth: Int) throws -> SCIMFilter {
            var left = try unary(depth: depth)
            while isWord("and") {
                i += 1
                left = .and(left, try unary(depth: depth))
            }
            return left
        }

        mutating func unary(depth: Int) throws -> SCIMFilter {
            if isWord("not") {
                i += 1
                guard next() == .open else { throw Invalid(detail: "`not` must be followed by `(`.") }
                let inner = try orExpr(depth: depth + 1)
                guard next() == .close else { throw Invalid(detail: "A `(` in the filter is not closed.") }
                return .not(inner)
            }
            if peek == .open {
                i += 1
                let inner = try orExpr(depth: depth + 1)
                guard next() == .close else { throw Invalid(detail: "A `(` in the filter is not closed.") }
                return inner
            }
            guard case .word(let attr) = next() else { throw Invalid(detail: "An attribute name was expected.") }
            let path = SCIMFilter.path(attr)
            if peek == .openBracket {
                i += 1
                let inner = try orExpr(depth: depth + 1)
                guard next() == .closeBracket else { throw Invalid(detail: "A `[` in the filter is not closed.") }
                // `emails[type eq "work"].value eq "…"`: a sub-attribute compared after the bracket.
                if case .word(let w) = peek, w.hasPrefix(".") {
                    i += 1
                    let sub = SCIMFilter.path(String(w.dropFirst()))
                    guard case .word(let o) = next() else {
                        throw Invalid(detail: "An operator was expected after `\(w)`.")
                    }
                    if o.lowercased() == "pr" {
                        return .valuePath(
                            attribute: path.joined(separator: "."), filter: inner, sub: sub, op: nil, value: nil)
                    }
                    guard let op = Op(rawValue: o.lowercased()) else {
                        throw Invalid(detail: "Unknown operator `\(o)`.")
                    }
                    return .valuePath(
                        attribute: path.joined(separator: "."), filter: inner, sub: sub, op: op, value: try value())
                }
                return .valuePath(attribute: path.joined(separator: "."), filter: inner, sub: nil, op: nil, value: nil)
            }
            guard case .word(let o) = next() else { throw Invalid(detail: "An operator was expected after `\(attr)`.") }
            if o.lowercased() == "pr" { return .present(path: path) }
            guard let op = Op(rawValue: o.lowercased()) else { throw Invalid(detail: "Unknown operator `\(o)`.") }
            return .compare(path: path, op: op, value: try value())
        }

        mutating func value() throws -> Value {
            switch next() {
            case .string(let s): return .string(s)
            case .word(let w):
                switch w.lowercased() {
                case "true": return .bool(true)
                case "false": return .bool(false)
                case "null": return .null
                default:
                    guard let n = Double(w) else {
                        throw Invalid(detail: "`\(w)` is not a value (strings are quoted).")
                    }
                    return .number(n)
                }
            default: throw Invalid(detail: "A value was expected.")
            }
        }
    }

    /// `urn:…:User:name.givenName` → ["name", "givenname"] (lower-cased; the core schema prefix dropped, an
    /// extension's kept as one leading component).
    static func path(_ raw: String) -> [String] {
        var s = raw
        for core in ["urn:ietf:params:scim:schemas:core:2.0:User:", "urn:ietf:params:scim:schemas:core:2.0:Group:"]
        where s.lowercased().hasPrefix(core.lowercased()) {
            s = String(s.dropFirst(core.count))
        }
        if s.lowercased().hasPrefix("urn:"), let colon = s.lastIndex(of: ":") {
            let urn = String(s[..<colon]).lowercased()
            return [urn] + s[s.index(after: colon)...].split(separator: ".").map { $0.lowercased() }
        }
        return s.split(separator: ".").map { $0.lowercased() }
    }

    // MARK: - Evaluation

    /// Whether `resource` (a JSON object) matches.
    func matches(_ resource: [String: Any]) -> Bool {
        switch self {
        case .and(let a, let b): return a.matches(resource) && b.matches(resource)
        case .or(let a, let b): return a.matches(resource) || b.matches(resource)
        case .not(let a): return !a.matches(resource)
        case .present(let path):
            return Self.values(resource, path).contains { v in
                if v is NSNull { return false }
                if let s = v as? String { return !s.isEmpty }
                if let a = v as? [Any] { return !a.isEmpty }
                return true
            }
        case .compare(let path, let op, let value):
            let exact = path.last == "id" || path.last == "externalid"
            return Self.values(resource, path).contains { Self.compare($0, op, value, caseExact: exact) }
        case .valuePath(let attribute, let filter, let sub, let op, let value):
            let elements = Self.values(resource, Self.path(attribute))
            return elements.contains { e in
                guard let obj = e as? [String: Any], filter.matches(obj) else { return false }
                guard let sub else { return true }
                guard let op, let value else { return !Self.values(obj, sub).isEmpty }
                return Self.values(obj, sub).contains { Self.compare($0, op, value, caseExact: false) }
            }
        }
    }

    /// The values at `path` (arrays flattened), keys matched case-insensitively.
    static func values(_ obj: [String: Any], _ path: [String]) -> [Any] {
        guard let first = path.first else { return [obj] }
        guard let (_, v) = obj.first(where: { $0.key.lowercased() == first }) else { return [] }
        let rest = Array(path.dropFirst())
        if let arr = v as? [Any] {
            if rest.isEmpty { return arr }
            return arr.compactMap { $0 as? [String: Any] }.flatMap { values($0, rest) }
        }
        if rest.isEmpty { return [v] }
        if let o = v as? [String: Any] { return values(o, rest) }
        return []
    }

    static func compare(_ actual: Any, _ op: Op, _ expected: Value, caseExact: Bool) -> Bool {
        switch expected {
        case .null: return op == .eq ? actual is NSNull : op == .ne ? !(actual is NSNull) : false
        case .bool(let b):
            guard let a = actual as? Bool else { return op == .ne }
            return op == .eq ? a == b : op == .ne ? a != b : false
        case .number(let n):
            guard let a = (actual as? NSNumber)?.doubleValue, !(actual is Bool) else { return op == .ne }
            switch op {
            case .eq: return a == n
            case .ne: return a != n
            case .gt: return a > n
            case .ge: return a >= n
            case .lt: return a < n
            case .le: return a <= n
            default: return false
            }
        case .string(let s):
            guard let raw = actual as? String else { return op == .ne }
            let a = caseExact ? raw : raw.lowercased()
            let e = caseExact ? s : s.lowercased()
            switch op {
            case .eq: return a == e
            case .ne: return a != e
            case .co: return a.contains(e)
            case .sw: return a.hasPrefix(e)
            case .ew: return a.hasSuffix(e)
            case .gt: return a > e
            case .ge: return a >= e
            case .lt: return a < e
            case .le: return a <= e
            }
        }
    }

    /// `attr eq "value"` on a single-valued top-level attribute, for an indexed lookup instead of a scan.
    var equality: (attribute: String, value: String)? {
        if case .compare(let path, .eq, .string(let v)) = self, path.count == 1 { return (path[0], v) }
        if case .valuePath(let a, let f, let sub, .eq?, .string(let v)?) = self, a.lowercased() == "emails",
            sub == ["value"], case .compare(["type"], .eq, .string(let t)) = f, t.lowercased() == "work"
        {
            return ("emails", v)
        }
        if case .compare(["emails", "value"], .eq, .string(let v)) = self { return ("emails", v) }
        return nil
    }
}
