/// Header fields in arrival order. Names compare case-insensitively (RFC 9110 §5.1); values are kept as sent.
package struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    package private(set) var fields: [(name: String, value: String)]

    package init() { fields = [] }
    package init(reservingCapacity n: Int) {
        fields = []
        fields.reserveCapacity(n)
    }
    package init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    package init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    package var count: Int { fields.count }
    package func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// The first value for `name`, or nil.
    package subscript(_ name: String) -> String? {
        for f in fields where f.name.utf8.count == name.utf8.count && HTTPHeaders.sameName(f.name, name) {
            return f.value
        }
        return nil
    }

    /// Every value for `name`, in order.
    package func values(_ name: String) -> [String] {
        var out: [String] = []  // a plain loop: asked twice per request (framing), nearly always for nothing
        for f in fields where HTTPHeaders.sameName(f.name, name) { out.append(f.value) }
        return out
    }

    package mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field called `name` with one.
    package mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    package mutating func remove(_ name: String) { fields.removeAll { HTTPHeaders.sameName($0.name, name) } }

    package func contains(_ name: String) -> Bool { self[name] != nil }

    /// ASCII case-insensitive comparison (header names are ASCII tokens). On the strings' contiguous bytes when
    /// they have them (native strings do): every header lookup of every request compares names.
    package static func sameName(_ a: String, _ b: String) -> Bool {
        // Most names compared differ in length: no byte need be looked at (native strings know their length).
        guard a.utf8.count == b.utf8.count else { return false }
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in
                for i in 0..<x.count where x[i] != y[i] && lower(x[i]) != lower(y[i]) { return false }
                return true
            }
        }
        if let fast, let same = fast { return same }
        var ia = a.utf8.makeIterator()
        var ib = b.utf8.makeIterator()
        while true {
            switch (ia.next(), ib.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x != y && lower(x) != lower(y) { return false }
            default: return false
            }
        }
    }

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c | 0x20 : c }
}

extension HTTPHeaders {
    /// Whether a comma-separated header (e.g. `Connection`) lists `token`, case-insensitively.
    package func hasToken(_ name: String, _ token: String) -> Bool {
        for v in values(name) {
            for part in v.split(separator: ",") {
                if HTTPHeaders.sameName(String(part.trimmingSpaces()), token) { return true }
            }
        }
        return false
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// A fixed set of header names, asked case-insensitively: found by length, then compared byte-wise (no lower-cased
/// copy, no hash of each name asked — proxying asks for every header of every request and answer).
package struct HeaderNameSet: Sendable {
    /// The names' lower-cased bytes, by length.
    private let byLength: [[[UInt8]]]
    /// The names, lower-cased.
    package let names: Set<String>

    package init(_ names: Set<String>) {
        self.names = Set(names.map { $0.lowercased() })
        var table = [[[UInt8]]](repeating: [], count: (self.names.map(\.utf8.count).max() ?? 0) + 1)
        for n in self.names { table[n.utf8.count].append(Array(n.utf8)) }
        byLength = table
    }

    package func contains(_ name: String) -> Bool {
        let n = name.utf8.count
        guard n < byLength.count, !byLength[n].isEmpty else { return false }
        var name = name
        return name.withUTF8 { b in
            candidates: for candidate in byLength[n] {
                for i in 0..<n where HTTPHeaders.lower(b[i]) != candidate[i] { continue candidates }
                return true
            }
            return false
        }
    }

    /// Whether `name` begins with `prefix` (lower-case ASCII), case-insensitively, by bytes.
    package static func name(_ name: String, hasPrefix prefix: StaticString) -> Bool {
        guard name.utf8.count >= prefix.utf8CodeUnitCount else { return false }
        return prefix.withUTF8Buffer { p in
            var i = name.utf8.makeIterator()
            for c in p {
                guard let b = i.next(), HTTPHeaders.lower(b) == c else { return false }
            }
            return true
        }
    }
}
