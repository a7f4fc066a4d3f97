import Foundation
import GatehouseTesting
import Server
import Testing

/// TLS through OpenSSL with certificates from `certs/make-dev-certs.sh`, checked by curl (a client nobody here wrote).
@Suite("TLS")
struct TLSTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func run(_ tool: String, _ args: [String]) -> (Int32, String) {
        do {
            let r = try Subprocess.run([tool] + args, mergeStderr: true)
            return (r.status, String(decoding: r.stdout, as: UTF8.self))
        } catch { return (-1, "\(error)") }
    }

    @Test func servesTLS12And13AndRefusesOlder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (rc, out) = Self.run("bash", [Self.root.appendingPathComponent("certs/make-dev-certs.sh").path, dir])
        try #require(rc == 0, "make-dev-certs.sh failed: \(out)")
        let t = try TestServer {
            $0.tls = TLSConfiguration(certificateChainFile: dir + "/server.crt", privateKeyFile: dir + "/server.key")
        }
        let url = "https://127.0.0.1:\(t.port)/path/secure"
        let (rc13, body13) = Self.run("curl", ["-sS", "--cacert", dir + "/dev-ca.crt", "--tlsv1.3", url])
        #expect(rc13 == 0 && body13 == "secure", "TLS 1.3: \(body13)")
        let (rc12, body12) = Self.run(
            "curl", ["-sS", "--cacert", dir + "/dev-ca.crt", "--tlsv1.2", "--tls-max", "1.2", url])
        #expect(rc12 == 0 && body12 == "secure", "TLS 1.2: \(body12)")
        let (rc11, _) = Self.run(
            "curl", ["-sS", "--cacert", dir + "/dev-ca.crt", "--tlsv1.1", "--tls-max", "1.1", url])
        #expect(rc11 != 0, "TLS 1.1 must be refused")
        // Keep-alive and a POST body over TLS.
        let (rcp, bodyp) = Self.run(
            "curl",
            [
                "-sS", "--cacert", dir + "/dev-ca.crt", "-d", "hello-tls", "https://127.0.0.1:\(t.port)/echo",
                "--next", "-sS", "--cacert", dir + "/dev-ca.crt", "https://127.0.0.1:\(t.port)/path/again",
            ])
        #expect(rcp == 0 && bodyp == "hello-tlsagain", "\(bodyp)")
        // A plain-HTTP client on the TLS port gets dropped, and the server keeps serving.
        let s = try RawSocket(port: t.port)
        s.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(s.readAll().closed)
        let (rcAfter, _) = Self.run("curl", ["-sS", "--cacert", dir + "/dev-ca.crt", url])
        #expect(rcAfter == 0)
    }
}
