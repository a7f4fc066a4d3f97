import Foundation
import GatehouseCore
import Mail

/// The words of Gatehouse's mail, per outbox kind: `invite` (including an org's first owner), `invite_resent`,
/// and `added` (after someone joined). Each has a text and an HTML part; every value from users is
/// HTML-escaped in the HTML part.
enum MailTemplates {
    struct Content {
        var subject: String
        var text: String
        var html: String
    }

    /// The inviter is named with their verified email beside the name (a name is whatever its owner typed), and
    /// names are never turned into links.
    static func invite(
        org: String, inviter name: String, inviterEmail: String, roles: String, link: String, expires: Date,
        reminder: Bool
    ) -> Content {
        let inviter = inviterEmail.isEmpty || inviterEmail == name ? name : "\(name) (\(inviterEmail))"
        let expiry = CivilTime.exact(expires)
        let subject =
            reminder ? "Reminder: \(inviter) invited you to join \(org)" : "\(inviter) invited you to join \(org)"
        let text = """
            \(inviter) invited you to join \(org) on Gatehouse as \(roles).

            Accept the invitation:
            \(link)

            The link works until \(expiry) and only for this email \
            address.\(reminder ? " Earlier links for this invitation no longer work." : "")
            If you did not expect this, ignore this message.
            """
        let html = page(
            """
            <p><strong>\(inviter)</strong> invited you to join <strong>\(org)</strong> on Gatehouse as \(roles).</p>
            <p><a href="\(link)" style="display:inline-block;padding:10px \
            18px;background:#1f4fd1;color:#fff;border-radius:6px;text-decoration:none">Accept the invitation</a></p>
            <p style="color:#555">Or paste this link into your browser: <span \
            style="word-break:break-all">\(link)</span></p>
            <p style="color:#555">The link works until \(expiry) and only for this email \
            address.\(reminder ? " Earlier links for this invitation no longer work." : "")
            If you did not expect this, ignore this message.</p>
            """)
        return Content(subject: subject, text: text, html: html)
    }

    static func inviteCode(org: String, code: String) -> Content {
        let text = """
            Your code to create your Gatehouse account and join \(org) is:

            \(code)

            It works for about 10 minutes. If you did not ask for it, ignore this message.
            """
        let html = page(
            """
            <p>Your code to create your Gatehouse account and join <strong>\(org)</strong> is:</p>
            <p style="font-size:24px;letter-spacing:4px"><strong>\(code)</strong></p>
            <p style="color:#555">It works for about 10 minutes. If you did not ask for it, ignore this message.</p>
            """)
        return Content(subject: "Your code to join \(org)", text: text, html: html)
    }

    static func ssoLinkCode(org: String, code: String) -> Content {
        let text = """
            Your code to link your Gatehouse account to \(org)'s single sign-on is:

            \(code)

            It works for about 10 minutes. If you did not just sign in through \(org), ignore this message: without
            the code nothing is linked.
            """
        let html = page(
            """
            <p>Your code to link your Gatehouse account to <strong>\(org)</strong>'s single sign-on is:</p>
            <p style="font-size:24px;letter-spacing:4px"><strong>\(code)</strong></p>
            <p style="color:#555">It works for about 10 minutes. If you did not just sign in through \(org), ignore \
            this message:
            without the code nothing is linked.</p>
            """)
        return Content(subject: "Your code to link your account to \(org)", text: text, html: html)
    }

    static func added(org: String, roles: String, link: String) -> Content {
        let text = """
            You are now a member of \(org) on Gatehouse, as \(roles).

            Sign in: \(link)
            """
        let html = page(
            """
            <p>You are now a member of <strong>\(org)</strong> on Gatehouse, as \(roles).</p>
            <p><a href="\(link)">Sign in</a></p>
            """)
        return Content(subject: "You were added to \(org)", text: text, html: html)
    }

    /// The answer to an org's request that the region register an agency.
    static func agencyRequest(org: String, agency: String, approved: Bool, reason: String) -> Content {
        let outcome =
            approved
            ? "was approved: \(agency) now works for \(org). Grant its people app access from Org settings →"
                + " Agency."
            : "was declined\(reason.isEmpty ? "." : ": \(reason)")"
        let text = """
            Your request to register the agency \(agency) for \(org) \(outcome)
            """
        let html = page("<p>Your request to register the agency <strong>\(agency)</strong> for \(org) \(outcome)</p>")
        return Content(
            subject: "Agency \(agency): request \(approved ? "approved" : "declined")", text: text, html: html)
    }

    static func page(_ body: HTML) -> String {
        let html: HTML =
            "<!doctype html><html><body"
            + " style=\"font-family:system-ui,sans-serif;font-size:15px;color:#111;max-width:560px\">\(body)"
            + "</body></html>"
        return html.text
    }
}
