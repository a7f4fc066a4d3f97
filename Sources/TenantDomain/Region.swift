import GatehouseCore

/// Where an org's data lives. Fixed at creation and encoded in the org id, so routing needs no lookup.
package enum Region: String, Sendable, CaseIterable, Codable {
    case us, eu, apac
}

/// `org_<region>_<random>`: the region is readable from the id alone.
package struct OrgID: Sendable, Hashable, Codable, CustomStringConvertible {
    package let raw: String
    package let region: Region

    package init?(_ raw: String) {
        let u = Array(raw.utf8)
        guard u.count >= 14, u.count <= 50, u[0] == 111, u[1] == 114, u[2] == 103, u[3] == 95 else { return nil }  // "org_"
        guard let sep = u[4...].firstIndex(of: 95),
            let region = Region(rawValue: String(decoding: u[4..<sep], as: UTF8.self))
        else { return nil }
        let rest = u[(sep + 1)...]
        guard (8...40).contains(rest.count), rest.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) })
        else { return nil }
        self.raw = raw
        self.region = region
    }

    package static func make(in region: Region, random: String) -> OrgID? { OrgID("org_\(region.rawValue)_\(random)") }

    package var description: String { raw }

    package init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let id = OrgID(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not an org id"))
        }
        self = id
    }

    package func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(raw)
    }
}

/// Lower-case alphanumeric random ids (`inv_…`, `app_…`) from a caller-supplied random source.
package enum IDs {
    package static func random(_ bytes: [UInt8], length: Int = 20) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        var out = [UInt8]()
        out.reserveCapacity(length)
        for b in bytes.prefix(length) { out.append(alphabet[Int(b) % 36]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Whether an org's members can reach it. Stored and sent as its raw value.
package enum OrgStatus: String, Sendable, Codable, CaseIterable {
    case active, suspended

    /// A stored value; anything unknown reads as suspended (fail closed).
    package init(stored: String) { self = OrgStatus(rawValue: stored) ?? .suspended }
}
