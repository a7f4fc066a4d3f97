import App
import Foundation
import GatehouseTesting
import Testing
import Web

@Suite("Configuration and the composed app")
struct AppTests {
    @Test func defaultsWithoutAFile() throws {
        let c = try GatehouseConfig.parse(Data("{}".utf8))
        #expect(c.port == 8080)
        #expect(c.host == "127.0.0.1")
        #expect(c.dataDirectory == "./data")
    }

    @Test func theShippedConfigFileParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let c = try GatehouseConfig.load(path: root.appendingPathComponent("config/gatehouse.json").path)
        #expect(c.port == 8080)
        for example in ["config/gatehouse.tls.example.json", "config/gatehouse.production.example.json"] {
            _ = try GatehouseConfig.load(path: root.appendingPathComponent(example).path)
        }
        let gateway = try GatehouseConfig.load(path: root.appendingPathComponent("config/scaleout/gateway.json").path)
        #expect(gateway.storeBackend == .postgres && gateway.databases.keys.sorted() == ["gateway"])
        #expect(try gateway.storeLocation("gateway").location.hasPrefix("postgres://"))
        #expect(throws: ConfigError.self) { try gateway.storeLocation("eu") }
        let eu = try GatehouseConfig.load(path: root.appendingPathComponent("config/scaleout/region-eu.json").path)
        #expect(eu.storeBackend == .postgres && eu.databases.keys.sorted() == ["eu"])
    }

    @Test(arguments: [
        (#"{"store":{"backend":"mysql"}}"#, "store.backend"),
        (#"{"store":{"backend":"postgres","databases":{"eu":"mysql://x"}}}"#, "store.databases.eu"),
        (#"{"store":{"databases":{"eu":"postgres://db/x"}}}"#, "store.backend"),
        (#"{"store":{"backend":"postgres","schemaPrefix":"a;DROP"}}"#, "store.schemaPrefix"),
        (#"{"store":{"backend":"postgres","databases":{"moon":"postgres://db/x"}}}"#, "store.databases.moon"),
    ])
    func storeChoicesAreChecked(json: String, names: String) throws {
        do {
            _ = try GatehouseConfig.parse(Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch let e as ConfigError {
            #expect(String(describing: e).contains(names), "\(e)")
        }
    }

    @Test func signInLimitsAreConfigurable() throws {
        let c = try GatehouseConfig.parse(
            Data(#"{"rateLimits":{"signInFreeFailures":3,"signInFailuresPerAddress":500}}"#.utf8))
        #expect(c.signInFreeFailures == 3 && c.signInFailuresPerAddress.count == 500)
        #expect(c.signInFailuresPerAddress.window == 300)
    }

    @Test(arguments: [
        (#"{"server":{"port":70000}}"#, "server.port"),
        (#"{"server":{"port":"80"}}"#, "server.port"),
        (#"{"server":{"prot":80}}"#, "server.prot"),
        (#"{"http":{"maxBodyBytes":true}}"#, "http.maxBodyBytes"),
        (#"{"store":{"synchronous":"OFF"}}"#, "store.synchronous"),
        (#"{"tls":{"certificateFile":"a.pem"}}"#, "tls.certificateFile"),
        (#"{"unknown":1}"#, "unknown"),
        (#"{"mail":{"transport":"smtp"}}"#, "mail.smtp.host"),
        (#"{"mail":{"smtp":{"port":25}}}"#, "mail.smtp.host"),
        (#"{"mail":{"smtp":{"host":"h","security":"ssl"}}}"#, "mail.smtp.security"),
        (#"{"regions":{"eu":"ftp://x"}}"#, "regions.eu"),
        (#"{"destinations":{"studyo":"/s"}}"#, "destinations.studyo"),
        (#"{"rateLimits":{"signInFailuresPerAddress":0}}"#, "rateLimits.signInFailuresPerAddress"),
        (#"{"rateLimits":{"signInsPerAddress":5}}"#, "rateLimits.signInsPerAddress"),
        (#"[1]"#, "JSON object"),
        (#"{"#, "not valid JSON"),
    ])
    func badConfigurationNamesTheOption(_ json: String, _ mention: String) {
        do {
            _ = try GatehouseConfig.parse(Data(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(mention), "\(error)")
        }
    }

    @Test func healthAndReadiness() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gh-app-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var c = GatehouseConfig()
        c.dataDirectory = dir
        let app = try GatehouseApp(config: c, logSink: .discard)
        let client = TestClient(app.router)
        #expect(await client.send("GET", "/healthz").bodyText == "ok")
        #expect(await client.send("GET", "/readyz").status == 200)
        #expect(FileManager.default.fileExists(atPath: dir + "/gateway.db"))
    }
}
