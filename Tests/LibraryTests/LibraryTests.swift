import Compression
import Crypto
import Foundation
import GatehouseCore
import Testing
import XML

/// The system libraries are wired up and behave: OpenSSL (digests, HMAC, randomness), zlib (raw DEFLATE with a
/// streaming cap), libxml2 (hardened parsing, built without the ICU clash).
@Suite("System libraries")
struct LibraryTests {
    @Test func sha256KnownAnswer() {
        #expect(
            Digest.sha256.hash("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hmacRFC4231Case2() {
        let mac = HMAC.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
        #expect(mac.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMAC.isValid(mac, for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)))
        var flipped = mac
        flipped[31] ^= 1
        #expect(!HMAC.isValid(flipped, for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)))
        #expect(
            !HMAC.isValid(
                Array(mac.prefix(16)), for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)))
    }

    @Test func randomBytesDiffer() {
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        #expect(SecureRandom.bytes(32).count == 32)
    }

    @Test func deflateRoundTripAndBombCap() throws {
        let text = Array(String(repeating: "<samlp:AuthnRequest/>", count: 100).utf8)
        let packed = RawDeflate.deflate(text)
        #expect(packed.count < text.count)
        #expect(try RawDeflate.inflate(packed, maxOutput: 1 << 20) == text)
        let bomb = RawDeflate.deflate([UInt8](repeating: 0, count: 10 << 20))
        #expect(throws: RawDeflate.Failure.tooLarge) { try RawDeflate.inflate(bomb, maxOutput: 1 << 20) }
        #expect(throws: RawDeflate.Failure.self) { try RawDeflate.inflate([1, 2, 3, 4, 5], maxOutput: 1 << 20) }
    }

    @Test func xmlParsesAndReadsWholeText() throws {
        let doc = try XMLDocument(parsing: Array("<a>user@<!-- cut -->example.com</a>".utf8))
        #expect(doc.rootName == "a")
        #expect(doc.rootText == "user@example.com")
    }

    @Test(arguments: [
        "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>",
        "<!DOCTYPE a [<!ENTITY l \"lol\"><!ENTITY l2 \"&l;&l;&l;&l;\">]><a>&l2;</a>",
        "<a><b></a>",
        "",
        String(repeating: "<d>", count: 100) + String(repeating: "</d>", count: 100),
    ])
    func hostileXMLIsRefused(_ xml: String) {
        #expect(throws: XMLRefusal.self) { _ = try XMLDocument(parsing: Array(xml.utf8)) }
    }
}

@Suite("Base64url")
struct Base64URLTests {
    /// The direct encoder against Foundation's base64 with the URL-safe substitutions (the reference), every
    /// length from 0 to 100 and every byte value, and back through the strict decoder.
    @Test func encoderMatchesTheReferenceAndRoundTrips() {
        var rng = SystemRandomNumberGenerator()
        for n in 0...100 {
            let bytes = (0..<n).map { i in
                i < 256 && n == 100 ? UInt8(truncatingIfNeeded: i * 7) : UInt8.random(in: 0...255, using: &rng)
            }
            let reference = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == reference, "length \(n)")
            #expect(Base64URL.decode(Base64URL.encode(bytes)).map { Array($0) } == bytes)
        }
        #expect(Base64URL.encode(Array(0...255).map(UInt8.init)).count == 342)
    }
}

@Suite("ISO 8601 bytes")
struct ISO8601BytesTests {
    /// The arithmetic civil date against Foundation's formatter (the reference): leap days, century years,
    /// month ends, before 1970, and random seconds up to year 9999.
    @Test func matchesFoundationsFormatter() {
        let f = ISO8601DateFormatter()
        var times: [Double] = [
            0, -1, -86_400, 951_782_400, 951_868_799, 4_107_542_399, 1_795_435_200.999, 253_402_300_799,
        ]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 { times.append(Double(Int64.random(in: -2_208_988_800...253_402_300_799, using: &rng))) }
        for t in times {
            let d = Date(timeIntervalSince1970: t)
            #expect(ISO8601Bytes.string(d) == f.string(from: d.wholeSeconds), "\(t)")
        }
    }
}

extension ISO8601BytesTests {
    /// The console's short date against a POSIX DateFormatter (the reference it replaced).
    @Test func shortDatesMatchTheFormatter() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "d MMM yyyy"
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let d = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_799, using: &rng)))
            #expect(CivilTime.short(d) == f.string(from: d))
        }
    }
}
