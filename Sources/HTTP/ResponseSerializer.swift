import GatehouseCore
import Glibc

/// Writes a response head and body as HTTP/1.1 bytes.
///
/// `Content-Length` is always computed here (handlers never set it), and `Connection: close` is added when the
/// connection will close, so framing can never disagree with the body.
package enum ResponseSerializer {
    package static func serialize(
        _ response: Response, keepAlive: Bool, date: String, requestID: String?,
        headOnly: Bool = false, into out: inout [UInt8]
    ) {
        let body = response.body  // read once: a JSON answer's bytes are written on first read
        out.reserveCapacity(out.count + 160 + body.count)
        let noBody = hasNoBody(response.status)
        // A HEAD answer tells the length a GET would have (a proxied HEAD: its upstream's), never its empty body's.
        let length = headOnly ? response.headLength ?? body.count : body.count
        writeHead(
            response, framing: noBody ? .none : .length(length), keepAlive: keepAlive, date: date,
            requestID: requestID, into: &out)
        if !noBody && !headOnly { out.append(contentsOf: body) }
    }

    /// How the body's end is told: by its length, by chunked coding, by the connection's close, or not at all
    /// (statuses that have no body).
    package enum Framing: Equatable {
        case length(Int)
        case chunked
        case close
        case none
    }

    /// 1xx, 204 and 304 answers never carry a body (RFC 9110 §6.4.1).
    package static func hasNoBody(_ status: Int) -> Bool {
        status == 204 || status == 304 || (100..<200).contains(status)
    }

    /// The status line and header section, with the framing headers computed here (a handler's own
    /// `Content-Length`, `Transfer-Encoding` and `Connection` are never written).
    package static func writeHead(
        _ response: Response, framing: Framing, keepAlive: Bool, date: String, requestID: String?,
        into out: inout [UInt8]
    ) {
        // Counted first, then written in one go (`ByteWriter`): every answer passes here.
        let reason = HTTPStatus.reason(response.status)
        var size = 9 + 20 + 1 + reason.utf8.count + 8 + date.utf8.count + 38 + 19 + 4
        if let requestID { size += 16 + requestID.utf8.count }
        for f in response.headers.fields { size += 4 + f.name.utf8.count + f.value.utf8.count }
        out.appendWritten(maxCount: size) { w in
            w.literal("HTTP/1.1 ")
            w.decimal(UInt64(clamping: response.status))
            w.put(32)
            w.put(reason)
            w.literal("\r\nDate: ")
            w.put(date)
            switch framing {
            case .length(let n):
                w.literal("\r\nContent-Length: ")
                w.decimal(UInt64(clamping: n))
            case .chunked: w.literal("\r\nTransfer-Encoding: chunked")
            case .close, .none: break
            }
            if let requestID {
                w.literal("\r\nX-Request-Id: ")
                w.put(requestID)
            }
            for f in response.headers.fields {
                if HTTPHeaders.sameName(f.name, "content-length") || HTTPHeaders.sameName(f.name, "connection")
                    || HTTPHeaders.sameName(f.name, "transfer-encoding")
                {
                    continue
                }
                w.literal("\r\n")
                sanitized(f.name, &w)
                w.literal(": ")
                sanitized(f.value, &w)
            }
            if !keepAlive { w.literal("\r\nConnection: close") }
            w.literal("\r\n\r\n")
        }
    }

    package static func continueBytes() -> [UInt8] { Array("HTTP/1.1 100 Continue\r\n\r\n".utf8) }

    /// Header text from handlers cannot inject lines: CR, LF and NUL become spaces.
    /// Clean values (nearly all) are copied whole; a long one (a JWT header) byte by byte cost a tenth of a request.
    @inline(__always) static func sanitized(_ s: String, _ w: inout ByteWriter) {
        var s = s
        s.withUTF8 { buf in
            if !buf.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) {
                w.put(buf)
                return
            }
            for c in buf { w.put(c == 13 || c == 10 || c == 0 ? 32 : c) }
        }
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7) for the `Date` header.
package enum HTTPDate {
    package static func format(epochSeconds: Int) -> String {
        var t = time_t(epochSeconds)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return
            "\(days[Int(tmv.tm_wday)]), \(two(tmv.tm_mday)) \(months[Int(tmv.tm_mon)]) \(tmv.tm_year + 1900)"
            + " \(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec)) GMT"
    }
}
