import ArgumentParser
import Foundation
import MDMCore
import MDMService

/// Options every command shares: where the state lives and where the configuration file is.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "Directory holding the database, certificates and secrets (env WINMDM_DATA_DIR).")
    var dataDir: String?

    @Option(name: .long, help: "Configuration file (JSON; default <data-dir>/winmdm.json; env WINMDM_CONFIG).")
    var config: String?

    @Option(name: .long, help: "PostgreSQL database instead of the SQLite file in the data directory: postgres://user:password@host:5432/db (env WINMDM_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .long, help: "Run this command on a remote winmdm server through its API instead of a local data directory, e.g. https://mdm.example.com (env WINMDM_SERVER; admin commands only).")
    var server: String?

    @Option(name: .long, help: "With --server: the API token (env WINMDM_TOKEN; winmdm tokens create on the server).")
    var token: String?

    @Option(name: .long, help: "With --server: a file holding the API token (env WINMDM_TOKEN_FILE).")
    var tokenFile: String?

    @Option(name: .long, help: "With --server: the PEM root that signed the server's TLS certificate, when it is not a public one (env WINMDM_SERVER_CA).")
    var serverCA: String?
}

/// The configuration file's keys; every one optional.
struct ConfigFile: Codable {
    var listen: String?
    var publicURL: String?
    var tlsCert: String?
    var tlsKey: String?
    var plainHTTP: Bool?
    var initialDomain: String?
    var providerID: String?
    var maxBodyBytes: Int?
    var clientCertHeader: String?
    var trustedProxies: [String]?
    var certificateValidity: String?
    /// Connection limits: open connections per client address, and how long a connection may take to send its first
    /// request head (TLS handshake included), sit idle, or send a body (durations like 10s, 2m).
    var maxConnectionsPerAddress: Int?
    var firstRequestTimeout: String?
    var idleTimeout: String?
    var bodyTimeout: String?
    /// `postgres://…`: the shared database of several instances (default: SQLite in the data directory).
    var databaseURL: String?
    /// How long enrollment attempts and audit entries are kept (durations like 90d); older ones are deleted hourly.
    var attemptRetention: String?
    var auditRetention: String?
}

/// What `serve` records about itself in the data directory, for the other commands.
struct ServerRecord: Codable {
    var publicURL: String
    var listen: String
    var startedAt: Date
}

/// Resolved settings: flags win over environment variables, which win over the file, which wins over defaults.
struct ResolvedConfiguration {
    var dataDir: URL
    var listenHost: String
    var listenPort: Int
    var publicURL: String
    var tlsCert: String?
    var tlsKey: String?
    var plainHTTP: Bool
    var initialDomain: String
    var providerID: String
    var maxBodyBytes: Int
    var clientCertHeader: String?
    var trustedProxies: [String]
    /// Lifetime of device certificates; renewal settings follow from it.
    var certificateValidity: TimeInterval
    /// Connection limits from the configuration file (nil: the default).
    var maxConnectionsPerAddress: Int?
    var firstRequestTimeout: TimeInterval?
    var idleTimeout: TimeInterval?
    var bodyTimeout: TimeInterval?
    /// A PostgreSQL URL, or nil for the SQLite file in the data directory.
    var databaseURL: String?
    var attemptRetention: TimeInterval
    var auditRetention: TimeInterval

    struct Overrides {
        var listen: String?
        var publicURL: String?
        var tlsCert: String?
        var tlsKey: String?
        var plainHTTP: Bool?
        var initialDomain: String?
        var clientCertHeader: String?
        var trustedProxies: [String] = []
        var certificateValidity: String?
    }

