import Foundation
import MDMCore
import MDMPKI
import MDMService
import MDMStorage
import MDMTesting
import MDMWire
import MDMServer
import ServiceLifecycle
import Testing

/// The management service with real enrolled identities, in-process (the mutual-TLS route comes later).
@Suite struct ManagementServiceTests {
    static func checkIn(_ device: String, session: String = "1", msg: String = "1", commands: [SyncMLCommand]? = nil, unenroll: Bool = false) -> [UInt8] {
        var cmds = commands ?? [
            SyncMLCommand(name: "Alert", cmdID: "2", data: "1201"),
            SyncMLCommand(name: "Alert", cmdID: "3", data: "1224", items: [SyncMLItem(type: "com.microsoft/MDM/LoginStatus", data: "user")]),
            SyncMLCommand(name: "Replace", cmdID: "4", items: [SyncMLItem(source: "./DevInfo/Man", data: "Contoso"), SyncMLItem(source: "./DevInfo/Mod", data: "Laptop 7")]),
        ]
        if unenroll { cmds.append(SyncMLCommand(name: "Alert", cmdID: "5", data: "1226", items: [SyncMLItem(format: "int", type: "com.microsoft:mdm.unenrollment.userrequest", data: "1")])) }
        return Array(SyncMLMessage(header: .init(sessionID: session, msgID: msg, target: "https://x/ManagementServer/MDM.svc", source: device),
                                   commands: cmds, final: true).encode().utf8)
    }

    /// A server with one enrolled device of `upn`, and the management service driven in-process.
    static func managed(_ upn: String) async throws -> (server: TestServer, id: EnrolledIdentity, deviceID: String, m: ManagementService) {
        let server = try await TestServer.make()
        try await server.addUser(upn)
        let id = try await enrolled(server, upn)
        let deviceID = try #require(try await server.store.enrollment(id: id.entDMID)).deviceID
        return (server, id, deviceID, service(server))
    }

    static func service(_ server: TestServer) -> ManagementService {
        ManagementService(config: server.services.configuration, store: server.store, deviceCA: server.pki.deviceCA, clock: SystemClock())
    }

    static func enrolled(_ server: TestServer, _ upn: String) async throws -> EnrolledIdentity {
        try await server.inProcess { t in
            try await WindowsDevice(profile: DeviceProfile(upn: upn, password: "Correct horse 1"), transport: t).enroll(discoveryURL: server.discoveryURL)
        }
    }

    @Test func sessionInventoryQueueResultsAndUnenroll() async throws {
        let (server, id, deviceID, m) = try await Self.managed("mgd@winmdm.test")
        let first = await m.handle(Self.checkIn(deviceID), clientCertificate: id.certificateDER, RequestMetadata())
        #expect(first.status == 200 && first.contentType == "application/vnd.syncml.dm+xml")
        let reply = try SyncMLMessage(bytes: first.body)
        #expect(reply.commands.map(\.cmd) == ["SyncHdr", "Alert", "Alert", "Replace"])
        var e = try #require(try await server.store.enrollment(id: id.entDMID))
        #expect(e.inventory?["./DevInfo/Man"] == "Contoso" && e.loginStatus == "user" && e.lastSeenAt != nil)

        // A queued Get goes out at the next session; the device's Status and Results are stored against it.
        let cmd = DeviceCommand(enrollmentID: e.id, kind: "inventory", verb: "Get", items: [DMItem(target: "./DevDetail/SwV")], createdAt: Date())
        try await server.store.enqueue(cmd)
        let second = try SyncMLMessage(bytes: await m.handle(Self.checkIn(deviceID, session: "2"), clientCertificate: id.certificateDER, RequestMetadata()).body)
        let get = try #require(second.commands.first { $0.name == "Get" })
        #expect(try await server.store.command(id: cmd.id)?.state == .sent)
        let answer = Self.checkIn(deviceID, session: "2", msg: "2", commands: [
            SyncMLCommand(name: "Status", cmdID: "1", data: "200", msgRef: second.header.msgID, cmdRef: "0", cmd: "SyncHdr"),
            SyncMLCommand(name: "Status", cmdID: "2", data: "200", msgRef: second.header.msgID, cmdRef: get.cmdID, cmd: "Get"),
            SyncMLCommand(name: "Results", cmdID: "3", items: [SyncMLItem(source: "./DevDetail/SwV", format: "chr", data: "10.0.26100.2033")], msgRef: second.header.msgID, cmdRef: get.cmdID),
        ])
        let third = try SyncMLMessage(bytes: await m.handle(answer, clientCertificate: id.certificateDER, RequestMetadata()).body)
        #expect(third.header.msgID == "2" && third.commands.count == 1, "nothing more to send ends the session")
        let done = try #require(try await server.store.command(id: cmd.id))
        #expect(done.state == .succeeded && done.status == "200" && done.results.first?.data == "10.0.26100.2033")
        // The answer describes the device too: the record follows the version it reports.
        e = try #require(try await server.store.enrollment(id: id.entDMID))
        #expect(e.inventory?["./DevDetail/SwV"] == "10.0.26100.2033" && e.osVersion == "10.0.26100.2033")

        // Unenroll: the enrollment ends, its certificate stops working, the slot is free.
        _ = await m.handle(Self.checkIn(deviceID, session: "3", unenroll: true), clientCertificate: id.certificateDER, RequestMetadata())
        e = try #require(try await server.store.enrollment(id: id.entDMID))
        #expect(e.state == .unenrolled && !e.countsTowardDeviceLimit)
        let after = await m.handle(Self.checkIn(deviceID, session: "4"), clientCertificate: id.certificateDER, RequestMetadata())
        #expect(after.status == 403 && after.text.contains("revoked"))
        await server.close()
    }

