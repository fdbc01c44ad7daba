/// OMA-DM 1.2 (SyncML DM) messages as Windows sends and accepts them (MS-MDM; PROTOCOL.md §9.3; samples 19–27).
///
/// Identifiers (SessionID, MsgID, CmdID) are opaque strings: Windows sends a hex SessionID once
/// SyncApplicationVersion >= 2.0 (sample 26), and servers may use any CmdID text (PROTOCOL.md P18).
public enum SyncMLNS {
    /// Upper case, exactly as Windows writes it.
    public static let syncml = "SYNCML:SYNCML1.2"
    public static let metinf = "syncml:metinf"
    public static let contentType = "application/vnd.syncml.dm+xml"
}

public struct SyncMLItem: Sendable, Equatable {
    public var source: String?
    public var target: String?
    public var format: String?
    public var type: String?
    public var data: String?

    public init(source: String? = nil, target: String? = nil, format: String? = nil, type: String? = nil, data: String? = nil) {
        self.source = source
        self.target = target
        self.format = format
        self.type = type
        self.data = data
    }
}

/// One command of a SyncBody: Alert, Replace, Add, Get, Exec, Delete, Status, Results, Atomic, Sequence.
public struct SyncMLCommand: Sendable, Equatable {
    public var name: String
    public var cmdID: String
    public var data: String?
    public var items: [SyncMLItem]
    /// Status and Results: what they refer to.
    public var msgRef: String?
    public var cmdRef: String?
    public var cmd: String?
    /// Atomic and Sequence members.
    public var children: [SyncMLCommand]

    public init(name: String, cmdID: String, data: String? = nil, items: [SyncMLItem] = [], msgRef: String? = nil,
                cmdRef: String? = nil, cmd: String? = nil, children: [SyncMLCommand] = []) {
        self.name = name
        self.cmdID = cmdID
        self.data = data
        self.items = items
        self.msgRef = msgRef
        self.cmdRef = cmdRef
        self.cmd = cmd
        self.children = children
    }

    public static let known: Set<String> = ["Alert", "Replace", "Add", "Get", "Exec", "Delete", "Status", "Results", "Atomic", "Sequence"]

    /// The command as it goes on the wire (members included).
    public var xml: String { SyncMLMessage.encode(self) }
}

public struct SyncMLHeader: Sendable, Equatable {
    public var sessionID: String
    public var msgID: String
    /// Recipient: the server URL (client → server) or the DeviceID (server → client).
    public var target: String
    /// Sender.
    public var source: String
    public var credFormat: String?
    public var credType: String?
    public var credData: String?

    public init(sessionID: String, msgID: String, target: String, source: String) {
        self.sessionID = sessionID
        self.msgID = msgID
        self.target = target
        self.source = source
    }
}

public struct SyncMLMessage: Sendable, Equatable {
    public var header: SyncMLHeader
    public var commands: [SyncMLCommand]
    /// Last message of its package; without it the sender expects Alert 1222.
    public var final: Bool

    public init(header: SyncMLHeader, commands: [SyncMLCommand], final: Bool) {
        self.header = header
        self.commands = commands
        self.final = final
    }

    public init(bytes: [UInt8]) throws(WireError) {
        let root = try XMLReader.parse(bytes)
        guard root.name == "SyncML", root.namespace.uppercased() == SyncMLNS.syncml else {
            throw WireError(.notSOAP, "The document is not a SyncML 1.2 message (root \(root.name) in '\(root.namespace)').")
        }
        let ns = root.namespace
        guard let hdr = root.child(ns, "SyncHdr"), let body = root.child(ns, "SyncBody") else {
            throw WireError(.missingElement, "The SyncML message lacks SyncHdr or SyncBody.")
        }
        func text(_ n: XMLNode?, _ name: String) -> String? { n?.child(ns, name)?.trimmedText }
        guard let session = text(hdr, "SessionID"), let msg = text(hdr, "MsgID") else {
            throw WireError(.missingElement, "The SyncHdr lacks SessionID or MsgID.")
        }
        var h = SyncMLHeader(sessionID: session, msgID: msg,
                             target: text(hdr.child(ns, "Target"), "LocURI") ?? "", source: text(hdr.child(ns, "Source"), "LocURI") ?? "")
        if let cred = hdr.child(ns, "Cred") {
            h.credFormat = cred.child(ns, "Meta")?.child(SyncMLNS.metinf, "Format")?.trimmedText
            h.credType = cred.child(ns, "Meta")?.child(SyncMLNS.metinf, "Type")?.trimmedText
            h.credData = text(cred, "Data")
        }
        header = h
        final = body.child(ns, "Final") != nil
        commands = body.children.filter { $0.namespace == ns && SyncMLCommand.known.contains($0.name) }.map { Self.command($0, ns) }
    }

