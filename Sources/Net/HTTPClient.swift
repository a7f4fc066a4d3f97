import CShims
import Foundation
import GatehouseCore
import Synchronization

/// An HTTP/1.1 response as the client read it: status, headers (names lower-cased, in order), whole body.
package struct HTTPClientResponse: Sendable {
    package let status: Int
    package let headers: [(String, String)]
    package let body: [UInt8]
    /// The body still arriving, when the caller asked for a streamed answer and it was not complete at once;
    /// `body` is then empty and the source must be started or cancelled (else the upstream connection waits for
    /// its I/O timeout).
    package var bodySource: (any ResponseBodySource)? = nil

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
    /// `host:port`: the `Host` header and the origin in messages (made once, not per request).
    let origin: String
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
        maxBodyBytes: Int = 32 << 20, width: Int = 16, usesLoop: Bool = true, retryIdempotent: Bool = false
    ) throws {
        self.usesLoop = usesLoop
        self.retryIdempotent = retryIdempotent
        guard let url = URL(string: baseURL), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty,
            url.path.isEmpty || url.path == "/"
        else {
            throw NetError("bad_url", "`\(baseURL)` is not an http(s)://host[:port] origin")
        }
        self.host = host
        useTLS = scheme == "https"
        port = url.port ?? (useTLS ? 443 : 80)
        origin = "\(host):\(port)"
        self.caFile = caFile
        self.connectTimeoutMillis = connectTimeoutMillis
        self.ioTimeoutMillis = ioTimeoutMillis
        self.maxBodyBytes = maxBodyBytes
        pool = BlockingPool(label: "gatehouse.http-client.\(origin)", width: width)
    }

    /// Sends a request and reads the whole answer. On an event loop (and for plain http) the loop's own
    /// connections carry it with no thread hop (`LoopConnection`); elsewhere, and for https, a pool thread does
    /// the blocking version. Both read with the same `HTTPResponseParser` and answer alike (tested).
    ///
    /// Streaming (the event loop's path only): `bodyStream` is sent as the client sends it (with its length, or
    /// chunked); `streamResponse` hands a response whose body is not complete at once on with a `bodySource`.
    /// Elsewhere a streamed request body is collected whole first (up to `maxBodyBytes`, else `body_too_large`).
    package func send(
        method: String, target: String, headers: [(String, String)], body: [UInt8],
        bodyStream: RequestBodyStream? = nil, streamResponse: Bool = false
    ) async throws -> HTTPClientResponse {
        if !useTLS && usesLoop {
            let address = try await numericAddress()
            if let reactor = CurrentLoop.reactor {
                let head = try Self.requestBytes(
                    method: method, target: target, host: origin, headers: headers, body: body,
                    streamedBody: bodyStream)
                requestsOnLoop.add(1, ordering: .relaxed)
                return try await sendOnLoop(
                    reactor, head, method, address, bodyStream: bodyStream, streamResponse: streamResponse)
            }
        }
        var whole = body
        if let bodyStream {
            do {
                whole = try await bodyStream.collect(limit: maxBodyBytes)
            } catch BodyStreamError.tooLarge(let limit) {
                throw NetError("body_too_large", "the request body is larger than \(limit) bytes")
            } catch {
                throw NetError("client_body", "\(error)")
            }
        }
        let head = try Self.requestBytes(
            method: method, target: target, host: origin, headers: headers, body: whole)
        return try await pool.run { try self.sendBlocking(head, method: method) }
    }

    /// Whether requests made on an event loop use the loop's connections (tests turn it off to compare).
    package let usesLoop: Bool
    /// Requests carried by an event loop's connections (tests check which path ran).
    package let requestsOnLoop = Atomic<Int>(0)
    /// Of those, the ones sent by `sendNow` (no task).
    package let requestsWithoutTask = Atomic<Int>(0)
    private let resolved = Mutex<String?>(nil)
    private let loopPools = Mutex<[Int: LoopPool]>([:])

    /// The host as a numeric address (names resolved once, on a pool thread: resolving may block).
    func numericAddress() async throws -> String {
        if let a = resolved.withLock({ $0 }) { return a }
        let host = self.host
        let a = try await pool.run { () throws -> String in
            if ClientStream.isIPAddress(host) { return host }
            var buf = [CChar](repeating: 0, count: 64)
            guard gh_resolve_numeric(host, &buf, 64) == 0 else {
                throw NetError("connect_failed", "cannot resolve \(host)")
            }
            return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        resolved.withLock { $0 = a }
        return a
    }

    private func sendOnLoop(
        _ reactor: any LoopReactor, _ head: [UInt8], _ method: String, _ address: String,
        bodyStream: RequestBodyStream?, streamResponse: Bool
    ) async throws -> HTTPClientResponse {
        try await withCheckedThrowingContinuation { c in
            startOnLoop(
                reactor, head, method, address, bodyStream: bodyStream, streamResponse: streamResponse, retried: false
            ) { c.resume(with: $0) }
        }
    }

    /// Sends on the loop's connections with no task at all, when that can be done at once: on an event loop, plain
    /// http, the address known, no body to stream. `done` is called later on this loop with what `send` would have
    /// returned or thrown (both take this one path on the loop, so they answer alike). False: use `send`.
    package func sendNow(
        method: String, target: String, headers: [(String, String)], streamResponse: Bool,
        done: @escaping (Result<HTTPClientResponse, any Error>) -> Void
    ) -> Bool {
        guard !useTLS && usesLoop, let reactor = CurrentLoop.reactor, let address = resolved.withLock({ $0 }),
            let head = try? Self.requestBytes(
                method: method, target: target, host: origin, headers: headers, body: [])
        else { return false }
        requestsOnLoop.add(1, ordering: .relaxed)
        requestsWithoutTask.add(1, ordering: .relaxed)
        startOnLoop(
            reactor, head, method, address, bodyStream: nil, streamResponse: streamResponse, retried: false, done: done)
        return true
    }

    /// The one way a request goes out on a loop's connection (for `send` and `sendNow`).
    private func startOnLoop(
        _ reactor: any LoopReactor, _ head: [UInt8], _ method: String, _ address: String,
        bodyStream: RequestBodyStream?, streamResponse: Bool, retried: Bool,
        done: @escaping (Result<HTTPClientResponse, any Error>) -> Void
    ) {
        let pool = loopPools.withLock { pools in
            if let p = pools[reactor.loopIndex] { return p }
            let p = LoopPool(reactor: reactor, origin: origin)
            pools[reactor.loopIndex] = p
            return p
        }
        let retryable = retryIdempotent && bodyStream == nil && (method == "GET" || method == "HEAD")
        let conn: LoopConnection
        do {
            conn = try pool.checkout(address: address, port: port, mustNotBeStale: !retryable)
        } catch {
            done(.failure(error))
            return
        }
        conn.start(
            head,
            parser: HTTPResponseParser(
                method: method, origin: pool.origin, maxBodyBytes: streamResponse ? Int.max : maxBodyBytes),
            bodyStream: bodyStream, streamResponse: streamResponse,
            connectTimeoutMillis: connectTimeoutMillis, ioTimeoutMillis: ioTimeoutMillis
        ) { [self] result in
            guard case .failure(let e as NetError) = result, e.code == "stale" else { return done(result) }
            // The server closed a kept-alive connection as the request went out: it never saw it. Only a request
            // that may be repeated is tried again (once, on a new connection).
            guard retryable && !retried else { return done(.failure(NetError("closed", e.message))) }
            startOnLoop(
                reactor, head, method, address, bodyStream: bodyStream, streamResponse: streamResponse, retried: true,
                done: done)
        }
    }

    /// Whether a GET or HEAD that met a kept-alive connection closed under it is sent again on a new one (app
    /// upstreams: yes; signed region calls: never, a repeat would be a replay).
    package let retryIdempotent: Bool

    /// The request's head and body. A streamed body is not included: its framing is (`Content-Length` when the
    /// client announced one, else chunked) and its bytes follow as they arrive.
    package static func requestBytes(
        method: String, target: String, host: String, headers: [(String, String)], body: [UInt8],
        streamedBody: RequestBodyStream? = nil
    ) throws -> [UInt8] {
        // Written once into an array of the exact size (every proxied request builds one: a growing array paid a
        // capacity and uniqueness check per piece, twenty pieces a request).
        let length = streamedBody?.length ?? body.count
        let chunked = streamedBody != nil && streamedBody?.length == nil
        let lengthText = chunked ? "" : String(length)
        var size = method.utf8.count + 1 + target.utf8.count + 17 + host.utf8.count
        size += chunked ? 28 : 18 + lengthText.utf8.count
        size += 2 + 2 + (streamedBody == nil ? body.count : 0)
        for (n, v) in headers { size += n.utf8.count + 2 + v.utf8.count + 2 }
        return try [UInt8](unsafeUninitializedCapacity: size) { buf, count in
            var w = ByteWriter(buf)
            let badLine = NetError("bad_request", "the request line or host holds a space or line break")
            guard w.put(method, refusing: 32) else { throw badLine }
            w.literal(" ")
            guard w.put(target, refusing: 32) else { throw badLine }
            w.literal(" HTTP/1.1\r\nHost: ")
            guard w.put(host, refusing: 13) else { throw badLine }
            if chunked {
                w.literal("\r\nTransfer-Encoding: chunked")
            } else {
                w.literal("\r\nContent-Length: ")
                w.put(lengthText)
            }
            w.literal("\r\n")
            for (n, v) in headers {
                // No line breaks anywhere, no colon in a name: a header cannot smuggle another (or a request).
                guard w.put(n, refusing: 58) else { throw NetError("bad_request", "bad header name \(n)") }
                w.literal(": ")
                guard w.put(v, refusing: 13) else {
                    throw NetError("bad_request", "header \(n) contains a line break")
                }
                w.literal("\r\n")
            }
            w.literal("\r\n")
            if streamedBody == nil { body.withUnsafeBufferPointer { w.put($0) } }
            count = w.count
        }
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

    package func sendBlocking(_ head: [UInt8], method: String) throws -> HTTPClientResponse {
        let conn = try checkout()
        let s = conn.stream
        do {
            try s.write(head)
            var parser = HTTPResponseParser(method: method, origin: origin, maxBodyBytes: maxBodyBytes)
            while true {
                guard let chunk = try s.readSome() else {
                    let response = try parser.finish()
                    s.close()
                    return response
                }
                if let response = try parser.feed(Array(chunk)) {
                    if parser.hasLeftover || response.header("connection")?.lowercased() == "close" {
                        s.close()
                    } else {
                        idle.withLock { $0.append(conn) }
                    }
                    return response
                }
            }
        } catch {
            s.close()
            throw error
        }
    }
}
