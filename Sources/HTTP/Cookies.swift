import GatehouseCore

/// Cookie header parsing and `Set-Cookie` building (RFC 6265).
package enum Cookies {
    /// The value of one cookie, found by scanning (no dictionary of every cookie): the session check runs this
    /// on every authenticated request.
    package static func value(named name: String, in headers: HTTPHeaders) -> String? {
        var name = name
        return name.withUTF8 { wanted in
            for f in headers.fields where f.name.utf8.count == 6 && HTTPHeaders.sameName(f.name, "cookie") {
                var value = f.value
                if let found = value.withUTF8({ find(wanted, in: $0) }) { return found }
            }
            return nil
        }
    }

    /// The value of the cookie named `wanted` in one `Cookie` header's bytes. Bytes in place, not Characters or
    /// copies: this runs several times on every authenticated request.
    private static func find(_ wanted: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var i = 0
        while i < bytes.count {
            while i < bytes.count && (bytes[i] == 32 || bytes[i] == 9) { i += 1 }
            // The pair ends at the next ';' (memchr: the session check runs this several times per request).
            let end = bytes.firstIndex(of: 59, from: i) ?? bytes.count
            let nameEnd = i + wanted.count
            if nameEnd < end, bytes[nameEnd] == 61, Self.same(bytes, from: i, wanted) {  // '='
                var vs = nameEnd + 1
                var ve = end
                while ve > vs && (bytes[ve - 1] == 32 || bytes[ve - 1] == 9) { ve -= 1 }
                if ve - vs >= 2 && bytes[vs] == 34 && bytes[ve - 1] == 34 {
                    vs += 1
                    ve -= 1
                }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[vs..<ve]), as: UTF8.self)
            }
            i = end + 1
        }
        return nil
    }

    @inline(__always) private static func same(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ wanted: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        for k in 0..<wanted.count where bytes[start + k] != wanted[k] { return false }
        return true
    }

    /// Parses `Cookie: a=1; b=2`. The first occurrence of a name wins (browsers send the most specific first).
    package static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var out: [String: String] = [:]
        for header in headers.values("cookie") {
            for part in header.split(separator: ";") {
                let p = part.trimmingSpaces()
                guard let eq = p.firstIndex(of: "=") else { continue }
                let name = String(p[..<eq])
                var value = p[p.index(after: eq)...]
                if value.count >= 2 && value.first == "\"" && value.last == "\"" {
                    value = value.dropFirst().dropLast()
                }
                if out[name] == nil { out[name] = String(value) }
            }
        }
        return out
    }
}

/// One `Set-Cookie` value with its attributes.
package struct SetCookie: Sendable, Equatable {
    package enum SameSite: String, Sendable {
        case strict = "Strict"
        case lax = "Lax"
        case none = "None"
    }

    package var name: String
    package var value: String
    package var path: String? = "/"
    package var domain: String?
    package var maxAge: Int?
    package var httpOnly = true
    package var secure = false
    package var sameSite: SameSite? = .lax

    package init(
        name: String, value: String, path: String? = "/", domain: String? = nil, maxAge: Int? = nil,
        httpOnly: Bool = true, secure: Bool = false, sameSite: SameSite? = .lax
    ) {
        self.name = name
        self.value = value
        self.path = path
        self.domain = domain
        self.maxAge = maxAge
        self.httpOnly = httpOnly
        self.secure = secure
        self.sameSite = sameSite
    }

    /// A cookie that deletes `name` in the browser.
    package static func expire(_ name: String, path: String = "/", secure: Bool = false) -> SetCookie {
        SetCookie(name: name, value: "", path: path, maxAge: 0, secure: secure)
    }

    package var headerValue: String {
        var s = "\(name)=\(value)"
        if let path { s += "; Path=\(path)" }
        if let domain { s += "; Domain=\(domain)" }
        if let maxAge { s += "; Max-Age=\(maxAge)" }
        if secure { s += "; Secure" }
        if httpOnly { s += "; HttpOnly" }
        if let sameSite { s += "; SameSite=\(sameSite.rawValue)" }
        return s
    }
}

extension Response {
    package mutating func setCookie(_ c: SetCookie) { headers.add("Set-Cookie", c.headerValue) }
}
