import Foundation
import MDMTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, with pipes for what the test gives and reads. Foundation's Process.run
/// can crash on Linux while it scans /proc/self/fd (swift-corelibs-foundation#5472), which a test suite that starts a
/// few hundred processes next to many open sockets hits now and then; this does not scan anything.
final class Spawned: @unchecked Sendable {
    let pid: pid_t
    /// Our ends of the pipes (-1 where the child has /dev/null). Close-on-exec, so no other child inherits them.
    private(set) var input: Int32
    let output: Int32
    let errors: Int32
    private var reaped: Int32?

    struct Failed: Error, CustomStringConvertible { let description: String }

    /// Pipes are made and marked close-on-exec under this lock, and children spawned under it too, so no child of
    /// another test inherits a pipe of ours in between (its end would keep ours from ever reading the end of output).
    private static let spawning = NSLock()

    init(_ argv: [String], environment: [String: String]? = nil, input wantInput: Bool, errors wantErrors: Bool) throws {
        Self.spawning.lock()
        defer { Self.spawning.unlock() }
        func pipePair() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw Failed(description: "pipe: \(String(cString: strerror(errno)))") }
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        let inPipe = wantInput ? try pipePair() : nil
        let outPipe = try pipePair()
        let errPipe = wantErrors ? try pipePair() : nil
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(argv, environment: env) { actions in
                if let inPipe { posix_spawn_file_actions_adddup2(&actions, inPipe.read, 0) } else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
                posix_spawn_file_actions_adddup2(&actions, outPipe.write, 1)
                if let errPipe { posix_spawn_file_actions_adddup2(&actions, errPipe.write, 2) } else { posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) }
            }
        } catch {
            for fd in [inPipe?.read, outPipe.write, errPipe?.read, inPipe?.write, outPipe.read, errPipe?.write].compactMap({ $0 }) { close(fd) }
            throw Failed(description: "\(error)")
        }
        // The child's ends are the child's now.
        for fd in [inPipe?.read, outPipe.write, errPipe?.write].compactMap({ $0 }) { close(fd) }
        self.pid = pid
        self.input = inPipe?.write ?? -1
        self.output = outPipe.read
        self.errors = errPipe?.read ?? -1
    }

    deinit {
        for fd in [input, output, errors] where fd >= 0 { close(fd) }
    }

    /// Writes everything to the child's standard input, then closes it.
    func send(_ bytes: [UInt8]) {
        guard input >= 0 else { return }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        close(input)
        input = -1
    }

    /// Reads standard output and error until both end or the deadline passes (then nil).
    func readAll(until deadline: Date) -> (out: [UInt8], err: [UInt8])? {
        var out: [UInt8] = [], err: [UInt8] = []
        var open = [output, errors].filter { $0 >= 0 }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return nil }
            var polls = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polls, nfds_t(polls.count), Int32(min(left, 1) * 1000))
            if ready < 0 && errno != EINTR { return nil }
            for p in polls where p.revents != 0 {
                let n = read(p.fd, &buffer, buffer.count)
                if n > 0 {
                    if p.fd == output { out += buffer[0..<n] } else { err += buffer[0..<n] }
                } else if n == 0 || errno != EINTR {
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        return (out, err)
    }

    /// The exit status (128 + signal when killed) once the child ended; nil while it runs, unless `wait`.
    func status(wait: Bool = false) -> Int32? {
        if let reaped { return reaped }
        var st: Int32 = 0
        let r = waitpid(pid, &st, wait ? 0 : WNOHANG)
        guard r == pid else { return nil }
        let code = (st & 0x7f) == 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f)
        reaped = code
        return code
    }

    var isRunning: Bool { status() == nil }

    /// SIGTERM, then the exit status.
    @discardableResult
    func terminate() -> Int32 {
        if isRunning { kill(pid, SIGTERM) }
        return status(wait: true) ?? -1
    }
}

@Suite struct SpawnedTests {
    /// A child gets its standard input, output and error and nothing else of ours, not even a listening socket:
    /// one it inherited would keep a test server's port taken after the server closed it.
    @Test func aChildInheritsNoOtherDescriptor() async throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(listener > 2)
        defer { close(listener) }
        let child = try Spawned(["/bin/ls", "/proc/self/fd"], input: false, errors: true)
        let output = try #require(child.readAll(until: Date() + 30))
        #expect(child.status(wait: true) == 0)
        // ls itself opens one descriptor (3) to read the directory.
        let fds = String(decoding: output.out, as: UTF8.self).split(whereSeparator: \.isNewline).compactMap { Int($0) }
        #expect(fds.filter { $0 > 3 }.isEmpty, "the child holds \(fds)")
    }
}
