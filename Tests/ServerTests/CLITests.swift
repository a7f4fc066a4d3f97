import Foundation
import GatehouseTesting
import Testing

/// The real `gatehouse` binary as a user runs it.
@Suite("gatehouse CLI")
struct CLITests {
    static var binary: String {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("gatehouse").path
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return TLSTests.root.appendingPathComponent(".build/debug/gatehouse").path
    }

    static func run(_ args: [String]) -> (Int32, String, String) {
        do {
            let r = try Subprocess.run([binary] + args)
            return (r.status, String(decoding: r.stdout, as: UTF8.self), String(decoding: r.stderr, as: UTF8.self))
        } catch { return (-1, "", "\(error)") }
    }

    @Test func helpAndVersion() {
        let (rc, out, _) = Self.run(["--help"])
        #expect(rc == 0 && out.contains("gatehouse serve"))
        let (rc2, out2, _) = Self.run(["serve", "--help"])
        #expect(rc2 == 0 && out2.contains("--data-dir"))
        let (rc3, out3, _) = Self.run(["version"])
        #expect(rc3 == 0 && out3.hasPrefix("gatehouse "))
    }

    @Test func badInvocationsExplainThemselves() throws {
        let (rc, _, err) = Self.run(["frobnicate"])
        #expect(rc == 2 && err.contains("unknown command"))
        let (rc2, _, err2) = Self.run(["serve", "--port", "http"])
        #expect(rc2 == 2 && err2.contains("--port"))
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("gh-bad-\(UUID().uuidString).json").path
        try Data(#"{"server":{"port":-1}}"#.utf8).write(to: URL(fileURLWithPath: bad))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let (rc3, _, err3) = Self.run(["serve", "--config", bad])
        #expect(rc3 == 2 && err3.contains("server.port"))
    }

    @Test func serveSaysWhereItListensAndStopsCleanlyOnSIGTERM() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = try Subprocess([Self.binary, "serve", "--port", "0", "--data-dir", dir], discardStderr: true)
        var line = ""
        while !line.contains("\n") {
            let d = p.readSome()
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        #expect(line.contains("listening on http://127.0.0.1:"))
        let afterHost = line.components(separatedBy: "127.0.0.1:").dropFirst().first ?? ""
        let port = Int(afterHost.prefix { $0.isNumber }) ?? 0
        try #require(port > 0, "no port in \(line)")
        let s = try RawSocket(port: port)
        s.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(s.readResponses(1).first?.body == "ok")
        p.signal(SIGTERM)
        #expect(p.wait() == 0, "exits 0 on SIGTERM (not killed by it)")
    }

    /// `serve --port N` builds links on the port it listens on, not on 8080 (a new user's first run); an explicit
    /// `--public-url` wins, and one naming this machine on another port is warned about.
    @Test func linksUseTheListeningAddressUnlessToldOtherwise() throws {
        func serve(_ extra: [String]) throws -> (port: Int, firstLines: String, metadata: String, stop: () -> Void) {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-cli-\(UUID().uuidString)").path
            let p = try Subprocess([Self.binary, "serve", "--port", "0", "--data-dir", dir] + extra, mergeStderr: true)
            var out = ""
            // Every run here starts on a fresh data directory, so the last line at start is the setup link.
            while !out.contains("First run:") || !out.hasSuffix("\n") {
                let d = p.readSome()
                if d.isEmpty { break }
                out += String(decoding: d, as: UTF8.self)
            }
            let afterHost = out.components(separatedBy: "listening on http://127.0.0.1:").dropFirst().first ?? ""
            let port = Int(afterHost.prefix { $0.isNumber }) ?? 0
            let s = try RawSocket(port: port)
            s.send("GET /sso/org_eu_aaaaaaaaaaaaaaaa/metadata HTTP/1.1\r\nHost: t\r\n\r\n")
            let metadata = s.readResponses(1).first?.body ?? ""
            return (
                port, out, metadata,
                {
                    p.signal(SIGTERM)
                    _ = p.wait()
                    try? FileManager.default.removeItem(atPath: dir)
                }
            )
        }
        let plain = try serve([])
        defer { plain.stop() }
        #expect(plain.port > 0)
        // A fresh data directory: the first-run setup link, on the address people reach.
        #expect(
            plain.firstLines.contains("First run: set up the first operator at http://127.0.0.1:\(plain.port)/setup/"))
        #expect(
            plain.metadata.contains("entityID=\"http://127.0.0.1:\(plain.port)/sso/"), "\(plain.metadata.prefix(300))")
        #expect(!plain.firstLines.contains("warning"))
        let told = try serve(["--public-url", "https://gh.example.com"])
        defer { told.stop() }
        #expect(told.metadata.contains("entityID=\"https://gh.example.com/sso/"))
        #expect(told.firstLines.contains("links in mail and pages use https://gh.example.com"))
        #expect(!told.firstLines.contains("warning"), "another host (a proxy) is not a mistake")
        let wrong = try serve(["--public-url", "http://127.0.0.1:1"])
        defer { wrong.stop() }
        #expect(wrong.firstLines.contains("warning: publicBaseURL http://127.0.0.1:1 names this machine but port 1"))
        let (rc, _, err) = Self.run(["serve", "--public-url", "ftp://x"])
        #expect(rc == 2 && err.contains("publicBaseURL"))
    }
}
