import Foundation
import MDMTesting
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Runs the built `winmdm` executable the way an administrator does.
enum CLI {
    static var binary: String {
        let beside = Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("winmdm").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/winmdm").path
    }

    struct Result { var status: Int32; var out: String; var err: String }

    /// Runs the command and waits for it on a thread of its own: a test that blocked a thread of Swift's cooperative
    /// pool (two threads on a two-core machine) while a child ran would starve every in-process server of the other
    /// tests running beside it, which then miss their HTTP deadlines.
    @discardableResult
    static func run(_ args: [String], stdin: String? = nil, env: [String: String] = [:], timeout: TimeInterval = 120) async throws -> Result {
        try await offPool {
            let environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
            let child = try Spawned([binary] + args, environment: environment, input: true, errors: true)
            child.send(Array((stdin ?? "").utf8))
            guard let (out, err) = child.readAll(until: Date() + timeout) else {
                child.terminate()
                throw CocoaError(.executableLoad)
            }
            let status = child.status(wait: true) ?? -1
            return Result(status: status, out: String(decoding: out, as: UTF8.self), err: String(decoding: err, as: UTF8.self))
        }
    }

    /// Runs blocking work (waiting on a child, polling its pipes) on a new thread rather than the cooperative pool.
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Swift.Result { try work() }) }.start()
        }
    }

    /// A new data directory and a free loopback port for a `winmdm serve` of its own; `remove()` deletes the directory.
    struct Site {
        let dir: String
        let port: Int
        var url: String { "https://localhost:\(port)" }
        /// `--data-dir` for the commands run next to the server.
        var common: [String] { ["--data-dir", dir] }
        /// What `serve` is given to run here.
        var serveArguments: [String] { common + ["--listen", "127.0.0.1:\(port)", "--public-url", url] }

        init(_ prefix: String) throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
            port = try FreePort.find()
        }

        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// A running `winmdm serve`, stopped with SIGTERM.
    final class Server: @unchecked Sendable {
        let process: Spawned
        var banner = ""

        /// Starts `serve` and waits (up to 60 s, off the cooperative pool) for its banner.
        init(_ args: [String]) async throws {
            let process = try Spawned([CLI.binary, "serve"] + args, input: false, errors: false)
            let fd = process.output
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            self.process = process
            // The banner's own line (the HTTP server logs "listening on" too, just before it).
            banner = try await CLI.offPool { Self.read(process, until: "  listening on:", seconds: 60, whileRunning: true) }
        }

        /// Reads what the server printed after its banner, for up to `seconds`, until `until` appears.
        func output(until: String, seconds: TimeInterval = 10) async -> String {
            let process = self.process
            return (try? await CLI.offPool { Self.read(process, until: until, seconds: seconds, whileRunning: false) }) ?? ""
        }

        private static func read(_ process: Spawned, until: String, seconds: TimeInterval, whileRunning: Bool) -> String {
            var text = ""
            let deadline = Date() + seconds
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !text.contains(until), Date() < deadline, !whileRunning || process.isRunning {
                let n = Glibc.read(process.output, &buffer, buffer.count)
                if n > 0 { text += String(decoding: buffer[0..<n], as: UTF8.self) } else { Thread.sleep(forTimeInterval: 0.05) }
            }
            return text
        }

        func stop() -> Int32 { process.terminate() }
    }
}