    @Test("an idle check-in is one indexed look-up and one last-seen update")
    func idleCheckInCost() async throws {
        let (server, id, deviceID, m) = try await Self.managed("idle@winmdm.test")
        _ = await m.handle(Self.checkIn(deviceID), clientCertificate: id.certificateDER, RequestMetadata())
        let before = server.store.statementsExecuted
        let idle = await m.handle(Self.checkIn(deviceID, session: "2"), clientCertificate: id.certificateDER, RequestMetadata())
        #expect(idle.status == 200)
        #expect(server.store.statementsExecuted - before == 2)
        let seen = try #require(try await server.store.enrollment(id: id.entDMID)?.lastSeenAt)
        #expect(abs(seen.timeIntervalSinceNow) < 60)
        // With a command queued, the queue is read and the command goes out.
        _ = try await server.admin.queueCommand(id.entDMID, .reboot, providerID: "winmdm")
        let busy = try SyncMLMessage(bytes: await m.handle(Self.checkIn(deviceID, session: "3"), clientCertificate: id.certificateDER, RequestMetadata()).body)
        #expect(busy.commands.contains { $0.name == "Exec" })
        await server.close()
    }

    @Test func addAnsweredAlreadyExistsIsResentAsReplace() async throws {
        let (server, id, deviceID, m) = try await Self.managed("add@winmdm.test")
        let add = DeviceCommand(enrollmentID: id.entDMID, kind: "raw", verb: "Add", items: [DMItem(target: "./Vendor/MSFT/Policy/Config/X", format: "int", data: "1")], createdAt: Date())
        try await server.store.enqueue(add)
        let sent = try SyncMLMessage(bytes: await m.handle(Self.checkIn(deviceID), clientCertificate: id.certificateDER, RequestMetadata()).body)
        let ref = try #require(sent.commands.first { $0.name == "Add" }).cmdID
        _ = await m.handle(Self.checkIn(deviceID, msg: "2", commands: [
            SyncMLCommand(name: "Status", cmdID: "1", data: "418", msgRef: sent.header.msgID, cmdRef: ref, cmd: "Add"),
        ]), clientCertificate: id.certificateDER, RequestMetadata())
        #expect(try await server.store.command(id: add.id)?.state == .failed)
        let queued = try await server.store.queuedCommands(enrollmentID: id.entDMID)
        #expect(queued.map(\.verb) == ["Replace"] && queued.first?.items == add.items)
        await server.close()
    }

