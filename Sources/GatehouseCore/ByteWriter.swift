import Glibc

/// Bytes written into memory sized beforehand: no growth, and no capacity or uniqueness check per piece. Why: every
/// proxied request builds a request head, a response head and a log line from twenty-odd pieces each, and
/// `Array.append` paid its checks per piece (a tenth of the request's instructions, measured with callgrind). The
/// caller counts first; writing past the counted size is a programming error and stops the process.
@usableFromInline package struct ByteWriter {
    @usableFromInline package let buffer: UnsafeMutableBufferPointer<UInt8>
    @usableFromInline package var count = 0

    @inlinable package init(_ buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    @inlinable package var written: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[..<count]) }

    @inlinable @inline(__always) package mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let src = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(count + bytes.count <= buffer.count, "ByteWriter: more bytes than counted")
        (buffer.baseAddress! + count).update(from: src, count: bytes.count)
        count += bytes.count
    }

    @inlinable @inline(__always) package mutating func put(_ byte: UInt8) {
        precondition(count < buffer.count, "ByteWriter: more bytes than counted")
        buffer[count] = byte
        count += 1
    }

    @inlinable @inline(__always) package mutating func literal(_ s: StaticString) { s.withUTF8Buffer { put($0) } }

    /// `s`'s UTF-8, whole.
    @inlinable package mutating func put(_ s: String) {
        var s = s
        s.withUTF8 { put($0) }
    }

    /// `s`'s UTF-8 — or nothing and false when it holds CR, LF or `refusing` (a header cannot smuggle another).
    @inlinable package mutating func put(_ s: String, refusing: UInt8) -> Bool {
        var s = s
        return s.withUTF8 { b in
            guard let base = b.baseAddress else { return true }
            // memchr is vectorized; a byte loop over a 700-byte assertion cost a tenth of building a request.
            guard memchr(base, 13, b.count) == nil, memchr(base, 10, b.count) == nil,
                refusing == 13 || memchr(base, Int32(refusing), b.count) == nil
            else { return false }
            put(b)
            return true
        }
    }

    /// A number in decimal (at most 20 bytes).
    @inlinable package mutating func decimal(_ v: UInt64) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { d in
            var n = v
            var i = 20
            repeat {
                i -= 1
                d[i] = UInt8(48 + n % 10)
                n /= 10
            } while n > 0
            put(UnsafeBufferPointer(rebasing: d[i...]))
        }
    }
}

extension Array where Element == UInt8 {
    /// Appends what `body` writes, at most `maxCount` bytes: into a temporary buffer, then one append.
    @inlinable package mutating func appendWritten<E: Error>(
        maxCount: Int, _ body: (inout ByteWriter) throws(E) -> Void
    ) throws(E) {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxCount) { buf throws(E) in
            var w = ByteWriter(buf)
            try body(&w)
            append(contentsOf: w.written)
        }
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The index of the first `byte` in `start..<end` (default: to the end), or nil — memchr, which is vectorized:
    /// the parsers find line ends and cookie separators with it on every request, where a byte loop showed.
    @inlinable package func firstIndex(of byte: UInt8, from start: Int, to end: Int? = nil) -> Int? {
        let end = end ?? count
        guard start < end, let base = baseAddress else { return nil }
        return memchr(base + start, Int32(byte), end - start).map {
            UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base
        }
    }
}
