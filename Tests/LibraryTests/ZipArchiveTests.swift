import Foundation
import Testing

@testable import Compression

/// The ZIP codec: what it writes, Python's zipfile reads (a reader nobody here wrote) and it reads back; hostile
/// archives are refused before anything large is allocated.
@Suite("ZIP archives")
struct ZipArchiveTests {
    static let entries = [
        ZipArchive.Entry(name: "app.json", data: Array(#"{"name":"Portal","format":"gatehouse-app/1"}"#.utf8)),
        ZipArchive.Entry(name: "README.txt", data: Array(String(repeating: "Gatehouse app export. ", count: 200).utf8)),
        ZipArchive.Entry(name: "empty", data: []),
    ]

    @Test func roundTripsAndPythonReadsIt() throws {
        let zip = ZipArchive.write(Self.entries)
        #expect(try ZipArchive.read(zip) == Self.entries)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("gh-\(UUID().uuidString).zip").path
        try Data(zip).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c",
            "import sys,zipfile,json;z=zipfile.ZipFile(sys.argv[1]);assert z.testzip() is None;"
                + "print(json.dumps({n: len(z.read(n)) for n in z.namelist()}, sort_keys=True))",
            path,
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let sizes = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(
            sizes.trimmingCharacters(in: .whitespacesAndNewlines)
                == #"{"README.txt": 4400, "app.json": 44, "empty": 0}"#)
    }

    @Test func hostileArchivesAreRefused() {
        // A name that climbs out, a damaged entry, a bomb, too many files, not a ZIP at all, truncated.
        let climbing = ZipArchive.write([.init(name: "../../etc/passwd", data: [1])])
        var damaged = ZipArchive.write([.init(name: "a", data: Array("hello".utf8))])
        damaged[30 + 1] ^= 0xff  // the stored byte after the one-byte name
        let bomb = ZipArchive.write([.init(name: "big", data: [UInt8](repeating: 0, count: 3 << 20))])
        let many = ZipArchive.write((0..<40).map { .init(name: "f\($0)", data: []) })
        for (name, zip) in [
            ("climbing", climbing), ("damaged", damaged), ("bomb", bomb), ("many", many), ("not a zip", [1, 2, 3]),
            ("truncated", Array(ZipArchive.write(Self.entries).dropLast(30))),
        ] {
            #expect(throws: ZipArchive.Failure.self, "\(name)") { _ = try ZipArchive.read(zip, maxEntryBytes: 1 << 20) }
        }
    }
}
