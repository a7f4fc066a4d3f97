internal import COpenSSL

/// Why something did not decrypt. Deliberately without detail: callers turn every decryption failure into one
/// refusal, so a failure's kind (bad padding, bad tag, wrong key) never reaches whoever sent the ciphertext.
package struct DecryptionFailed: Error, Sendable, Equatable {
    package init() {}
}

extension PrivateKey {
    package var isRSA: Bool { EVP_PKEY_get_base_id(pkey) == gh_EVP_PKEY_RSA() }
    package var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// RSA-OAEP decryption (XML Encryption key transport): `digest` is the OAEP hash, `mgf1` the mask
    /// generation hash. PKCS#1 v1.5 is not offered at all (Bleichenbacher).
    package func decryptOAEP(_ ciphertext: [UInt8], digest: Digest, mgf1: Digest) throws(DecryptionFailed) -> [UInt8] {
        guard isRSA, !ciphertext.isEmpty, ciphertext.count == (bits + 7) / 8,
            let ctx = EVP_PKEY_CTX_new(pkey, nil)
        else { throw DecryptionFailed() }
        defer {
            EVP_PKEY_CTX_free(ctx)
            ERR_clear_error()
        }
        guard EVP_PKEY_decrypt_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1,
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx, digest.md) == 1, EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, mgf1.md) == 1
        else { throw DecryptionFailed() }
        var out = [UInt8](repeating: 0, count: ciphertext.count)
        var len = out.count
        let ok = out.withUnsafeMutableBufferPointer { o in
            ciphertext.withUnsafeBufferPointer { EVP_PKEY_decrypt(ctx, o.baseAddress, &len, $0.baseAddress, $0.count) }
        }
        guard ok == 1 else { throw DecryptionFailed() }
        return Array(out.prefix(len))
    }
}

/// AES decryption in the two modes XML Encryption uses, with its framing: the IV first, for GCM the 128-bit tag
/// last, for CBC the XML Encryption padding (last byte = pad length, 1…16; the other pad bytes are arbitrary,
/// so OpenSSL's PKCS#7 check is off and the length byte is checked here).
package enum AES {
    package enum Mode: Sendable, Equatable {
        case cbc
        case gcm
    }

    package static func decrypt(_ data: [UInt8], key: [UInt8], mode: Mode) throws(DecryptionFailed) -> [UInt8] {
        let cipher: OpaquePointer?
        switch (mode, key.count) {
        case (.cbc, 16): cipher = EVP_aes_128_cbc()
        case (.cbc, 24): cipher = EVP_aes_192_cbc()
        case (.cbc, 32): cipher = EVP_aes_256_cbc()
        case (.gcm, 16): cipher = EVP_aes_128_gcm()
        case (.gcm, 24): cipher = EVP_aes_192_gcm()
        case (.gcm, 32): cipher = EVP_aes_256_gcm()
        default: throw DecryptionFailed()
        }
        let ivLength = mode == .gcm ? 12 : 16
        let tagLength = mode == .gcm ? 16 : 0
        guard let cipher, data.count >= ivLength + tagLength + (mode == .cbc ? 16 : 0),
            mode == .gcm || (data.count - ivLength) % 16 == 0,
            let ctx = EVP_CIPHER_CTX_new()
        else { throw DecryptionFailed() }
        defer {
            EVP_CIPHER_CTX_free(ctx)
            ERR_clear_error()
        }
        let iv = Array(data.prefix(ivLength))
        let body = Array(data[ivLength..<(data.count - tagLength)])
        var tag = Array(data.suffix(tagLength))
        guard EVP_DecryptInit_ex(ctx, cipher, nil, nil, nil) == 1 else { throw DecryptionFailed() }
        if mode == .gcm {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(ivLength), nil) == 1 else {
                throw DecryptionFailed()
            }
        }
        guard EVP_DecryptInit_ex(ctx, nil, nil, key, iv) == 1, EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            throw DecryptionFailed()
        }
        var out = [UInt8](repeating: 0, count: body.count + 32)
        var len: Int32 = 0
        let ok = out.withUnsafeMutableBufferPointer { o in
            body.withUnsafeBufferPointer {
                EVP_DecryptUpdate(ctx, o.baseAddress, &len, $0.baseAddress, Int32($0.count))
            }
        }
        guard ok == 1 else { throw DecryptionFailed() }
        var total = Int(len)
        if mode == .gcm {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), &tag) == 1 else {
                throw DecryptionFailed()
            }
        }
        let fin = out.withUnsafeMutableBufferPointer { o in EVP_DecryptFinal_ex(ctx, o.baseAddress! + total, &len) }
        guard fin == 1 else { throw DecryptionFailed() }  // for GCM: the tag did not match
        total += Int(len)
        out = Array(out.prefix(total))
        if mode == .cbc {
            guard let pad = out.last, pad >= 1, pad <= 16, Int(pad) <= out.count else { throw DecryptionFailed() }
            out.removeLast(Int(pad))
        }
        return out
    }
}
