import Testing

@testable import Gateway

@Suite("Gatehouse's cookies never reach an app")
struct CookieFilterTests {
    /// The first filter (a generic split of the header's bytes), kept as the oracle for the one that reads in place.
    static func oracle(_ value: String) -> String? {
        var kept: [UInt8] = []
        for part in value.utf8.split(separator: 59) {
            var p = part[...]
            while let c = p.first, c == 32 || c == 9 { p = p.dropFirst() }
            while let c = p.last, c == 32 || c == 9 { p = p.dropLast() }
            if p.isEmpty || p.starts(with: "gh_".utf8) { continue }
            if !kept.isEmpty { kept += [59, 32] }
            kept += p
        }
        return kept.isEmpty ? nil : String(decoding: kept, as: UTF8.self)
    }

    @Test func theAppGetsEveryOtherCookieAsTheFirstFilterGaveIt() {
        let pieces = [
            "gh_session=abc", "gh_org=org_eu_x", "theme=dark", "a=\"q;x\"", "gh_=1", "gh=2", "GH_session=3", "",
            "  spaced = 1 ", "\tt=2\t", "é=ü", "g", "gh_appview=" + String(repeating: "z", count: 400),
        ]
        var headers = [""]
        for a in pieces {
            for b in pieces {
                for sep in [";", "; ", " ; ", ";\t"] { headers.append(a + sep + b) }
            }
            headers.append(a)
        }
        headers += [";;;", " ; ; ", "gh_session=a;gh_org=b", "x=1;gh_session=a;y=2;gh_org=b;z=3"]
        for h in headers {
            let got = withoutOurCookies(h)
            #expect(got == Self.oracle(h), "[\(h)]")
            #expect(!(got ?? "").contains("gh_"), "[\(h)] → \(got ?? "nil")")
        }
    }
}

@Suite("What a client sends that never reaches an app")
struct DroppedHeaderTests {
    /// The lookup by length and bytes against lower-casing each name and asking the set, for every dropped name in
    /// several spellings, identity-header look-alikes, and names that must pass.
    @Test func aHeaderIsDroppedExactlyWhenItsLowerCasedNameIs() {
        var names: [String] = []
        for n in AppGateRoutes.dropped.names {
            names += [n, n.uppercased(), n.prefix(1).uppercased() + n.dropFirst(), n + "x", String(n.dropLast())]
        }
        names += [
            "X-Gatehouse-User", "x-gatehouse-", "X-GATEHOUSE-ANYTHING", "X-Gatehouse", "x-gatehousE-a",
            "X-Gatehouses-A",
            "Accept", "Cookie", "Authorization", "X-Request-Id", "", "é", "X-Forwarded-For ", "x-real-ip",
        ]
        for n in names {
            let l = n.lowercased()
            let oracle = AppGateRoutes.dropped.names.contains(l) || l.hasPrefix("x-gatehouse-")
            #expect(AppGateRoutes.isDropped(n) == oracle, "\(n)")
        }
        for n in AppGateRoutes.droppedFromUpstream.names {
            #expect(
                AppGateRoutes.droppedFromUpstream.contains(n)
                    && AppGateRoutes.droppedFromUpstream.contains(n.uppercased()))
            #expect(!AppGateRoutes.droppedFromUpstream.contains(n + "s"))
        }
    }
}
