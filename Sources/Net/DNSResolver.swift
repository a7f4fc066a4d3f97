import Foundation
import GatehouseCore
import Glibc

/// Reads TXT records from one DNS server over UDP (RFC 1035), for proving that an org controls an email
/// domain. Only what that needs: one question, the answer section's TXT records for that exact name, a bounded
/// wait, the query id and question checked on the answer (an answer from anyone else, or for another name, is
/// ignored). Blocking: call it off the event loops.
///
/// Why our own: the C library's resolver has no TXT call, and verification must be pointed at a chosen server
/// (tests run one on loopback; operators may name their own).
package struct DNSResolver: Sendable {
    package let server: String
    package let port: Int
    package let timeoutMillis: Int

    package init(server: String, port: Int = 53, timeoutMillis: Int = 3_000) {
        self.server = server
        self.port = port
        self.timeoutMillis = timeoutMillis
    }

    /// The first `nameserver` of `/etc/resolv.conf`, else 127.0.0.1.
    package static func system() -> DNSResolver {
        let text = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count >= 2, f[0] == "nameserver", inet_addr(String(f[1])) != INADDR_NONE {
                return DNSResolver(server: String(f[1]))
            }
        }
        return DNSResolver(server: "127.0.0.1")
    }

    /// `host` or `host:port` (IPv4 literal).
    package static func parse(_ s: String) -> DNSResolver? {
        let p = s.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(p.count), inet_addr(String(p[0])) != INADDR_NONE else { return nil }
        let port = p.count == 2 ? Int(p[1]) : 53
        guard let port, (1...65535).contains(port) else { return nil }
        return DNSResolver(server: String(p[0]), port: port)
    }

    package func txt(_ name: String) throws -> [String] {
        let id = UInt16.random(in: 0...UInt16.max)
        let question = try Self.encodeName(name) + [0, 16, 0, 1]  // TXT, IN
        var query: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]  // RD, one question
        query += question

        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw NetError("dns_failed", "cannot open a UDP socket") }
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr(server)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, send(fd, query, query.count, 0) == query.count else {
            throw NetError("dns_failed", "cannot send to the DNS server \(server):\(port)")
        }
        let deadline = Date().addingTimeInterval(Double(timeoutMillis) / 1000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard left > 0, poll(&p, 1, left) == 1 else {
                throw NetError("timeout", "the DNS server \(server):\(port) did not answer")
            }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw NetError("dns_failed", "the DNS server \(server):\(port) refused the query") }
            if let records = try Self.parseAnswer(Array(buffer[0..<n]), id: id, question: question) { return records }
        }
    }

    static func encodeName(_ name: String) throws -> [UInt8] {
        var out: [UInt8] = []
        for label in name.lowercased().split(separator: ".", omittingEmptySubsequences: false) where !label.isEmpty {
            let b = Array(label.utf8)
            guard b.count <= 63 else { throw NetError("dns_failed", "a DNS label is longer than 63 bytes") }
            out.append(UInt8(b.count))
            out += b
        }
        out.append(0)
        guard out.count <= 255 else { throw NetError("dns_failed", "the DNS name is too long") }
        return out
    }

    /// The TXT strings of an answer to our query (each record's strings joined), nil when the packet is not the
    /// answer to it (wrong id or question: keep waiting). A name that does not exist is an empty answer.
    static func parseAnswer(_ m: [UInt8], id: UInt16, question: [UInt8]) throws -> [String]? {
        guard m.count >= 12, UInt16(m[0]) << 8 | UInt16(m[1]) == id, m[2] & 0x80 != 0 else { return nil }
        guard m.count >= 12 + question.count,
            Array(m[12..<(12 + question.count)]).map(lowerASCII) == question.map(lowerASCII)
        else { return nil }
        if m[2] & 0x02 != 0 { throw NetError("dns_failed", "the DNS answer was truncated") }
        let rcode = m[3] & 0x0f
        if rcode == 3 { return [] }
        guard rcode == 0 else { throw NetError("dns_failed", "the DNS server answered with error \(rcode)") }
        let qd = Int(m[4]) << 8 | Int(m[5])
        let an = Int(m[6]) << 8 | Int(m[7])
        guard qd == 1 else { return nil }
        var i = 12 + question.count
        var out: [String] = []
        for _ in 0..<an {
            i = try skipName(m, i)
            guard i + 10 <= m.count else { throw NetError("dns_failed", "a DNS answer is cut short") }
            let type = Int(m[i]) << 8 | Int(m[i + 1])
            let len = Int(m[i + 8]) << 8 | Int(m[i + 9])
            i += 10
            guard i + len <= m.count else { throw NetError("dns_failed", "a DNS answer is cut short") }
            if type == 16 {
                var j = i
                var text: [UInt8] = []
                while j < i + len {
                    let l = Int(m[j])
                    guard j + 1 + l <= i + len else { throw NetError("dns_failed", "a TXT record is malformed") }
                    text += m[(j + 1)..<(j + 1 + l)]
                    j += 1 + l
                }
                out.append(String(decoding: text, as: UTF8.self))
            }
            i += len
        }
        return out
    }

    private static func lowerASCII(_ b: UInt8) -> UInt8 { b >= 65 && b <= 90 ? b + 32 : b }

    private static func skipName(_ m: [UInt8], _ start: Int) throws -> Int {
        var i = start
        while i < m.count {
            let l = Int(m[i])
            if l == 0 { return i + 1 }
            if l & 0xc0 == 0xc0 { return i + 2 }
            i += 1 + l
        }
        throw NetError("dns_failed", "a DNS name is cut short")
    }
}
