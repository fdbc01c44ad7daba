import ArgumentParser
import Foundation
import MDMPKI
import MDMStorage
import MDMEmulator

/// `winmdm status`: is this installation healthy? Each check says ok, warning or problem, and what to do.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a running installation: database, certificates' expiry, key permissions, disk space, the public URL.",
        discussion: "Exits 0 when every check is ok, 1 when one is a warning or a problem.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Seconds to wait for the public URL (default 5).") var timeout: Int = 5
    @Flag(help: "Print JSON.") var json = false

    struct Check: Encodable {
        enum Level: String, Encodable { case ok, warning, problem }
        var name: String
        var level: Level
        var detail: String
    }

    func run() async throws {
        let cfg = try ResolvedConfiguration.resolve(common)
        var checks: [Check] = []
        func add(_ name: String, _ level: Check.Level, _ detail: String) { checks.append(Check(name: name, level: level, detail: detail)) }

        // The database, and what it holds.
        let runtime = try await Runtime.open(cfg)
        do {
            let version = try await runtime.store.schemaVersion()
            let counts = try await runtime.store.operationalCounts()
            func n(_ k: Int, _ one: String, _ many: String) -> String { "\(k) \(k == 1 ? one : many)" }
            add("database", .ok, "\(runtime.store.location): schema \(version), \(n(counts.activeEnrollments, "enrolled device", "enrolled devices")), \(n(counts.queuedCommands, "command", "commands")) queued, \(counts.sentCommands) awaiting an answer")
        } catch {
            add("database", .problem, "\(runtime.store.location) cannot be read: \(error)")
        }
        await runtime.close()

        // Certificates: the device CA (every device's identity chains to it), the TLS CA and the served certificate.
        let pki = cfg.dataDir.appendingPathComponent("pki")
        let now = Date()
        var files: [(String, String)] = [("device CA", pki.appendingPathComponent("device-ca.pem").path)]
        if cfg.tlsCert == nil { files.append(("TLS CA", pki.appendingPathComponent("tls-ca.pem").path)) }
        if !cfg.plainHTTP { files.append(("TLS certificate", cfg.tlsCert ?? pki.appendingPathComponent("tls-cert.pem").path)) }
        for (name, path) in files {
            guard FileManager.default.fileExists(atPath: path) else {
                add(name, .problem, "\(path) is missing; winmdm serve creates it on its first start (or give --tls-cert)."); continue
            }
            do {
                guard let first = try CertificateFile.read(path).first else { add(name, .problem, "\(path) holds no certificate."); continue }
                let days = Int(first.notAfter.timeIntervalSince(now) / 86400)
                let when = "expires \(first.notAfter.short) (\(days) days)"
                if first.notAfter < now {
                    add(name, .problem, "\(path) expired \(first.notAfter.short). \(Self.renewal(name))")
                } else if days < 30 {
                    add(name, .warning, "\(path) \(when). \(Self.renewal(name))")
                } else {
                    add(name, .ok, "\(path) \(when)")
                }
            } catch {
                add(name, .problem, "\(path) cannot be read as PEM certificates: \(error)")
            }
        }

        // Secrets readable by no one else.
        for name in DataDirectory.keyFiles + ["admin-token", "federation-key", "secret-key", "initial-admin"] {
            let path = cfg.dataDir.appendingPathComponent(name).path
            guard let mode = DataDirectory.mode(path) else { continue }
            if mode & 0o077 != 0 {
                add("permissions", .problem, "\(path) has mode \(String(mode, radix: 8)): other users can read it; chmod 600 \(path).")
            }
        }
        if !checks.contains(where: { $0.name == "permissions" }) { add("permissions", .ok, "keys and secrets are readable by their owner only") }

        // Disk space where the data directory lives.
        var fs = statvfs()
        if statvfs(cfg.dataDir.path, &fs) == 0 {
            let free = Double(fs.f_bavail) * Double(fs.f_frsize), total = Double(fs.f_blocks) * Double(fs.f_frsize)
            let gib = free / 1_073_741_824, share = total > 0 ? free / total * 100 : 100
            let text = String(format: "%.1f GiB free (%.0f %%) on the data directory's file system", gib, share)
            add("disk", gib < 1 || share < 5 ? .problem : gib < 5 || share < 10 ? .warning : .ok,
                text + (gib < 5 || share < 10 ? "; free space or shorten attemptRetention and auditRetention" : ""))
        }

        // The public URL answers, with the certificate devices will see.
        let ca = cfg.tlsCert == nil ? pki.appendingPathComponent("tls-ca.pem").path : nil
        do {
            let t = try HTTPSTransport(trustRootsPEM: ca.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }, maxConnections: 1,
                                       timeoutSeconds: Int64(timeout))
            defer { Task { try? await t.shutdown() } }
            let health = try await t.send(DeviceRequest(method: "GET", url: cfg.publicURL + "/health"))
            let discovery = try await t.send(DeviceRequest(method: "GET", url: cfg.publicURL + "/EnrollmentServer/Discovery.svc"))
            if health.status == 200 && discovery.status == 200 {
                add("public URL", .ok, "\(cfg.publicURL) answers (health and discovery)")
            } else {
                add("public URL", .problem, "\(cfg.publicURL) answered health \(health.status), discovery \(discovery.status); is something else listening there?")
            }
        } catch {
            add("public URL", .problem, "\(cfg.publicURL) cannot be reached from here: \(error). Is winmdm serve running, and does the name resolve to it?")
        }

        if json {
            try JSONOutput.print(checks)
        } else {
            print(Table.render(["CHECK", "STATE", "DETAIL"], checks.map { [$0.name, $0.level.rawValue, $0.detail] }))
        }
        if checks.contains(where: { $0.level != .ok }) { throw ExitCode(1) }
    }

    static func renewal(_ name: String) -> String {
        switch name {
        case "TLS certificate": "Give a renewed one with --tls-cert/--tls-key, or (generated) move pki/tls-cert.pem away and restart serve to issue a new one."
        case "TLS CA": "Move pki/tls-ca*.pem and pki/tls-*.pem away and restart serve; test devices need the new TLS CA installed."
        default: "The device CA cannot be replaced in place: every enrolled device would have to enroll again."
        }
    }
}
