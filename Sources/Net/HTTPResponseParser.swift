import GatehouseCore

/// An HTTP/1.1 response read incrementally: bytes go in as they arrive (however they are split), a whole response
/// comes out. Both clients use it — the blocking one on a pool thread and the event-loop one — so the two answer
/// alike by construction. Hostile input is bounded: the head (status line and headers) at `maxHeadBytes` and 100
/// header lines, the body at `maxBodyBytes`, chunk-size lines at 1 KB; anything malformed is a `protocol_error`.
package struct HTTPResponseParser {
    package let maxHeadBytes: Int
    package let maxBodyBytes: Int
    /// HEAD answers carry no body whatever their headers say.
    private let isHead: Bool
    private let origin: String

    private enum Phase {
        case statusLine
        case headers
        case fixed(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkEnd
        case trailers
        case untilClose
    }

    private var phase = Phase.statusLine
    private var buffer: [UInt8] = []
    private var cursor = 0
    private var headBytes = 0
    private var status = 0
    private var headers: [(String, String)] = []
    private var body: [UInt8] = []
    private var declaredLength: Int?

    package init(method: String, origin: String, maxHeadBytes: Int = 65_536, maxBodyBytes: Int = 32 << 20) {
        isHead = method == "HEAD"
        self.origin = origin
        self.maxHeadBytes = maxHeadBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// True until the first byte of a response has arrived (a reused connection that fails now can be retried).
    package var sawNothing: Bool { headBytes == 0 && buffer.isEmpty }

    /// Bytes received after the response (a well-behaved server sends none; the connection is then not reused).
    package var hasLeftover: Bool { cursor < buffer.count }

    /// The head of a response whose body is still arriving (status, headers, the announced length or nil), once
    /// the head is complete: a caller that streams the body hands it on now and `takeBody()`s the rest as it comes.
    package var headOfIncompleteResponse: (status: Int, headers: [(String, String)], length: Int?)? {
        switch phase {
        case .statusLine, .headers: return nil
        case .fixed: return (status, headers, declaredLength)
        case .chunkSize, .chunkData, .chunkEnd, .trailers, .untilClose: return (status, headers, nil)
        }
    }

    /// The body bytes read so far and not yet taken (a streamed body leaves the parser as it arrives).
    package mutating func takeBody() -> [UInt8] {
        var out: [UInt8] = []
        swap(&out, &body)
        return out
    }

    /// Feeds what arrived; returns the response once it is complete.
    package mutating func feed(_ bytes: UnsafeRawBufferPointer) throws -> HTTPClientResponse? {
        if cursor > 0 && cursor == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            cursor = 0
        } else if cursor > 65_536 {
            buffer.removeFirst(cursor)
            cursor = 0
        }
        buffer.append(contentsOf: bytes)
        return try advance()
    }

    package mutating func feed(_ bytes: [UInt8]) throws -> HTTPClientResponse? {
        try bytes.withUnsafeBytes { try feed($0) }
    }

    /// The peer closed the connection: a body read until close ends here; anything else is cut short.
    package mutating func finish() throws -> HTTPClientResponse {
        if case .untilClose = phase {
            body.append(contentsOf: buffer[cursor...])
            cursor = buffer.count
            guard body.count <= maxBodyBytes else { throw tooLarge() }
            headers.append(("connection", "close"))
            return HTTPClientResponse(status: status, headers: headers, body: body)
        }
        throw NetError("closed", "\(origin) closed the connection before the response was complete")
    }

    private func tooLarge() -> NetError { NetError("protocol_error", "response body from \(origin) is too large") }

    /// One line (without CR LF; a bare LF is accepted) if a whole one is buffered.
    private mutating func line(limit: Int) throws -> ArraySlice<UInt8>? {
        // memchr: a response head's lines are found on every proxied request.
        let found = buffer.withUnsafeBufferPointer { $0.firstIndex(of: 10, from: cursor) }
        guard let nl = found else {
            guard buffer.count - cursor <= limit else {
                throw NetError("protocol_error", "a line from \(origin) is longer than \(limit) bytes")
            }
            return nil
        }
        var end = nl
        if end > cursor && buffer[end - 1] == 13 { end -= 1 }
        let l = buffer[cursor..<end]
        cursor = nl + 1
        return l
    }

    private mutating func advance() throws -> HTTPClientResponse? {
        while true {
            switch phase {
            case .statusLine, .headers:
                let before = cursor
                guard let l = try line(limit: maxHeadBytes - headBytes) else { return nil }
                headBytes += cursor - before
                guard headBytes <= maxHeadBytes else {
                    throw NetError("protocol_error", "response head from \(origin) is too large")
                }
                if case .statusLine = phase {
                    try statusLine(l)
                    phase = .headers
                } else if l.isEmpty {
                    if status < 200 {  // 1xx: an interim answer; the real one follows
                        phase = .statusLine
                        headers = []
                        continue
                    }
                    if let done = try startBody() { return done }
                } else {
                    try header(l)
                }
            case .fixed(let remaining):
                let n = min(remaining, buffer.count - cursor)
                body.append(contentsOf: buffer[cursor..<(cursor + n)])
                cursor += n
                if n < remaining {
                    phase = .fixed(remaining: remaining - n)
                    return nil
                }
                return complete()
            case .chunkSize:
                guard let l = try line(limit: 1024) else { return nil }
                let digits = l.prefix { $0 != 59 && $0 != 32 && $0 != 9 }  // extensions after ';'
                guard !digits.isEmpty, digits.count <= 8, digits.allSatisfy({ Self.hex($0) != nil }) else {
                    throw NetError("protocol_error", "bad chunk size from \(origin)")
                }
                let size = digits.reduce(0) { $0 * 16 + Int(Self.hex($1)!) }
                guard body.count + size <= maxBodyBytes else { throw tooLarge() }
                phase = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let n = min(remaining, buffer.count - cursor)
                body.append(contentsOf: buffer[cursor..<(cursor + n)])
                cursor += n
                if n < remaining {
                    phase = .chunkData(remaining: remaining - n)
                    return nil
                }
                phase = .chunkEnd
            case .chunkEnd:
                // Exactly CR LF (or LF) after the data: anything else is refused as soon as it arrives.
                guard cursor < buffer.count else { return nil }
                if buffer[cursor] == 13 {
                    guard cursor + 1 < buffer.count else { return nil }
                    cursor += 1
                }
                guard buffer[cursor] == 10 else { throw NetError("protocol_error", "bad chunk end from \(origin)") }
                cursor += 1
                phase = .chunkSize
            case .trailers:
                guard let l = try line(limit: 8192) else { return nil }
                if l.isEmpty { return complete() }
            case .untilClose:
                body.append(contentsOf: buffer[cursor...])
                cursor = buffer.count
                guard body.count <= maxBodyBytes else { throw tooLarge() }
                return nil
            }
        }
    }

    private mutating func statusLine(_ l: ArraySlice<UInt8>) throws {
        // HTTP/1.x SP 3DIGIT [SP reason], read in place (every proxied request passes here).
        let code: Int? = l.withUnsafeBufferPointer { b in
            let version: StaticString = "HTTP/1."
            guard b.count >= 12, version.withUTF8Buffer({ b[0..<7].elementsEqual($0) }), b[7] != 32, b[8] == 32,
                b.count == 12 || b[12] == 32
            else { return nil }
            var code = 0
            for c in b[9..<12] {
                guard (48...57).contains(c) else { return nil }
                code = code * 10 + Int(c - 48)
            }
            return code
        }
        guard let code else { throw NetError("protocol_error", "not an HTTP response from \(origin)") }
        guard (100...599).contains(code) else { throw NetError("protocol_error", "bad status from \(origin)") }
        status = code
    }

    private mutating func header(_ l: ArraySlice<UInt8>) throws {
        guard headers.count < 100 else { throw NetError("protocol_error", "bad header line from \(origin)") }
        // In place: the name lower-cased in a stack buffer (most names fit a small String, 15 bytes, and then
        // nothing here allocates), the value trimmed by offsets.
        let field: (String, String)? = l.withUnsafeBufferPointer { b in
            guard let colon = b.firstIndex(of: 58), colon > 0,
                !b[..<colon].contains(where: { $0 == 32 || $0 == 9 })
            else { return nil }
            let name = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: colon) { buf in
                for k in 0..<colon { buf[k] = (65...90).contains(b[k]) ? b[k] + 32 : b[k] }
                return String(decoding: buf, as: UTF8.self)
            }
            var start = colon + 1
            var end = b.count
            while start < end && (b[start] == 32 || b[start] == 9) { start += 1 }
            while end > start && (b[end - 1] == 32 || b[end - 1] == 9) { end -= 1 }
            return (name, String(decoding: UnsafeBufferPointer(rebasing: b[start..<end]), as: UTF8.self))
        }
        guard let field else { throw NetError("protocol_error", "bad header line from \(origin)") }
        if headers.isEmpty { headers.reserveCapacity(12) }
        headers.append(field)
    }

    private mutating func startBody() throws -> HTTPClientResponse? {
        if isHead || status == 204 || status == 304 { return complete() }
        var te: String?
        var length: String?
        var lengthsAgree = true
        for (name, value) in headers {
            if name == "transfer-encoding" {
                if te == nil { te = value.lowercased() }
            } else if name == "content-length" {
                if let first = length {
                    lengthsAgree = lengthsAgree && value == first
                } else {
                    length = value
                }
            }
        }
        if let te {
            // Chunked must be the last coding; a response with both framings is a smuggling attempt.
            guard te.split(separator: ",").last?.trimmingCharacters(in: .whitespaces) == "chunked", length == nil
            else {
                throw NetError("protocol_error", "unsupported framing from \(origin)")
            }
            phase = .chunkSize
        } else if let first = length {
            guard lengthsAgree, first.utf8.count <= 15, let n = Int(first), n >= 0,
                first.utf8.allSatisfy({ (48...57).contains($0) })
            else {
                throw NetError("protocol_error", "bad Content-Length from \(origin)")
            }
            guard n <= maxBodyBytes else { throw tooLarge() }
            if n == 0 { return complete() }
            body.reserveCapacity(min(n, 1 << 20))
            declaredLength = n
            phase = .fixed(remaining: n)
        } else {
            phase = .untilClose
        }
        return nil
    }

    private mutating func complete() -> HTTPClientResponse {
        let r = HTTPClientResponse(status: status, headers: headers, body: body)
        phase = .statusLine
        status = 0
        headers = []
        body = []
        headBytes = 0
        declaredLength = nil
        return r
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }
}
