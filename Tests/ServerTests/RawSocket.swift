import Foundation
import Glibc

/// A blocking TCP client for socket-level tests: send exact bytes, read exactly what the server sends.
final class RawSocket {
    let fd: Int32

    init(port: Int, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        setTimeout(5)
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ s: String) { send(Array(s.utf8)) }

    func send(_ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads until the peer closes or the timeout passes. Returns the text and whether the peer closed.
    func readAll() -> (text: String, closed: Bool) {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n > 0 {
                out.append(contentsOf: buf[0..<n])
                continue
            }
            return (String(decoding: out, as: UTF8.self), n == 0 || (n < 0 && errno == ECONNRESET))
        }
    }

    /// Reads complete responses (by Content-Length) until `count` have arrived.
    func readResponses(_ count: Int) -> [HTTPReply] {
        var buffer: [UInt8] = []
        var replies: [HTTPReply] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while replies.count < count {
            while let (reply, used) = HTTPReply.parse(buffer) {
                replies.append(reply)
                buffer.removeFirst(used)
                if replies.count == count { return replies }
            }
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            buffer.append(contentsOf: buf[0..<n])
        }
        return replies
    }
}

/// A parsed response, for assertions.
struct HTTPReply {
    var status: Int
    var headers: [String: String]  // lower-cased names
    var body: String

    static func parse(_ bytes: [UInt8]) -> (HTTPReply, Int)? {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<$0 + 4]) == sep })
        else { return nil }
        let head = String(decoding: bytes[0..<end], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        var headers: [String: String] = [:]
        for l in lines {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let length = (100..<200).contains(status) ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        let body = String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        return (HTTPReply(status: status, headers: headers, body: body), end + 4 + length)
    }
}
