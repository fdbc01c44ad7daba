import ArgumentParser
import AsyncHTTPClient
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorage
import MDMStorageSQL

/// What every command opens: the data directory, its database (initialised on first use) and the admin service.
struct Runtime: Sendable {
    /// Inside `serve`, while it runs a command for a remote CLI: the server's own installation, acting as the caller's
    /// API token. Commands use it instead of opening the data directory (and never close it).
    @TaskLocal static var serving: Runtime?

    let config: ResolvedConfiguration
    let store: SQLStore
    var admin: AdminService
    /// Files created by this run, for the first-run message.
    var created: [String]
    /// Whether this run created the installation.
    var isNew = false

    /// Opens the installation. Only `serve` and `init` pass `create`; every other command refuses to run where there is
    /// none, so a command run from the wrong directory cannot quietly start a second, empty installation.
    static func open(_ config: ResolvedConfiguration, create: Bool = false) async throws -> Runtime {
        let fm = FileManager.default
        var created: [String] = []
        let missing = "No winmdm installation in \(config.dataDir.path)"
        let hint = "Give the server's data directory with --data-dir DIR (or WINMDM_DATA_DIR), or create one with winmdm init or winmdm serve."
        if !create, config.databaseURL == nil, !fm.fileExists(atPath: config.databasePath) {
            throw CommandFailure("\(missing) (there is no winmdm.sqlite there). \(hint)", exitCode: CommandFailure.noInstallation)
        }
        if !fm.fileExists(atPath: config.dataDir.path) {
            do {
                try fm.createDirectory(at: config.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw ValidationError("Cannot create the data directory \(config.dataDir.path): \(error.localizedDescription)")
            }
            created.append(config.dataDir.path)
        }
        let dbExisted = config.databaseURL != nil || fm.fileExists(atPath: config.databasePath)
        let store: SQLStore
        do { store = try await SQLStore.open(config.databaseLocation) } catch {
            throw ValidationError("Cannot open the database \(config.databaseURL == nil ? config.databasePath : "given by --database-url"): \(error)")
        }
        if !dbExisted { created.append(config.databasePath) }
        var admin = AdminService(store: store, actor: Self.actor)
        // Sync and Restart push through WNS once push is configured; the key is read only when one is sent.
        let dir = config.dataDir
        admin.pusher = WNSPusher(http: HTTPClientPoster(), secrets: { try Runtime.secretBox(in: dir) }, providerID: config.providerID)
        if !create, try await store.tenantSettings() == nil {
            try? await store.close()
            throw CommandFailure("\(missing) (the database given by --database-url holds none). \(hint)", exitCode: CommandFailure.noInstallation)
        }
        let isNew = try await admin.bootstrap(initialDomain: config.initialDomain, publicURL: config.publicURL)
        if isNew {
            FileHandle.standardError.write(Data("Initialised a new installation in \(config.dataDir.path) (verified domain \(config.initialDomain), public URL \(config.publicURL)).\n".utf8))
        }
        return Runtime(config: config, store: store, admin: admin, created: created, isNew: isNew)
    }

    /// The key that seals managed local administrator passwords (`secret-key`, 0600, next to the database; a backup
    /// of the database alone cannot open them).
    func secretBox() throws -> SecretBox { try Self.secretBox(in: config.dataDir) }

    static func secretBox(in dir: URL) throws -> SecretBox {
        let s = try secret("secret-key", in: dir)
        guard let key = Base64URL.decode(s.value), key.count == 32 else {
            throw ValidationError("\(s.path) is not a winmdm secret key (32 random bytes, base64url); restore it from your backup.")
        }
        return try SecretBox(key: key)
    }

    /// A secret file in the data directory (mode 0600), created with random content when missing.
    func secret(_ name: String, bytes: Int = 32) throws -> (value: String, path: String, created: Bool) {
        try Self.secret(name, in: config.dataDir, bytes: bytes)
    }

    static func secret(_ name: String, in dir: URL, bytes: Int = 32) throws -> (value: String, path: String, created: Bool) {
        let url = dir.appendingPathComponent(name)
        if let text = try? String(contentsOf: url, encoding: .utf8) {
            return (text.trimmingCharacters(in: .whitespacesAndNewlines), url.path, false)
        }
        let value = Base64URL.encode((0..<bytes).map { _ in UInt8.random(in: 0...255) })
        try SecureFile.write(value + "\n", to: url, mode: 0o600)
        return (value, url.path, true)
    }

    func close() async { try? await store.close() }

    /// The same installation with changes audited as someone else (a remote caller's token).
    func acting(as actor: String) -> Runtime {
        var r = self
        r.admin = admin.acting(as: actor)
        return r
    }

    /// `cli:<user>@<host>` for the audit log.
    static var actor: String {
        let env = ProcessInfo.processInfo.environment
        return "cli:\(env["SUDO_USER"] ?? env["USER"] ?? "uid\(getuid())")@\(ProcessInfo.processInfo.hostName)"
    }

    /// Opens the data directory, runs `body` with the admin service, closes, and turns an `AdminError` into the
    /// command-line error that says what was wrong.
    static func withAdmin<T>(_ common: CommonOptions, _ body: (AdminService, Runtime) async throws -> T) async throws -> T {
        if let serving {
            do { return try await body(serving.admin, serving) } catch let e as AdminError { throw CommandFailure(e) }
        }
        let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
        do {
            let value = try await body(runtime.admin, runtime)
            await runtime.close()
            return value
        } catch let e as AdminError {
            await runtime.close()
            throw CommandFailure(e)
        } catch {
            await runtime.close()
            throw error
        }
    }
}

/// Prints JSON with dates as ISO 8601.
enum JSONOutput {
    static func print<T: Encodable>(_ value: T) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        e.dateEncodingStrategy = .iso8601
        winmdm.print(String(decoding: try e.encode(value), as: UTF8.self))
    }
}

extension Date {
    /// Times as the CLI prints them: always with the zone (UTC, the same on every machine and in every log).
    var short: String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return f.string(from: self) + " UTC"
    }
}

/// Left-aligned text columns.
enum Table {
    static func render(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}

/// HTTPS posts for WNS with the shared AsyncHTTPClient (system trust roots), 10 seconds at most.
struct HTTPClientPoster: HTTPPoster {
    func post(_ url: String, headers: [(String, String)], body: [UInt8]) async throws -> (status: Int, body: [UInt8]) {
        var req = HTTPClientRequest(url: url)
        req.method = .POST
        for (k, v) in headers { req.headers.add(name: k, value: v) }
        req.body = .bytes(body)
        let r = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
        let data = try await r.body.collect(upTo: 64 * 1024)
        return (Int(r.status.code), Array(data.readableBytesView))
    }
}
