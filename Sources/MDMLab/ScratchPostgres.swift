import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL server for tests and benchmarks, and a fresh database on it for each caller.
///
/// `WINMDM_TEST_POSTGRES_URL` names a running server (CI starts one); otherwise the first caller starts a throwaway
/// cluster (`initdb` and `pg_ctl` of the installed PostgreSQL) in a temporary directory on a free loopback port, as
/// the unprivileged `postgres` user when running as root, and stops it when the process exits. Each `database()`
/// is a new, empty database on that server, so tests never see each other's rows.
public enum ScratchPostgres {
    public struct Unavailable: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "PostgreSQL is not available for this test: \(reason)" }
    }

    /// Where the server is, or why there is none.
    static let server: Result<String, Unavailable> = {
        if let url = ProcessInfo.processInfo.environment["WINMDM_TEST_POSTGRES_URL"], !url.isEmpty { return .success(url) }
        do { return .success(try startCluster()) } catch let e as Unavailable { return .failure(e) } catch {
            return .failure(Unavailable(reason: "\(error)"))
        }
    }()

    /// Whether tests that need PostgreSQL must run (CI sets `CI`): then a missing server fails them instead of
    /// skipping them.
    public static var required: Bool { ProcessInfo.processInfo.environment["CI"] != nil }

    /// True when a server is running or could be started.
    public static var available: Bool { (try? server.get()) != nil }

    /// The URL of a new, empty database.
    public static func database(_ prefix: String = "winmdm_test") throws -> String {
        let base = try server.get()
        let name = "\(prefix)_\(UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: ""))"
        try run(try tool("psql"), [base, "-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE \(name)"])
        guard var c = URLComponents(string: base) else { throw Unavailable(reason: "'\(base)' is not a URL") }
        c.path = "/" + name
        return c.string ?? base
    }

    static func tool(_ name: String) throws -> String {
        let fm = FileManager.default
        let roots = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        for r in roots where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(r)/bin/\(name)") { return "/usr/lib/postgresql/\(r)/bin/\(name)" }
        for d in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") where fm.isExecutableFile(atPath: "\(d)/\(name)") {
            return "\(d)/\(name)"
        }
        throw Unavailable(reason: "\(name) is not installed (Debian: apt-get install postgresql)")
    }

    /// Runs a program and returns its output; throws with its output when it fails. Spawned and reaped directly
    /// (posix_spawn, waitpid), with output to a file: a server it starts keeps no pipe of ours open, and nothing
    /// waits on Foundation's child monitoring, which can stall while a test runner is starting.
    @discardableResult
    static func run(_ program: String, _ args: [String], as user: String? = nil) throws -> String {
        let argv = user.map { ["/usr/sbin/runuser", "-u", $0, "--", program] } ?? [program]
        let all = argv + args
        let log = "/tmp/winmdm-pg-run-\(getpid())-\(UUID().uuidString.prefix(8)).log"
        defer { unlink(log) }
        let pid: pid_t
        do { pid = try ChildProcess.spawn(all, output: log) } catch { throw Unavailable(reason: "\(error)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, spelled out (the C macros are not imported).
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw Unavailable(reason: "\(all.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    nonisolated(unsafe) static var started: (pgctl: String, dir: String, user: String?)?

    static func startCluster() throws -> String {
        let initdb = try tool("initdb"), pgctl = try tool("pg_ctl")
        let user: String? = getuid() == 0 ? "postgres" : nil
        let dir = "/tmp/winmdm-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let user { try run("/bin/chown", [user, dir]) }
        try run(initdb, ["-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], as: user)
        let port = try FreePort.find()
        try run(pgctl, ["-D", dir + "/data", "-l", dir + "/log", "-w", "-t", "60",
                        "-o", "-h 127.0.0.1 -p \(port) -k \(dir) -F -c max_connections=300", "start"], as: user)
        started = (pgctl, dir, user)
        atexit {
            guard let s = ScratchPostgres.started else { return }
            _ = try? ScratchPostgres.run(s.pgctl, ["-D", s.dir + "/data", "-m", "immediate", "stop"], as: s.user)
            try? FileManager.default.removeItem(atPath: s.dir)
        }
        return "postgres://postgres@127.0.0.1:\(port)/postgres"
    }
}

/// Starting a program without Foundation's Process: spawned directly, stdin from /dev/null, stdout and stderr into
/// a file, so the child keeps no pipe of ours open and nothing depends on Foundation's child monitoring.
public enum ChildProcess {
    public struct SpawnFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `argv[0]` with `argv` and `environment` (ours when nil) and returns its pid; the caller reaps it.
    public static func spawn(_ argv: [String], environment: [String]? = nil, output log: String) throws -> pid_t {
        try spawn(argv, environment: environment) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), looked up at run time because the Glibc
    /// module does not import it.
    static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// Starts `argv[0]` with the standard input, output and error that `arrange` sets up in the file actions, and
    /// nothing else of ours: every other descriptor is closed in the child. Sockets SwiftNIO opens are not
    /// close-on-exec, so without this a child would keep a test server's listening socket open after the server
    /// closed it, and the server could not listen on its port again while the child lived.
    public static func spawn(_ argv: [String], environment: [String]? = nil,
                             arrange: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        arrange(&actions)
        if let closeFrom = addCloseFrom { _ = closeFrom(&actions, 3) }
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc: Int32
        if let environment {
            var cenv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
            defer { for e in cenv { free(e) } }
            rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, &cenv)
        } else {
            rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        }
        guard rc == 0 else { throw SpawnFailed(description: "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }
}

/// Free loopback ports for test servers, benchmarks and scratch databases.
///
/// A port is chosen below the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`), so no outgoing
/// connection of a concurrently running test can take it as its source port between the moment it is found and the
/// moment a server binds it (or binds it again, as a test that starts the same server twice does). Each port is
/// handed out once per process, and is checked free by a bind without SO_REUSEADDR, so a port that still has
/// connections in TIME_WAIT is passed over.
public enum FreePort {
    /// The next candidate; starts at a random place so concurrent test processes rarely probe the same ports.
    nonisolated(unsafe) static var next = 0
    static let lock = NSLock()

    public static func find() throws -> Int {
        let (low, high) = range()
        lock.lock()
        defer { lock.unlock() }
        if next == 0 { next = Int.random(in: low..<high) }
        for _ in low..<high {
            let port = next
            next = next + 1 >= high ? low : next + 1
            if bindable(port) { return port }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// Ports from 20000 up to the start of the ephemeral range (32768 on Linux by default).
    static func range() -> (Int, Int) {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let ephemeralLow = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.flatMap { Int($0) } ?? 32768
        return ephemeralLow > 21000 ? (20000, ephemeralLow) : (10000, 20000)
    }

    static func bindable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
