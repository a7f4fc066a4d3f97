import Foundation
import GatehouseCore
import Gateway
import HTTP
import TenantAPI
import TenantDomain
import Web

/// Server-rendered pages: one layout, escaped values, strict security headers. No inline script or style, so
/// the Content-Security-Policy can forbid both; the stylesheet is served from `/assets/gatehouse.css`.
package enum HTMLPage {
    package static let securityHeaders: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self';"
                + " frame-ancestors 'none'; base-uri 'none'"
        ),
        ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    /// What the header shows for a signed-in person: who they are and the org switcher.
    package struct Viewer: Sendable {
        package var name: String
        package var email: String
        package var csrf: String
        package var memberships: [MembershipSummary]
        package var currentOrg: String?
        package var regionAdmin: String?
        /// Invitations waiting for this person (a badge in the header leads to them on the home page).
        package var pendingInvites = 0
    }

    package static func render(
        title: String, viewer: Viewer?, body: HTML, status: Int = 200, wide: Bool = false
    ) -> Response {
        var header: HTML =
            "<header class=\"top\"><a class=\"brand\" href=\"/\"><span class=\"mark\" aria-hidden=\"true\"></span>"
            + "Gatehouse</a>"
        if let v = viewer {
            if v.memberships.count > 1 || (v.memberships.count == 1 && v.currentOrg == nil) {
                header +=
                    "<form class=\"switcher\" method=\"post\" action=\"/switch\"><input type=\"hidden\""
                    + " name=\"csrf\" value=\"\(v.csrf)\">"
                header += "<label for=\"org-switch\">Organization</label><select id=\"org-switch\" name=\"org\">"
                for m in v.memberships {
                    let selected = m.orgID == v.currentOrg ? " selected" : ""
                    header +=
                        "<option value=\"\(m.orgID)\"\(selected)>\(m.orgName) · \(m.region.rawValue.uppercased()) ·"
                        + " \(roleNames(m.roles))</option>"
                }
                header += "</select><button type=\"submit\">Switch</button></form>"
            }
            header += "<nav class=\"links\" aria-label=\"Main\"><a href=\"/console\">Console</a>"
            if v.pendingInvites > 0 {
                let n = v.pendingInvites
                header +=
                    "<a href=\"/#invitations\" class=\"invites-badge\">Invitations <span class=\"badge pending\""
                    + " aria-label=\"\(n) waiting\">\(n)</span></a>"
            }
            if let r = v.regionAdmin { header += "<a href=\"/region/\(r)\">Region \(r.uppercased())</a>" }
            header += "<a href=\"/account\">Account</a></nav>"
            header +=
                "<span class=\"who\"><span class=\"avatar\" aria-hidden=\"true\">\(initials(v.name))</span>"
                + "\(v.name)</span>"
                + "<form method=\"post\" action=\"/logout\"><input type=\"hidden\""
                + " name=\"csrf\" value=\"\(v.csrf)\"><button class=\"link\" type=\"submit\">Sign out</button>"
                + "</form>"
        }
        header += "</header>"
        let html: HTML = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" \
            content="width=device-width, initial-scale=1">
            <title>\(title) · Gatehouse</title><link rel="stylesheet" href="/assets/gatehouse.css">
            <script src="/assets/gatehouse.js" defer></script></head>
            <body>\(header)<main\(if: wide, " class=\"wide\"")><h1>\(title)</h1>\(body)</main></body></html>
            """
        var r = Response(
            status: status, headers: ["Content-Type": "text/html; charset=utf-8"], body: html.utf8)
        for (k, v) in securityHeaders { r.headers.add(k, v) }
        return r
    }

    /// Up to two initials for the avatar: of the first and last word of a name, or the first letter of an address.
    static func initials(_ name: String) -> String {
        if name.contains("@") { return name.first.map { String($0).uppercased() } ?? "?" }
        let words = name.split(separator: " ")
        guard let first = words.first?.first else { return "?" }
        let last = words.count > 1 ? words.last?.first : nil
        return (String(first) + (last.map { String($0) } ?? "")).uppercased()
    }

    /// Role names, never ids: from the org's catalog when the page has it, else the built-in name, else the custom
    /// role's id made readable (`custom-night-shift` → "Night shift").
    package static func roleNames(_ roles: [String], catalog: [RoleView] = []) -> String {
        roles.map { id in
            catalog.first { $0.id == id }?.name ?? Role.builtIn(id)?.name ?? readable(customRole: id)
        }.joined(separator: ", ")
    }

    static func readable(customRole id: String) -> String {
        let words = (id.hasPrefix("custom-") ? String(id.dropFirst(7)) : id).replacingOccurrences(of: "-", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// A message with one way forward.
    package static func notice(
        _ title: String, _ message: String, action: (label: String, href: String)? = nil, status: Int,
        viewer: Viewer? = nil
    ) -> Response {
        var body: HTML = "<p class=\"notice\">\(message)</p>"
        if let action { body += "<p><a class=\"button\" href=\"\(action.href)\">\(action.label)</a></p>" }
        return render(title: title, viewer: viewer, body: body, status: status)
    }

    /// The body of a "are you sure?" page: what will happen, in words, and a form that posts the same fields again
    /// to `action` with `confirm=yes`, or a way back. A change that cannot be taken back (revoke, suspend,
    /// delete) goes through one; the handler acts only on `confirm=yes`.
    package static func confirmation(
        _ message: HTML, action: String, csrf: String, fields: [(String, String)], button: String, cancel: String
    ) -> HTML {
        var h: HTML = "<div class=\"notice warning\" id=\"confirm-what\">\(message)</div>"
        h += "<form method=\"post\" action=\"\(action)\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">"
        for (k, v) in fields where k != "csrf" && k != "confirm" {
            h += "<input type=\"hidden\" name=\"\(k)\" value=\"\(v)\">"
        }
        h +=
            "<input type=\"hidden\" name=\"confirm\" value=\"yes\"><div class=\"actions\"><button type=\"submit\""
            + " class=\"danger\">\(button)</button><a class=\"button secondary\" href=\"\(cancel)\">Cancel</a></div>"
            + "</form>"
        return h
    }

    /// 429 with `Retry-After`, as a page.
    package static func slowDown(_ wait: Int, viewer: Viewer? = nil) -> Response {
        var r = notice("Slow down", "Too many attempts. Try again in \(wait) seconds.", status: 429, viewer: viewer)
        r.headers.add("Retry-After", String(wait))
        return r
    }

    package static let stylesheet = """
        :root{--fg:#1b1f24;--muted:#57606a;--accent:#0b57d0;--bad:#b3261e;--line:#d0d7de}
        *{box-sizing:border-box}[hidden]{display:none!important}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe \
        UI",sans-serif;color:var(--fg);background:#f6f8fa}
        .top{display:flex;flex-wrap:wrap;gap:.75rem;align-items:center;padding:.6rem \
        1rem;background:#fff;border-bottom:1px solid var(--line)}
        .brand{display:flex;align-items:center;gap:.5rem;font-weight:700;font-size:1.1rem;color:var(--fg);\
        text-decoration:none;margin-right:auto}.mark{width:1.6rem;height:1.6rem;border-radius:6px;background:\
        linear-gradient(135deg,#0b57d0 0 50%,#1a7f37 50% 100%);box-shadow:inset 0 0 0 3px rgba(255,255,255,.35)}
        .links{display:flex;flex-wrap:wrap;gap:.25rem}.links a{color:var(--fg);text-decoration:none;padding:.35rem \
        .6rem;border-radius:6px}.links a:hover,.links a:focus-visible{background:#eef4ff;color:var(--accent)}
        .who{display:flex;align-items:center;gap:.45rem;color:var(--muted)}.avatar{display:inline-grid;\
        place-items:center;width:2rem;height:2rem;border-radius:50%;background:#0b57d0;color:#fff;font-size:.8rem;\
        font-weight:700}
        .top button.link{color:var(--muted);text-decoration:none;border:1px solid var(--line);border-radius:6px;\
        padding:.3rem .6rem}
        .switcher{display:flex;gap:.4rem;align-items:center}.switcher label{font-weight:400;margin:0;color:var(--muted)}
        main{max-width:40rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid \
        var(--line);border-radius:8px}
        h1{font-size:1.5rem;margin-top:0}label{display:block;margin:.8rem 0 .25rem;font-weight:600}
        input,select{font:inherit;padding:.45rem .55rem;border:1px solid var(--muted);border-radius:6px;max-width:100%}
        input[type=email],input[type=password],input[type=text]{width:100%}
        button,.button{display:inline-block;font:inherit;padding:.5rem 1rem;border-radius:6px;border:1px solid \
        var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}
        button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);\
        border-color:var(--bad)}
        label.inline{display:flex;gap:.4rem;align-items:center;font-weight:400}button.link{background:none;border:0;\
        color:var(--accent);padding:0;text-decoration:underline}
        :focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
        :is(input,select,button,textarea):disabled,fieldset[disabled] :is(input,select,button,textarea){\
        color:#57606a;background-color:#eaeef2;\
        border-color:#8c959f;cursor:not-allowed;opacity:1}
        .sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        .error{color:var(--bad)}.notice{padding:.75rem;border-left:4px solid var(--accent);background:#eef4ff}
        .notice.warning{border-left-color:#b45309;background:#fff7ed}
        .actions{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:1rem}.actions form{margin:0}
        ul.cards{list-style:none;padding:0}ul.cards \
        li{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between;padding:.75rem \
        0;border-bottom:1px solid var(--line)}
        .meta{color:var(--muted);font-size:.9rem}
        main.wide{max-width:76rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}code{font-size:.9em}
        .console-head .meta{margin:0 0 .5rem}.tabs{display:flex;flex-wrap:wrap;gap:.25rem;border-bottom:1px solid \
        var(--line);margin-bottom:1rem}
        .tabs a{padding:.45rem .75rem;color:var(--fg);text-decoration:none;border-radius:6px 6px 0 0}
        .tabs a[aria-current=page]{background:#eef4ff;color:var(--accent);font-weight:600;border-bottom:3px solid \
        var(--accent)}
        .flash{padding:.6rem .75rem;border-left:4px solid #1a7f37;background:#e6f4ea}.banner{padding:.6rem \
        .75rem;border-left:4px solid #9a6700;background:#fff8c5;font-weight:600}.banner details{font-weight:400}\
        .banner ul{margin:.3rem 0}.banner p{margin:.3rem 0}
        .table-wrap{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.95rem}
        th,td{text-align:left;padding:.5rem .5rem;border-bottom:1px solid \
        var(--line);vertical-align:top}th{font-weight:600;color:var(--muted);white-space:nowrap}
        th a{color:inherit}td.check,th.check{width:2rem}
        .filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end;margin-bottom:1rem}.filters label{margin:0 \
        0 .2rem;font-weight:600;font-size:.9rem}
        .filters div{display:flex;flex-direction:column}.bulk{display:flex;flex-wrap:wrap;gap:.5rem;\
        align-items:flex-end;margin:.75rem 0;padding:.75rem;background:#f6f8fa;border-radius:6px}
        .bulk label{margin:0 0 .2rem;font-size:.9rem}.bulk div{display:flex;flex-direction:column}
        .badge{display:inline-block;padding:.05rem \
        .5rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid currentColor}
        .badge.pending{color:#9a6700}.badge.joined{color:#1a7f37}.badge.expired{color:#57606a}\
        .badge.revoked{color:var(--bad)}.badge.declined{color:#57606a}
        .pager{display:flex;gap:1rem;margin-top:1rem}.empty{padding:1rem;color:var(--muted);text-align:center}
        .panel{border:1px solid var(--line);border-radius:8px;padding:1rem;margin-top:1rem}
        .grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}.kv{display:grid;grid-template-columns:1fr \
        2fr;gap:.4rem}
        textarea{font:inherit;width:100%;padding:.45rem .55rem;border:1px solid var(--muted);border-radius:6px}
        fieldset{border:1px solid var(--line);border-radius:6px;margin:.8rem 0;min-width:0}.bulk>div{min-width:0}
        legend{font-weight:600}
        fieldset label{display:inline-flex;gap:.3rem;font-weight:400;margin:.2rem .8rem .2rem 0}
        .row-role{display:flex;gap:.3rem;margin:.3rem 0}.row-role select{width:auto;min-width:7rem}
        button.link.danger{color:var(--bad);background:none;border:0}
        fieldset.choices label{display:flex;align-items:flex-start;gap:.5rem;margin:.35rem 0}fieldset.choices \
        label>span{display:flex;flex-direction:column}fieldset.choices input{margin-top:.3rem}
        fieldset.plain{border:0;padding:0;margin:0;min-width:0}fieldset.plain legend{padding:0;margin-bottom:.25rem}
        .field-error{color:var(--bad);font-size:.9rem;margin:.2rem 0 \
        0}.m-only{display:none}.inline-form{display:inline;margin:0}
        @media (max-width:640px){.grid2,.kv{grid-template-columns:1fr}th.opt,td.opt{display:none}
        .switcher{order:5;width:100%}.switcher select{flex:1;min-width:0;width:100%}.kv \
        code{overflow-wrap:anywhere}.m-only{display:block}}
        @media (max-width:480px){main{margin:0;border-radius:0;border-left:0;border-right:0}}
        @media (max-width:640px){table:not(#members),table:not(#members) tbody{display:block}table:not(#members) \
        thead{display:none}table:not(#members) tr{display:flex;flex-wrap:wrap;align-items:center;gap:.25rem \
        .8rem;padding:.6rem 0;border-bottom:1px solid var(--line)}table:not(#members) td{display:block;border:0;\
        padding:0}table:not(#members) td.opt{display:block;color:var(--muted)}table:not(#members) \
        td:last-child:not(:first-child){flex-basis:100%}.table-wrap{overflow-x:visible}}
        @media (max-width:640px){table#members thead{display:none}table#members,table#members tbody,table#members \
        tr,table#members td{display:block}table#members tr{position:relative;padding:.6rem 0 .6rem \
        2rem;border-bottom:1px solid var(--line)}table#members td{border:0;padding:.15rem 0}table#members \
        td.check{position:absolute;left:0;top:.6rem}table#members td.opt{display:none}table#members \
        caption{display:block;text-align:left}}
        """

    /// Progressive behaviour only (the pages work without it): select-all checkboxes and copy buttons.
    package static let script = """
        document.addEventListener('DOMContentLoaded', function () {
          document.querySelectorAll('form[data-autosubmit]').forEach(function (f) { f.submit(); });
          document.querySelectorAll('input[data-select-all]').forEach(function (all) {
            all.hidden = false;
            all.addEventListener('change', function () {
              document.querySelectorAll('input[name="' + all.dataset.selectAll + '"]').forEach(function (c) { \
              c.checked = all.checked; });
            });
          });
          // Fields that belong to some actions only ("New role" to Change role) show for those actions only.
          document.querySelectorAll('select[name=action]').forEach(function (sel) {
            var form = sel.form;
            var sync = function () {
              form.querySelectorAll('[data-for]').forEach(function (f) {
                f.hidden = f.dataset.for.split(' ').indexOf(sel.value) < 0;
              });
            };
            sel.addEventListener('change', sync);
            sync();
          });
          document.querySelectorAll('[data-copy]').forEach(function (b) {
            b.hidden = false;
            b.addEventListener('click', function () {
              var done = function () { var t = b.textContent; b.textContent = 'Copied'; setTimeout(function () { \
              b.textContent = t; }, 1500); };
              if (navigator.clipboard) { navigator.clipboard.writeText(b.dataset.copy).then(done, done); } else { \
              done(); }
            });
          });
        });
        """
}
