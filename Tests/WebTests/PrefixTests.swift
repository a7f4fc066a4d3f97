import Testing

@testable import Web

@Suite("Route prefixes, compared as bytes")
struct PrefixTests {
    /// The byte-wise prefix check the router asks up to three times per request, against `hasPrefix` on bytes.
    @Test func aPathStartsWithAPrefixAsItsBytesSay() {
        let prefixes = [[], ["/apps/"], ["/auth/verify", "/apps/"], ["/console/", "/", "/x"], ["/é/"], [""]]
        let paths = [
            "", "/", "/apps", "/apps/", "/apps/portal/", "/APPS/x", "/auth/verify", "/auth/verif", "/é/x", "/e/x",
            "/console/org/members", "x/apps/",
        ]
        for p in prefixes {
            for path in paths {
                let expected = p.contains { Array(path.utf8).starts(with: Array($0.utf8)) }
                #expect(Router.path(path[...], startsWithOneOf: p) == expected, "\(path) \(p)")
                #expect(Router.path(("?" + path).dropFirst(), startsWithOneOf: p) == expected, "\(path) \(p)")
            }
        }
    }
}
