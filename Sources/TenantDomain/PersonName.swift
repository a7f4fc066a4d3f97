import Foundation
import GatehouseCore

/// First and last names, as people and identity providers give them. They travel into mail sent from
/// Gatehouse's own address ("Olga invited you"), so a name may not carry line breaks, control characters or
/// direction overrides (which could forge extra lines or reorder a link in a mail client), and is at most
/// `maxLength` characters.
package enum PersonName {
    package static let maxLength = 100

    /// nil when acceptable, else the reason.
    package static func problem(_ name: String) -> String? {
        if name.count > maxLength { return "Names must be at most \(maxLength) characters." }
        if name.unicodeScalars.contains(where: isForbidden) {
            return "Names cannot contain line breaks or control characters."
        }
        return nil
    }

    package static func validate(_ names: String?...) throws {
        for n in names.compactMap({ $0 }) { if let p = problem(n) { throw GatehouseError.validation(p) } }
    }

    /// What an identity provider sent, made acceptable: forbidden characters become spaces, then trimmed and cut.
    package static func sanitized(_ name: String) -> String {
        let cleaned = String(String.UnicodeScalarView(name.unicodeScalars.map { isForbidden($0) ? " " : $0 }))
        return String(cleaned.trimmingCharacters(in: .whitespaces).prefix(maxLength))
    }

    package struct Split: Sendable, Equatable {
        package var first: String
        package var last: String
        package init(first: String, last: String) {
            self.first = first
            self.last = last
        }
    }

    /// A display name (`Mia Manager`) as first and last name: the first word, then the rest; sanitized.
    package static func split(_ display: String) -> Split {
        let clean = sanitized(display)
        guard let space = clean.firstIndex(of: " ") else { return Split(first: clean, last: "") }
        return Split(
            first: String(clean[..<space]), last: clean[space...].trimmingCharacters(in: .whitespaces))
    }

    static func isForbidden(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default:
            return (0x202A...0x202E).contains(s.value) || (0x2066...0x2069).contains(s.value) || s.value == 0x200E
                || s.value == 0x200F
        }
    }
}

/// Names of things — orgs, apps, roles, API keys, agencies: trimmed, 1…`max` characters, and, as people's names,
/// no line breaks, control characters or direction overrides (they travel into mail and pages).
package enum DisplayName {
    /// The trimmed name, or a validation error naming the field and the rule.
    package static func validated(_ raw: String, max: Int, field: String = "name") throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...max).contains(name.count) else {
            throw GatehouseError.validation("`\(field)` must be 1–\(max) characters.")
        }
        guard !name.unicodeScalars.contains(where: PersonName.isForbidden) else {
            throw GatehouseError.validation("`\(field)` cannot contain line breaks or control characters.")
        }
        return name
    }
}
