internal import CZlib
import GatehouseCore

/// ZIP files (PKWARE APPNOTE 6.3) as far as an app's export needs: writing stored or deflated entries, reading
/// entries from the central directory with hard limits (entry count, names, sizes before and after inflating,
/// CRC-32) — a hostile upload can neither make us allocate its expansion nor smuggle a path.
package enum ZipArchive {
    package struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        package let reason: String
        package var description: String { reason }
    }

    package struct Entry: Sendable, Equatable {
        package let name: String
        package let data: [UInt8]
        package init(name: String, data: [UInt8]) {
            self.name = name
            self.data = data
        }
    }

    package static func crc32(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    }

    /// Deflated entries (stored when deflating does not help), a central directory, no extra fields.
    package static func write(_ entries: [Entry]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        func u32(_ v: UInt32, _ b: inout [UInt8]) {
            b += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
        }
        for e in entries {
            let name = Array(e.name.utf8)
            let deflated = RawDeflate.deflate(e.data)
            let (method, payload) = deflated.count < e.data.count ? (8, deflated) : (0, e.data)
            let crc = crc32(e.data)
            let offset = UInt32(out.count)
            u32(0x0403_4b50, &out)
            u16(20, &out)
            u16(0x0800, &out)  // UTF-8 names
            u16(method, &out)
            u16(0, &out)
            u16(0x21, &out)  // 1980-01-01
            u32(crc, &out)
            u32(UInt32(payload.count), &out)
            u32(UInt32(e.data.count), &out)
            u16(name.count, &out)
            u16(0, &out)
            out += name
            out += payload
            u32(0x0201_4b50, &central)
            u16(20, &central)
            u16(20, &central)
            u16(0x0800, &central)
            u16(method, &central)
            u16(0, &central)
            u16(0x21, &central)
            u32(crc, &central)
            u32(UInt32(payload.count), &central)
            u32(UInt32(e.data.count), &central)
            u16(name.count, &central)
            u16(0, &central)
            u16(0, &central)
            u16(0, &central)
            u16(0, &central)
            u32(0, &central)
            u32(offset, &central)
            central += name
        }
        let start = UInt32(out.count)
        out += central
        u32(0x0605_4b50, &out)
        u16(0, &out)
        u16(0, &out)
        u16(entries.count, &out)
        u16(entries.count, &out)
        u32(UInt32(central.count), &out)
        u32(start, &out)
        u16(0, &out)
        return out
    }

    /// The entries of `zip`: at most `maxEntries`, each at most `maxEntryBytes` inflated; names without `..`,
    /// absolute paths or backslashes; stored or deflated only; CRC checked.
    package static func read(
        _ zip: [UInt8], maxEntries: Int = 16, maxEntryBytes: Int = 1 << 20
    ) throws(Failure)
        -> [Entry]
    {
        func u16(_ i: Int) throws(Failure) -> Int {
            guard i >= 0, i + 2 <= zip.count else { throw Failure(reason: "truncated ZIP file") }
            return Int(zip[i]) | Int(zip[i + 1]) << 8
        }
        func u32(_ i: Int) throws(Failure) -> Int {
            guard i >= 0, i + 4 <= zip.count else { throw Failure(reason: "truncated ZIP file") }
            return Int(zip[i]) | Int(zip[i + 1]) << 8 | Int(zip[i + 2]) << 16 | Int(zip[i + 3]) << 24
        }
        // The end record is in the last 22 + 65535 bytes.
        var eocd = -1
        var i = zip.count - 22
        while i >= max(0, zip.count - 22 - 65535) {
            if try u32(i) == 0x0605_4b50 {
                eocd = i
                break
            }
            i -= 1
        }
        guard eocd >= 0 else { throw Failure(reason: "not a ZIP file") }
        let count = try u16(eocd + 10)
        guard count <= maxEntries else { throw Failure(reason: "too many files in the ZIP (at most \(maxEntries))") }
        var at = try u32(eocd + 16)
        var entries: [Entry] = []
        for _ in 0..<count {
            guard try u32(at) == 0x0201_4b50 else { throw Failure(reason: "bad ZIP directory") }
            let flags = try u16(at + 8)
            let method = try u16(at + 10)
            let crc = try u32(at + 16)
            let compressed = try u32(at + 20)
            let size = try u32(at + 24)
            let nameLength = try u16(at + 28)
            let extra = try u16(at + 30)
            let comment = try u16(at + 32)
            let local = try u32(at + 42)
            guard flags & 1 == 0 else { throw Failure(reason: "encrypted ZIP entries are not supported") }
            guard at + 46 + nameLength <= zip.count else { throw Failure(reason: "truncated ZIP file") }
            let name = String(decoding: zip[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            guard !name.isEmpty, name.utf8.count <= 200, !name.hasPrefix("/"), !name.contains("\\"),
                !name.split(separator: "/").contains("..")
            else { throw Failure(reason: "a file name in the ZIP is not allowed") }
            guard size <= maxEntryBytes, compressed <= maxEntryBytes else {
                throw Failure(reason: "\(name) is larger than \(maxEntryBytes) bytes")
            }
            let localName = try u16(local + 26)
            let localExtra = try u16(local + 28)
            guard try u32(local) == 0x0403_4b50 else { throw Failure(reason: "bad ZIP entry") }
            let dataStart = local + 30 + localName + localExtra
            guard dataStart >= 0, dataStart + compressed <= zip.count else {
                throw Failure(reason: "truncated ZIP file")
            }
            let payload = Array(zip[dataStart..<(dataStart + compressed)])
            let data: [UInt8]
            switch method {
            case 0: data = payload
            case 8:
                do { data = try RawDeflate.inflate(payload, maxOutput: maxEntryBytes) } catch {
                    throw Failure(reason: "\(name) cannot be inflated: \(error.reason)")
                }
            default: throw Failure(reason: "\(name) uses a compression method other than deflate")
            }
            guard data.count == size, Int(crc32(data)) == crc else { throw Failure(reason: "\(name) is damaged") }
            entries.append(Entry(name: name, data: data))
            at += 46 + nameLength + extra + comment
        }
        return entries
    }
}
