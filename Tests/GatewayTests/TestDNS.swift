import Foundation
import Glibc
import Synchronization

/// A DNS server on a loopback UDP port that answers TXT questions from a table the test fills in, so domain
/// verification is tested over the real wire format. Unknown names answer NXDOMAIN. (The script suite checks
/// the same flow against dnsmasq.)
final class TestDNS: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let records = Mutex<[String: [String]]>([:])
    private let running = Mutex(true)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        port = Int(UInt16(bigEndian: addr.sin_port))
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in serve() }
        t.start()
    }

    deinit {
        running.withLock { $0 = false }
        Thread.sleep(forTimeInterval: 0.25)
        close(fd)
    }

    func setTXT(_ name: String, _ values: [String]) { records.withLock { $0[name.lowercased()] = values } }

    var address: String { "127.0.0.1:\(port)" }

    private func serve() {
        var buf = [UInt8](repeating: 0, count: 1500)
        while running.withLock({ $0 }) {
            var from = sockaddr_storage()
            var fromLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &fromLen) }
            }
            guard n >= 12 else { continue }
            let q = Array(buf[0..<n])
            // Question name.
            var i = 12
            var labels: [String] = []
            while i < q.count, q[i] != 0 {
                let l = Int(q[i])
                labels.append(String(decoding: q[(i + 1)..<min(q.count, i + 1 + l)], as: UTF8.self))
                i += 1 + l
            }
            let qEnd = i + 5
            guard qEnd <= q.count else { continue }
            let name = labels.joined(separator: ".").lowercased()
            let values = records.withLock { $0[name] }
            var out: [UInt8] = [
                q[0], q[1], 0x81, values == nil ? 0x83 : 0x80, 0, 1, 0, UInt8(values?.count ?? 0), 0, 0, 0, 0,
            ]
            out += q[12..<qEnd]
            for v in values ?? [] {
                let b = Array(v.utf8)
                out +=
                    [
                        0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60, UInt8((b.count + 1) >> 8), UInt8((b.count + 1) & 0xff),
                        UInt8(b.count),
                    ] + b
            }
            _ = withUnsafePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, out, out.count, 0, $0, fromLen) }
            }
        }
    }
}
