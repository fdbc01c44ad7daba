import Foundation
import MDMService
import MDMWire
import Testing

enum Samples {
    static func bytes(_ prefix: String) throws -> [UInt8] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/samples")
        let name = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix(prefix + "-") }!
        return [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
    }
}

/// The OMA-DM session state machine on the real captured client messages (samples 19, 21, 26): no HTTP, no storage.
@Suite struct ManagementSessionTests {
    static let server = "https://mdm.example.com/ManagementServer/MDM.svc"

    @Test func firstSessionOfSample19HasTheShapeOfSample20() throws {
        let m = try SyncMLMessage(bytes: Samples.bytes("19"))
        #expect(m.header.sessionID == "1" && m.header.msgID == "1" && m.header.source == "B5B954E81FBCB94EB79BD08BE625F4EE" && m.final)
        var s = ManagementSession(deviceID: "B5B954E81FBCB94EB79BD08BE625F4EE", serverURL: Self.server)
        let a = try s.receive(m)
        #expect(a.loginStatus == "user" && !a.unenrollRequested)
        #expect(a.inventory["./DevInfo/Man"] == "VMware, Inc." && a.inventory["./DevInfo/DevId"] == "B5B954E81FBCB94EB79BD08BE625F4EE")
        let reply = a.reply
        #expect(reply.header.msgID == "1" && reply.header.sessionID == "1")
        #expect(reply.header.target == "B5B954E81FBCB94EB79BD08BE625F4EE" && reply.header.source == Self.server)
        // SyncHdr status first, then one per command in the order received (compare sample 20).
        let expected = try SyncMLMessage(bytes: Samples.bytes("20"))
        #expect(reply.commands.map { [$0.name, $0.cmdRef ?? "", $0.cmd ?? "", $0.data ?? ""] }
                == expected.commands.map { [$0.name, $0.cmdRef ?? "", $0.cmd ?? "", $0.data ?? ""] })
        #expect(reply.final)
        // What we encode reads back the same.
        #expect(try SyncMLMessage(bytes: Array(reply.encode().utf8)) == reply)
    }

    @Test func unenrollAlertOfSample21() throws {
        var s = ManagementSession(deviceID: "B5B954E81FBCB94EB79BD08BE625F4EE", serverURL: Self.server)
        let a = try s.receive(try SyncMLMessage(bytes: Samples.bytes("21")))
        #expect(a.unenrollRequested && a.loginStatus == "user")
        #expect(a.reply.commands.count == 1 + 4 && a.reply.commands.last?.cmd == "Replace")
    }

    @Test func hexSessionIDAndCredOfSample26() throws {
        let m = try SyncMLMessage(bytes: Samples.bytes("26"))
        #expect(m.header.sessionID == "D" && m.header.msgID == "2")
        #expect(m.header.credType == "syncml:auth-md5" && m.header.credFormat == "b64")
        var s = ManagementSession(deviceID: m.header.source, serverURL: Self.server)
        let a = try s.receive(m)
        #expect(a.reply.header.sessionID == "D", "SessionID is echoed as text")
        // The client's own Status for our (missing) SyncHdr is not acknowledged.
        #expect(!a.reply.commands.dropFirst().contains { $0.cmd == "Status" })
    }

    @Test func queuedCommandsGoOutAndTheirResultsComeBack() throws {
        var s = ManagementSession(deviceID: "DEV1", serverURL: Self.server)
        var hello = try SyncMLMessage(bytes: Samples.bytes("19"))
        hello.header.source = "DEV1"
        let get = SyncMLCommand(name: "Get", cmdID: "", items: [SyncMLItem(target: "./DevDetail/SwV")])
        let first = try s.receive(hello, send: [get])
        #expect(first.sent.count == 1 && first.sent[0].cmdID == String(first.reply.commands.count))
        let xml = first.reply.encode()
        #expect(xml.contains("<Get><CmdID>\(first.sent[0].cmdID)</CmdID><Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item></Get>"))
        // Message 2 from the device: Status for our header and Get, Results for the Get.
        let ref = first.sent[0].cmdID
        let answer = SyncMLMessage(header: .init(sessionID: "1", msgID: "2", target: Self.server, source: "DEV1"), commands: [
            SyncMLCommand(name: "Status", cmdID: "1", data: "200", msgRef: "1", cmdRef: "0", cmd: "SyncHdr"),
            SyncMLCommand(name: "Status", cmdID: "2", data: "200", msgRef: "1", cmdRef: ref, cmd: "Get"),
            SyncMLCommand(name: "Results", cmdID: "3", items: [SyncMLItem(source: "./DevDetail/SwV", format: "chr", data: "10.0.22631.4460")], msgRef: "1", cmdRef: ref),
        ], final: true)
        let second = try s.receive(answer)
        #expect(second.reply.header.msgID == "2", "server MsgIDs count 1, 2, … within the session")
        #expect(second.statuses.map(\.code) == ["200"] && second.results.first?.items.first?.data == "10.0.22631.4460")
        #expect(second.reply.commands.count == 1, "only the SyncHdr status: nothing else to send ends the session")
    }

    @Test func multiMessagePackagesAskForTheNextMessage() throws {
        var s = ManagementSession(deviceID: "DEV1", serverURL: Self.server)
        var part = try SyncMLMessage(bytes: Samples.bytes("19"))
        part.header.source = "DEV1"
        part.final = false
        let a = try s.receive(part, send: [SyncMLCommand(name: "Get", cmdID: "", items: [SyncMLItem(target: "./DevDetail/SwV")])])
        #expect(a.reply.commands.last?.name == "Alert" && a.reply.commands.last?.data == "1222" && a.sent.isEmpty)
    }

    @Test func anotherDevicesIdentityIsRefused() throws {
        var s = ManagementSession(deviceID: "DEVICE-A", serverURL: Self.server)
        #expect(throws: ManagementSessionError.deviceMismatch(expected: "DEVICE-A", got: "B5B954E81FBCB94EB79BD08BE625F4EE")) {
            _ = try s.receive(try SyncMLMessage(bytes: Samples.bytes("19")))
        }
    }

    @Test func atomicAndSequenceGetAStatusForThemselvesAndEachCommandInside() throws {
        var s = ManagementSession(deviceID: "DEVICE-A", serverURL: Self.server)
        // The client sends an Atomic (rare, but allowed): the container and each member are acknowledged, in order.
        let inbound = SyncMLMessage(header: .init(sessionID: "5", msgID: "1", target: Self.server, source: "DEVICE-A"), commands: [
            SyncMLCommand(name: "Alert", cmdID: "2", data: "1201"),
            SyncMLCommand(name: "Atomic", cmdID: "3", children: [
                SyncMLCommand(name: "Replace", cmdID: "4", items: [SyncMLItem(source: "./DevInfo/Man", data: "Contoso")]),
                SyncMLCommand(name: "Replace", cmdID: "5", items: [SyncMLItem(source: "./DevInfo/Mod", data: "Laptop")]),
            ]),
        ], final: true)
        let atomic = SyncMLCommand(name: "Atomic", cmdID: "", children: [
            SyncMLCommand(name: "Replace", cmdID: "", items: [SyncMLItem(target: "./Vendor/MSFT/Policy/Config/A", format: "int", data: "1")]),
            SyncMLCommand(name: "Replace", cmdID: "", items: [SyncMLItem(target: "./Vendor/MSFT/Policy/Config/B", format: "int", data: "0")]),
        ])
        let a = try s.receive(inbound, send: [atomic])
        #expect(a.reply.commands.filter { $0.name == "Status" }.map { "\($0.cmd ?? ""):\($0.cmdRef ?? "")" }
                == ["SyncHdr:0", "Alert:2", "Atomic:3", "Replace:4", "Replace:5"])
        #expect(a.inventory["./DevInfo/Mod"] == "Laptop", "inventory inside an Atomic is read too")
        // What goes out: the container and its members each get a CmdID, continuing the reply's numbering.
        let sent = try #require(a.sent.first)
        #expect(sent.cmdID == "6" && sent.children.map(\.cmdID) == ["7", "8"])
        let wire = try SyncMLMessage(bytes: Array(a.reply.encode().utf8))
        #expect(wire.commands.last?.name == "Atomic" && wire.commands.last?.children.count == 2)
    }

    @Test func aLongQueueGoesOutInMessagesOfBoundedSize() throws {
        var s = ManagementSession(deviceID: "DEVICE-A", serverURL: Self.server, maxCommandBytes: 600)
        let big = SyncMLCommand(name: "Replace", cmdID: "", items: [SyncMLItem(target: "./Vendor/MSFT/Policy/Config/X", format: "chr",
                                                                                 data: String(repeating: "x", count: 400))])
        let hello = SyncMLMessage(header: .init(sessionID: "9", msgID: "1", target: Self.server, source: "DEVICE-A"),
                                  commands: [SyncMLCommand(name: "Alert", cmdID: "2", data: "1201")], final: true)
        let first = try s.receive(hello, send: [big, big, big])
        #expect(first.sent.count == 1, "only what fits; the rest waits for the device's answer")
        #expect(first.reply.final)
        // Even a command larger than the budget goes out, alone.
        var tiny = ManagementSession(deviceID: "DEVICE-A", serverURL: Self.server, maxCommandBytes: 10)
        #expect(try tiny.receive(hello, send: [big, big]).sent.count == 1)
    }

    @Test func anAbortedSessionIsAcknowledgedAndGetsNoCommands() throws {
        var s = ManagementSession(deviceID: "DEVICE-A", serverURL: Self.server)
        let abort = SyncMLMessage(header: .init(sessionID: "A", msgID: "2", target: Self.server, source: "DEVICE-A"),
                                  commands: [SyncMLCommand(name: "Alert", cmdID: "2", data: "1223")], final: true)
        let a = try s.receive(abort, send: [SyncMLCommand(name: "Get", cmdID: "", items: [SyncMLItem(target: "./DevDetail/SwV")])])
        #expect(a.aborted && a.sent.isEmpty)
        #expect(a.reply.commands.map { $0.cmd ?? $0.name } == ["SyncHdr", "Alert"])
    }
}
