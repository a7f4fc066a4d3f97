/// Markup that escapes by default (pages, mail, SP metadata).
///
/// Why: pages were strings with an `esc(…)` around each value, safe only as long as nobody forgot one. Here a
/// literal is markup we wrote; an interpolated `String` is always escaped (text and double-quoted attribute
/// values alike); an interpolated `HTML` is inserted as is. The only way to insert raw text is `unsafeRaw`,
/// spelled out where it is used. `let bad: HTML = "<td>" + name` does not compile: there is no `HTML + String`.
/// (Elementary's `HTMLText`/`HTMLRaw` and Leaf's `#(x)`/`#unsafeHTML` are the models.)
package struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    package private(set) var text: String

    package init(stringLiteral literal: StaticString) { text = literal.description }

    package init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }

    private init(trusted: String) { text = trusted }

    package init() { text = "" }

    package var description: String { text }
    package var isEmpty: Bool { text.isEmpty }

    /// Inserts `raw` unescaped. Only for markup that is already safe by construction and cannot be built as
    /// `HTML` (a pre-rendered fragment from a trusted source); every use is a place to review.
    package static func unsafeRaw(_ raw: String) -> HTML { HTML(trusted: raw) }

    package static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.text + b.text) }
    package static func += (a: inout HTML, b: HTML) { a.text += b.text }

    package struct StringInterpolation: StringInterpolationProtocol {
        package typealias StringLiteralType = StaticString
        var text = ""

        package init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        package mutating func appendLiteral(_ literal: StaticString) { text += literal.description }

        /// Text: escaped.
        package mutating func appendInterpolation(_ s: String) { HTML.escape(s, into: &text) }
        package mutating func appendInterpolation(_ s: Substring) { HTML.escape(String(s), into: &text) }
        /// Markup: as is.
        package mutating func appendInterpolation(_ h: HTML) { text += h.text }
        package mutating func appendInterpolation(_ hs: [HTML]) { for h in hs { text += h.text } }
        /// Numbers print as digits, which need no escaping.
        package mutating func appendInterpolation<N: BinaryInteger>(_ n: N) { text += String(n) }
        /// `\(if: cond, "…")`: the markup when the condition holds, else nothing.
        package mutating func appendInterpolation(if condition: Bool, _ h: @autoclosure () -> HTML) {
            if condition { text += h().text }
        }
    }

    /// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attribute values.
    package static func escape(_ s: String) -> String {
        var out = ""
        escape(s, into: &out)
        return out
    }

    static func escape(_ s: String, into out: inout String) {
        guard s.utf8.contains(where: { $0 == 38 || $0 == 60 || $0 == 62 || $0 == 34 || $0 == 39 }) else {
            out += s
            return
        }
        out.reserveCapacity(out.utf8.count + s.utf8.count + 16)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
    }
}

extension Array where Element == HTML {
    package func joined(separator: HTML = HTML()) -> HTML {
        var out = HTML()
        for (i, h) in enumerated() {
            if i > 0 { out += separator }
            out += h
        }
        return out
    }
}
