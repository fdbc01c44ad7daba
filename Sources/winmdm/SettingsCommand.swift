import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Settings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show or change tenant settings.",
                                                    subcommands: [Show.self, AuthPolicyCommand.self, LockoutCommand.self, CheckInScheduleCommand.self, PushCommand.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the tenant settings.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
            let s = try await admin.settings()
            if json { return try JSONOutput.print(s) }
            print("""
            Organization:   \(s.organizationName) (tenant \(s.tenantID))
            Auth policy:    \(s.authPolicy.rawValue)
            Domains:        \(s.domains.map { "\($0.name)\($0.isVerified ? " (verified)" : " (unverified)")" }.joined(separator: ", "))
            Maintenance:    \(s.maintenance ? "on" : "off")
            Check-ins:      \(s.checkInSchedule.summary) (winmdm settings check-in-schedule)
            \(LockoutText.describe(s.lockout))
            \(try await TenantText.join(s, admin))
            \(try await TenantText.mobility(s, admin))
            Restrictions:   winmdm restrictions list
            """)
            }
        }
    }

    struct AuthPolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "auth-policy",
            abstract: "Choose how devices sign in: OnPremise (password in the enrollment dialog) or Federated (winmdm's sign-in page).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "OnPremise or Federated.") var policy: String

        func run() async throws {
            guard let p = AuthPolicy(flexible: policy) else {
                throw ValidationError("'\(policy)' is not an auth policy; use OnPremise or Federated.")
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let old = try await admin.setAuthPolicy(p)
                print(old == p ? "Auth policy is already \(p.rawValue)." : "Auth policy changed from \(old.rawValue) to \(p.rawValue); it applies to the next discovery.")
            }
        }
    }

    struct CheckInScheduleCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "check-in-schedule",
            abstract: "Show or set how often devices check in on their own (Intune's default: every 3 minutes for 15 minutes, every 15 minutes for 2 hours, then every 8 hours).",
            discussion: """
            Sets are MINUTESxCOUNT: --first 3x5 --second 15x8 --then 480. New enrollments get the schedule in their
            provisioning document; enrolled devices get it through the profile "Check-in schedule (winmdm)" at their
            next check-in. Without push, a queued command or a changed profile waits for the next check-in.
            """)
        @OptionGroup var common: CommonOptions
        @Option(help: "First set after enrollment, MINUTESxCOUNT (3x5).") var first: String?
        @Option(help: "Second set, MINUTESxCOUNT (15x8), or 0 for none.") var second: String?
        @Option(help: "Minutes between check-ins after that, forever (480).") var then: Int?
        @Flag(help: "Go back to Intune's schedule.") var intune = false

        static func set(_ text: String, _ name: String) throws -> (Int, Int) {
            if text == "0" { return (0, 0) }
            let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--\(name) '\(text)' is not MINUTESxCOUNT, like 3x5 (every 3 minutes, 5 times).") }
            return (parts[0], parts[1])
        }

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                var s = try await admin.settings().checkInSchedule
                guard intune || first != nil || second != nil || then != nil else {
                    return print("Devices check in \(s.summary).")
                }
                if intune { s = .intune }
                if let first { (s.firstInterval, s.firstCount) = try Self.set(first, "first") }
                if let second { (s.secondInterval, s.secondCount) = try Self.set(second, "second") }
                if let then { s.remainingInterval = then }
                let (before, after) = try await admin.setCheckInSchedule(s, providerID: rt.config.providerID)
                print(before == after ? "The schedule is already: \(after.summary)."
                    : "Devices now check in \(after.summary) (was \(before.summary)). Enrolled devices get it at their next check-in.")
            }
        }
    }

    struct PushCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "push",
            abstract: "Windows push (WNS): Sync and Restart wake the device instead of waiting for its next check-in.",
            discussion: """
            Needs a Microsoft Store app registered in Partner Center: its package family name, Package SID and client
            secret (WNS credentials). Devices get the package family name through the profile "Push notifications (winmdm)"
            and report their channel; Sync and Restart then post a raw notification to it. Optional: Windows may log the
            push and still wait for its schedule (MANAGEMENT.md §5.3), so the check-in schedule stays what counts.
            """)
        @OptionGroup var common: CommonOptions
        @Option(help: "Package family name, Name_publisherid.") var pfn: String?
        @Option(help: "Package SID, S-1-15-2-….") var sid: String?
        @Option(help: "A file holding the client secret ('-' reads standard input).") var secretFile: String?
        @Flag(help: "Turn push off.") var off = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, rt in
                if off {
                    try await admin.clearPush()
                    return print("Push is off; Sync and Restart wait for the next check-in.")
                }
                guard let pfn, let sid, let secretFile else {
                    let p = try await admin.settings().push
                    return print(p.map { "Push: \($0.packageFamilyName) (\($0.packageSID)), configured \($0.configuredAt.short)." }
                                 ?? "Push is not configured: winmdm settings push --pfn NAME_ID --sid S-1-15-2-… --secret-file FILE")
                }
                let bytes = secretFile == "-" ? CommandIO.readStandardInput() : CommandIO.contents(ofFile: secretFile)
                guard let bytes else { throw ValidationError("Cannot read \(secretFile).") }
                let raw = String(decoding: bytes, as: UTF8.self)
                let p = try await admin.setPush(packageFamilyName: pfn, packageSID: sid, clientSecret: raw.trimmingCharacters(in: .whitespacesAndNewlines),
                                                secrets: try rt.secretBox(), providerID: rt.config.providerID)
                print("Push: \(p.packageFamilyName); devices get it at their next check-in and report their channel.")
            }
        }
    }
}
