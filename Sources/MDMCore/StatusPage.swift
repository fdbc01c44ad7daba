import Foundation

/// What one Enrollment Status Page configuration asks of Windows' setup screen (Graph
/// `windows10EnrollmentCompletionPageConfiguration`; MANAGEMENT.md §4). Kept on a restriction of type
/// `enrollmentStatusPage`, so it is assigned to groups with a priority like the restrictions are.
public struct StatusPageSettings: Codable, Sendable, Equatable {
    /// Show the page at all ("Show app and profile configuration progress"). Off: Windows skips it.
    public var showInstallationProgress: Bool
    /// Keep the user on the page until the blocking profiles are done ("Block device use until all apps and
    /// profiles are installed").
    public var blockDeviceUseUntilComplete: Bool
    public var allowDeviceResetOnInstallFailure: Bool
    /// True hides the Try again button.
    public var blockDeviceSetupRetryByUser: Bool
    /// "Continue anyway" on failure.
    public var allowDeviceUseOnInstallFailure: Bool
    public var allowLogCollectionOnInstallFailure: Bool
    /// Shown on failure or timeout; empty means Windows' own text.
    public var customErrorMessage: String
    public var installProgressTimeoutInMinutes: Int
    /// The profiles the page waits for: nil waits for every profile assigned to the device, an empty list for none.
    public var blockingProfileIDs: [String]?
    /// Show the account-setup phase only to the first user of a device set up in OOBE.
    public var disableUserStatusTrackingAfterFirstUser: Bool

    public init(showInstallationProgress: Bool = true, blockDeviceUseUntilComplete: Bool = true,
                allowDeviceResetOnInstallFailure: Bool = false, blockDeviceSetupRetryByUser: Bool = false,
                allowDeviceUseOnInstallFailure: Bool = false, allowLogCollectionOnInstallFailure: Bool = false,
                customErrorMessage: String = "", installProgressTimeoutInMinutes: Int = 60, blockingProfileIDs: [String]? = nil,
                disableUserStatusTrackingAfterFirstUser: Bool = false) {
        self.showInstallationProgress = showInstallationProgress
        self.blockDeviceUseUntilComplete = blockDeviceUseUntilComplete
        self.allowDeviceResetOnInstallFailure = allowDeviceResetOnInstallFailure
        self.blockDeviceSetupRetryByUser = blockDeviceSetupRetryByUser
        self.allowDeviceUseOnInstallFailure = allowDeviceUseOnInstallFailure
        self.allowLogCollectionOnInstallFailure = allowLogCollectionOnInstallFailure
        self.customErrorMessage = customErrorMessage
        self.installProgressTimeoutInMinutes = installProgressTimeoutInMinutes
        self.blockingProfileIDs = blockingProfileIDs
        self.disableUserStatusTrackingAfterFirstUser = disableUserStatusTrackingAfterFirstUser
    }

    /// Intune's Default page: not shown, retry blocked, 60 minutes.
    public static let intuneDefault = StatusPageSettings(showInstallationProgress: false, blockDeviceSetupRetryByUser: true)

    /// What Windows shows when there is no custom message.
    public static let windowsErrorText = "Setup could not be completed. Please try again or contact your support person for help."
    /// `TimeOutUntilSyncFailure` accepts 1 to 1440 minutes.
    public static let timeoutRange = 1...1440
    public static let maxMessageLength = 10_000
    public static let maxBlockingProfiles = 100

    public func validate() throws(ProfileError) {
        guard Self.timeoutRange.contains(installProgressTimeoutInMinutes) else {
            throw ProfileError("The timeout is 1 to 1440 minutes (Windows' TimeOutUntilSyncFailure); got \(installProgressTimeoutInMinutes).")
        }
        guard customErrorMessage.count <= Self.maxMessageLength else {
            throw ProfileError("The error message is at most \(Self.maxMessageLength) characters.")
        }
        guard (blockingProfileIDs?.count ?? 0) <= Self.maxBlockingProfiles else {
            throw ProfileError("At most \(Self.maxBlockingProfiles) blocking profiles.")
        }
    }

    /// `BlockInStatusPage`: 0 lets the user leave; otherwise the buttons offered on failure (0x1 Reset PC,
    /// 0x2 Try again, 0x4 Continue anyway). Windows has no "block with no button": blocking without any offers Try again.
    public var blockInStatusPage: Int {
        guard blockDeviceUseUntilComplete else { return 0 }
        let bits = (allowDeviceResetOnInstallFailure ? 0x1 : 0) | (blockDeviceSetupRetryByUser ? 0 : 0x2)
            | (allowDeviceUseOnInstallFailure ? 0x4 : 0)
        return bits == 0 ? 0x2 : bits
    }

    /// The buttons, for people.
    public var failureButtons: [String] {
        let b = blockInStatusPage
        guard b != 0 else { return ["the user may leave the page"] }
        return [(0x1, "Reset device"), (0x2, "Try again"), (0x4, "Continue anyway")].filter { b & $0.0 != 0 }.map(\.1)
    }
}

