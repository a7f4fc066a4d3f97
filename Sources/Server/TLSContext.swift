internal import COpenSSL

/// An OpenSSL server context: TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy, server preference,
/// no renegotiation, no compression. Shared by all event loops (SSL_CTX is thread-safe once configured).
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(_ config: TLSConfiguration) throws {
        guard let method = TLS_server_method(), let ctx = SSL_CTX_new(method) else {
            throw TLSError("SSL_CTX_new failed")
        }
        self.ctx = ctx
        _ = gh_SSL_CTX_set_min_proto_version(ctx, gh_TLS1_2_VERSION())
        _ = gh_SSL_CTX_set_options(
            ctx, gh_SSL_OP_NO_RENEGOTIATION() | gh_SSL_OP_CIPHER_SERVER_PREFERENCE() | gh_SSL_OP_NO_COMPRESSION())
        _ = gh_SSL_CTX_set_mode(ctx, gh_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER())
        let tls12Ciphers =
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
            + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
        guard SSL_CTX_set_cipher_list(ctx, tls12Ciphers) == 1 else { throw TLSError("cipher list rejected") }
        guard SSL_CTX_use_certificate_chain_file(ctx, config.certificateChainFile) == 1 else {
            throw TLSError("cannot load certificate chain from \(config.certificateChainFile): \(TLSError.drain())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, config.privateKeyFile, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError("cannot load private key from \(config.privateKeyFile): \(TLSError.drain())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError("the private key does not match the certificate")
        }
    }

    deinit { SSL_CTX_free(ctx) }

    func makeSession(fd: Int32) -> TLSSession? {
        guard let ssl = SSL_new(ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return TLSSession(ssl)
    }
}

struct TLSError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }

    static func drain() -> String {
        var parts: [String] = []
        while case let e = ERR_get_error(), e != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return parts.joined(separator: "; ")
    }
}

/// One TLS connection, confined to its event loop. Reads and writes are non-blocking; the handshake happens
/// inside the first reads and writes.
final class TLSSession {
    enum IO {
        case bytes(Int)
        case wantRead, wantWrite, closed, failed
    }
    private let ssl: OpaquePointer

    init(_ ssl: OpaquePointer) { self.ssl = ssl }
    deinit { SSL_free(ssl) }

    func read(into buf: UnsafeMutableRawBufferPointer) -> IO {
        let n = SSL_read(ssl, buf.baseAddress, Int32(buf.count))
        return n > 0 ? .bytes(Int(n)) : classify(n)
    }

    func write(_ buf: UnsafeRawBufferPointer) -> IO {
        let n = SSL_write(ssl, buf.baseAddress, Int32(buf.count))
        return n > 0 ? .bytes(Int(n)) : classify(n)
    }

    func shutdown() { _ = SSL_shutdown(ssl) }

    private func classify(_ n: Int32) -> IO {
        let err = SSL_get_error(ssl, n)
        ERR_clear_error()
        switch err {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed
        }
    }
}
