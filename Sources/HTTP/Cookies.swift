/// Cookie header parsing and `Set-Cookie` building (RFC 6265).
public enum Cookies {
    /// The value of one cookie, found by scanning (no dictionary of every cookie): the session check runs this
    /// on every authenticated request.
    public static func value(named name: String, in headers: HTTPHeaders) -> String? {
        for header in headers.values("cookie") {
            var rest = Substring(header)
            while !rest.isEmpty {
                let end = rest.firstIndex(of: ";") ?? rest.endIndex
                let pair = rest[..<end].trimmingSpaces()
                if pair.hasPrefix(name), pair.dropFirst(name.count).first == "=" {
                    var value = pair.dropFirst(name.count + 1)
                    if value.count >= 2 && value.first == "\"" && value.last == "\"" { value = value.dropFirst().dropLast() }
                    return String(value)
                }
                rest = end == rest.endIndex ? "" : rest[rest.index(after: end)...]
            }
        }
        return nil
    }

    /// Parses `Cookie: a=1; b=2`. The first occurrence of a name wins (browsers send the most specific first).
    public static func parse(_ headers: HTTPHeaders) -> [String: String] {
        var out: [String: String] = [:]
        for header in headers.values("cookie") {
            for part in header.split(separator: ";") {
                let p = part.trimmingSpaces()
                guard let eq = p.firstIndex(of: "=") else { continue }
                let name = String(p[..<eq])
                var value = p[p.index(after: eq)...]
                if value.count >= 2 && value.first == "\"" && value.last == "\"" { value = value.dropFirst().dropLast() }
                if out[name] == nil { out[name] = String(value) }
            }
        }
        return out
    }
}

/// One `Set-Cookie` value with its attributes.
public struct SetCookie: Sendable, Equatable {
    public enum SameSite: String, Sendable { case strict = "Strict", lax = "Lax", none = "None" }

    public var name: String
    public var value: String
    public var path: String? = "/"
    public var domain: String?
    public var maxAge: Int?
    public var httpOnly = true
    public var secure = false
    public var sameSite: SameSite? = .lax

    public init(name: String, value: String, path: String? = "/", domain: String? = nil, maxAge: Int? = nil,
                httpOnly: Bool = true, secure: Bool = false, sameSite: SameSite? = .lax) {
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
    public static func expire(_ name: String, path: String = "/", secure: Bool = false) -> SetCookie {
        SetCookie(name: name, value: "", path: path, maxAge: 0, secure: secure)
    }

    public var headerValue: String {
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
    public mutating func setCookie(_ c: SetCookie) { headers.add("Set-Cookie", c.headerValue) }
}