    static func resolve(_ common: CommonOptions, _ flags: Overrides = .init()) throws -> ResolvedConfiguration {
        let env = ProcessInfo.processInfo.environment
        // Under systemd (StateDirectory=), the service's own state directory is the default: /var/lib/winmdm.
        let stateDirectory = env["STATE_DIRECTORY"]?.split(separator: ":").first.map(String.init)
        let dataDir = URL(fileURLWithPath: common.dataDir ?? env["WINMDM_DATA_DIR"] ?? stateDirectory ?? "./winmdm-data").standardizedFileURL
        let configPath = common.config ?? env["WINMDM_CONFIG"] ?? dataDir.appendingPathComponent("winmdm.json").path
        try ConfigNames.checkEnvironment(env)
        var file = ConfigFile()
        if FileManager.default.fileExists(atPath: configPath) {
            do {
                let data = try Data(contentsOf: URL(fileURLWithPath: configPath))
                try ConfigNames.checkKeys(data, path: configPath)
                file = try JSONDecoder().decode(ConfigFile.self, from: data)
            } catch let e as CommandFailure {
                throw e
            } catch {
                throw ValidationError("The configuration file \(configPath) cannot be read: \(error). Expected JSON with keys listen, publicURL, tlsCert, tlsKey, plainHTTP, initialDomain, providerID, maxBodyBytes, clientCertHeader, trustedProxies, certificateValidity, maxConnectionsPerAddress, firstRequestTimeout, idleTimeout, bodyTimeout, databaseURL, attemptRetention, auditRetention.")
            }
        } else if common.config != nil || env["WINMDM_CONFIG"] != nil {
            throw ValidationError("The configuration file \(configPath) does not exist.")
        }
        let listen = flags.listen ?? env["WINMDM_LISTEN"] ?? file.listen ?? "0.0.0.0:8443"
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen '\(listen)' is not HOST:PORT (for example 0.0.0.0:8443).")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let plain = flags.plainHTTP ?? env["WINMDM_PLAIN_HTTP"].map { $0 == "1" || $0.lowercased() == "true" } ?? file.plainHTTP ?? false
        let defaultPublic = "\(plain ? "http" : "https")://\(ProcessInfo.processInfo.hostName.lowercased()):\(port == 0 ? 8443 : port)"
        // Commands other than serve fall back to the URL the server last ran with (recorded in the data directory).
        let recorded = (try? Data(contentsOf: dataDir.appendingPathComponent("server.json")))
            .flatMap { try? JSONDecoder().decode(ServerRecord.self, from: $0) }?.publicURL
        let publicURL = (flags.publicURL ?? env["WINMDM_PUBLIC_URL"] ?? file.publicURL ?? recorded ?? defaultPublic).trimmingTrailingSlash()
        guard let comps = URLComponents(string: publicURL), let scheme = comps.scheme, ["https", "http"].contains(scheme),
              let publicHost = comps.host, !publicHost.isEmpty else {
            throw ValidationError("--public-url '\(publicURL)' is not an absolute https URL (for example https://mdm.example.com).")
        }
        let validityText = flags.certificateValidity ?? env["WINMDM_CERT_VALIDITY"] ?? file.certificateValidity ?? "365d"
        guard let validity = TimeSpan.parse(validityText), validity >= 86400, validity <= 5 * 366 * 86400 else {
            throw ValidationError("--certificate-validity '\(validityText)' must be a duration from 1d to 5 years, like 365d or 52w (3d makes renewal testable on a real device).")
        }
        let domain = flags.initialDomain ?? env["WINMDM_INITIAL_DOMAIN"] ?? file.initialDomain ?? Self.defaultDomain(publicHost)
        func timeout(_ text: String?, _ key: String) throws -> TimeInterval? {
            guard let text else { return nil }
            guard let v = TimeSpan.parse(text), v >= 1, v <= 3600 else {
                throw ValidationError("\(key) '\(text)' in \(configPath) must be a duration from 1s to 1h, like 10s or 2m.")
            }
            return v
        }
        func retention(_ text: String?, _ key: String, _ fallback: TimeInterval) throws -> TimeInterval {
            guard let text else { return fallback }
            guard let v = TimeSpan.parse(text), v >= 86400, v <= 10 * 366 * 86400 else {
                throw ValidationError("\(key) '\(text)' in \(configPath) must be a duration from 1d to 10 years, like 90d or 52w.")
            }
            return v
        }
        let databaseURL = (common.databaseURL ?? env["WINMDM_DATABASE_URL"] ?? file.databaseURL).flatMap { $0.isEmpty ? nil : $0 }
        if let url = databaseURL, !(url.hasPrefix("postgres://") || url.hasPrefix("postgresql://")) {
            throw ValidationError("--database-url '\(url)' is not a PostgreSQL URL; expected postgres://user:password@host:5432/database (leave it unset for the SQLite file in the data directory).")
        }
        if let n = file.maxConnectionsPerAddress, !(1...100_000).contains(n) {
            throw ValidationError("maxConnectionsPerAddress \(n) in \(configPath) must be from 1 to 100000.")
        }
        return ResolvedConfiguration(
            dataDir: dataDir, listenHost: host, listenPort: port, publicURL: publicURL,
            tlsCert: flags.tlsCert ?? env["WINMDM_TLS_CERT"] ?? file.tlsCert,
            tlsKey: flags.tlsKey ?? env["WINMDM_TLS_KEY"] ?? file.tlsKey,
            plainHTTP: plain, initialDomain: domain.lowercased(),
            providerID: env["WINMDM_PROVIDER_ID"] ?? file.providerID ?? "winmdm",
            maxBodyBytes: file.maxBodyBytes ?? 256 * 1024,
            clientCertHeader: flags.clientCertHeader ?? env["WINMDM_CLIENT_CERT_HEADER"] ?? file.clientCertHeader,
            trustedProxies: !flags.trustedProxies.isEmpty ? flags.trustedProxies
                : env["WINMDM_TRUSTED_PROXIES"].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? file.trustedProxies ?? [],
            certificateValidity: validity,
            maxConnectionsPerAddress: file.maxConnectionsPerAddress,
            firstRequestTimeout: try timeout(file.firstRequestTimeout, "firstRequestTimeout"),
            idleTimeout: try timeout(file.idleTimeout, "idleTimeout"),
            bodyTimeout: try timeout(file.bodyTimeout, "bodyTimeout"),
            databaseURL: databaseURL,
            attemptRetention: try retention(file.attemptRetention, "attemptRetention", 90 * 86400),
            auditRetention: try retention(file.auditRetention, "auditRetention", 365 * 86400))
    }