@Suite(.serialized) struct CLITests {
    @Test func serveEnrollAndInspectThroughTheCommandLine() async throws {
        let site = try CLI.Site("winmdm-cli")
        defer { site.remove() }
        let (dir, port, common) = (site.dir, site.port, site.common)
        let server = try await CLI.Server(site.serveArguments)
        #expect(server.banner.contains("First run: created"), "\(server.banner)")
        #expect(server.banner.contains("verified domains: winmdm.test"))
        for secret in ["admin-token", "federation-key", "pki/device-ca-key.pem", "pki/tls-ca-key.pem", "pki/tls-key.pem"] {
            let mode = try FileManager.default.attributesOfItem(atPath: dir + "/" + secret)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(secret) has mode \(String(mode ?? 0, radix: 8))")
        }

        // Users are added while the server runs, from another process.
        let add = try await CLI.run(["users", "add", "alice@winmdm.test", "--password", "-", "--license", "WINMDM_STANDARD"] + common, stdin: "Correct horse 1\n")
        #expect(add.status == 0 && add.out.contains("Added alice@winmdm.test"), "\(add.err)")
        let foreign = try await CLI.run(["users", "add", "bob@contoso.com", "--password", "Correct horse 1"] + common)
        #expect(foreign.out.contains("not a verified domain"))

        let server1 = "https://localhost:\(port)"
        let ok = try await CLI.run(["emulate", "--server", server1, "--upn", "alice@winmdm.test", "--password", "Correct horse 1",
                              "--count", "3", "--concurrency", "2"] + common)
        #expect(ok.status == 0 && ok.out.contains("Enrolled 3 of 3"), "\(ok.out)\(ok.err)")

        let bad = try await CLI.run(["emulate", "--server", server1, "--upn", "alice@winmdm.test", "--password", "wrong password"] + common)
        #expect(bad.status == 1)
        #expect(bad.out.contains("Failed 1 with 0x80180002 during policy"), "\(bad.out)")

        let json = try await CLI.run(["attempts", "list", "--failed", "--json"] + common)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]])
        let failed = try #require(list.first)
        #expect((failed["fault"] as? [String: Any])?["subcode"] as? String == "Authentication")
        let id = try #require(failed["id"] as? String)
        let show = try await CLI.run(["attempts", "show", id] + common)
        #expect(show.out.contains("Device saw        0x80180002"), "\(show.out)")
        #expect(show.out.contains("The password for alice@winmdm.test is wrong."))
        #expect(!show.out.contains("wrong password"), "the typed password must not be kept")

        let devices = try await CLI.run(["devices", "list", "--user", "alice@winmdm.test", "--json"] + common)
        #expect((try JSONSerialization.jsonObject(with: Data(devices.out.utf8)) as? [Any])?.count == 3)
        let users = try await CLI.run(["users", "list"] + common)
        #expect(users.out.contains("alice@winmdm.test") && !users.out.contains("scrypt"))

        #expect(server.stop() == 0, "clean shutdown on SIGTERM")

        // A second run reuses everything.
        let again = try await CLI.Server(site.serveArguments)
        #expect(!again.banner.contains("First run"), "\(again.banner)")
        let more = try await CLI.run(["emulate", "--server", server1, "--upn", "alice@winmdm.test", "--password", "Correct horse 1"] + common)
        #expect(more.status == 0, "\(more.out)")
        #expect(again.stop() == 0)
    }

    /// A profile made, assigned and checked from the command line; an emulated device applies it over HTTPS.
    @Test func profilesThroughTheCommandLine() async throws {
        let site = try CLI.Site("winmdm-cli")
        defer { site.remove() }
        let common = site.common
        let server = try await CLI.Server(site.serveArguments)
        defer { _ = server.stop() }
        try await CLI.run(["users", "add", "pat@winmdm.test", "--password", "Correct horse 1", "--license", "WINMDM_STANDARD"] + common)
        try await CLI.run(["groups", "create", "Finance"] + common)
        try await CLI.run(["groups", "add-member", "Finance", "pat@winmdm.test"] + common)
        let camera = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
        #expect(try await CLI.run(["profiles", "create", "Lockdown"] + common).status == 0)
        let bad = try await CLI.run(["profiles", "set", "Lockdown", camera, "--format", "int", "--value", "no"] + common)
        #expect(bad.status != 0 && bad.err.contains("is not an integer"), "\(bad.err)")
        let set = try await CLI.run(["profiles", "set", "Lockdown", camera, "--format", "int", "--value", "0", "--name", "No camera"] + common)
        #expect(set.status == 0 && set.out.contains("version 2"), "\(set.out)\(set.err)")
        let missing = try await CLI.run(["profiles", "assign", "Lockdown", "Nobody"] + common)
        #expect(missing.status != 0)
        let assign = try await CLI.run(["profiles", "assign", "Lockdown", "Finance"] + common)
        #expect(assign.out.contains("assigned to Finance"), "\(assign.out)\(assign.err)")
        let emulate = try await CLI.run(["emulate", "--server", site.url, "--upn", "pat@winmdm.test", "--password", "Correct horse 1",
                                   "--lifecycle"] + common)
        #expect(emulate.status == 0, "\(emulate.out)\(emulate.err)")
        let status = try await CLI.run(["profiles", "status", "Lockdown"] + common)
        #expect(status.out.contains("succeeded") && status.out.contains(camera), "\(status.out)")
        let show = try await CLI.run(["profiles", "show", "Lockdown"] + common)
        #expect(show.out.contains("1 succeeded") && show.out.contains("No camera"), "\(show.out)")
        let list = try await CLI.run(["profiles", "list", "--json"] + common)
        #expect((try JSONSerialization.jsonObject(with: Data(list.out.utf8)) as? [Any])?.count == 1)
        #expect(try await CLI.run(["profiles", "conflicts"] + common).out.contains("No conflicts"))
        // The Enrollment Status Page: create one for Finance that waits for Lockdown only.
        let esp = try await CLI.run(["esp", "create", "--name", "Finance setup", "--blocking", "Lockdown", "--timeout", "45",
                               "--message", "Call IT on x1234", "--allow-reset", "yes", "--group", "Finance"] + common)
        #expect(esp.status == 0 && esp.out.contains("waits for: Lockdown") && esp.out.contains("Reset device, Try again"), "\(esp.out)\(esp.err)")
        let forever = try await CLI.run(["esp", "create", "--name", "Forever", "--timeout", "0"] + common)
        #expect(forever.status != 0 && forever.err.contains("1 to 1440"), "\(forever.err)")
        let ghost = try await CLI.run(["esp", "edit", "Finance setup", "--add-blocking", "No such profile"] + common)
        #expect(ghost.status != 0 && ghost.err.contains("No such profile"), "\(ghost.err)")
        let pages = try await CLI.run(["esp", "list"] + common)
        #expect(pages.out.contains("Finance setup") && pages.out.contains("not shown") && !pages.out.contains("Forever"), "\(pages.out)")
        let edited = try await CLI.run(["esp", "edit", "Default", "--show", "yes", "--block-on", "selected"] + common)
        #expect(edited.out.contains("waits for: none"), "\(edited.out)")
        #expect(!(try await CLI.run(["restrictions", "list"] + common).out.contains("Finance setup")), "pages are not enrollment restrictions")
        // A compliance policy the device cannot meet: doctor and compliance status say why.
        let policy = try await CLI.run(["compliance", "create", "Future Windows", "--os-min", "10.0.99999"] + common)
        #expect(policy.status == 0, "\(policy.err)")
        #expect(try await CLI.run(["compliance", "create", "Eleven", "--os-min", "11"] + common).status != 0)
        try await CLI.run(["compliance", "assign", "Future Windows", "all-users"] + common)
        let doctor = try await CLI.run(["doctor", "--user", "pat@winmdm.test"] + common)
        #expect(doctor.out.contains("nonCompliant") && doctor.out.contains("older than the minimum 10.0.99999"), "\(doctor.out)")
        let compliance = try await CLI.run(["compliance", "status", "--json"] + common)
        #expect(compliance.out.contains("\"complianceState\" : \"nonCompliant\"") || compliance.out.contains("\"complianceState\":\"nonCompliant\""), "\(compliance.out)")
    }

    @Test func wrongCommandsSayWhatWouldBeAccepted() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--data-dir", dir]
        // Only serve and init create an installation: anything else run where there is none says so and changes nothing.
        let nowhere = try await CLI.run(["users", "list"] + common)
        #expect(nowhere.status == 69 && nowhere.err.contains("No winmdm installation in") && nowhere.err.contains("--data-dir"), "\(nowhere.err)")
        #expect(!nowhere.err.contains("Usage:") && !FileManager.default.fileExists(atPath: dir + "/winmdm.sqlite"))
        let created = try await CLI.run(["init"] + common)
        #expect(created.status == 0 && created.err.contains("Initialised a new installation"), "\(created.err)")
        #expect(try await CLI.run(["init"] + common).out.contains("already holds an installation"))
        let cases: [([String], String)] = [
            (["users", "add", "alice", "--password", "Correct horse 1"], "expected the form name@domain.example"),
            (["users", "add", "alice@winmdm.test", "--password", "short"], "at least 8 characters"),
            (["attempts", "show", "no-such-attempt"], "winmdm attempts list"),
            (["settings", "auth-policy", "kerberos"], "use OnPremise or Federated"),
            (["serve", "--listen", "nowhere"], "is not HOST:PORT"),
            (["serve", "--public-url", "ftp://x"], "is not an absolute https URL"),
            (["emulate", "--server", "x", "--upn", "a@b.c", "--password", "p"], "is not a URL like https://"),
            (["attempts", "list", "--limit", "0"], "--limit must be a positive number"),
            (["serve", "--plain-http", "--client-cert-header", "X-Client-Cert"], "needs at least one --trusted-proxy"),
            (["serve", "--certificate-validity", "12h"], "must be a duration from 1d to 5 years"),
            (["bench", "checkin", "--devices", "0"], "--devices must be between 1 and 2000000"),
            (["users", "list", "--database-url", "mysql://db/x"], "is not a PostgreSQL URL"),
        ]
        for (args, message) in cases {
            let r = try await CLI.run(args + common)
            #expect(r.status != 0, "\(args) succeeded")
            #expect((r.err + r.out).contains(message), "\(args): \(r.err)")
        }
        try await CLI.run(["users", "add", "alice@winmdm.test", "--password", "Correct horse 1"] + common)
        let dup = try await CLI.run(["users", "add", "ALICE@winmdm.test", "--password", "Correct horse 1"] + common)
        #expect(dup.status != 0 && dup.err.contains("already exists"))
        // Domain errors: the message and a code of their own (65 refused, 66 not found), never the usage block.
        #expect(dup.status == 65 && !dup.err.contains("Usage:"), "\(dup.status) \(dup.err)")
        let missing = try await CLI.run(["users", "show", "nobody@winmdm.test"] + common)
        #expect(missing.status == 66 && missing.err.hasPrefix("Error: No user nobody@winmdm.test") && !missing.err.contains("Usage:"), "\(missing.err)")
        // Wrong flags still get the usage (64).
        #expect(try await CLI.run(["users", "add", "--bogus"] + common).status == 64)
        // Typos in winmdm.json and WINMDM_* variables are refused with the nearest valid name, not silently ignored.
        try Data(#"{"publicUrl": "https://localhost:9", "certificateValidty": "3d"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/winmdm.json"))
        let typo = try await CLI.run(["users", "list"] + common)
        #expect(typo.status != 0 && typo.err.contains("publicUrl (did you mean publicURL?)") && typo.err.contains("certificateValidty (did you mean certificateValidity?)"), "\(typo.err)")
        try FileManager.default.removeItem(atPath: dir + "/winmdm.json")
        let env = try await CLI.run(["users", "list"] + common, env: ["WINMDM_PUBLIC_ULR": "https://x"])
        #expect(env.status != 0 && env.err.contains("WINMDM_PUBLIC_ULR (did you mean WINMDM_PUBLIC_URL?)"), "\(env.err)")
        #expect(try await CLI.run(["users", "list"] + common).status == 0)
        let version = try await CLI.run(["--version"])
        #expect(version.status == 0 && version.out.first?.isNumber == true, "\(version.out)")
    }

    /// A backup is a database the server can start from; a migration copies every row and refuses a target in use.
    @Test func backupAndMigrateDatabase() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let none = try await CLI.run(["backup", dir + "/nothing.sqlite", "--data-dir", dir])
        #expect(none.status != 0 && none.err.contains("There is no database"), "\(none.err)")
        try await CLI.run(["init", "--data-dir", dir])
        try await CLI.run(["users", "add", "kept@winmdm.test", "--password", "Correct horse 1", "--data-dir", dir])
        let backup = dir + "/backup.sqlite"
        let b = try await CLI.run(["backup", backup, "--data-dir", dir])
        #expect(b.status == 0, "\(b.err)")
        let again = try await CLI.run(["backup", backup, "--data-dir", dir])
        #expect(again.status != 0 && again.err.contains("never overwrites"))
        // The backup, put in a data directory of its own, is a working installation with the user in it.
        let restored = dir + "/restored"
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: backup, toPath: restored + "/winmdm.sqlite")
        #expect(try await CLI.run(["users", "list", "--data-dir", restored]).out.contains("kept@winmdm.test"))
        // Migrating into a new SQLite file prints every table's count; a second run finds the target in use.
        let target = dir + "/migrated.sqlite"
        let m = try await CLI.run(["migrate-database", "--to", target, "--data-dir", dir])
        let usersLine = m.out.split(separator: "\n").first { $0.hasPrefix("users ") }
        #expect(m.status == 0 && usersLine?.hasSuffix(" 1") == true && m.out.contains("restrictions") && m.out.contains("same number of rows"), "\(m.out)\(m.err)")
        let twice = try await CLI.run(["migrate-database", "--to", target, "--data-dir", dir])
        #expect(twice.status != 0 && twice.err.contains("exists"), "\(twice.err)")
    }

    /// The benchmarks start a real `winmdm serve` on a scratch installation and drive it over HTTPS.
    @Test func theCheckInBenchmarkRunsAndCountsStatements() async throws {
        let r = try await CLI.run(["bench", "checkin", "--devices", "30", "--sample", "3", "--checkins", "60", "--concurrency", "2"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("SQL statements per idle check-in: 2.00") && r.out.contains("USING INDEX enrollments_thumbprint"), "\(r.out)")
        #expect(r.out.contains("limit: bare HTTPS round trip") && r.out.contains("server RSS:"), "\(r.out)")
    }

    @Test func theEnrollmentBenchmarkRunsOneAccountThroughTheServer() async throws {
        let r = try await CLI.run(["bench", "enroll", "--enrollments", "12", "--devices", "4", "--concurrency", "2"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("enroll: 12 enrollments by one account (re-enrolling 4 PCs)") && r.out.contains("RSA-2048 digests/s"), "\(r.out)")
        #expect(r.out.contains("SQL statements per enrollment:"), "\(r.out)")
    }
}
