import GatehouseCore

/// A strict, incremental HTTP/1.1 request parser: bytes in, complete requests out. No sockets, no clock.
///
/// Strictness (RFC 9112), each answered with an error and then a closed connection:
/// - request line `token SP target SP HTTP/1.x`, CRLF line endings only (a bare LF or CR is refused);
/// - header names must be tokens with the colon right after; values must be free of control characters;
/// - obsolete line folding, `Content-Length` with `Transfer-Encoding`, more than one `Content-Length`,
///   a non-decimal length, and any transfer coding other than a lone `chunked` are refused;
/// - limits fire as soon as they are crossed: 414 for the request line, 431 for header bytes or count,
///   413 for the body (before it is read when `Content-Length` announces it).
package struct HTTP1Parser: Sendable {
    package enum Event: Sendable {
        /// A complete request (head and body).
        case request(Request)
        /// The head of a request whose body is streamed (`streamsBody` said so); `bodyPart`s and `bodyEnd` follow.
        case requestHead(Request)
        /// Bytes of a streamed body (chunked framing already removed).
        case bodyPart([UInt8])
        /// The streamed body is complete; the next event belongs to the next request.
        case bodyEnd
        /// The head asked for `Expect: 100-continue` and the body has not arrived yet: send `100 Continue`.
        case sendContinue
        /// Feed more bytes.
        case needMore
    }

    private struct Head: Sendable {
        var method: String
        var target: String
        var minor: Int
        var headers: HTTPHeaders
        var keepAlive: Bool
        var expectContinue: Bool
    }

    private enum ChunkPhase: Sendable {
        case size
        case data(Int)
        case dataEnd
        case trailers(Int)
    }

    private enum State: Sendable {
        case head
        case fixedBody(Head, Int)
        case chunked(Head, ChunkPhase, [UInt8])
        /// A streamed body: what remains of its announced length, or its chunk phase and bytes so far.
        case streamFixed(Head, Int)
        case streamChunked(Head, ChunkPhase, Int)
        case streamDone
        case failed(HTTPParseError)
    }

    package let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    private var scan = HeadScan()
    private var state: State = .head
    private var continueSent = false
    /// Which requests have their body streamed (method, target): asked once per request that has a body.
    private let streamsBody: (@Sendable (String, String) -> Bool)?

    package init(limits: HTTPLimits = .default, streamsBody: (@Sendable (String, String) -> Bool)? = nil) {
        self.limits = limits
        self.streamsBody = streamsBody
        buffer.reserveCapacity(4096)
    }

    /// Bytes received but not yet consumed by a request.
    package var bufferedCount: Int { buffer.count - readIndex }

    /// Whether the parser is between requests with nothing buffered (used for idle vs. slow-header timeouts).
    package var isIdle: Bool {
        if case .head = state { return bufferedCount == 0 }
        return false
    }

    /// Whether the parser is reading a body (used for the body timeout).
    package var isReadingBody: Bool {
        switch state {
        case .fixedBody, .chunked, .streamFixed, .streamChunked, .streamDone: return true
        case .head, .failed: return false
        }
    }

    package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if readIndex > 0 && readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scan = HeadScan()
            readIndex = 0
        } else if readIndex > 65536 && readIndex > buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            scan = HeadScan()
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Returns the next event. After an error, every call returns the same error.
    package mutating func next() throws(HTTPParseError) -> Event {
        switch state {
        case .failed(let e):
            throw e
        case .head:
            do {
                guard let head = try parseHead() else { return .needMore }
                return try startBody(head)
            } catch {
                state = .failed(error)
                throw error
            }
        case .fixedBody(let head, let length):
            if bufferedCount >= length {
                let body = Array(buffer[readIndex..<(readIndex + length)])
                readIndex += length
                return finish(head, body)
            }
            if head.expectContinue && !continueSent {
                continueSent = true
                return .sendContinue
            }
            return .needMore
        case .chunked(let head, let phase, let body):
            do {
                return try parseChunked(head, phase, body)
            } catch {
                state = .failed(error)
                throw error
            }
        case .streamFixed(let head, let remaining):
            let take = min(remaining, bufferedCount)
            if take == 0 { return waitForBody(head) }
            let part = Array(buffer[readIndex..<(readIndex + take)])
            readIndex += take
            state = remaining == take ? .streamDone : .streamFixed(head, remaining - take)
            return .bodyPart(part)
        case .streamChunked(let head, let phase, let total):
            do {
                return try parseChunkedStream(head, phase, total)
            } catch {
                state = .failed(error)
                throw error
            }
        case .streamDone:
            state = .head
            continueSent = false
            scan = HeadScan()
            return .bodyEnd
        }
    }

    private mutating func finish(_ head: Head, _ body: [UInt8]) -> Event {
        state = .head
        continueSent = false
        scan = HeadScan()
        return .request(request(head, body))
    }

    private func request(_ head: Head, _ body: [UInt8]) -> Request {
        Request(
            method: head.method, target: head.target, versionMinor: head.minor, headers: head.headers, body: body,
            keepAlive: head.keepAlive)
    }

    // MARK: - Head

    private mutating func parseHead() throws(HTTPParseError) -> Head? {
        // Tolerate empty lines before a request line (RFC 9112 §2.2), a few at most.
        var skipped = 0
        while bufferedCount >= 2 && buffer[readIndex] == 13 && buffer[readIndex + 1] == 10 && skipped < 4 {
            readIndex += 2
            skipped += 1
        }
        let found: (lineEnd: Int, headEnd: Int)?
        found = try buffer.withUnsafeBufferPointer {
            (buf: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> (Int, Int)? in
            try Self.findHeadEnd(buf, from: readIndex, scan: &scan, limits: limits)
        }
        guard let (requestLineEnd, headEnd) = found else { return nil }
        let head = try buffer.withUnsafeBufferPointer {
            (buf: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Head in
            try Self.parseHeadBytes(
                buf, start: readIndex, requestLineEnd: requestLineEnd, headEnd: headEnd, limits: limits)
        }
        readIndex = headEnd
        return head
    }

    /// Where the search for the end of a head stopped, so a head arriving in pieces is scanned once
    /// (a client sending one byte at a time costs linear, not quadratic, work).
    struct HeadScan: Sendable {
        var position = -1
        var lineStart = -1
        var requestLineEnd = -1
    }

    /// Finds the end of the request line and of the head (index just past the blank line).
    private static func findHeadEnd(
        _ buf: UnsafeBufferPointer<UInt8>, from start: Int, scan: inout HeadScan,
        limits: HTTPLimits
    ) throws(HTTPParseError) -> (Int, Int)? {
        if scan.position < start {
            scan = HeadScan(position: start, lineStart: start, requestLineEnd: -1)
        }
        var i = scan.position
        let end = buf.count
        // The limits only grow with `i`: checked where each jump lands and after each line end, they refuse what a
        // byte-by-byte scan refused, with the same error.
        func checkLimits(_ i: Int) throws(HTTPParseError) {
            if scan.requestLineEnd < 0 {
                if i - start > limits.maxRequestLineBytes + 2 { throw .targetTooLong }
            } else if i - scan.requestLineEnd > limits.maxHeaderBytes + 4 {
                throw .headersTooLarge
            }
        }
        while i < end {
            // Jump to the next LF (memchr is vectorized; a byte loop was most of a small request's parse).
            i = buf.firstIndex(of: 10, from: i) ?? end
            try checkLimits(i)
            if i == end { break }
            if i == start || buf[i - 1] != 13 { throw .bareLineFeed }
            if scan.requestLineEnd < 0 {
                scan.requestLineEnd = i - 1
                if scan.requestLineEnd - start > limits.maxRequestLineBytes { throw .targetTooLong }
            } else if i - 1 == scan.lineStart {
                let result = (scan.requestLineEnd, i + 1)
                scan = HeadScan()
                return result
            }
            scan.lineStart = i + 1
            i += 1
            try checkLimits(i)
        }
        scan.position = end
        return nil
    }

    private static func parseHeadBytes(
        _ buf: UnsafeBufferPointer<UInt8>, start: Int, requestLineEnd: Int, headEnd: Int,
        limits: HTTPLimits
    ) throws(HTTPParseError) -> Head {
        // Request line: method SP target SP version
        var sp1 = -1
        var sp2 = -1
        for i in start..<requestLineEnd {
            let c = buf[i]
            if c == 32 {
                if sp1 < 0 { sp1 = i } else if sp2 < 0 { sp2 = i } else { throw .malformedRequestLine }
            } else if c < 0x21 || c == 0x7F {
                throw .malformedRequestLine
            }
        }
        guard sp1 > start, sp2 > sp1 + 1, sp2 < requestLineEnd - 1 else { throw .malformedRequestLine }
        for i in start..<sp1 where !isTokenChar(buf[i]) { throw .malformedRequestLine }
        if sp1 - start > 32 { throw .malformedRequestLine }
        for i in (sp1 + 1)..<sp2 where buf[i] >= 0x80 { throw .malformedRequestLine }
        let minor = try parseVersion(buf, sp2 + 1, requestLineEnd)
        let method = String(decoding: UnsafeBufferPointer(rebasing: buf[start..<sp1]), as: UTF8.self)
        var target = String(decoding: UnsafeBufferPointer(rebasing: buf[(sp1 + 1)..<sp2]), as: UTF8.self)
        target = try normalizeTarget(target, method: method)

        // Header fields
        var headers = HTTPHeaders(reservingCapacity: 12)
        var lineStart = requestLineEnd + 2
        let fieldsEnd = headEnd - 2
        var count = 0
        while lineStart < fieldsEnd {
            // Every LF has its CR (`findHeadEnd`), so the line ends at its first CR, which must be followed by LF.
            guard let lineEnd = buf.firstIndex(of: 13, from: lineStart, to: fieldsEnd + 2) else {
                throw .badHeaderValue
            }
            if buf[lineEnd + 1] != 10 { throw .badHeaderValue }  // bare CR
            let first = buf[lineStart]
            if first == 32 || first == 9 { throw .obsoleteFolding }
            count += 1
            if count > limits.maxHeaderCount { throw .headersTooLarge }
            var colon = lineStart
            while colon < lineEnd && buf[colon] != 58 {
                if !isTokenChar(buf[colon]) { throw .badHeaderName }
                colon += 1
            }
            guard colon < lineEnd, colon > lineStart else { throw .badHeaderName }
            var vs = colon + 1
            var ve = lineEnd
            while vs < ve && (buf[vs] == 32 || buf[vs] == 9) { vs += 1 }
            while ve > vs && (buf[ve - 1] == 32 || buf[ve - 1] == 9) { ve -= 1 }
            for i in vs..<ve {
                let c = buf[i]
                if (c < 0x20 && c != 9) || c == 0x7F { throw .badHeaderValue }
            }
            headers.add(
                String(decoding: UnsafeBufferPointer(rebasing: buf[lineStart..<colon]), as: UTF8.self),
                String(decoding: UnsafeBufferPointer(rebasing: buf[vs..<ve]), as: UTF8.self))
            lineStart = lineEnd + 2
        }

        if minor == 1 {
            var hosts = 0
            for f in headers where HTTPHeaders.sameName(f.name, "host") { hosts += 1 }
            if hosts != 1 { throw .missingHost }
        }
        let keepAlive: Bool
        if headers.hasToken("connection", "close") {
            keepAlive = false
        } else if minor == 0 {
            keepAlive = headers.hasToken("connection", "keep-alive")
        } else {
            keepAlive = true
        }
        var expectContinue = false
        if let expect = headers["expect"] {
            guard HTTPHeaders.sameName(expect, "100-continue") else { throw .unsupportedExpectation }
            expectContinue = minor == 1
        }
        return Head(
            method: method, target: target, minor: minor, headers: headers, keepAlive: keepAlive,
            expectContinue: expectContinue)
    }

    private static func parseVersion(
        _ buf: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int
    ) throws(HTTPParseError) -> Int {
        // "HTTP/" DIGIT "." DIGIT
        guard e - s == 8, buf[s] == 72, buf[s + 1] == 84, buf[s + 2] == 84, buf[s + 3] == 80, buf[s + 4] == 47 else {
            throw .malformedRequestLine
        }
        let major = buf[s + 5]
        let dot = buf[s + 6]
        let minor = buf[s + 7]
        guard dot == 46, (48...57).contains(major), (48...57).contains(minor) else { throw .malformedRequestLine }
        guard major == 49 else { throw .unsupportedVersion }
        guard minor == 48 || minor == 49 else { throw .unsupportedVersion }
        return Int(minor - 48)
    }

    /// Accepts origin-form (`/path?q`), asterisk-form for OPTIONS, and absolute-form (reduced to origin-form).
    private static func normalizeTarget(_ t: String, method: String) throws(HTTPParseError) -> String {
        if t.hasPrefix("/") { return t }
        if t == "*" && method == "OPTIONS" { return t }
        for scheme in ["http://", "https://"] where t.lowercased().hasPrefix(scheme) {
            let rest = t.dropFirst(scheme.count)
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
            let path = String(rest[slash...])
            return path.hasPrefix("?") ? "/" + path : path
        }
        throw .malformedRequestLine
    }

    @inline(__always) static func isTokenChar(_ c: UInt8) -> Bool {
        // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
        switch c {
        case 48...57, 65...90, 97...122: return true
        case 33, 35, 36, 37, 38, 39, 42, 43, 45, 46, 94, 95, 96, 124, 126: return true
        default: return false
        }
    }

    // MARK: - Body framing

    private mutating func startBody(_ head: Head) throws(HTTPParseError) -> Event {
        let lengths = head.headers.values("content-length")
        let codings = head.headers.values("transfer-encoding")
        if !lengths.isEmpty && !codings.isEmpty { throw .lengthAndTransferEncoding }
        if !codings.isEmpty {
            guard head.minor == 1, codings.count == 1,
                HTTPHeaders.sameName(String(Substring(codings[0]).trimmingSpaces()), "chunked")
            else {
                throw .unsupportedTransferEncoding
            }
            if streamsBody?(head.method, head.target) == true {
                state = .streamChunked(head, .size, 0)
                return .requestHead(request(head, []))
            }
            state = .chunked(head, .size, [])
            return try next()
        }
        if lengths.count > 1 { throw .duplicateContentLength }
        if let raw = lengths.first {
            guard !raw.isEmpty, raw.utf8.count <= 18, raw.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let n = Int(raw)
            else { throw .invalidContentLength }
            if n > 0 && streamsBody?(head.method, head.target) == true {
                if n > limits.maxStreamedBodyBytes { throw .bodyTooLarge }
                state = .streamFixed(head, n)
                return .requestHead(request(head, []))
            }
            if n > limits.maxBodyBytes { throw .bodyTooLarge }
            if n > 0 {
                state = .fixedBody(head, n)
                return try next()
            }
        }
        return finish(head, [])
    }

    /// A streamed chunked body: the chunk framing is read as for a whole one, each chunk's data handed out as it
    /// arrives (at most what is buffered), the total bounded by `maxStreamedBodyBytes`.
    private mutating func parseChunkedStream(
        _ head: Head, _ startPhase: ChunkPhase, _ startTotal: Int
    ) throws(HTTPParseError) -> Event {
        var phase = startPhase
        var total = startTotal
        defer { if case .streamChunked = state { state = .streamChunked(head, phase, total) } }
        while true {
            switch phase {
            case .data(let remaining):
                let take = min(remaining, bufferedCount)
                if take == 0 { return waitForBody(head) }
                let part = Array(buffer[readIndex..<(readIndex + take)])
                readIndex += take
                phase = remaining - take == 0 ? .dataEnd : .data(remaining - take)
                return .bodyPart(part)
            case .size, .dataEnd, .trailers:
                switch try chunkFraming(head, &phase, bodyCount: total, limit: limits.maxStreamedBodyBytes) {
                case .wait: return waitForBody(head)
                case .chunk(let size): total += size
                case .end:
                    state = .streamDone
                    return try next()
                case .next: break
                }
            }
        }
    }

    private mutating func parseChunked(
        _ head: Head, _ startPhase: ChunkPhase, _ startBody: [UInt8]
    ) throws(HTTPParseError) -> Event {
        var phase = startPhase
        var body = startBody
        defer { if case .chunked = state { state = .chunked(head, phase, body) } }
        while true {
            switch phase {
            case .data(let remaining):
                let take = min(remaining, bufferedCount)
                if take == 0 { return waitForBody(head) }
                body.append(contentsOf: buffer[readIndex..<(readIndex + take)])
                readIndex += take
                phase = remaining - take == 0 ? .dataEnd : .data(remaining - take)
            case .size, .dataEnd, .trailers:
                switch try chunkFraming(head, &phase, bodyCount: body.count, limit: limits.maxBodyBytes) {
                case .wait: return waitForBody(head)
                case .end:
                    phase = .size
                    return finish(head, body)
                case .chunk, .next: break
                }
            }
        }
    }

    private enum Framing {
        /// Not enough buffered.
        case wait
        /// A chunk of this many bytes begins.
        case chunk(Int)
        /// The last chunk and the trailers have been read.
        case end
        /// A line was read (a chunk's closing CRLF, a trailer field).
        case next
    }

    /// One step of chunked framing outside chunk data (RFC 9112 §7.1): a size line, the CRLF after data, a trailer
    /// line. Whole and streamed bodies share it, so both refuse the same malformed framing.
    private mutating func chunkFraming(
        _ head: Head, _ phase: inout ChunkPhase, bodyCount: Int, limit: Int
    ) throws(HTTPParseError) -> Framing {
        switch phase {
        case .size:
            guard let lineEnd = findCRLF(maxLength: 1024) else {
                if bufferedCount > 1024 { throw .badChunk }
                return .wait
            }
            var size = 0
            var digits = 0
            var i = readIndex
            while i < lineEnd, let v = hexValue(buffer[i]) {
                size = size * 16 + v
                digits += 1
                if digits > 15 { throw .badChunk }
                i += 1
            }
            guard digits > 0 else { throw .badChunk }
            if i < lineEnd {  // chunk extensions: ";name=value" — validated for control characters, ignored
                guard buffer[i] == 59 || buffer[i] == 32 || buffer[i] == 9 else { throw .badChunk }
                for j in i..<lineEnd where buffer[j] < 0x20 && buffer[j] != 9 { throw .badChunk }
            }
            readIndex = lineEnd + 2
            if bodyCount + size > limit { throw .bodyTooLarge }
            phase = size == 0 ? .trailers(0) : .data(size)
            return size == 0 ? .next : .chunk(size)
        case .dataEnd:
            if bufferedCount < 2 { return .wait }
            guard buffer[readIndex] == 13, buffer[readIndex + 1] == 10 else { throw .badChunk }
            readIndex += 2
            phase = .size
            return .next
        case .trailers(let used):
            guard let lineEnd = findCRLF(maxLength: limits.maxHeaderBytes) else {
                if bufferedCount + used > limits.maxHeaderBytes { throw .headersTooLarge }
                return .wait
            }
            let length = lineEnd - readIndex
            readIndex = lineEnd + 2
            if length == 0 { return .end }
            // Trailer fields are discarded (never merged into headers), but must be well-formed.
            if used + length > limits.maxHeaderBytes { throw .headersTooLarge }
            phase = .trailers(used + length + 2)
            return .next
        case .data:
            return .next  // data is read by the callers
        }
    }

    private mutating func waitForBody(_ head: Head) -> Event {
        if head.expectContinue && !continueSent {
            continueSent = true
            return .sendContinue
        }
        return .needMore
    }

    private func findCRLF(maxLength: Int) -> Int? {
        var i = readIndex
        let end = min(buffer.count, readIndex + maxLength + 2)
        while i + 1 < end {
            if buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    private func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c - 48)
        case 65...70: return Int(c - 55)
        case 97...102: return Int(c - 87)
        default: return nil
        }
    }
}
