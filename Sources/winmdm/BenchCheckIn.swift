import ArgumentParser
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorageSQL
import MDMTesting
import MDMWire
import _CryptoExtras

/// `winmdm bench checkin`: the cost of an idle OMA-DM check-in against a fresh SQLite store (goal: one indexed look-up).
struct CheckInBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "checkin",
        abstract: "Idle management check-ins against a scratch SQLite database: rate, latency and SQL statements per check-in (build with -c release).")
    @Option(help: "Enrolled devices in the scratch database.") var devices: Int = 1000
    @Option(help: "Check-ins to time.") var checkins: Int = 20000

    func validate() throws {
        guard (1...100_000).contains(devices) else { throw ValidationError("--devices must be between 1 and 100000.") }
        guard (1...10_000_000).contains(checkins) else { throw ValidationError("--checkins must be between 1 and 10000000.") }
    }

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("winmdm-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try await SQLStore.openSQLite(path: dir.appendingPathComponent("bench.sqlite").path)
        let clock = SystemClock()
        let ca = try CertificateAuthority.create(commonName: "winmdm bench device CA", organization: "winmdm", now: clock.now())
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let csr = try CertificateRequest(der: WindowsCSR.make(key: key, deviceID: "BENCH"))
        print("Setting up \(devices) enrolled devices in \(dir.path) …")
        var fleet: [(deviceID: String, cert: [UInt8])] = []
        for n in 0..<devices {
            let deviceID = String(format: "BENCH%027X", n)
            let cert = try ca.issueDeviceCertificate(for: csr, commonName: deviceID, now: clock.now(), validity: 365 * 86400)
            let e = Enrollment(upn: "bench\(n % 100)@bench.test", deviceID: deviceID, hwDevID: "HW-\(deviceID)", deviceName: "BENCH-\(n)",
                               enrollmentType: .full, osEdition: 48, osVersion: "10.0.26100.1", certificateSerial: cert.serialHex,
                               certificateThumbprint: cert.thumbprint, certificateNotAfter: cert.notAfter, enrolledAt: clock.now())
            _ = try await store.commitEnrollment(e) { _ in [] }
            fleet.append((deviceID, cert.der))
        }
        let service = ManagementService(config: ServerConfiguration(publicURL: "https://bench.test"), store: store, deviceCA: ca, clock: clock)
        func poll(_ deviceID: String, session: Int) -> [UInt8] {
            // A scheduled poll: client-initiated alert, LoginStatus, DevInfo, as in sample 19.
            let m = SyncMLMessage(header: .init(sessionID: String(session, radix: 16), msgID: "1", target: "https://bench.test/ManagementServer/MDM.svc", source: deviceID),
                                  commands: [SyncMLCommand(name: "Alert", cmdID: "2", data: "1201"),
                                             SyncMLCommand(name: "Alert", cmdID: "3", data: "1224", items: [SyncMLItem(type: ManagementSession.loginStatusType, data: "user")]),
                                             SyncMLCommand(name: "Replace", cmdID: "4", items: [SyncMLItem(source: "./DevInfo/Man", data: "Bench Hardware")])],
                                  final: true)
            return Array(m.encode().utf8)
        }
        // First sessions store inventory and LoginStatus; the timed ones are idle: nothing new, nothing queued.
        for (i, d) in fleet.enumerated() {
            let r = await service.handle(poll(d.deviceID, session: i), clientCertificate: d.cert, RequestMetadata())
            guard r.status == 200 else { throw ValidationError("Set-up check-in failed with HTTP \(r.status): \(r.text)") }
        }
        let bodies = fleet.enumerated().map { poll($0.element.deviceID, session: $0.offset + 1) }
        let statementsBefore = store.statementsExecuted
        var latencies: [UInt64] = []
        latencies.reserveCapacity(checkins)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<checkins {
            let d = i % fleet.count
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = await service.handle(bodies[d], clientCertificate: fleet[d].cert, RequestMetadata())
            latencies.append(DispatchTime.now().uptimeNanoseconds - t0)
            if r.status != 200 { throw ValidationError("Check-in \(i) failed with HTTP \(r.status): \(r.text)") }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let statements = Double(store.statementsExecuted - statementsBefore) / Double(checkins)
        latencies.sort()
        func ms(_ q: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) / 1e6 }
        print(String(format: "checkin: %d idle check-ins over %d devices in %.2f s = %.0f/s; latency p50 %.3f ms, p99 %.3f ms",
                     checkins, devices, seconds, Double(checkins) / seconds, ms(0.5), ms(0.99)))
        print(String(format: "SQL statements per idle check-in: %.2f (goal 2: one indexed look-up of certificate and queue, one last-seen update)", statements))
        print("Look-up plan:")
        for line in try await store.checkInQueryPlan() { print("  \(line)") }
        try await store.close()
    }
}
