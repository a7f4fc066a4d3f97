internal import CShims
import Glibc

/// A failed system call: the call's name and errno.
package struct SystemError: Error, Sendable, CustomStringConvertible {
    package let call: String
    package let errno: Int32
    package var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }

    static func last(_ call: String) -> SystemError { SystemError(call: call, errno: gh_errno()) }
}
