import Foundation
import Glibc

/// Child processes for tests (openssl, xmlsec1, python, curl, the `gatehouse` binary), started with
/// `posix_spawnp` directly.
///
/// Why not Foundation's `Process`: on Linux its `run()` walks every open file descriptor of the parent to close
/// them in the child, and with the thousand-odd descriptors a long test run holds (each fixture's SQLite
/// connections and sockets), it crashed in `memmove` (SIGSEGV) — at random, whichever test spawned last. Here
/// the child gets stdin/stdout/stderr from pipes or /dev/null and nothing else is touched; our own pipe ends
/// are close-on-exec so no child inherits another's. Spawns are serialized (one `posix_spawnp` at a time).
package final class Subprocess: @unchecked Sendable {
    package let pid: pid_t
    private var outFD: Int32
    private var errFD: Int32
    private var status: Int32?
    private static let lock = NSLock()

    /// Starts `args[0]` (looked up in PATH) with `args`. `input` is written to its stdin (then closed); stdout and
    /// stderr are captured unless `discardStderr`, which sends stderr to /dev/null.
    package init(_ args: [String], input: Data? = nil, mergeStderr: Bool = false, discardStderr: Bool = false) throws {
        precondition(!args.isEmpty)
        // Pipes are made and marked close-on-exec under the same lock as the spawn: no other child can inherit
        // one in between.
        Self.lock.lock()
        var locked = true
        defer { if locked { Self.lock.unlock() } }
        func pipePair() throws -> (Int32, Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw POSIXError(.EMFILE) }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }  // only the dup2'd copies reach the child
            return (fds[0], fds[1])
        }
        let (inR, inW) = try pipePair()
        let (outR, outW) = try pipePair()
        let (errR, errW) = try pipePair()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inR, 0)
        posix_spawn_file_actions_adddup2(&actions, outW, 1)
        if discardStderr {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, mergeStderr ? outW : errW, 2)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, args[0], &actions, nil, &argv, environ)
        Self.lock.unlock()
        locked = false
        for fd in [inR, outW, errW] { close(fd) }
        guard rc == 0 else {
            for fd in [inW, outR, errR] { close(fd) }
            throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .ENOENT)
        }
        pid = child
        outFD = outR
        errFD = errR
        if let input {
            input.withUnsafeBytes { raw in
                var off = 0
                while off < raw.count {
                    let n = write(inW, raw.baseAddress! + off, raw.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        }
        close(inW)
    }

    deinit {
        if outFD >= 0 { close(outFD) }
        if errFD >= 0 { close(errFD) }
        if status == nil {
            kill(pid, SIGKILL)
            _ = waitStatus()
        }
    }

    /// Reads stdout and stderr to their end (both at once, so neither pipe can fill up and stall the child).
    package func readToEnd() -> (stdout: Data, stderr: Data) {
        var out = Data()
        var err = Data()
        var buf = [UInt8](repeating: 0, count: 65536)
        while outFD >= 0 || errFD >= 0 {
            var fds = [
                pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
            ]
            guard poll(&fds, 2, -1) > 0 else { if errno == EINTR { continue } else { break } }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buf, buf.count)
                if n > 0 {
                    if i == 0 { out.append(contentsOf: buf[0..<n]) } else { err.append(contentsOf: buf[0..<n]) }
                } else if n == 0 || errno != EINTR {
                    close(fds[i].fd)
                    if i == 0 { outFD = -1 } else { errFD = -1 }
                }
            }
        }
        return (out, err)
    }

    /// Reads what stdout has now (blocking until something arrives), or empty at its end.
    package func readSome() -> Data {
        guard outFD >= 0 else { return Data() }
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(outFD, &buf, buf.count)
            if n > 0 { return Data(buf[0..<n]) }
            if n < 0 && errno == EINTR { continue }
            return Data()
        }
    }

    package func signal(_ sig: Int32) { kill(pid, sig) }

    /// The exit status; a child killed by a signal answers 128 + the signal.
    @discardableResult
    package func wait() -> Int32 { status ?? waitStatus() }

    package var exitedNormally: Bool {
        wait() < 128
    }

    private func waitStatus() -> Int32 {
        var s: Int32 = 0
        while waitpid(pid, &s, 0) < 0 && errno == EINTR {}
        let code: Int32 = (s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f)
        status = code
        return code
    }

    /// Runs to completion: exit status, stdout, stderr.
    package static func run(
        _ args: [String], input: Data? = nil, mergeStderr: Bool = false
    ) throws -> (status: Int32, stdout: Data, stderr: Data) {
        let p = try Subprocess(args, input: input, mergeStderr: mergeStderr)
        let (out, err) = p.readToEnd()
        return (p.wait(), out, err)
    }
}