/// The profile an Enrollment Status Page waited on when it failed or ran out of time.
public struct StatusPageHold: Codable, Sendable, Equatable {
    public var profileID: String
    public var profileName: String
    /// The setting that did not finish, and the last status Windows gave it (nil when never answered).
    public var locURI: String?
    public var status: String?

    public init(profileID: String, profileName: String, locURI: String? = nil, status: String? = nil) {
        self.profileID = profileID
        self.profileName = profileName
        self.locURI = locURI
        self.status = status
    }

    /// What the status means, in words.
    public var meaning: String {
        guard let status else { return "Windows has not answered it yet." }
        return OMAStatus.meaning(status)
    }
}

/// One device's way through the Enrollment Status Page, kept on its enrollment from enrollment until the page is
/// done (the check-in path only looks at it while it is in progress).
public struct StatusPageProgress: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case inProgress = "in-progress"
        case succeeded
        /// A blocking profile failed; winmdm told the page to fail.
        case failed
        /// The timeout passed with a blocking profile unfinished; Windows showed the error itself.
        case timedOut = "timed-out"
    }

    public var configurationID: String
    public var configurationName: String
    /// The settings as they were at enrollment: a later edit applies to the next device.
    public var settings: StatusPageSettings
    public var state: State
    public var startedAt: Date
    /// Whether the page's settings went to the device (first management session).
    public var setupSent: Bool
    /// The profiles waited for, fixed when the settings were sent (those assigned to the device then).
    public var blockingProfileIDs: [String]
    public var finishedAt: Date?
    public var heldBy: StatusPageHold?
    /// The attempt recorded for a failure or timeout.
    public var attemptID: String?
    /// The account phase: false while the user tree's ServerHasFinishedProvisioning has not been accepted.
    public var userPhaseFinished: Bool

    public init(configurationID: String, configurationName: String, settings: StatusPageSettings, startedAt: Date) {
        self.configurationID = configurationID
        self.configurationName = configurationName
        self.settings = settings
        self.state = .inProgress
        self.startedAt = startedAt
        self.setupSent = false
        self.blockingProfileIDs = []
        self.userPhaseFinished = false
    }

    public var deadline: Date { startedAt + Double(settings.installProgressTimeoutInMinutes) * 60 }

    /// One line for people.
    public var summary: String {
        switch state {
        case .inProgress: "in progress (\(blockingProfileIDs.count) blocking profile\(blockingProfileIDs.count == 1 ? "" : "s"), times out \(Self.format(deadline)))"
        case .succeeded: "finished \(finishedAt.map(Self.format) ?? "")"
        case .failed: "failed on \(heldBy?.profileName ?? "a profile")\(heldBy?.status.map { " (status \($0))" } ?? "")"
        case .timedOut: "timed out waiting for \(heldBy?.profileName ?? "a profile")"
        }
    }

    static func format(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}

/// What the page should do next for one device, from where its blocking profiles stand. Pure.
public enum StatusPageStep: Sendable, Equatable {
    case wait
    case finished
    case failed(StatusPageHold)
    case timedOut(StatusPageHold)
}

/// The Enrollment Status Page's side of the management channel: which configuration applies, the commands that drive
/// the page, and the decision at each check-in.
public enum StatusPage {
    /// The HRESULT the page shows when it runs out of time (ERROR_TIMEOUT).
    public static let timeoutHResult: UInt32 = 0x8007_05B4
    /// The name winmdm registers as a device-preparation provider to hold the page until it has sent everything.
    public static let providerName = "winmdm"
    public static let listSeparator = "\u{F000}"
    /// How long the account phase's "finished" is offered again after device setup: a pre-provisioned device may
    /// wait up to 14 days for its user; after that the next user's sign-in has no page to finish.
    public static let accountPhaseWindow: TimeInterval = 14 * 86400

    /// Whether an enrollment gets the page: the configuration shows it, and Windows says it is in OOBE (Fleet's rule:
    /// NotInOobe not true; Settings-app enrollments in Windows 10 1903+ send true).
    public static func applies(_ settings: StatusPageSettings, notInOOBE: Bool?) -> Bool {
        settings.showInstallationProgress && notInOOBE != true
    }

    static func deviceNode(_ providerID: String, _ leaf: String) -> String {
        "./Device/Vendor/MSFT/DMClient/Provider/\(providerID)/FirstSyncStatus/\(leaf)"
    }
    public static func userFinishedNode(_ providerID: String) -> String {
        "./User/Vendor/MSFT/DMClient/Provider/\(providerID)/FirstSyncStatus/ServerHasFinishedProvisioning"
    }
    public static let providerNode = "./Device/Vendor/MSFT/EnrollmentStatusTracking/DevicePreparation/PolicyProviders/\(providerName)"

