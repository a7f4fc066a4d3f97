/// Email addresses as Gatehouse treats them: compared case-insensitively, validated by a pragmatic subset of
/// RFC 5321/5322 (what mail systems actually deliver to), at most 254 characters.
package enum Email {
    /// Characters allowed in the local part (RFC 5322 atext plus dot), as a lookup table.
    private static let localChars: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for c in UInt8(ascii: "0")...UInt8(ascii: "9") { table[Int(c)] = true }
        for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { table[Int(c)] = true }
        for c in UInt8(ascii: "a")...UInt8(ascii: "z") { table[Int(c)] = true }
        for c in "!#$%&'*+-/=?^_`{|}~.".utf8 { table[Int(c)] = true }
        return table
    }()

    package static func normalize(_ s: String) -> String { s.lowercased() }

    package static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard u.count >= 3, u.count <= 254, let at = u.lastIndex(of: UInt8(ascii: "@")), at > 0, at < u.count - 1 else {
            return false
        }
        let local = u[..<at]
        let domain = u[(at + 1)...]
        guard local.count <= 64 else { return false }
        guard local.allSatisfy({ localChars[Int($0)] }), local.first != UInt8(ascii: "."),
            local.last != UInt8(ascii: "."),
            !zip(local, local.dropFirst()).contains(where: { $0 == 46 && $1 == 46 })
        else { return false }
        let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        for label in labels {
            guard (1...63).contains(label.count), label.first != 45, label.last != 45,
                label.allSatisfy({
                    ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45
                })
            else { return false }
        }
        if let tld = labels.last, tld.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return false }
        return true
    }
}

/// Turns what an admin pasted (a JSON list, or text from a spreadsheet separated by newlines, tabs, spaces,
/// commas or semicolons, with `Name <addr>` forms) into addresses: deduplicated case-insensitively in first-seen
/// order, invalid ones reported as typed.
package enum InviteAddressParser {
    package struct Parsed: Sendable, Equatable {
        package var valid: [String] = []
        package var invalid: [String] = []
        package var duplicates: [String] = []
        /// Display names given as `Mia Manager <mia@acme.test>`, by normalized address, split at the first
        /// space into first and last name (sanitized like names an IdP sends).
        package var names: [String: PersonName.Split] = [:]
    }

    package static func parse(text: String) -> Parsed {
        // Entries are separated by newlines, tabs, commas and semicolons (and spaces between bare addresses);
        // inside `<…>` nothing separates. Words before an angle address, since the last address, are its name.
        var entries: [(address: String, name: String?)] = []
        var words: [String] = []
        var current = ""
        var inAngle = false
        let hadAngles = text.contains("<") && text.contains(">")
        func endWord() {
            let w = current.trimmingCharacters(in: "\"'")
            current = ""
            guard !w.isEmpty else { return }
            if w.contains("@") || !hadAngles {
                entries.append((w, nil))
                words = []
            } else {
                words.append(w)
            }
        }
        for ch in text {
            if ch == "<" && !inAngle {
                endWord()
                inAngle = true
                continue
            }
            if ch == ">" && inAngle {
                inAngle = false
                let name = words.joined(separator: " ")
                entries.append((current.trimmingCharacters(in: " \t"), name.isEmpty ? nil : name))
                current = ""
                words = []
                continue
            }
            if inAngle {
                current.append(ch)
            } else if ch == "\n" || ch == "\r" || ch == "\r\n" || ch == "\t" || ch == "," || ch == ";" {
                endWord()
                words = []  // a name never spans entries
            } else if ch == " " {
                endWord()
            } else {
                current.append(ch)
            }
        }
        endWord()
        var parsed = parse(list: entries.map(\.address))
        for (address, name) in entries {
            guard let name, Email.isValid(address.trimmingCharacters(in: " \t\r\n")) else { continue }
            let split = PersonName.split(name)
            if !split.first.isEmpty || !split.last.isEmpty { parsed.names[Email.normalize(address)] = split }
        }
        return parsed
    }

    package static func parse(list: [String]) -> Parsed {
        var out = Parsed()
        var seen = Set<String>()
        for raw in list {
            let s = raw.trimmingCharacters(in: " \t\r\n")
            if s.isEmpty { continue }
            guard Email.isValid(s) else {
                out.invalid.append(s)
                continue
            }
            let key = Email.normalize(s)
            if seen.contains(key) {
                out.duplicates.append(s)
                continue
            }
            seen.insert(key)
            out.valid.append(key)
        }
        return out
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        // Most addresses have nothing to trim: answer without allocating.
        guard let f = first, let l = last, set.contains(f) || set.contains(l) else { return self }
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s.removeFirst() }
        while let l = s.last, chars.contains(l) { s.removeLast() }
        return String(s)
    }
}
