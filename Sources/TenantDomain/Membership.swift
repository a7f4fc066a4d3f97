import Foundation

/// Where a member lands after joining or signing in. The URL of each destination is configured per deployment.
package enum StartingPage: String, Sendable, Codable, CaseIterable {
    case studio, console, portal
    case agentConsole = "agent_console"
}

/// An app role: what a member may do inside one app.
package enum AppRole: String, Sendable, Codable, CaseIterable {
    case admin, editor, viewer
}

package struct AppGrant: Sendable, Codable, Equatable, Hashable {
    package var app: String
    package var role: AppRole
    package init(app: String, role: AppRole) {
        self.app = app
        self.role = role
    }
}

package enum InviteStatus: String, Sendable, Codable, CaseIterable {
    /// `declined`: the invitee said no (it used to be stored as `revoked`, which read as withdrawn by the org).
    case pending, joined, expired, revoked, declined

    /// Pending invites past their expiry read as expired; the stored status stays pending (expiry is a
    /// function of the clock, so moving the clock is enough to test it).
    package static func effective(stored: String, expiresAt: Date, now: Date) -> InviteStatus {
        let s = InviteStatus(rawValue: stored) ?? .revoked
        if s == .pending && now >= expiresAt { return .expired }
        return s
    }
}

/// User variables: case-sensitive keys and values with limits, so a member record cannot grow without bound.
package enum UserVariables {
    package static let maxCount = 50
    package static let maxKeyLength = 64
    package static let maxValueLength = 1024

    package static func validate(_ vars: [String: String]) -> Refusal? {
        if vars.count > maxCount {
            return Refusal("invalid_user_variables", "At most \(maxCount) user variables.", status: 422)
        }
        for (k, v) in vars {
            if k.isEmpty || k.count > maxKeyLength || k.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                return Refusal(
                    "invalid_user_variables",
                    "User variable names must be 1–\(maxKeyLength) characters without control characters.", status: 422)
            }
            if v.count > maxValueLength {
                return Refusal(
                    "invalid_user_variables", "User variable values must be at most \(maxValueLength) characters.",
                    status: 422)
            }
        }
        return nil
    }
}
