import Foundation
import MDMCore

/// The built-in device commands and their OMA-DM form (PROTOCOL.md §9; CSP node paths).
public enum BuiltInCommand: Sendable {
    case inventory
    case reboot
    case rename(String)
    /// Minutes between scheduled check-ins after the first ones.
    case pollInterval(Int)
    case unenroll
    case raw(verb: String, target: String, format: String?, data: String?)
    /// Commands the device applies all together or not at all (it rolls back on the first failure). No Get inside.
    case atomic([BuiltInCommand])
    /// Commands the device runs in this order.
    case sequence([BuiltInCommand])

    public var kind: String {
        switch self {
        case .inventory: "inventory"
        case .reboot: "reboot"
        case .rename: "rename"
        case .pollInterval: "poll-interval"
        case .unenroll: "unenroll"
        case .raw: "raw"
        case .atomic: "atomic"
        case .sequence: "sequence"
        }
    }

    func syncml(providerID: String) throws -> (verb: String, items: [DMItem], steps: [DMCommandStep]?) {
        switch self {
        case .atomic(let list), .sequence(let list):
            let name = kind.capitalized
            guard !list.isEmpty else { throw AdminError("An \(name) needs at least one command inside.") }
            let steps = try list.map { c -> DMCommandStep in
                switch c {
                case .atomic, .sequence: throw AdminError("An \(name) cannot hold another Atomic or Sequence here.")
                case .unenroll: throw AdminError("unenroll ends the session; queue it on its own.")
                default: break
                }
                let (verb, items) = try c.command(providerID: providerID)
                if case .atomic = self, verb == "Get" {
                    throw AdminError("An Atomic cannot hold a Get (OMA-DM allows only changes there); use a sequence.")
                }
                return DMCommandStep(verb: verb, items: items)
            }
            return (name, [], steps)
        default:
            let (verb, items) = try command(providerID: providerID)
            return (verb, items, nil)
        }
    }

    /// A single command's verb and items.
    func command(providerID: String) throws -> (verb: String, items: [DMItem]) {
        switch self {
        case .atomic, .sequence:
            throw AdminError("An Atomic or Sequence is not a single command.")
        case .inventory:
            return ("Get", ["./DevDetail/SwV", "./DevDetail/OEM", "./DevDetail/Ext/Microsoft/DeviceName", "./DevDetail/Ext/Microsoft/OSPlatform",
                            "./DevDetail/Ext/Microsoft/TotalRAM", "./Vendor/MSFT/DeviceStatus/OS/Edition",
                            "./Vendor/MSFT/DeviceStatus/Compliance/EncryptionCompliance"].map { DMItem(target: $0) })
        case .reboot:
            return ("Exec", [DMItem(target: "./Device/Vendor/MSFT/Reboot/RebootNow", format: "null", data: "")])
        case .rename(let name):
            guard (1...15).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
                  !name.allSatisfy(\.isNumber) else {
                throw AdminError("A computer name is 1 to 15 letters, digits and hyphens, not all digits.")
            }
            return ("Replace", [DMItem(target: "./Device/Vendor/MSFT/Accounts/Domain/ComputerName", format: "chr", data: name)])
        case .pollInterval(let minutes):
            guard (15...1440 * 7).contains(minutes) else { throw AdminError("The poll interval must be between 15 minutes and 7 days (10080 minutes).") }
            return ("Replace", [DMItem(target: "./Vendor/MSFT/DMClient/Provider/\(providerID)/Poll/IntervalForRemainingScheduledRetries",
                                       format: "int", data: String(minutes))])
        case .unenroll:
            return ("Exec", [DMItem(target: "./Vendor/MSFT/DMClient/Provider/\(providerID)/Unenroll", format: "chr", data: providerID)])
        case .raw(let verb, let target, let format, let data):
            guard ["Get", "Replace", "Add", "Delete", "Exec"].contains(verb) else {
                throw AdminError("'\(verb)' is not a command Windows executes; use Get, Replace, Add, Delete or Exec.")
            }
            guard target.hasPrefix("./"), !target.contains(" ") else {
                throw AdminError("'\(target)' is not a node path; paths are relative, like ./Device/Vendor/MSFT/Policy/Config/…")
            }
            return (verb, [DMItem(target: target, format: format, data: data)])
        }
    }
}

extension AdminService {
    /// Queues a command for the device's next session.
    public func queueCommand(_ enrollmentRef: String, _ command: BuiltInCommand, providerID: String) async throws -> DeviceCommand {
        let e = try await enrollment(enrollmentRef)
        guard e.state == .active else { throw AdminError("\(e.deviceName ?? e.id) is \(e.state.rawValue); only enrolled devices take commands.") }
        let (verb, items, steps) = try command.syncml(providerID: providerID)
        let now = clock.now()
        let push = try await settings().push
        if case .inventory = command {
            // One node per Get, as Intune reads: a node this device lacks (an edition without DeviceStatus, an older
            // build) fails its own Get, and the others still report. With push on, the channel is read again too.
            let nodes = items + (push == nil ? [] : [DMItem(target: PushSettings.channelNode(providerID)), DMItem(target: PushSettings.statusNode(providerID))])
            // In order, and all at or before now: a command queued right after them sorts after every one of them.
            var all = nodes.enumerated().map { i, item in
                DeviceCommand(enrollmentID: e.id, kind: command.kind, verb: "Get", items: [item], createdAt: DeviceCommand.orderedTime(now, i, of: nodes.count))
            }
            if let pusher { all[0].note = await pusher.wake(e, settings: push) }
            for c in all { try await store.enqueue(c) }
            try await audit("device.command", e.id, before: nil as [DeviceCommand]?, after: all)
            return all[0]
        }
        var c = DeviceCommand(enrollmentID: e.id, kind: command.kind, verb: verb, items: items, steps: steps, createdAt: now)
        if case .reboot = command, let pusher { c.note = await pusher.wake(e, settings: push) }
        try await store.enqueue(c)
        try await audit("device.command", e.id, before: nil as DeviceCommand?, after: c)
        return c
    }

    public func deviceCommands(_ enrollmentRef: String, limit: Int = 50) async throws -> [DeviceCommand] {
        try await store.commands(enrollmentID: try await enrollment(enrollmentRef).id, limit: limit)
    }
}
