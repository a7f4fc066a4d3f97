/// Markup that escapes by default (pages, mail, SP metadata).
///
/// Why: pages were strings with an `esc(…)` around each value, safe only as long as nobody forgot one. Here a
/// literal is markup we wrote; an interpolated `String` is always escaped (text and double-quoted attribute
/// values alike); an interpolated `HTML` is inserted as is. The only way to insert raw text is `unsafeRaw`,
/// spelled out where it is used. `let bad: HTML = "<td>" + name` does not compile: there is no `HTML + String`.
/// (Elementary's `HTMLText`/`HTMLRaw` and Leaf's `#(x)`/`#unsafeHTML` are the models.)
package struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup as UTF-8 bytes: literals are copied from their static storage and values escaped straight into
    /// it, so a page of 50 table rows is built without a String per fragment.
    package private(set) var utf8: [UInt8]

    package init(stringLiteral literal: StaticString) { utf8 = HTML.bytes(literal) }

    package init(stringInterpolation: StringInterpolation) { utf8 = stringInterpolation.utf8 }

    private init(trusted: [UInt8]) { utf8 = trusted }

    package init() { utf8 = [] }

    package var text: String { String(decoding: utf8, as: UTF8.self) }
    package var description: String { text }
    package var isEmpty: Bool { utf8.isEmpty }

    /// Inserts `raw` unescaped. Only for markup that is already safe by construction and cannot be built as
    /// `HTML` (a pre-rendered fragment from a trusted source); every use is a place to review.
    package static func unsafeRaw(_ raw: String) -> HTML { HTML(trusted: Array(raw.utf8)) }

    package static func + (a: HTML, b: HTML) -> HTML { HTML(trusted: a.utf8 + b.utf8) }
    package static func += (a: inout HTML, b: HTML) { a.utf8 += b.utf8 }

    static func bytes(_ literal: StaticString) -> [UInt8] {
        literal.hasPointerRepresentation
            ? Array(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            : Array(literal.description.utf8)
    }

    package struct StringInterpolation: StringInterpolationProtocol {
        package typealias StringLiteralType = StaticString
        var utf8: [UInt8] = []

        package init(literalCapacity: Int, interpolationCount: Int) {
            utf8.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        package mutating func appendLiteral(_ literal: StaticString) {
            if literal.hasPointerRepresentation {
                utf8.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
            } else {
                utf8.append(contentsOf: literal.description.utf8)
            }
        }

        /// Text: escaped.
        package mutating func appendInterpolation(_ s: String) { HTML.escape(s, into: &utf8) }
        package mutating func appendInterpolation(_ s: Substring) { HTML.escape(String(s), into: &utf8) }
        /// Markup: as is.
        package mutating func appendInterpolation(_ h: HTML) { utf8 += h.utf8 }
        package mutating func appendInterpolation(_ hs: [HTML]) { for h in hs { utf8 += h.utf8 } }
        /// Numbers print as digits, which need no escaping.
        package mutating func appendInterpolation<N: BinaryInteger>(_ n: N) { utf8 += String(n).utf8 }
        /// `\(if: cond, "…")`: the markup when the condition holds, else nothing.
        package mutating func appendInterpolation(if condition: Bool, _ h: @autoclosure () -> HTML) {
            if condition { utf8 += h().utf8 }
        }
    }

    /// `&`, `<`, `>`, `"` and `'` as entities: safe in text and in quoted attribute values.
    package static func escape(_ s: String) -> String {
        var out: [UInt8] = []
        escape(s, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func escape(_ s: String, into out: inout [UInt8]) {
        var s = s
        s.withUTF8 { buf in
            var start = 0
            for (i, b) in buf.enumerated() {
                let entity: StaticString
                switch b {
                case 38: entity = "&amp;"
                case 60: entity = "&lt;"
                case 62: entity = "&gt;"
                case 34: entity = "&quot;"
                case 39: entity = "&#39;"
                default: continue
                }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<i]))
                out.append(contentsOf: UnsafeBufferPointer(start: entity.utf8Start, count: entity.utf8CodeUnitCount))
                start = i + 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buf[start..<buf.count]))
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
