import Foundation
import MDMCore
import MDMWire

/// Windows' Enrollment Status Page as the emulated device shows it, built from what the server set in the DMClient
/// FirstSyncStatus and EnrollmentStatusTracking nodes (MANAGEMENT.md §4). Feed it each session and the time.
public struct StatusPageScreen: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// No page: the server never asked for one (SkipDeviceStatusPage stays true).
        case notShown
        case deviceSetup
        /// Device setup is done; the account phase waits for the user tree's ServerHasFinishedProvisioning.
        case accountSetup
        case finished
        /// The error page, with its text and buttons.
        case failed(message: String, buttons: [String])
    }

    public private(set) var phase: Phase = .notShown
    public private(set) var shownAt: Date?
    /// What the page lists under Security policies.
    public private(set) var expectedPolicies: [String] = []
    public private(set) var values: [String: String] = [:]

    public init() {}

    func leaf(_ name: String) -> String? {
        values.first { $0.key.hasPrefix("./Device/Vendor/MSFT/DMClient/Provider/") && $0.key.hasSuffix("/FirstSyncStatus/" + name) }?.value
    }

    var providerState: String? { values[StatusPage.providerNode + "/InstallationState"] }

    /// Applies what a session changed (accepted commands only), then lets time pass to `now`.
    public mutating func observe(_ log: ManagementSessionLog, at now: Date) {
        for (c, status) in log.executed where status.hasPrefix("2") && (c.name == "Replace" || c.name == "Add") {
            for i in c.items { if let t = i.target { values[t] = i.data ?? "" } }
        }
        if shownAt == nil, leaf("SkipDeviceStatusPage") == "false" {
            shownAt = now
            phase = .deviceSetup
        }
        expectedPolicies = leaf("ExpectedPolicies").map { $0.components(separatedBy: StatusPage.listSeparator) } ?? []
        tick(now)
    }

    /// The page's own clock: past TimeOutUntilSyncFailure minutes without the server finishing, it shows the error.
    public mutating func tick(_ now: Date) {
        guard let shownAt else { return }
        if phase == .deviceSetup {
            // Windows calls it done when the server has finished and no provider holds device preparation.
            if leaf("ServerHasFinishedProvisioning") == "true", providerState.map({ $0 == "2" || $0 == "3" }) ?? true {
                phase = leaf("SkipUserStatusPage") == "true" ? .finished : .accountSetup
            } else if let m = leaf("TimeOutUntilSyncFailure").flatMap(Int.init), now >= shownAt + Double(m) * 60 {
                phase = .failed(message: leaf("CustomErrorText") ?? StatusPageSettings.windowsErrorText, buttons: buttons)
            }
        }
        if phase == .accountSetup,
           values.first(where: { $0.key.hasPrefix("./User/Vendor/MSFT/DMClient/Provider/") && $0.key.hasSuffix("/ServerHasFinishedProvisioning") })?.value == "true" {
            phase = .finished
        }
    }

    var buttons: [String] {
        let b = leaf("BlockInStatusPage").flatMap(Int.init) ?? 0
        return [(0x1, "Reset device"), (0x2, "Try again"), (0x4, "Continue anyway")].filter { b & $0.0 != 0 }.map(\.1)
    }
}
