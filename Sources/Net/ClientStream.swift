internal import COpenSSL
import CShims
import GatehouseCore
import Glibc

/// Why a client connection failed, with a stable code (`connect_failed`, `timeout`, `closed`, `tls_failed`,
/// `protocol_error`) so callers can tell "the peer is down" from "the peer answered nonsense".
package struct NetError: Error, Sendable, CustomStringConvertible {
    package let code: String
    package let message: String
    package init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    package var description: String { "\(code): \(message)" }
}

/// A blocking client connection (TCP, optionally upgraded to TLS), for the few outbound conversations the
/// server has: SMTP and gateway → region calls. It runs on a `BlockingPool` thread, never on an event loop.
/// Every read and write is bounded by the I/O timeout given at connect; lines and bodies have size limits.
package final class ClientStream {
    private var fd: Int32
    private var ctx: OpaquePointer?
    private var ssl: OpaquePointer?
    private var buffer: [UInt8] = []
    private var cursor = 0
    package let host: String
    package let port: Int

    package init(host: String, port: Int, connectTimeoutMillis: Int = 5_000, ioTimeoutMillis: Int = 30_000) throws {
        self.host = host
        self.port = port
        fd = gh_connect_tcp(host, Int32(port), Int32(connectTimeoutMillis), Int32(ioTimeoutMillis))
        guard fd >= 0 else {
            throw NetError("connect_failed", "cannot connect to \(host):\(port) (errno \(gh_errno()))")
        }
    }

    deinit { close() }

    package var isTLS: Bool { ssl != nil }

    /// Upgrades the connection to TLS 1.2+ and verifies the peer's certificate chain and host name against
    /// `caFile` (or the system's trust store when nil).
    package func startTLS(serverName: String, caFile: String?) throws {
        guard ssl == nil else { return }
        guard let method = TLS_client_method(), let c = SSL_CTX_new(method) else {
            throw NetError("tls_failed", "SSL_CTX_new failed")
        }
        ctx = c
        _ = gh_SSL_CTX_set_min_proto_version(c, gh_TLS1_2_VERSION())
        if let caFile {
            guard SSL_CTX_load_verify_locations(c, caFile, nil) == 1 else {
                throw NetError("tls_failed", "cannot load CA file \(caFile)")
            }
        } else {
            _ = SSL_CTX_set_default_verify_paths(c)
        }
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nil)
        guard let s = SSL_new(c) else { throw NetError("tls_failed", "SSL_new failed") }
        ssl = s
        if Self.isIPAddress(serverName) {
            // An address is checked against the certificate's IP SANs (a host-name check would never match).
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), serverName)
        } else {
            _ = gh_SSL_set_tlsext_host_name(s, serverName)
            _ = SSL_set1_host(s, serverName)
        }
        SSL_set_fd(s, fd)
        guard SSL_connect(s) == 1 else {
            let verify = SSL_get_verify_result(s)
            ERR_clear_error()
            throw NetError(
                "tls_failed",
                verify != 0
                    ? "certificate of \(serverName) not trusted (verify error \(verify))"
                    : "TLS handshake with \(serverName) failed")
        }
    }

    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }

    package func write(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n: Int = bytes.withUnsafeBytes { raw in
                let p = raw.baseAddress! + off
                if let ssl { return Int(SSL_write(ssl, p, Int32(bytes.count - off))) }
                return gh_send(fd, p, bytes.count - off)
            }
            guard n > 0 else { throw NetError(ssl != nil ? "tls_failed" : "closed", "write to \(host):\(port) failed") }
            off += n
        }
    }

    package func write(_ text: String) throws { try write(Array(text.utf8)) }

    private func fill() throws {
        if cursor > 0 && cursor == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            cursor = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let n: Int = chunk.withUnsafeMutableBytes { raw in
            if let ssl { return Int(SSL_read(ssl, raw.baseAddress, Int32(raw.count))) }
            return gh_read(fd, raw.baseAddress, raw.count)
        }
        if n == 0 { throw NetError("closed", "\(host):\(port) closed the connection") }
        if n < 0 {
            if ssl != nil { ERR_clear_error() }
            let e = gh_errno()
            throw NetError(
                e == gh_EAGAIN() ? "timeout" : "closed",
                e == gh_EAGAIN() ? "\(host):\(port) did not answer in time" : "read from \(host):\(port) failed")
        }
        buffer.append(contentsOf: chunk[0..<n])
    }

    /// One line without its CRLF (a bare LF is accepted), at most `max` bytes.
    package func readLine(max: Int = 8_192) throws -> String {
        while true {
            if let nl = buffer[cursor...].firstIndex(of: 10) {
                var end = nl
                if end > cursor && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[cursor..<end], as: UTF8.self)
                cursor = nl + 1
                return line
            }
            guard buffer.count - cursor <= max else {
                throw NetError("protocol_error", "line longer than \(max) bytes from \(host):\(port)")
            }
            try fill()
        }
    }

    /// `readLine` as bytes (header lines are parsed byte-wise: Character iteration was a fifth of a proxied
    /// request).
    package func readLineBytes(max: Int = 8_192) throws -> ArraySlice<UInt8> {
        while true {
            if let nl = buffer[cursor...].firstIndex(of: 10) {
                var end = nl
                if end > cursor && buffer[end - 1] == 13 { end -= 1 }
                let line = buffer[cursor..<end]
                cursor = nl + 1
                return line
            }
            guard buffer.count - cursor <= max else {
                throw NetError("protocol_error", "line longer than \(max) bytes from \(host):\(port)")
            }
            try fill()
        }
    }

    package func read(exactly n: Int) throws -> [UInt8] {
        while buffer.count - cursor < n { try fill() }
        let out = Array(buffer[cursor..<(cursor + n)])
        cursor += n
        return out
    }

    /// What is available next (buffered bytes first, else one read), or nil once the peer has closed.
    package func readSome() throws -> ArraySlice<UInt8>? {
        if cursor == buffer.count {
            do { try fill() } catch let e as NetError where e.code == "closed" { return nil }
        }
        let out = buffer[cursor...]
        cursor = buffer.count
        return out
    }

    /// Everything until the peer closes, at most `max` bytes.
    package func readToEnd(max: Int) throws -> [UInt8] {
        while true {
            do { try fill() } catch let e as NetError where e.code == "closed" { break }
            guard buffer.count - cursor <= max else {
                throw NetError("protocol_error", "body larger than \(max) bytes from \(host):\(port)")
            }
        }
        let out = Array(buffer[cursor...])
        cursor = buffer.count
        return out
    }

    /// Whether a pooled idle connection is still usable: no unread bytes and no close from the peer.
    package var isReusable: Bool { fd >= 0 && cursor == buffer.count && gh_readable_now(fd) == 0 }

    package func close() {
        if let ssl {
            SSL_free(ssl)
            self.ssl = nil
        }
        if let ctx {
            SSL_CTX_free(ctx)
            self.ctx = nil
        }
        if fd >= 0 {
            _ = gh_close(fd)
            fd = -1
        }
    }
}