    static func command(_ n: XMLNode, _ ns: String) -> SyncMLCommand {
        func text(_ name: String) -> String? { n.child(ns, name)?.trimmedText }
        let items = n.children(ns, "Item").map { i in
            SyncMLItem(source: i.child(ns, "Source")?.child(ns, "LocURI")?.trimmedText,
                       target: i.child(ns, "Target")?.child(ns, "LocURI")?.trimmedText,
                       format: i.child(ns, "Meta")?.child(SyncMLNS.metinf, "Format")?.trimmedText,
                       type: i.child(ns, "Meta")?.child(SyncMLNS.metinf, "Type")?.trimmedText,
                       data: i.child(ns, "Data")?.text)
        }
        return SyncMLCommand(name: n.name, cmdID: text("CmdID") ?? "", data: text("Data"), items: items, msgRef: text("MsgRef"),
                             cmdRef: text("CmdRef"), cmd: text("Cmd"),
                             children: n.children.filter { $0.namespace == ns && SyncMLCommand.known.contains($0.name) }.map { command($0, ns) })
    }

    /// Encodes with the element order of the SyncML DTD; every value goes through `xmlEscape`.
    public func encode() -> String {
        var out = "<SyncML xmlns=\"\(SyncMLNS.syncml)\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
        out += "<SessionID>\(xmlEscape(header.sessionID))</SessionID><MsgID>\(xmlEscape(header.msgID))</MsgID>"
        out += "<Target><LocURI>\(xmlEscape(header.target))</LocURI></Target><Source><LocURI>\(xmlEscape(header.source))</LocURI></Source>"
        out += "</SyncHdr><SyncBody>"
        for c in commands { out += Self.encode(c) }
        if final { out += "<Final/>" }
        return out + "</SyncBody></SyncML>"
    }

    static func encode(_ c: SyncMLCommand) -> String {
        var out = "<\(c.name)><CmdID>\(xmlEscape(c.cmdID))</CmdID>"
        if let v = c.msgRef { out += "<MsgRef>\(xmlEscape(v))</MsgRef>" }
        if let v = c.cmdRef { out += "<CmdRef>\(xmlEscape(v))</CmdRef>" }
        if let v = c.cmd { out += "<Cmd>\(xmlEscape(v))</Cmd>" }
        // The DTD puts command-level Data (Status, Alert) before any Item.
        if let v = c.data { out += "<Data>\(xmlEscape(v))</Data>" }
        for i in c.items {
            out += "<Item>"
            if let t = i.target { out += "<Target><LocURI>\(xmlEscape(t))</LocURI></Target>" }
            if let s = i.source { out += "<Source><LocURI>\(xmlEscape(s))</LocURI></Source>" }
            if i.format != nil || i.type != nil {
                out += "<Meta>"
                if let f = i.format { out += "<Format xmlns=\"\(SyncMLNS.metinf)\">\(xmlEscape(f))</Format>" }
                if let t = i.type { out += "<Type xmlns=\"\(SyncMLNS.metinf)\">\(xmlEscape(t))</Type>" }
                out += "</Meta>"
            }
            if let d = i.data { out += "<Data>\(xmlEscape(d))</Data>" }
            out += "</Item>"
        }
        for child in c.children { out += encode(child) }
        return out + "</\(c.name)>"
    }
}