    /// The public host name, or `winmdm.test` when that is an IP address or localhost (SCENARIOS.md).
    static func defaultDomain(_ host: String) -> String {
        let h = host.lowercased()
        let isIP = h.allSatisfy { $0.isNumber || $0 == "." } || h.contains(":")
        if isIP || h == "localhost" || !h.contains(".") { return "winmdm.test" }
        return h
    }

    var publicHost: String { URLComponents(string: publicURL)?.host?.lowercased() ?? "localhost" }
    var databasePath: String { dataDir.appendingPathComponent("winmdm.sqlite").path }
    /// What the store opens: the PostgreSQL URL, or the SQLite file.
    var databaseLocation: String { databaseURL ?? databasePath }
}

/// The names winmdm reads, so a typo is refused at start with the nearest valid name instead of silently ignored.
enum ConfigNames {
    static let fileKeys = ["listen", "publicURL", "tlsCert", "tlsKey", "plainHTTP", "initialDomain", "providerID", "maxBodyBytes",
                           "clientCertHeader", "trustedProxies", "certificateValidity", "maxConnectionsPerAddress", "firstRequestTimeout",
                           "idleTimeout", "bodyTimeout", "databaseURL", "attemptRetention", "auditRetention"]
    static let variables = ["WINMDM_DATA_DIR", "WINMDM_CONFIG", "WINMDM_DATABASE_URL", "WINMDM_LISTEN", "WINMDM_PUBLIC_URL", "WINMDM_TLS_CERT",
                            "WINMDM_TLS_KEY", "WINMDM_PLAIN_HTTP", "WINMDM_INITIAL_DOMAIN", "WINMDM_CLIENT_CERT_HEADER",
                            "WINMDM_TRUSTED_PROXIES", "WINMDM_CERT_VALIDITY", "WINMDM_PROVIDER_ID", "WINMDM_LOG_FORMAT",
                            "WINMDM_SERVER", "WINMDM_TOKEN", "WINMDM_TOKEN_FILE", "WINMDM_SERVER_CA"]
    /// Variables of the development tools (tests, CI, fuzzing), not of the server.
    static let developmentPrefixes = ["WINMDM_TEST_", "WINMDM_CI_", "WINMDM_FUZZ", "WINMDM_UPDATE_GOLDEN", "WINMDM_BIN"]

    static func checkKeys(_ data: Data, path: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        let unknown = object.keys.filter { !fileKeys.contains($0) }.sorted()
        guard !unknown.isEmpty else { return }
        throw CommandFailure("\(path) has \(unknown.count == 1 ? "a key" : "keys") winmdm does not know: "
            + unknown.map { k in "\(k)\(nearest(k, in: fileKeys).map { " (did you mean \($0)?)" } ?? "")" }.joined(separator: ", ")
            + ". The keys are: \(fileKeys.joined(separator: ", ")).")
    }

    static func checkEnvironment(_ env: [String: String]) throws {
        let unknown = env.keys.filter { $0.hasPrefix("WINMDM_") && !variables.contains($0) && !developmentPrefixes.contains(where: $0.hasPrefix) }.sorted()
        guard !unknown.isEmpty else { return }
        throw CommandFailure("Unknown environment variable\(unknown.count == 1 ? "" : "s"): "
            + unknown.map { k in "\(k)\(nearest(k, in: variables).map { " (did you mean \($0)?)" } ?? "")" }.joined(separator: ", ")
            + ". winmdm reads \(variables.joined(separator: ", ")); unset the others.")
    }

    /// The closest name, when it is close enough to be what was meant (case-insensitive edit distance).
    static func nearest(_ word: String, in names: [String]) -> String? {
        let w = Array(word.lowercased())
        let scored = names.map { ($0, distance(w, Array($0.lowercased()))) }.min { $0.1 < $1.1 }
        guard let (name, d) = scored, d <= max(2, w.count / 3) else { return nil }
        return name
    }

    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}
