import Foundation
import Synchronization

/// An HTTP/1.1 response as the client read it: status, headers (names lower-cased, in order), whole body.
package struct HTTPClientResponse: Sendable {
    package let status: Int
    package let headers: [(String, String)]
    package let body: [UInt8]

    package func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.0 == n }?.1
    }
}

/// A small keep-alive HTTP/1.1 client for one origin (`http://host:port` or `https://…`), used by the gateway
/// to call a region in another process. Calls run on a `BlockingPool`; idle connections are pooled and
/// checked before reuse. A request is never retried here: a retry of a signed request would be a replay.
package final class HTTPClient: Sendable {
    package let host: String
    package let port: Int
    package let useTLS: Bool
    package let caFile: String?
    let connectTimeoutMillis: Int
    let ioTimeoutMillis: Int
    let maxBodyBytes: Int
    let pool: BlockingPool
    private let idle = Mutex<[UnsafeStream]>([])

    /// `ClientStream` is confined to one thread at a time: the pool hands it to exactly one call.
    final class UnsafeStream: @unchecked Sendable {
        let stream: ClientStream
        init(_ s: ClientStream) { stream = s }
    }

    package init(
        baseURL: String, caFile: String? = nil, connectTimeoutMillis: Int = 2_000, ioTimeoutMillis: Int = 30_000,
        maxBodyBytes: Int = 32 << 20, width: Int = 16
    ) throws {
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/"
        else {
            throw NetError("bad_url", "`\(baseURL)` is not an http(s)://host[:port] origin")
        }
        self.host = host
        useTLS = scheme == "https"
        port = url.port ?? (useTLS ? 443 : 80)
        self.caFile = caFile
        self.connectTimeoutMillis = connectTimeoutMillis
        self.ioTimeoutMillis = ioTimeoutMillis
        self.maxBodyBytes = maxBodyBytes
        pool = BlockingPool(label: "gatehouse.http-client.\(host):\(port)", width: width)
    }

    package func send(
        method: String, target: String, headers: [(String, String)], body: [UInt8]
    ) async throws -> HTTPClientResponse {
        try await pool.run { try self.sendBlocking(method: method, target: target, headers: headers, body: body) }
    }

    func checkout() throws -> UnsafeStream {
        while let s = idle.withLock({ $0.popLast() }) {
            if s.stream.isReusable { return s }
            s.stream.close()
        }
        let s = try ClientStream(
            host: host, port: port, connectTimeoutMillis: connectTimeoutMillis, ioTimeoutMillis: ioTimeoutMillis)
        if useTLS { try s.startTLS(serverName: host, caFile: caFile) }
        return UnsafeStream(s)
    }

    func sendBlocking(
        method: String, target: String, headers: [(String, String)], body: [UInt8]
    ) throws -> HTTPClientResponse {
        let conn = try checkout()
        let s = conn.stream
        var head: [UInt8] = []
        head.reserveCapacity(256 + headers.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 } + body.count)
        head += "\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Length: \(body.count)\r\n".utf8
        for (n, v) in headers {
            guard !n.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 58 }),
                !v.utf8.contains(where: { $0 == 13 || $0 == 10 })
            else {
                throw NetError("bad_request", "header \(n) contains a line break")
            }
            head += n.utf8
            head += [58, 32]
            head += v.utf8
            head += [13, 10]
        }
        head += [13, 10]
        head += body
        do {
            try s.write(head)
            let response = try readResponse(s, method: method)
            if response.header("connection")?.lowercased() == "close" {
                s.close()
            } else {
                idle.withLock { $0.append(conn) }
            }
            return response
        } catch {
            s.close()
            throw error
        }
    }

    func readResponse(_ s: ClientStream, method: String) throws -> HTTPClientResponse {
        var status = 0
        var headers: [(String, String)] = []
        repeat {
            let line = try s.readLine()
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code)
            else {
                throw NetError("protocol_error", "not an HTTP response from \(host):\(port)")
            }
            status = code
            headers = []
            while true {
                let h = try s.readLineBytes()
                if h.isEmpty { break }
                guard let colon = h.firstIndex(of: 58), headers.count < 100 else {
                    throw NetError("protocol_error", "bad header line")
                }
                let name = h[..<colon].map { (65...90).contains($0) ? $0 + 32 : $0 }
                var value = h[(colon + 1)...]
                while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
                while let l = value.last, l == 32 || l == 9 { value = value.dropLast() }
                headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
        } while status < 200  // skip 1xx
        let find = { (n: String) in headers.first { $0.0 == n }?.1 }
        var body: [UInt8] = []
        if method == "HEAD" || status == 204 || status == 304 {
        } else if find("transfer-encoding")?.lowercased().contains("chunked") == true {
            while true {
                let sizeLine = try s.readLine()
                guard let size = Int(sizeLine.split(separator: ";").first.map(String.init) ?? "", radix: 16), size >= 0
                else {
                    throw NetError("protocol_error", "bad chunk size")
                }
                if size == 0 {
                    while try !s.readLine().isEmpty {}
                    break
                }
                guard body.count + size <= maxBodyBytes else {
                    throw NetError("protocol_error", "response body too large")
                }
                body += try s.read(exactly: size)
                _ = try s.readLine()
            }
        } else if let len = find("content-length") {
            guard let n = Int(len), n >= 0, n <= maxBodyBytes else {
                throw NetError("protocol_error", "bad Content-Length")
            }
            body = try s.read(exactly: n)
        } else {
            body = try s.readToEnd(max: maxBodyBytes)
            headers.append(("connection", "close"))
        }
        return HTTPClientResponse(status: status, headers: headers, body: body)
    }
}
