import Foundation
import Store
import Testing

/// The JSON column codec: the hand-written lists and maps read back exactly what they wrote, agree with
/// Foundation's parser on every value (escapes, quotes, non-ASCII, control characters), and Codable values
/// round-trip with stable text.
@Suite("Store: JSON columns")
struct JSONColumnTests {
    static let strings = [
        "", "a", "owner", "a,b", "say \"hi\"", "back\\slash", "Zoë Søn", "line\nbreak", "tab\t", "\u{1}",
        "[x]", "{y}", "😀",
    ]

    @Test func listsRoundTripAndAgreeWithFoundation() throws {
        for n in 0...3 {
            for start in 0..<Self.strings.count {
                let l = (0..<n).map { Self.strings[(start + $0 * 5) % Self.strings.count] }
                let text = JSONColumn.list(l)
                #expect(JSONColumn.readList(text) == l, "\(text)")
                #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] == l)
            }
        }
        #expect(JSONColumn.readList("not json") == [])
    }

    @Test func mapsRoundTripWithSortedKeys() throws {
        var m: [String: String] = [:]
        for (i, s) in Self.strings.enumerated() { m["k\(i)" + s] = s }
        let text = JSONColumn.map(m)
        #expect(JSONColumn.readMap(text) == m)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] == m)
        #expect(JSONColumn.map(["b": "2", "a": "1"]) == #"{"a":"1","b":"2"}"#)
        #expect(JSONColumn.readMap("{}") == [:] && JSONColumn.readMap("[") == [:])
    }

    struct Doc: Codable, Equatable {
        var name: String
        var bits: Int?
        var tags: [String]
    }

    @Test func codableValuesRoundTripWithStableText() throws {
        let d = Doc(name: "Zoë \"Q\"", bits: 1024, tags: ["x", "y"])
        let text = try JSONColumn.value(d)
        #expect(text == #"{"bits":1024,"name":"Zoë \"Q\"","tags":["x","y"]}"#)
        #expect(JSONColumn.read(Doc.self, text) == d)
        #expect(JSONColumn.read(Doc.self, nil) == nil && JSONColumn.read(Doc.self, "{") == nil)
    }
}
