import ArgumentParser
import Foundation
import MDMCore
import MDMEmulator

struct Emulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enroll emulated Windows devices into a server, as a smoke test or a load.",
        discussion: """
        Each device generates an RSA key and a Windows-style CSR, then walks discovery, sign-in (Federated), policy and enrollment over HTTPS.
        Put {n} in --upn to give every device its own user (load1@…, load2@…).
        Give --hwdevid to replay the same hardware, for example to check "If this device tried again now" for real.
        For a provisioning package (bulk), use --enrollment-type bulk with the package account's UPN and password.
        """)

    @Option(help: "Server base URL or full discovery URL, e.g. https://localhost:8443.") var server: String
    @Option(help: "User principal name; {n} is replaced by the device number (1…count).") var upn: String
    @Option(help: "Password of the user(s).") var password: String
    @Option(help: "How many devices to enroll.") var count: Int = 1
    @Option(help: "How many enrollments run at once.") var concurrency: Int = 4
    @Option(help: "PEM file of the CA that signed the server's TLS certificate (default: <data-dir>/pki/tls-ca.pem when it exists).")
    var caFile: String?
    @Option(help: "Data directory to find tls-ca.pem in.") var dataDir: String = "./winmdm-data"
    @Flag(help: "Do not verify the server's TLS certificate (throwaway test servers only).") var insecure = false
    @Option(help: "OSEdition the devices report (48 Pro, 4 Enterprise, 101 Home …).") var osEdition: Int = 48
    @Option(help: "Windows version the devices report.") var osVersion: String = "10.0.22631.4460"
    @Option(help: "user (EnrollmentType Full), device (EnrollmentType Device), or bulk (Device, as a provisioning package's account).")
    var enrollmentType: String = "user"
    @Option(help: "The device's HWDevID (64 hex digits), the same for every device: replays one PC.") var hwdevid: String?
    @Flag(help: "After enrolling, each device also runs an OMA-DM session, renews its certificate and runs a session with the new one (mutual TLS).")
    var lifecycle = false
    @Flag(help: "Print the summary as JSON.") var json = false

    func validate() throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1.") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 256.") }
        guard ["user", "device", "bulk"].contains(enrollmentType.lowercased()) else {
            throw ValidationError("--enrollment-type must be user, device or bulk.")
        }
        if let h = hwdevid, h.count != 64 || !h.allSatisfy(\.isHexDigit) {
            throw ValidationError("--hwdevid must be 64 hex digits, as winmdm devices show prints it.")
        }
        guard let c = URLComponents(string: server), c.scheme == "https" || c.scheme == "http", c.host != nil else {
            throw ValidationError("--server '\(server)' is not a URL like https://mdm.example.com:8443.")
        }
    }

    var discoveryURL: String {
        server.contains("/EnrollmentServer/") ? server : server.trimmingTrailingSlash() + "/EnrollmentServer/Discovery.svc"
    }

    func run() async throws {
        var ca = caFile
        if ca == nil, !insecure {
            let guess = URL(fileURLWithPath: dataDir).appendingPathComponent("pki/tls-ca.pem").path
            if FileManager.default.fileExists(atPath: guess) { ca = guess }
        }
        let transport: HTTPSTransport
        do { transport = try HTTPSTransport(trustRootsPEM: ca, insecure: insecure, maxConnections: concurrency) } catch {
            throw ValidationError("Cannot load the CA file \(ca ?? "-"): \(error)")
        }
        let type: EnrollmentType = enrollmentType.lowercased() == "user" ? .full : .device
        // The bar is for a person at a terminal; in a pipe or a log it would be noise.
        let progress = Progress(total: count, quiet: json || isatty(2) == 0)
        let started = Date()
        let results = await withTaskGroup(of: Result<String, DeviceFailure>.self) { group in
            var next = 1
            var collected: [Result<String, DeviceFailure>] = []
            func add(_ n: Int) {
                var profile = DeviceProfile(upn: upn.replacingOccurrences(of: "{n}", with: String(n)), password: password,
                                            osEdition: osEdition, osVersion: osVersion, enrollmentType: type)
                if let hwdevid { profile.hwDevID = hwdevid.uppercased() }
                let url = discoveryURL, lifecycle = lifecycle, insecure = insecure, caPath = ca
                group.addTask {
                    do {
                        let device = WindowsDevice(profile: profile, transport: transport)
                        let id = try await device.enroll(discoveryURL: url)
                        if lifecycle { try await Self.manageAndRenew(device, id, discoveryURL: url, ca: caPath, insecure: insecure) }
                        return .success(id.entDMID)
                    } catch let failure as DeviceFailure { return .failure(failure) } catch {
                        return .failure(DeviceFailure(hresult: 0x8018_0008, phase: .discovery, message: "\(error)"))
                    }
                }
            }
            while next <= min(count, concurrency) { add(next); next += 1 }
            for await r in group {
                collected.append(r)
                progress.tick(failed: { if case .failure = r { return true } else { return false } }())
                if next <= count { add(next); next += 1 }
            }
            return collected
        }
        try? await transport.shutdown()
        let elapsed = Date().timeIntervalSince(started)
        progress.finish()
        var byCode: [String: (count: Int, example: DeviceFailure)] = [:]
        for case .failure(let f) in results { byCode[f.code, default: (0, f)].count += 1 }
        let enrolled = results.count - byCode.values.reduce(0) { $0 + $1.count }
        if json {
            struct Failure: Encodable { var code: String; var phase: String; var message: String; var attempt: String? }
            struct Summary: Encodable {
                var enrolled: Int; var failed: [String: Int]; var seconds: Double; var perSecond: Double
                var enrollments: [String]; var failures: [Failure]
            }
            var ids: [String] = [], failures: [Failure] = []
            for r in results {
                switch r {
                case .success(let id): ids.append(id)
                case .failure(let f): failures.append(Failure(code: f.code, phase: f.phase.rawValue, message: f.message, attempt: f.traceID))
                }
            }
            try JSONOutput.print(Summary(enrolled: enrolled, failed: byCode.mapValues(\.count), seconds: elapsed,
                                         perSecond: Double(count) / max(elapsed, 0.001), enrollments: ids, failures: failures))
        } else {
            print("\(lifecycle ? "Enrolled, managed and renewed" : "Enrolled") \(enrolled) of \(count) device(s) in \(String(format: "%.1f", elapsed)) s (\(String(format: "%.1f", Double(count) / max(elapsed, 0.001)))/s).")
            for (code, v) in byCode.sorted(by: { $0.value.count > $1.value.count }) {
                let trace = v.example.traceID.map { " — winmdm attempts show \($0)" } ?? ""
                print("Failed \(v.count) with \(code) during \(v.example.phase.rawValue): \(v.example.message)\(trace)")
            }
        }
        if enrolled < count { throw ExitCode(1) }
    }

    /// A session with the enrollment certificate, a renewal, and a session with the renewed certificate.
    static func manageAndRenew(_ device: WindowsDevice, _ id: EnrolledIdentity, discoveryURL: String, ca: String?,
                               insecure: Bool) async throws(DeviceFailure) {
        func presenting(_ id: EnrolledIdentity) throws(DeviceFailure) -> HTTPSTransport {
            do {
                return try HTTPSTransport(trustRootsPEM: ca, insecure: insecure, maxConnections: 1, clientCertificateDER: id.certificateDER,
                                          clientKeyPEM: id.privateKey.pkcs8PEMRepresentation)
            } catch {
                throw DeviceFailure(hresult: 0x8018_0008, phase: .manage, message: "Cannot set up mutual TLS: \(error)")
            }
        }
        let old = try presenting(id)
        defer { Task { try? await old.shutdown() } }
        _ = try await device.manage(id, transport: old)
        let renewed = try await device.renew(id, discoveryURL: discoveryURL, transport: old)
        let new = try presenting(renewed)
        defer { Task { try? await new.shutdown() } }
        _ = try await device.manage(renewed, transport: new, sessionID: "2")
    }
}

/// A one-line progress bar on standard error.
final class Progress: @unchecked Sendable {
    let total: Int
    let quiet: Bool
    var done = 0, failed = 0
    let lock = NSLock()

    init(total: Int, quiet: Bool) {
        self.total = total
        self.quiet = quiet
    }

    func tick(failed f: Bool) {
        lock.withLock {
            done += 1
            if f { failed += 1 }
            guard !quiet else { return }
            let width = 30, filled = width * done / max(total, 1)
            let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
            FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) enrolled \(done - failed), failed \(failed)".utf8))
        }
    }

    func finish() { if !quiet { FileHandle.standardError.write(Data("\n".utf8)) } }
}
