import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Settings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show or change tenant settings.",
                                                    subcommands: [Show.self, AuthPolicyCommand.self, LockoutCommand.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the tenant settings.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
            defer { Task { await runtime.close() } }
            let s = try await runtime.admin.settings()
            if json { return try JSONOutput.print(s) }
            print("""
            Organization:   \(s.organizationName) (tenant \(s.tenantID))
            Auth policy:    \(s.authPolicy.rawValue)
            Domains:        \(s.domains.map { "\($0.name)\($0.isVerified ? " (verified)" : " (unverified)")" }.joined(separator: ", "))
            Maintenance:    \(s.maintenance ? "on" : "off")
            \(LockoutText.describe(s.lockout))
            \(try await TenantText.join(s, runtime.admin))
            \(try await TenantText.mobility(s, runtime.admin))
            Restrictions:   winmdm restrictions list
            """)
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
            let runtime = try await Runtime.open(try ResolvedConfiguration.resolve(common))
            defer { Task { await runtime.close() } }
            let old = try await runtime.admin.setAuthPolicy(p)
            print(old == p ? "Auth policy is already \(p.rawValue)." : "Auth policy changed from \(old.rawValue) to \(p.rawValue); it applies to the next discovery.")
        }
    }
}
