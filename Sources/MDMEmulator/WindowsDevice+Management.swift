import Foundation
import MDMCore
import MDMWire

/// What an emulated session did.
public struct ManagementSessionLog: Sendable {
    public var messages: [SyncMLMessage]
    /// Server commands received, with the status the device answered.
    public var executed: [(command: SyncMLCommand, status: String)]
}

extension WindowsDevice {
    /// The nodes this emulated device knows; a Get of anything else is answered 404, as Windows does.
    public func nodeValue(_ uri: String) -> String? {
        if let v = profile.nodes[uri] { return v }
        return switch uri {
        case "./DevInfo/DevId": profile.deviceID
        case "./DevInfo/Man": "Contoso Hardware"
        case "./DevInfo/Mod": "Surface Emulator 1"
        case "./DevInfo/DmV": "1.3"
        case "./DevInfo/Lang": "en-US"
        case "./DevDetail/SwV": profile.osVersion
        case "./DevDetail/Ext/Microsoft/DeviceName": profile.deviceName
        case "./Vendor/MSFT/DMClient/HWDevID": profile.hwDevID
        default: nil
        }
    }

    /// One OMA-DM session with the management server (PROTOCOL.md §9.6): package 1, then answer every server
    /// command until the server sends nothing more. `unenroll` adds the 1226 unenrollment alert.
    public func manage(_ identity: EnrolledIdentity, transport: any DeviceTransport, sessionID: String = "1",
                       unenroll: Bool = false) async throws(DeviceFailure) -> ManagementSessionLog {
        var commands = [
            SyncMLCommand(name: "Alert", cmdID: "2", data: "1201"),
            SyncMLCommand(name: "Alert", cmdID: "3", data: "1224", items: [SyncMLItem(type: "com.microsoft/MDM/LoginStatus", data: "user")]),
            SyncMLCommand(name: "Replace", cmdID: "4", items: ["./DevInfo/DevId", "./DevInfo/Man", "./DevInfo/Mod", "./DevInfo/DmV", "./DevInfo/Lang"]
                .map { SyncMLItem(source: $0, data: nodeValue($0)) }),
        ]
        if unenroll {
            commands.append(SyncMLCommand(name: "Alert", cmdID: "5", data: "1226",
                                          items: [SyncMLItem(format: "int", type: "com.microsoft:mdm.unenrollment.userrequest", data: "1")]))
        }
        var log = ManagementSessionLog(messages: [], executed: [])
        var msgID = 1
        var outgoing = SyncMLMessage(header: .init(sessionID: sessionID, msgID: "1", target: identity.managementURL, source: identity.deviceID),
                                     commands: commands, final: true)
        for _ in 0..<20 {
            let r: DeviceResponse
            do {
                r = try await transport.send(DeviceRequest(method: "POST", url: identity.managementURL + "?mode=Maintenance&Platform=WoA",
                    headers: [("Content-Type", SyncMLNS.contentType), ("User-Agent", "MSFT OMA DM Client/1.2.0.1"), ("Client-Request-Id", identity.entDMID)],
                    body: Array(outgoing.encode().utf8)))
            } catch {
                throw DeviceFailure(hresult: 0x8007_2EFD, phase: .manage, message: "Cannot reach \(identity.managementURL): \(error)")
            }
            guard r.status == 200, let reply = try? SyncMLMessage(bytes: r.body) else {
                throw DeviceFailure(hresult: 0x8019_0000 | UInt32(r.status & 0xFFFF), phase: .manage, message: "HTTP \(r.status): \(r.text.prefix(200))", httpStatus: r.status)
            }
            log.messages.append(reply)
            let serverCommands = reply.commands.filter { $0.name != "Status" }
            if serverCommands.isEmpty || unenroll { return log }
            if let at = serverCommands.firstIndex(where: { $0.name == "Exec" && $0.items.contains { $0.target?.hasSuffix("/Unenroll") == true } }) {
                // Commands before it run; at the Exec Windows drops the session (no Status) and reports in a new one.
                for c in serverCommands[..<at] { log.executed.append((c, "200")) }
                log.executed.append((serverCommands[at], "-"))
                let report = try await manage(identity, transport: transport, sessionID: sessionID + "1", unenroll: true)
                log.messages += report.messages
                return log
            }
            // Answer: Status for the server's header, one per command, Results for each successful Get.
            msgID += 1
            var answers: [SyncMLCommand] = [SyncMLCommand(name: "Status", cmdID: "1", data: "200", msgRef: reply.header.msgID, cmdRef: "0", cmd: "SyncHdr")]
            var n = 1
            func answer(_ c: SyncMLCommand, _ status: String, _ results: [SyncMLItem] = []) {
                n += 1
                answers.append(SyncMLCommand(name: "Status", cmdID: String(n), data: status, msgRef: reply.header.msgID, cmdRef: c.cmdID, cmd: c.name))
                log.executed.append((c, status))
                if !results.isEmpty && status == "200" {
                    n += 1
                    answers.append(SyncMLCommand(name: "Results", cmdID: String(n), items: results, msgRef: reply.header.msgID, cmdRef: c.cmdID))
                }
            }
            for c in serverCommands {
                switch c.name {
                case "Atomic":
                    // All or nothing: on the first failure the container is 507, what ran before is rolled back (216)
                    // and the rest is not run (215).
                    let outcomes = c.children.map { run($0) }
                    let failed = outcomes.firstIndex { !$0.status.hasPrefix("2") }
                    answer(c, failed == nil ? "200" : "507")
                    for (i, child) in c.children.enumerated() {
                        guard let failed else { answer(child, outcomes[i].status, outcomes[i].results); continue }
                        answer(child, i < failed ? "216" : i == failed ? outcomes[i].status : "215")
                    }
                case "Sequence":
                    answer(c, "200")
                    for child in c.children { let o = run(child); answer(child, o.status, o.results) }
                default:
                    let o = run(c)
                    answer(c, o.status, o.results)
                }
            }
            outgoing = SyncMLMessage(header: .init(sessionID: sessionID, msgID: String(msgID), target: identity.managementURL, source: identity.deviceID),
                                     commands: answers, final: true)
        }
        return log
    }

