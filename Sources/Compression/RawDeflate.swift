internal import CZlib
import GatehouseCore

/// Raw DEFLATE (RFC 1951, no zlib or gzip header), as the SAML HTTP-Redirect binding uses.
///
/// `inflate` stops *while streaming* once the output passes `maxOutput`: a small compressed bomb cannot make
/// us allocate its full expansion (the crewjam/saml and ruby-saml advisories).
package enum RawDeflate {
    package struct Failure: Error, Sendable, Equatable {
        package let reason: String
        package static let tooLarge = Failure(reason: "inflated data exceeds the limit")
        package static let corrupt = Failure(reason: "not valid DEFLATE data")
    }

    package static func inflate(_ input: [UInt8], maxOutput: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard gh_inflateInit2(&stream, -15) == Z_OK else { throw .corrupt }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        var input = input
        let result: Int32 = input.withUnsafeMutableBufferPointer { inBuf -> Int32 in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = UInt32(inBuf.count)
            while true {
                let rc = chunk.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = UInt32(outBuf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > maxOutput { return -100 }
                output.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END { return Z_OK }
                if rc != Z_OK { return rc }
                if stream.avail_in == 0 && produced == 0 { return Z_BUF_ERROR }
            }
        }
        if result == -100 { throw .tooLarge }
        guard result == Z_OK else { throw .corrupt }
        return output
    }

    package static func deflate(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        guard gh_deflateInit2(&stream, Z_BEST_COMPRESSION, -15) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var input = input
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 16)
        let written: Int = input.withUnsafeMutableBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = UInt32(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = UInt32(outBuf.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return outBuf.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(written))
    }
}
