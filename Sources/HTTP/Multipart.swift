/// `multipart/form-data` (RFC 7578) as a form with one file needs it: parts split on the boundary from the
/// Content-Type, each part's field name (and file name) from its Content-Disposition, its bytes as sent. Limits
/// first: at most `maxParts` parts; anything malformed is nil (the caller answers 400).
package enum Multipart {
    package struct Part: Sendable, Equatable {
        package let name: String
        package let filename: String?
        package let data: [UInt8]
    }

    package static func parts(contentType: String, body: [UInt8], maxParts: Int = 20) -> [Part]? {
        guard contentType.lowercased().hasPrefix("multipart/form-data"),
            let b = contentType.split(separator: ";").map({ $0.trimmingCharacters(in: .whitespaces) }).first(where: {
                $0.lowercased().hasPrefix("boundary=")
            })
        else { return nil }
        var boundary = String(b.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 {
            boundary = String(boundary.dropFirst().dropLast())
        }
        guard (1...70).contains(boundary.utf8.count) else { return nil }
        let delimiter = Array(("--" + boundary).utf8)
        var positions: [Int] = []
        var i = 0
        while let r = body[i...].firstRange(of: delimiter) {
            positions.append(r.lowerBound)
            i = r.upperBound
            if positions.count > maxParts + 1 { return nil }
        }
        guard positions.count >= 2 else { return nil }
        var out: [Part] = []
        for (start, end) in zip(positions, positions.dropFirst()) {
            var p = start + delimiter.count
            guard p + 2 <= end, body[p] == 13, body[p + 1] == 10 else { return nil }
            p += 2
            guard let headEnd = body[p..<end].firstRange(of: [13, 10, 13, 10]) else { return nil }
            let head = String(decoding: body[p..<headEnd.lowerBound], as: UTF8.self)
            var dataEnd = end
            if dataEnd - 2 >= headEnd.upperBound, body[dataEnd - 2] == 13, body[dataEnd - 1] == 10 { dataEnd -= 2 }
            var name: String?
            var filename: String?
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                for param in line.split(separator: ";").dropFirst() {
                    let kv = param.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                    guard kv.count == 2 else { continue }
                    var v = String(kv[1])
                    if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                    if kv[0].lowercased() == "name" { name = v }
                    if kv[0].lowercased() == "filename" { filename = v }
                }
            }
            guard let name else { return nil }
            out.append(Part(name: name, filename: filename, data: Array(body[headEnd.upperBound..<dataEnd])))
        }
        return out
    }
}