    static func command(_ enrollmentID: String, _ verb: String, _ uri: String, _ format: String?, _ data: String?, _ at: Date,
                        kind: String = "esp") -> DeviceCommand {
        DeviceCommand(enrollmentID: enrollmentID, kind: kind, verb: verb, items: [DMItem(target: uri, format: format, data: data)], createdAt: at)
    }

    /// The first session's commands: the page's settings, what it waits for, and winmdm registered as a provider that
    /// holds device preparation. One node per command, so each answer names its node. `expected` are the LocURIs of
    /// the blocking profiles' settings (Windows lists them under Security policies).
    public static func setupCommands(enrollmentID: String, providerID: String, settings s: StatusPageSettings, userless: Bool,
                                     expected: [String], at now: Date) -> [DeviceCommand] {
        var out: [DeviceCommand] = []
        var t = now
        func add(_ verb: String, _ uri: String, _ format: String?, _ data: String?) {
            out.append(command(enrollmentID, verb, uri, format, data, t))
            t += 0.001
        }
        add("Replace", deviceNode(providerID, "SkipDeviceStatusPage"), "bool", "false")
        add("Replace", deviceNode(providerID, "SkipUserStatusPage"), "bool", userless ? "true" : "false")
        add("Replace", deviceNode(providerID, "BlockInStatusPage"), "int", String(s.blockInStatusPage))
        add("Replace", deviceNode(providerID, "TimeOutUntilSyncFailure"), "int", String(s.installProgressTimeoutInMinutes))
        add("Replace", deviceNode(providerID, "AllowCollectLogsButton"), "bool", s.allowLogCollectionOnInstallFailure ? "true" : "false")
        if !s.customErrorMessage.isEmpty { add("Replace", deviceNode(providerID, "CustomErrorText"), "chr", s.customErrorMessage) }
        // Intune lists a placeholder when nothing is tracked, so the Security policies row still completes.
        let list = expected.isEmpty ? ["./Vendor/MSFT/DMClient/Provider/\(providerID)/EntDMID"] : expected
        add("Replace", deviceNode(providerID, "ExpectedPolicies"), "chr", list.joined(separator: listSeparator))
        add("Add", providerNode, "node", nil)
        add("Replace", providerNode + "/InstallationState", "int", "1")
        return out
    }

    /// Everything is in place: release device preparation and tell the device phase it is done.
    public static func finishCommands(enrollmentID: String, providerID: String, at now: Date) -> [DeviceCommand] {
        [command(enrollmentID, "Replace", providerNode + "/InstallationState", "int", "3", now),
         command(enrollmentID, "Replace", deviceNode(providerID, "ServerHasFinishedProvisioning"), "bool", "true", now + 0.001)]
    }

    /// The account phase is done. Windows answers 405 until the user's MDM context exists, so this goes again in each
    /// session until it is accepted.
    public static func userFinishCommand(enrollmentID: String, providerID: String, at now: Date) -> DeviceCommand {
        command(enrollmentID, "Replace", userFinishedNode(providerID), "bool", "true", now, kind: "esp-user")
    }

    /// A blocking profile failed: show the error now (a one-minute timeout with the page's message and buttons), and
    /// never say the server has finished, which Windows would read as success.
    public static func failureCommands(enrollmentID: String, providerID: String, settings s: StatusPageSettings, at now: Date) -> [DeviceCommand] {
        [command(enrollmentID, "Replace", deviceNode(providerID, "CustomErrorText"), "chr",
                 s.customErrorMessage.isEmpty ? StatusPageSettings.windowsErrorText : s.customErrorMessage, now),
         command(enrollmentID, "Replace", deviceNode(providerID, "BlockInStatusPage"), "int", String(s.blockInStatusPage), now + 0.001),
         command(enrollmentID, "Replace", deviceNode(providerID, "TimeOutUntilSyncFailure"), "int", "1", now + 0.002)]
    }

    /// Where the blocking profiles stand on one device. A profile with no state (unassigned since) does not block;
    /// a setting another profile wins (conflict) or that does not apply to the edition counts as done.
    public static func step(_ p: StatusPageProgress, states: [DeviceProfileState], now: Date) -> StatusPageStep {
        var waiting: StatusPageHold?
        for id in p.blockingProfileIDs {
            guard let s = states.first(where: { $0.profileID == id }), s.assigned else { continue }
            if let f = s.settings.first(where: { $0.state == .failed }) {
                return .failed(StatusPageHold(profileID: id, profileName: s.profileName, locURI: f.locURI, status: f.status))
            }
            if waiting == nil, let w = s.settings.first(where: { $0.state == .pending }) {
                waiting = StatusPageHold(profileID: id, profileName: s.profileName, locURI: w.locURI, status: w.status)
            }
        }
        guard let waiting else { return .finished }
        return now >= p.deadline ? .timedOut(waiting) : .wait
    }
}
