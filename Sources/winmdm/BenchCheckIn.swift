import ArgumentParser
import AsyncHTTPClient
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMEmulator
import MDMWire
import NIOCore
import NIOSSL
import _CryptoExtras

/// `winmdm bench checkin`: idle OMA-DM check-ins against a real `winmdm serve` over HTTPS with mutual TLS, beside
/// a bare HTTPS round trip to the same server on the same connections (the limit the server stack sets).
struct CheckInBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkin",
        abstract: "Idle management check-ins against a real server on a scratch installation: rate, latency, SQL statements, server memory, and the ratio to a bare HTTPS round trip (build with -c release).")
    @OptionGroup var server: BenchServerOptions
    @Option(help: "Enrolled devices seeded into the scratch database (up to 2000000).") var devices: Int = 10_000
    @Option(help: "Of those, how many check in: each gets a real certificate and its own connection (default: all, at most 512), spread evenly over the table.")
    var sample: Int?
    @Option(help: "Check-ins to time.") var checkins: Int = 20_000
    @Option(help: "Configuration profiles assigned to every device, each already delivered (the check-ins stay idle: nothing changed).")
    var profiles: Int = 0

    func validate() throws {
        guard (1...2_000_000).contains(devices) else { throw ValidationError("--devices must be between 1 and 2000000.") }
        guard (1...10_000_000).contains(checkins) else { throw ValidationError("--checkins must be between 1 and 10000000.") }
        guard (0...100).contains(profiles) else { throw ValidationError("--profiles must be between 0 and 100.") }
        if let sample, !(1...min(devices, 4096)).contains(sample) {
            throw ValidationError("--sample must be between 1 and the smaller of --devices and 4096.")
        }
    }

    struct Device: Sendable {
        let deviceID: String
        let tls: TLSConfiguration
        let body: ByteBuffer
    }

    func run() async throws { try await BenchInstallation.with(server, measure) }

    func measure(_ inst: BenchInstallation) async throws {
        let sampleCount = sample ?? min(devices, 512)
        let rt = try await inst.openRuntime()
        let ca = try inst.deviceCA()
        let now = Date()
        // Owners: a few users, so enrollments have a user to join to as real ones do.
        let owners = (0..<10).map { "bench\($0)@bench.test" }
        for u in owners { _ = try await rt.admin.addUser(upn: u, password: UUID().uuidString, licenses: []) }
        // One client key for every sampled device: what is timed is the server, not the client's key generation.
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let csr = try CertificateRequest(der: WindowsCSR.make(key: key, deviceID: "BENCH"))
        let stride = max(1, devices / sampleCount)
        print("Seeding \(devices) enrolled devices (\(sampleCount) of them with real certificates, one in every \(stride)) into \(server.database.rawValue) at \(inst.dir.path) …")
        let seedStart = Date()
        var sampled: [(String, IssuedCertificate)] = []
        var batch: [Enrollment] = []
        for n in 0..<devices {
            let deviceID = String(format: "BENCH%027X", n)
            var serial = String(format: "%032X", n), thumbprint = Thumbprint.sha1(Array("bench-\(n)".utf8))
            if n % stride == 0 && sampled.count < sampleCount {
                let cert = try ca.issueDeviceCertificate(for: csr, commonName: deviceID, now: now, validity: 365 * 86400)
                sampled.append((deviceID, cert))
                serial = cert.serialHex
                thumbprint = cert.thumbprint
            }
            batch.append(Enrollment(upn: owners[n % owners.count], deviceID: deviceID, hwDevID: "HW-\(deviceID)", deviceName: "BENCH-\(n)",
                                    enrollmentType: .full, osEdition: 48, osVersion: "10.0.26100.1", certificateSerial: serial,
                                    certificateThumbprint: thumbprint, certificateNotAfter: now.addingTimeInterval(365 * 86400),
                                    enrolledAt: now.addingTimeInterval(Double(n - devices) / 1000)))
            if batch.count == 5000 || n == devices - 1 {
                try await rt.store.insertEnrollments(batch)
                batch.removeAll(keepingCapacity: true)
                if (n + 1) % 100_000 == 0 { print("  \(n + 1) devices in \(Int(Date().timeIntervalSince(seedStart))) s") }
            }
        }
        if profiles > 0 {
            // Profiles for everyone, each with one setting, already succeeded on every device at the current revision.
            var made: [ConfigurationProfile] = []
            for k in 0..<profiles {
                var p = try await rt.admin.createConfigurationProfile(name: "Bench profile \(k)", settings: [
                    OMASetting(locURI: "./Device/Vendor/MSFT/Policy/Config/Bench/Setting\(k)", format: "int", value: "1")])
                p = try await rt.admin.assignProfile(p.id, to: "all-devices")
                made.append(p)
            }
            let revision = try await rt.store.profilesRevision()
            var states: [DeviceProfileState] = []
            var offset: String? = nil
            while true {
                let page = try await rt.store.enrollments(after: offset, limit: 5000, activeOnly: false)
                guard let last = page.last else { break }
                for e in page {
                    for p in made {
                        states.append(DeviceProfileState(enrollmentID: e.id, profileID: p.id, profileName: p.name, version: p.version,
                                                         settings: p.settings.map { SettingStatus(locURI: $0.locURI, value: $0.value, state: .succeeded, status: "200", updatedAt: now) },
                                                         updatedAt: now))
                    }
                }
                if states.count >= 20_000 || page.count < 5000 {
                    try await rt.store.seedProfileStates(states, reconciledAt: revision)
                    states.removeAll(keepingCapacity: true)
                }
                offset = last.id
            }
            print("Assigned \(profiles) profile(s) to all devices, each delivered and current (revision \(revision)).")
        }
        try await rt.store.analyze()
        print(String(format: "Seeded %d devices in %.1f s (statistics refreshed).", devices, Date().timeIntervalSince(seedStart)))
        let plan = try await rt.store.checkInQueryPlan()
        await rt.close()

        try await inst.start()
        let tlsCA = try NIOSSLCertificate.fromPEMFile(inst.pkiDirectory.appendingPathComponent("tls-ca.pem").path)
        let keyPEM = key.pkcs8PEMRepresentation
        let url = inst.publicURL + "/ManagementServer/MDM.svc"
        let fleet: [Device] = try sampled.enumerated().map { i, s in
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(tlsCA)
            tls.certificateChain = [.certificate(try NIOSSLCertificate(bytes: s.1.der, format: .der))]
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem))
            return Device(deviceID: s.0, tls: tls, body: ByteBuffer(bytes: Self.poll(s.0, session: i + 1, url: url)))
        }
        let client = inst.client
        @Sendable func checkIn(_ d: Device, body: ByteBuffer? = nil) async throws {
            var r = HTTPClientRequest(url: url)
            r.method = .POST
            r.tlsConfiguration = d.tls
            r.headers.add(name: "Content-Type", value: SyncMLNS.contentType)
            r.headers.add(name: "User-Agent", value: "MSFT OMA DM Client/1.2.0.1")
            r.body = .bytes(body ?? d.body)
            let response = try await client.execute(r, timeout: .seconds(60))
            let text = try await response.body.collect(upTo: 1 << 20)
            guard response.status.code == 200 else {
                throw ValidationError("A check-in of \(d.deviceID) failed with HTTP \(response.status.code): \(String(buffer: text))")
            }
        }
        // First sessions store inventory and LoginStatus and open each device's connection; the timed ones are idle.
        _ = try await driveRequests(count: fleet.count, concurrency: server.concurrency) { i in try await checkIn(fleet[i]) }

        // The limit: a bare HTTPS request and response on the same server, over the same mutual-TLS connections.
        let echoCount = min(checkins, 50_000)
        let echo = try await driveRequests(count: echoCount, concurrency: server.concurrency) { i in
            var r = HTTPClientRequest(url: inst.publicURL + "/health")
            r.tlsConfiguration = fleet[i % fleet.count].tls
            let response = try await client.execute(r, timeout: .seconds(60))
            _ = try await response.body.collect(upTo: 1 << 16)
            guard response.status.code == 200 else { throw ValidationError("GET /health answered HTTP \(response.status.code).") }
        }

        // What reading the counter itself costs, so it is not charged to the check-ins.
        let m0 = try await inst.serverStatements(), m1 = try await inst.serverStatements()
        let timed = try await driveRequests(count: checkins, concurrency: server.concurrency) { i in try await checkIn(fleet[i % fleet.count]) }
        let m2 = try await inst.serverStatements()
        let statements = Double(m2 - m1 - (m1 - m0)) / Double(checkins)
        let rss = inst.serverRSS

        let lat = timed.latencies.sorted(), echoLat = echo.latencies.sorted()
        let rate = Double(checkins) / timed.seconds, echoRate = Double(echoCount) / echo.seconds
        print(String(format: "checkin: %d idle check-ins over %d devices (%d checking in, %d profiles each), %@, concurrency %d: %.0f/s; latency p50 %.2f ms, p99 %.2f ms",
                     checkins, devices, fleet.count, profiles, server.database.rawValue, server.concurrency, rate,
                     BenchFigures.percentile(lat, 0.5), BenchFigures.percentile(lat, 0.99)))
        print(String(format: "limit: bare HTTPS round trip (GET /health, same server, same connections): %.0f/s; p50 %.2f ms, p99 %.2f ms",
                     echoRate, BenchFigures.percentile(echoLat, 0.5), BenchFigures.percentile(echoLat, 0.99)))
        print(String(format: "ratio: check-ins at %.0f %% of the bare round trip (goal ≥ 35 %%)", 100 * rate / echoRate))
        print(String(format: "SQL statements per idle check-in: %.2f (goal 2: one indexed look-up of certificate and queue, one last-seen update)", statements))
        print("server RSS: \(BenchFigures.megabytes(rss.now)) now, \(BenchFigures.megabytes(rss.peak)) peak (goal ≤ 150 MB with 1M devices)")
        print("Look-up plan:")
        for line in plan { print("  \(line)") }
    }

    /// A scheduled poll: client-initiated alert, LoginStatus, DevInfo, as in sample 19.
    static func poll(_ deviceID: String, session: Int, url: String) -> [UInt8] {
        let m = SyncMLMessage(header: .init(sessionID: String(session, radix: 16), msgID: "1", target: url, source: deviceID),
                              commands: [SyncMLCommand(name: "Alert", cmdID: "2", data: "1201"),
                                         SyncMLCommand(name: "Alert", cmdID: "3", data: "1224", items: [SyncMLItem(type: ManagementSession.loginStatusType, data: "user")]),
                                         SyncMLCommand(name: "Replace", cmdID: "4", items: [SyncMLItem(source: "./DevInfo/Man", data: "Bench Hardware")])],
                              final: true)
        return Array(m.encode().utf8)
    }
}
