import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMEmulator
import NIOCore
import _CryptoExtras

/// `winmdm bench enroll`: enrollment requests against a real `winmdm serve` over HTTPS, all by one bulk package
/// account that enrolls and re-enrolls a set of PCs (as a school re-imaging its machines does), so its history grows
/// from 0 to `--enrollments` while its active devices stay within the registration quota; beside the CA key's
/// RSA-2048 signing rate on the same cores (the limit: every enrollment signs one certificate).
struct EnrollBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enroll",
        abstract: "Enrollments by one account against a real server on a scratch installation: rate as its history grows, latency, SQL statements, server memory, and the ratio to the CA key's signing rate (build with -c release).")
    @OptionGroup var server: BenchServerOptions
    @Option(help: "Enrollments to time, all by one account (up to 100000).") var enrollments: Int = 2000
    @Option(help: "Distinct PCs the account enrolls in turn; each later enrollment of one replaces its earlier one (at most 50, the registration quota).")
    var devices: Int = 40

    func validate() throws {
        guard (10...100_000).contains(enrollments) else { throw ValidationError("--enrollments must be between 10 and 100000.") }
        guard (1...50).contains(devices) else { throw ValidationError("--devices must be between 1 and 50.") }
    }

    func run() async throws { try await BenchInstallation.with(server, measure) }

    func measure(_ inst: BenchInstallation) async throws {
        let rt = try await inst.openRuntime()
        _ = try await rt.admin.setAuthPolicy(.onPremise)
        let package = try await rt.admin.createBulkPackage(name: "bench")
        await rt.close()
        try await inst.start()

        let url = inst.publicURL + "/EnrollmentServer/Enrollment.svc"
        // Requests are built before the clock starts: one device key, a CSR per device (the client's signatures).
        print("Building \(enrollments) enrollment requests for \(package.package.accountUPN) …")
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let hardware = (0..<devices).map { _ in DeviceProfile.randomHex(32) }
        let bodies: [ByteBuffer] = try (0..<enrollments).map { n in
            let profile = DeviceProfile(upn: package.package.accountUPN, password: package.secret, hwDevID: hardware[n % devices],
                                        deviceName: "BENCH-\(n % devices)")
            let csr = try WindowsCSR.make(key: key, deviceID: profile.deviceID)
            return ByteBuffer(bytes: WindowsDevice.enrollmentRequestBody(profile: profile, enrollmentURL: url, csrDER: csr))
        }
        let client = inst.client
        @Sendable func enroll(_ body: ByteBuffer) async throws {
            var r = HTTPClientRequest(url: url)
            r.method = .POST
            r.headers.add(name: "Content-Type", value: "application/soap+xml; charset=utf-8")
            r.headers.add(name: "User-Agent", value: "ENROLLClient")
            r.body = .bytes(body)
            let response = try await client.execute(r, timeout: .seconds(120))
            let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            guard response.status.code == 200, text.contains("RequestSecurityTokenResponse") else {
                throw ValidationError("An enrollment failed with HTTP \(response.status.code): \(text.prefix(600))")
            }
        }

        // The limit: the device CA's own key signing SHA-256 digests, one task per core, for about two seconds.
        let limit = try await Self.signingRate(keyPEM: String(contentsOf: inst.pkiDirectory.appendingPathComponent("device-ca-key.pem"), encoding: .utf8))

        // One enrollment first, untimed: it pays the account's one slow password check, which later ones find cached.
        try await enroll(ByteBuffer(bytes: WindowsDevice.enrollmentRequestBody(
            profile: DeviceProfile(upn: package.package.accountUPN, password: package.secret, hwDevID: hardware[0], deviceName: "BENCH-0"),
            enrollmentURL: url, csrDER: try WindowsCSR.make(key: key, deviceID: DeviceProfile.randomHex(16)))))
        let m0 = try await inst.serverStatements(), m1 = try await inst.serverStatements()
        let timed = try await driveRequests(count: enrollments, concurrency: server.concurrency) { i in try await enroll(bodies[i]) }
        let m2 = try await inst.serverStatements()
        let statements = Double(m2 - m1 - (m1 - m0)) / Double(enrollments)
        let rss = inst.serverRSS

        let lat = timed.latencies.sorted()
        let rate = Double(enrollments) / timed.seconds
        // Flatness: the rate over the first and the last tenth of the account's enrollments.
        let tenth = max(1, enrollments / 10), f = timed.finished
        let first = Double(tenth) / (Double(f[tenth - 1]) / 1e9)
        let last = Double(tenth) / (Double(f[f.count - 1] - f[f.count - 1 - tenth]) / 1e9)
        print(String(format: "enroll: %d enrollments by one account (re-enrolling %d PCs), %@, concurrency %d: %.0f/s; latency p50 %.1f ms, p99 %.1f ms",
                     enrollments, devices, server.database.rawValue, server.concurrency, rate,
                     BenchFigures.percentile(lat, 0.5), BenchFigures.percentile(lat, 0.99)))
        print(String(format: "history: %.0f/s over its first %d enrollments, %.0f/s over its last %d: slowdown %.2f× (goal ≤ 1.2×)",
                     first, tenth, last, tenth, first / last))
        print(String(format: "limit: the device CA key signs %.0f RSA-2048 digests/s on %d cores", limit, BenchFigures.cores))
        print(String(format: "ratio: enrollment at %.0f %% of the signing limit (goal ≥ 50 %%)", 100 * rate / limit))
        print(String(format: "SQL statements per enrollment: %.1f", statements))
        print("server RSS: \(BenchFigures.megabytes(rss.now)) now, \(BenchFigures.megabytes(rss.peak)) peak")
    }

    /// RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second with this key, one task per core.
    static func signingRate(keyPEM: String, seconds: Double = 2) async throws -> Double {
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: keyPEM)
        let digest = SHA256.hash(data: Array("winmdm signing limit".utf8))
        let start = DispatchTime.now().uptimeNanoseconds
        let deadline = start + UInt64(seconds * 1e9)
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<BenchFigures.cores {
                group.addTask {
                    var n = 0
                    while DispatchTime.now().uptimeNanoseconds < deadline {
                        _ = try key.signature(for: digest, padding: .insecurePKCS1v1_5)
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(counts) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