    /// The configuration service providers this emulated device has; a change to any other node is answered 404.
    static let knownCSPs: Set<String> = ["Policy", "Accounts", "DMClient", "Reboot", "DeviceStatus", "CertificateStore", "DevDetail",
                                         "EnterpriseModernAppManagement", "BitLocker", "Defender", "Firewall", "Update",
                                         "EnrollmentStatusTracking"]

    /// Runs one command the way Windows does: Status code and, for a Get, the values.
    func run(_ c: SyncMLCommand) -> (status: String, results: [SyncMLItem]) {
        switch c.name {
        case "Get":
            var results: [SyncMLItem] = []
            for i in c.items {
                guard let uri = i.target, let v = nodeValue(uri) else { return ("404", []) }
                results.append(SyncMLItem(source: uri, format: "chr", data: v))
            }
            return ("200", results)
        case "Alert": return ("200", [])
        case "Replace", "Add", "Exec", "Delete":
            for i in c.items {
                guard let uri = i.target else { return ("400", []) }
                if let refused = profile.refusedNodes[uri] { return (refused, []) }
                if profile.unfinishedNodes.contains(uri) { return ("202", []) }
                if uri.hasPrefix("./DevInfo/") || uri.hasPrefix("./DevDetail/") { continue }
                let rest = ["./Device/Vendor/MSFT/", "./User/Vendor/MSFT/", "./Vendor/MSFT/"].first { uri.hasPrefix($0) }.map { uri.dropFirst($0.count) }
                guard let csp = rest?.split(separator: "/").first, Self.knownCSPs.contains(String(csp)) else { return ("404", []) }
            }
            return ("200", [])
        default: return ("406", [])
        }
    }
}
