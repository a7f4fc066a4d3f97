import Foundation
import GatehouseCore
import HTTP
import Tenant
import TenantDomain
import Web

/// Server-rendered pages: one layout, escaped values, strict security headers. No inline script or style, so
/// the Content-Security-Policy can forbid both; the stylesheet is served from `/assets/gatehouse.css`.
public enum HTMLPage {
    public static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-store"),
    ]

    public static func escape(_ s: String) -> String { HTMLText.escape(s) }

    /// What the header shows for a signed-in person: who they are and the org switcher.
    public struct Viewer: Sendable {
        public var name: String
        public var email: String
        public var csrf: String
        public var memberships: [MembershipSummary]
        public var currentOrg: String?
    }

    public static func render(title: String, viewer: Viewer?, body: String, status: Int = 200) -> Response {
        var header = "<header class=\"top\"><a class=\"brand\" href=\"/\">Gatehouse</a>"
        if let v = viewer {
            if v.memberships.count > 1 || (v.memberships.count == 1 && v.currentOrg == nil) {
                header += "<form class=\"switcher\" method=\"post\" action=\"/switch\"><input type=\"hidden\" name=\"csrf\" value=\"\(escape(v.csrf))\">"
                header += "<label for=\"org-switch\">Organization</label><select id=\"org-switch\" name=\"org\">"
                for m in v.memberships {
                    let selected = m.orgID == v.currentOrg ? " selected" : ""
                    header += "<option value=\"\(escape(m.orgID))\"\(selected)>\(escape(m.orgName)) · \(m.region.rawValue.uppercased()) · \(escape(roleNames(m.roles)))</option>"
                }
                header += "</select><button type=\"submit\">Switch</button></form>"
            }
            header += "<span class=\"who\">\(escape(v.name))</span><form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"\(escape(v.csrf))\"><button class=\"link\" type=\"submit\">Sign out</button></form>"
        }
        header += "</header>"
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Gatehouse</title><link rel="stylesheet" href="/assets/gatehouse.css"></head>
            <body>\(header)<main><h1>\(escape(title))</h1>\(body)</main></body></html>
            """
        var r = Response(status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: Array(html.utf8))
        for (k, v) in securityHeaders { r.headers.add(k, v) }
        return r
    }

    public static func roleNames(_ roles: [String]) -> String {
        roles.map { Role.builtIn($0)?.name ?? $0 }.joined(separator: ", ")
    }

    /// A message with one way forward.
    public static func notice(_ title: String, _ message: String, action: (label: String, href: String)? = nil, status: Int, viewer: Viewer? = nil) -> Response {
        var body = "<p class=\"notice\">\(escape(message))</p>"
        if let action { body += "<p><a class=\"button\" href=\"\(escape(action.href))\">\(escape(action.label))</a></p>" }
        return render(title: title, viewer: viewer, body: body, status: status)
    }

    /// 429 with `Retry-After`, as a page.
    public static func slowDown(_ wait: Int, viewer: Viewer? = nil) -> Response {
        var r = notice("Slow down", "Too many attempts. Try again in \(wait) seconds.", status: 429, viewer: viewer)
        r.headers.add("Retry-After", String(wait))
        return r
    }

    public static let stylesheet = """
        :root{--fg:#1b1f24;--muted:#57606a;--accent:#0b57d0;--bad:#b3261e;--line:#d0d7de}
        *{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#f6f8fa}
        .top{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;padding:.6rem 1rem;background:#fff;border-bottom:1px solid var(--line)}
        .brand{font-weight:700;color:var(--fg);text-decoration:none;margin-right:auto}.who{color:var(--muted)}
        .switcher{display:flex;gap:.4rem;align-items:center}.switcher label{font-weight:400;margin:0;color:var(--muted)}
        main{max-width:40rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid var(--line);border-radius:8px}
        h1{font-size:1.5rem;margin-top:0}label{display:block;margin:.8rem 0 .25rem;font-weight:600}
        input,select{font:inherit;padding:.45rem .55rem;border:1px solid var(--muted);border-radius:6px;max-width:100%}
        input[type=email],input[type=password],input[type=text]{width:100%}
        button,.button{display:inline-block;font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}
        button.secondary{background:#fff;color:var(--accent)}button.link{background:none;border:0;color:var(--accent);padding:0;text-decoration:underline}
        :focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
        .error{color:var(--bad)}.notice{padding:.75rem;border-left:4px solid var(--accent);background:#eef4ff}
        .actions{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1rem}.actions form{margin:0}
        ul.cards{list-style:none;padding:0}ul.cards li{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;padding:.75rem 0;border-bottom:1px solid var(--line)}
        .meta{color:var(--muted);font-size:.9rem}
        @media (max-width:480px){main{margin:0;border-radius:0;border-left:0;border-right:0}}
        """
}