    @Test("a command whose session broke goes out again in the next session, and is given up after three")
    func droppedSessionRequeues() async throws {
        let (server, id, deviceID, m) = try await Self.managed("drop@winmdm.test")
        func open(_ session: String) async throws -> SyncMLMessage {
            try SyncMLMessage(bytes: await m.handle(Self.checkIn(deviceID, session: session), clientCertificate: id.certificateDER, RequestMetadata()).body)
        }
        let reboot = try await server.admin.queueCommand(id.entDMID, .reboot, providerID: "winmdm")
        let first = try #require(try await open("1").commands.first { $0.name == "Exec" })
        #expect(try await server.store.command(id: reboot.id)?.state == .sent)
        // The device never answers session 1; its next session gets the command again, under the new session's ids.
        let again = try await open("2")
        let resent = try #require(again.commands.first { $0.name == "Exec" })
        #expect(resent.items.map(\.target) == first.items.map(\.target))
        #expect(try await server.store.command(id: reboot.id)?.cmdID == "2:\(again.header.msgID):\(resent.cmdID)")
        _ = await m.handle(Self.checkIn(deviceID, session: "2", msg: "2", commands: [
            SyncMLCommand(name: "Status", cmdID: "1", data: "200", msgRef: again.header.msgID, cmdRef: resent.cmdID, cmd: "Exec"),
        ]), clientCertificate: id.certificateDER, RequestMetadata())
        let done = try #require(try await server.store.command(id: reboot.id))
        #expect(done.state == .succeeded && done.deliveries == 2)
        // A command that every session breaks on goes out three times, then fails with the reason.
        let sync = try await server.admin.queueCommand(id.entDMID, .reboot, providerID: "winmdm")
        for session in ["3", "4", "5"] {
            #expect(try await open(session).commands.contains { $0.name == "Exec" }, "session \(session) sends it")
        }
        #expect(try await open("6").commands.allSatisfy { $0.name == "Status" })
        let given = try #require(try await server.store.command(id: sync.id))
        #expect(given.state == .failed && given.deliveries == 3 && given.note?.contains("3 sessions") == true)
        // Nothing is left sent, so an idle check-in costs its two statements again.
        let before = server.store.statementsExecuted
        _ = try await open("7")
        #expect(server.store.statementsExecuted - before == 2)
        await server.close()
    }

    @Test func refusedIdentitiesAreRecorded() async throws {
        let server = try await TestServer.make()
        try await server.addUser("a@winmdm.test")
        try await server.addUser("b@winmdm.test")
        let a = try await Self.enrolled(server, "a@winmdm.test"), b = try await Self.enrolled(server, "b@winmdm.test")
        let bDevice = try #require(try await server.store.enrollment(id: b.entDMID)).deviceID
        let aDevice = try #require(try await server.store.enrollment(id: a.entDMID)).deviceID
        let m = Self.service(server)
        #expect(await m.handle(Self.checkIn(aDevice), clientCertificate: nil, RequestMetadata()).status == 401)
        // Device A's certificate with device B's DeviceID.
        let swapped = await m.handle(Self.checkIn(bDevice), clientCertificate: a.certificateDER, RequestMetadata())
        #expect(swapped.status == 403 && swapped.text.contains("not the device this certificate was issued to"))
        // A certificate from another CA.
        let other = try CertificateAuthority.create(commonName: "Other", organization: "x", now: Date())
        let csr = try CertificateRequest(der: WindowsCSR.make(key: a.privateKey, deviceID: aDevice))
        let foreign = try other.issueDeviceCertificate(for: csr, commonName: aDevice, now: Date(), validity: 86400)
        #expect(await m.handle(Self.checkIn(aDevice), clientCertificate: foreign.der, RequestMetadata()).status == 403)
        // Expired: the same certificate two years later.
        let later = ManagementService(config: server.services.configuration, store: server.store, deviceCA: server.pki.deviceCA,
                                      clock: ManualClock(Date() + 2 * 365 * 86400))
        let expired = await later.handle(Self.checkIn(aDevice), clientCertificate: a.certificateDER, RequestMetadata())
        #expect(expired.status == 403 && expired.text.contains("expired"))
        let recorded = try await server.store.attempts(AttemptQuery(limit: 10, failedOnly: true)).filter { $0.phase == .manage }
        #expect(recorded.count == 4)
        await server.close()
    }
}

