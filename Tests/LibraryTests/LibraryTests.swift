import Compression
import Crypto
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
