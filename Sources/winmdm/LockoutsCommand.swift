import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Lockouts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Failed sign-ins and lockouts (enrollment, the Federated sign-in page, the console): list and clear.",
        subcommands: [List.self, Clear.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accounts and addresses with failed sign-ins counted or locked out now.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let entries = try await admin.lockouts()
                if json { return try JSONOutput.print(entries) }
                guard !entries.isEmpty else { return print("No failed sign-ins are counted and nothing is locked out.") }
                let now = Date()
                print(Table.render(["WHO", "STATE", "FAILURES", "LAST FAILURE", "LOCKOUTS"], entries.map {
                    [$0.subject, $0.isLocked(at: now) ? "locked until \($0.lockedUntil!.short)" : "counting",
                     String($0.failures), $0.lastFailure?.short ?? "-", String($0.lockouts)]
                }))
                print("\nClear with: winmdm lockouts clear <upn or address>")
            }
        }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear what is counted against a user (UPN) or an address; audited.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "A UPN (clears the account from every address) or an IP address.") var subject: String

        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let gone = try await admin.clearLockouts(subject)
                print("Cleared \(gone.count) \(gone.count == 1 ? "entry" : "entries"): \(gone.map(\.subject).joined(separator: "; ")).")
            }
        }
    }
}

extension Settings {
    struct LockoutCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lockout",
            abstract: "Failed sign-ins before an account or an address locks, and for how long (growing with each lockout).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Failed sign-ins for one account (from unfamiliar addresses, or from one familiar address) before it locks (default 10).")
        var accountThreshold: Int?
        @Option(help: "Failed sign-ins from one address, any account, before the address locks (default 30).")
        var addressThreshold: Int?
        @Option(help: "First lockout's length, like 60s or 5m; each further one doubles (default 60s).")
        var duration: String?
        @Option(help: "Longest lockout, like 1h (default 1h).")
        var maxDuration: String?

        func run() async throws {
            func span(_ text: String?, _ flag: String) throws -> TimeInterval? {
                guard let text else { return nil }
                guard let v = TimeSpan.parse(text) else { throw ValidationError("\(flag) '\(text)' is not a duration; use a number and s, m, h or d, like 60s or 1h.") }
                return v
            }
            let d = try span(duration, "--duration"), m = try span(maxDuration, "--max-duration")
            try await Runtime.withAdmin(common) { admin, _ in
                let l = try await admin.setLockoutSettings(accountThreshold: accountThreshold, sourceThreshold: addressThreshold,
                                                           duration: d, maxDuration: m)
                print(LockoutText.describe(l))
            }
        }
    }
}

enum LockoutText {
    static func describe(_ l: LockoutSettings) -> String {
        "Lockout:        an account locks after \(l.accountThreshold) failed sign-ins, an address after \(l.sourceThreshold); first for \(Int(l.lockoutDuration))s, doubling up to \(Int(l.maxLockoutDuration))s (winmdm settings lockout)"
    }
}