/// Management over real HTTPS with mutual TLS: the emulator presents its enrolled certificate.
@Suite struct MutualTLSManagementTests {
    @Test("enroll, manage, renew, manage with the new certificate, unenroll")
    func enrollThenManageOverMutualTLS() async throws {
        let server = try await TestServer.make()
        try await server.addUser("tls@winmdm.test")
        try await server.live { t in
            let device = WindowsDevice(profile: DeviceProfile(upn: "tls@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            #expect(id.managementURL == server.services.configuration.managementURL)
            let mtls = try server.mutualTLS(id)
            // First session: package 1 acknowledged, inventory stored.
            let first = try await device.manage(id, transport: mtls)
            #expect(first.messages.first?.commands.first?.cmd == "SyncHdr")
            var e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(e.inventory?["./DevInfo/Man"] == "Contoso Hardware" && e.loginStatus == "user")
            // A queued inventory Get and an unknown node: delivered at the next session, answered, stored.
            try await server.store.enqueue(DeviceCommand(enrollmentID: e.id, kind: "inventory", verb: "Get",
                                                         items: [DMItem(target: "./DevDetail/SwV")], createdAt: Date()))
            try await server.store.enqueue(DeviceCommand(enrollmentID: e.id, kind: "raw", verb: "Get",
                                                         items: [DMItem(target: "./Vendor/MSFT/Nope")], createdAt: Date() + 1))
            let second = try await device.manage(id, transport: mtls, sessionID: "2")
            #expect(second.executed.map(\.status) == ["200", "404"])
            let cmds = try await server.store.commands(enrollmentID: e.id, limit: 10)
            #expect(cmds.first { $0.items.first?.target == "./DevDetail/SwV" }?.results.first?.data == device.profile.osVersion)
            #expect(cmds.first { $0.items.first?.target == "./Vendor/MSFT/Nope" }?.state == .failed)
            // The provisioning document announced renewal; the device renews over TLS with its current certificate.
            let doc = try ProvisioningDocumentView(xml: id.provisioningDocument)
            #expect(doc.parm("ROBOSupport", in: doc.characteristic("CertificateStore", "My", "WSTEP", "Renew")) == "true")
            let renewed = try await device.renew(id, discoveryURL: server.discoveryURL, transport: mtls)
            #expect(renewed.certificateThumbprint != id.certificateThumbprint)
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(e.certificateThumbprint == renewed.certificateThumbprint && e.previousCertificateThumbprint == id.certificateThumbprint)
            try await mtls.shutdown()
            // The next session uses the new certificate; from then on the old one is refused.
            let mtls2 = try server.mutualTLS(renewed)
            _ = try await device.manage(renewed, transport: mtls2, sessionID: "2a")
            #expect(try await server.store.enrollment(id: id.entDMID)?.previousCertificateThumbprint == nil)
            let old = try server.mutualTLS(id)
            await #expect(throws: DeviceFailure.self) { _ = try await device.manage(id, transport: old, sessionID: "2b") }
            try await old.shutdown()
            // Without a certificate the same endpoint refuses, and says so.
            let anonymous = try await t.send(DeviceRequest(method: "POST", url: id.managementURL, headers: [("Content-Type", "application/vnd.syncml.dm+xml")],
                                                           body: Array("<SyncML/>".utf8)))
            #expect(anonymous.status == 401)
            // Built-in commands queued by the administrator; remote unenroll ends the enrollment.
            _ = try await server.admin.queueCommand(id.entDMID, .rename("KIOSK-7"), providerID: "winmdm")
            _ = try await server.admin.queueCommand(id.entDMID, .unenroll, providerID: "winmdm")
            await #expect(throws: AdminError.self) { try await server.admin.queueCommand(id.entDMID, .rename("my pc"), providerID: "winmdm") }
            let third = try await device.manage(renewed, transport: mtls2, sessionID: "3")
            #expect(third.executed.map(\.command.name) == ["Replace", "Exec"])
            e = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(e.state == .unenrolled)
            let unenrollCommand = try await server.store.commands(enrollmentID: id.entDMID, limit: 50).first { $0.kind == "unenroll" }
            #expect(unenrollCommand?.state == .succeeded && unenrollCommand?.status == "1226", "the unenroll alert confirms the remote unenroll")
            await #expect(throws: DeviceFailure.self) { _ = try await device.manage(renewed, transport: mtls2, sessionID: "4") }
            try await mtls2.shutdown()
        }
        await server.close()
    }
}

extension MutualTLSManagementTests {
    @Test("an Atomic is all or nothing, a Sequence runs in order; each step's status is stored")
    func atomicAndSequence() async throws {
        let server = try await TestServer.make()
        try await server.addUser("groups@winmdm.test")
        try await server.live { t in
            let device = WindowsDevice(profile: DeviceProfile(upn: "groups@winmdm.test", password: "Correct horse 1"), transport: t)
            let id = try await device.enroll(discoveryURL: server.discoveryURL)
            let mtls = try server.mutualTLS(id)
            let policy = "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera"
            // The second change names a node the device does not have: the whole Atomic is rolled back.
            let failing = try await server.admin.queueCommand(id.entDMID, .atomic([
                .raw(verb: "Replace", target: policy, format: "int", data: "0"),
                .raw(verb: "Replace", target: "./Device/Vendor/MSFT/NoSuchCSP/Setting", format: "int", data: "1"),
            ]), providerID: "winmdm")
            let fine = try await server.admin.queueCommand(id.entDMID, .atomic([
                .raw(verb: "Replace", target: policy, format: "int", data: "0"), .rename("LAB-01"),
            ]), providerID: "winmdm")
            let ordered = try await server.admin.queueCommand(id.entDMID, .sequence([
                .raw(verb: "Get", target: "./DevDetail/SwV", format: nil, data: nil), .reboot,
            ]), providerID: "winmdm")
            let log = try await device.manage(id, transport: mtls)
            #expect(log.executed.map(\.status) == ["507", "216", "404", "200", "200", "200", "200", "200", "200"])
            // A long queue leaves in several messages of one session; every command is delivered and answered.
            for _ in 0..<800 { _ = try await server.admin.queueCommand(id.entDMID, .raw(verb: "Get", target: "./DevDetail/SwV", format: nil, data: nil), providerID: "winmdm") }
            let long = try await device.manage(id, transport: mtls, sessionID: "L")
            #expect(long.messages.count > 2 && long.executed.count == 800, "\(long.messages.count) messages")
            #expect(try await server.store.queuedCommands(enrollmentID: id.entDMID).isEmpty)
            #expect(try await server.store.commands(enrollmentID: id.entDMID, limit: 1000).filter { $0.kind == "raw" && $0.verb == "Get" }.allSatisfy { $0.state != .sent && $0.status != nil })
            // Sync: one node per Get, so the nodes this device lacks fail alone and the rest still report.
            _ = try await server.admin.queueCommand(id.entDMID, .inventory, providerID: "winmdm")
            let sync = try await device.manage(id, transport: mtls, sessionID: "S")
            let gets = sync.executed.filter { $0.command.name == "Get" }
            #expect(gets.count == 7 && gets.allSatisfy { $0.command.items.count == 1 })
            #expect(gets.contains { $0.status == "404" } && gets.contains { $0.status == "200" }, "\(gets.map(\.status))")
            let synced = try #require(try await server.store.enrollment(id: id.entDMID))
            #expect(synced.inventory?["./DevDetail/Ext/Microsoft/DeviceName"] == device.profile.deviceName)
            let rolledBack = try #require(try await server.store.command(id: failing.id))
            #expect(rolledBack.state == .failed && rolledBack.status == "507" && rolledBack.steps?.map(\.status) == ["216", "404"])
            #expect(try await server.store.command(id: fine.id)?.state == .succeeded)
            let sequence = try #require(try await server.store.command(id: ordered.id))
            #expect(sequence.state == .succeeded && sequence.steps?.first?.results?.first?.data == device.profile.osVersion)
            #expect(sequence.results.first?.target == "./DevDetail/SwV")
            try await mtls.shutdown()
        }
        await server.close()
    }
}

@Suite struct DeviceCommandCLITests {
    @Test func queueAndReadCommandsWithTheCLI() async throws {
        try await Scenario.run { s in
            let id = try #require(try await s.succeeds(s.device()))
            let out = try await s.admin("devices", "command", id.entDMID, "reboot")
            #expect(out.contains("Queued reboot (Exec ./Device/Vendor/MSFT/Reboot/RebootNow)"))
            try await s.admin("devices", "command", id.entDMID, "raw", "--verb", "Get", "--target", "./DevDetail/SwV")
            let bad = try await CLI.run(["devices", "command", id.entDMID, "raw", "--verb", "Copy", "--target", "./X", "--data-dir", s.server.dir.path])
            #expect(bad.status != 0 && bad.err.contains("use Get, Replace, Add, Delete or Exec"))
            let atomic = try await s.admin("devices", "command", id.entDMID, "atomic", "--step", "Replace ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera int 0",
                                     "--step", "rename LAB-01")
            #expect(atomic.contains("Queued atomic (Atomic 2 command(s))"))
            let getInAtomic = try await CLI.run(["devices", "command", id.entDMID, "atomic", "--step", "Get ./DevDetail/SwV", "--data-dir", s.server.dir.path])
            #expect(getInAtomic.status != 0 && getInAtomic.err.contains("use a sequence"))
            let noSteps = try await CLI.run(["devices", "command", id.entDMID, "sequence", "--data-dir", s.server.dir.path])
            #expect(noSteps.status != 0 && noSteps.err.contains("--step"))
            let list = try await #require(try s.json("devices", "commands", id.entDMID) as? [[String: Any]])
            #expect(list.map { $0["kind"] as? String } == ["atomic", "raw", "reboot"] && list.allSatisfy { $0["state"] as? String == "queued" })
            let shown = try await s.admin("devices", "show", id.entDMID)
            #expect(shown.contains("Last check-in   never") && shown.contains("Recent commands:") && shown.contains("Atomic: Replace ./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera; Replace"))
            let soon = try await #require(try s.json("devices", "list", "--expiring", "400d") as? [Any])
            let later = try await #require(try s.json("devices", "list", "--expiring", "30d") as? [Any])
            #expect(soon.count == 1 && later.isEmpty)
        }
    }
}

/// Behind a TLS-terminating proxy the device certificate arrives in a header, believed only from configured proxies.
@Suite struct ProxyCertificateTests {
    func run(trusted: Set<String>, _ body: @escaping @Sendable (TestServer, EnrolledIdentity, HTTPSTransport, String) async throws -> Void) async throws {
        let server = try await TestServer.make()
        try await server.addUser("proxied@winmdm.test")
        let id = try await ManagementServiceTests.enrolled(server, "proxied@winmdm.test")
        var services = server.services
        services.proxyCertificateHeader = "X-Client-Cert"
        services.trustedProxies = trusted
        let port = try FreePort.find()
        let running = try await LiveServer.start { ready in
            try buildApplication(services, listen: ListenConfiguration(host: "127.0.0.1", port: port, tlsCertificatePath: nil, tlsKeyPath: nil),
                                 logger: quietLogger, onServerRunning: ready)
        }
        let transport = try HTTPSTransport()
        try await body(server, id, transport, "http://127.0.0.1:\(port)/ManagementServer/MDM.svc")
        try await transport.shutdown()
        try? await running.stop()
        await server.close()
    }

    static func escapedPEM(_ der: [UInt8]) -> String {
        PEM.encode(der, label: "CERTIFICATE").addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    @Test func trustedProxyHeaderIsBelieved() async throws {
        try await run(trusted: ["127.0.0.1"]) { server, id, t, url in
            let r = try await t.send(DeviceRequest(method: "POST", url: url, headers: [("X-Client-Cert", Self.escapedPEM(id.certificateDER))],
                                                   body: ManagementServiceTests.checkIn(id.deviceID)))
            #expect(r.status == 200, "\(r.text)")
            #expect(try await server.store.enrollment(id: id.entDMID)?.loginStatus == "user")
        }
    }

    @Test func headerFromAnUntrustedAddressIsRefusedAndRecorded() async throws {
        try await run(trusted: ["10.0.0.5"]) { server, id, t, url in
            let r = try await t.send(DeviceRequest(method: "POST", url: url, headers: [("X-Client-Cert", Self.escapedPEM(id.certificateDER))],
                                                   body: ManagementServiceTests.checkIn(id.deviceID)))
            #expect(r.status == 403 && r.text.contains("not a configured proxy"))
            let recorded = try await server.store.attempts(AttemptQuery(limit: 5, failedOnly: true)).first
            #expect(recorded?.phase == .manage && recorded?.remoteAddress == "127.0.0.1")
            #expect(try await server.store.enrollment(id: id.entDMID)?.loginStatus == nil)
        }
    }
}
