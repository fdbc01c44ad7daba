import MDMWire

/// What one client message asks the server to do, and the reply to send (STYLE.md §5: messages in, actions out).
public struct ManagementActions: Sendable {
    public var reply: SyncMLMessage
    /// `./DevInfo/…`, `./DevDetail/…` and DMClient values the device reported (LocURI → value).
    public var inventory: [String: String]
    /// `user`, `others` or `none` from Alert 1224 LoginStatus.
    public var loginStatus: String?
    /// Alert 1226 `com.microsoft:mdm.unenrollment.userrequest`: the device is leaving management.
    public var unenrollRequested: Bool
    /// Alert 1223: the device abandons the session; nothing more is sent in it.
    public var aborted = false
    /// The device's Status for each server command: our MsgID and CmdID it refers to, and the code.
    public var statuses: [(msgRef: String, cmdRef: String, code: String)]
    /// Results for server Gets: our MsgID and CmdID, and the items.
    public var results: [(msgRef: String, cmdRef: String, items: [SyncMLItem])]
    /// Server commands sent in this reply.
    public var sent: [SyncMLCommand]
}

public enum ManagementSessionError: Error, Equatable {
    /// The SyncML Source is not the device the certificate belongs to.
    case deviceMismatch(expected: String, got: String)
    /// The SessionID changed inside a session.
    case sessionMismatch(expected: String, got: String)
}

/// One OMA-DM session with one device, as a value: feed it each client message, get the reply and what to store.
///
/// Server MsgIDs start at 1 in every session and follow the client's; the SyncHdr Status comes first, then one Status per received command in
/// the order received (Status and Results are not acknowledged); SessionID is echoed as text (PROTOCOL.md P18–P20).
public struct ManagementSession: Sendable {
    public let deviceID: String
    public let serverURL: String
    public private(set) var sessionID: String?
    public private(set) var serverMsgID = 0
    /// Queued commands go out in messages of about this many bytes at most; the rest follow in the next message of
    /// the session, after the device has answered (PROTOCOL.md §9.3: keep each message under the client's limits).
    public var maxCommandBytes: Int

    public init(deviceID: String, serverURL: String, maxCommandBytes: Int = 48 * 1024) {
        self.deviceID = deviceID
        self.serverURL = serverURL
        self.maxCommandBytes = maxCommandBytes
    }

    public static let unenrollType = "com.microsoft:mdm.unenrollment.userrequest"

    /// Whether the message carries the device's unenrollment alert (at any depth).
    public static func announcesUnenrollment(_ m: SyncMLMessage) -> Bool {
        func has(_ c: SyncMLCommand) -> Bool {
            (c.name == "Alert" && c.items.contains { $0.type == unenrollType }) || c.children.contains(where: has)
        }
        return m.commands.contains(where: has)
    }

    /// Nodes kept on the device record: DevInfo, DevDetail, DMClient and DeviceStatus values.
    public static func isInventory(_ uri: String) -> Bool {
        ["./DevInfo/", "./DevDetail/", "./Vendor/MSFT/DMClient/", "./Vendor/MSFT/DeviceStatus/", "./Device/Vendor/MSFT/DeviceStatus/"]
            .contains { uri.hasPrefix($0) }
    }
    public static let loginStatusType = "com.microsoft/MDM/LoginStatus"

    /// Takes a client message and the commands the server wants to send now (held back while the client's package
    /// is not complete), and returns what to reply and store.
    public mutating func receive(_ m: SyncMLMessage, send queued: [SyncMLCommand] = []) throws(ManagementSessionError) -> ManagementActions {
        guard m.header.source == deviceID else { throw .deviceMismatch(expected: deviceID, got: m.header.source) }
        if let s = sessionID, s != m.header.sessionID { throw .sessionMismatch(expected: s, got: m.header.sessionID) }
        sessionID = m.header.sessionID
        // The server answers each client message with one of its own, both numbered from 1, so its MsgID follows the
        // client's: any instance can answer any message of a session without having seen the ones before.
        serverMsgID = max(serverMsgID + 1, Int(m.header.msgID) ?? 0)

        var cmdID = 0
        func next() -> String { cmdID += 1; return String(cmdID) }
        var out: [SyncMLCommand] = []
        var a = ManagementActions(reply: SyncMLMessage(header: .init(sessionID: m.header.sessionID, msgID: String(serverMsgID),
                                                                     target: m.header.source, source: serverURL), commands: [], final: true),
                                  inventory: [:], loginStatus: nil, unenrollRequested: false, statuses: [], results: [], sent: [])
        out.append(SyncMLCommand(name: "Status", cmdID: next(), data: "200", msgRef: m.header.msgID, cmdRef: "0", cmd: "SyncHdr"))
        // One Status per command, in order; an Atomic or Sequence gets its own, then one for each command inside.
        func acknowledge(_ c: SyncMLCommand) {
            switch c.name {
            case "Status":
                if let ref = c.cmdRef, ref != "0" { a.statuses.append((c.msgRef ?? "", ref, c.data ?? "")) }
                return
            case "Results":
                if let ref = c.cmdRef { a.results.append((c.msgRef ?? "", ref, c.items)) }
                // Answers to inventory Gets describe the device too.
                for i in c.items { if let uri = i.source, Self.isInventory(uri) { a.inventory[uri] = i.data ?? "" } }
                return
            case "Alert":
                if c.data == "1223" { a.aborted = true }
                for i in c.items {
                    if i.type == Self.loginStatusType { a.loginStatus = i.data?.trimmingCharacters(in: .whitespacesAndNewlines) }
                    if i.type == Self.unenrollType { a.unenrollRequested = true }
                }
            case "Replace", "Add":
                for i in c.items { if let uri = i.source, Self.isInventory(uri) { a.inventory[uri] = i.data ?? "" } }
            default: break
            }
            out.append(SyncMLCommand(name: "Status", cmdID: next(), data: "200", msgRef: m.header.msgID, cmdRef: c.cmdID, cmd: c.name))
            c.children.forEach(acknowledge)
        }
        m.commands.forEach(acknowledge)
        if a.aborted {
            // Acknowledge and stop: queued commands wait for the next session.
        } else if !m.final {
            // The client's package goes on: ask for the next message, send nothing else yet.
            out.append(SyncMLCommand(name: "Alert", cmdID: next(), data: "1222"))
        } else {
            // Commands inside an Atomic or Sequence are numbered too: the device answers each of them.
            func number(_ c: SyncMLCommand) -> SyncMLCommand {
                var c = c
                c.cmdID = next()
                c.children = c.children.map(number)
                return c
            }
            var budget = maxCommandBytes
            for q in queued {
                let q = number(q)
                let size = q.xml.utf8.count
                // Always at least one, so an oversized command still goes out (and the device says what it thinks).
                guard a.sent.isEmpty || size <= budget else { break }
                budget -= size
                a.sent.append(q)
                out.append(q)
            }
        }
        a.reply.commands = out
        return a
    }
}
