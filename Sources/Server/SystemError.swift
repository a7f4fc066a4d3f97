internal import CShims
import Glibc

/// A failed system call: the call's name and errno.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let call: String
    public let errno: Int32
    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }

    static func last(_ call: String) -> SystemError { SystemError(call: call, errno: gh_errno()) }
}
