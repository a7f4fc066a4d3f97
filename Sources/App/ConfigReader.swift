import Foundation

/// A typed reader over a JSON object that remembers which keys were read, so unknown keys (typos) can be
/// refused, and that names the full option path in every error (`http.port must be …`).
struct ConfigReader {
    let object: [String: Any]
    let path: String
    private(set) var seen: Set<String> = []

    init(_ object: [String: Any], path: String = "") {
        self.object = object
        self.path = path
    }

    /// JSON `true`/`false` arrive as NSNumber too; their type is a boxed boolean.
    static func isBoolean(_ n: NSNumber) -> Bool { String(describing: type(of: n)).contains("Boolean") }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func int(_ key: String, default d: Int, range: ClosedRange<Int>) throws -> Int {
        seen.insert(key)
        guard let raw = object[key] else { return d }
        guard let n = raw as? NSNumber, !ConfigReader.isBoolean(n), n.doubleValue == n.doubleValue.rounded(),
            range.contains(n.intValue)
        else {
            throw ConfigError("\(name(key)) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return n.intValue
    }

    mutating func double(_ key: String, default d: Double, range: ClosedRange<Double>) throws -> Double {
        seen.insert(key)
        guard let raw = object[key] else { return d }
        guard let n = raw as? NSNumber, !ConfigReader.isBoolean(n), range.contains(n.doubleValue) else {
            throw ConfigError("\(name(key)) must be a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n.doubleValue
    }

    mutating func strings(_ key: String) throws -> [String] {
        seen.insert(key)
        guard let raw = object[key] else { return [] }
        guard let list = raw as? [Any], list.allSatisfy({ $0 is String }) else {
            throw ConfigError("\(name(key)) must be a list of strings")
        }
        return list.compactMap { $0 as? String }
    }

    mutating func bool(_ key: String, default d: Bool) throws -> Bool {
        seen.insert(key)
        guard let raw = object[key] else { return d }
        guard let n = raw as? NSNumber, ConfigReader.isBoolean(n) else {
            throw ConfigError("\(name(key)) must be true or false")
        }
        return n.boolValue
    }

    mutating func string(_ key: String, default d: String?) throws -> String? {
        seen.insert(key)
        guard let raw = object[key], !(raw is NSNull) else { return d }
        guard let s = raw as? String else { throw ConfigError("\(name(key)) must be a string") }
        return s
    }

    mutating func oneOf(_ key: String, default d: String, _ allowed: [String]) throws -> String {
        let v = try string(key, default: d) ?? d
        guard allowed.contains(v) else {
            throw ConfigError("\(name(key)) must be one of \(allowed.joined(separator: ", "))")
        }
        return v
    }

    /// One of an enum's raw values, as the enum.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, default d: E) throws -> E
    where E.RawValue == String {
        let v = try oneOf(key, default: d.rawValue, E.allCases.map(\.rawValue))
        guard let e = E(rawValue: v) else { throw ConfigError("\(name(key)) is not valid") }
        return e
    }

    mutating func section(_ key: String) throws -> ConfigReader {
        seen.insert(key)
        guard let raw = object[key] else { return ConfigReader([:], path: name(key)) }
        guard let o = raw as? [String: Any] else { throw ConfigError("\(name(key)) must be an object") }
        return ConfigReader(o, path: name(key))
    }

    /// Refuses keys nobody read: a misspelled option must not be silently ignored.
    func finish() throws {
        let unknown = Set(object.keys).subtracting(seen).filter { !$0.hasPrefix("_") && !$0.hasPrefix("$") }
        if let first = unknown.sorted().first { throw ConfigError("\(name(first)) is not a known option") }
    }
}

/// Bad configuration: start-up stops with this message, which names the option.
package struct ConfigError: Error, CustomStringConvertible, Sendable {
    package let description: String
    package init(_ d: String) { description = "configuration: " + d }
}
