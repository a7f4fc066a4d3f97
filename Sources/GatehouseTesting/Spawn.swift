import Foundation

/// One process started at a time, for every test module in the test binary.
///
/// Why: Foundation's `Process.run()` on Linux crashed (SIGSEGV in `memcpy`) when two tests spawned `openssl`
/// and `xmlsec1` at the same moment. Only the spawn is serialized; the processes then run side by side.
public enum Spawn {
    private static let lock = NSLock()

    public static func start(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }

    /// Runs `/usr/bin/env args…` to completion; its exit status and standard output (stdin from `input`).
    @discardableResult
    public static func run(_ args: [String], input: Data? = nil) throws -> (status: Int32, output: Data) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        let inPipe = input.map { _ in Pipe() }
        if let inPipe { p.standardInput = inPipe }
        try start(p)
        if let inPipe, let input {
            inPipe.fileHandleForWriting.write(input)
            try inPipe.fileHandleForWriting.close()
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, data)
    }
}
