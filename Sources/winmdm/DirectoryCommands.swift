import ArgumentParser
import Foundation
import MDMCore
import MDMService

struct Groups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Groups: create them and manage members; restrictions and scopes target groups.",
        subcommands: [Create.self, List.self, Show.self, AddMember.self, RemoveMember.self, AddDevice.self, RemoveDevice.self, Delete.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a group.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name.") var name: String
        @Option(help: "Description.") var description: String = ""
        @Option(name: .customLong("autopilot-tag"), help: "Make it an Autopilot device group: its members are the Autopilot devices with this group tag.")
        var autopilotTag: String?
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let g = try await admin.createGroup(name, description: description, autopilotGroupTag: autopilotTag)
                if json { return try JSONOutput.print(g) }
                print("Created group \(g.displayName) (\(g.id)).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let gs = try await admin.groups()
                if json { return try JSONOutput.print(gs) }
                guard !gs.isEmpty else { return print("No groups yet. Create one with: winmdm groups create NAME") }
                print(Table.render(["NAME", "MEMBERS", "ID"], gs.map { [$0.displayName, String($0.members.count), $0.id] }))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group's members.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let g = try await admin.group(group)
                let users = try await admin.users().filter { g.members.contains($0.id) }
                if json { return try JSONOutput.print(["group": AnyEncodable(g.displayName), "members": AnyEncodable(users.map(\.upn)),
                                                       "devices": AnyEncodable(g.devices)]) }
                print("\(g.displayName): \(users.isEmpty ? "no members" : users.map(\.upn).joined(separator: ", "))")
                if !g.devices.isEmpty { print("devices (HWDevID): \(g.devices.joined(separator: ", "))") }
            }
        }
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-member", abstract: "Add users to a group.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        @Argument(help: "UPNs to add.") var users: [String]
        func run() async throws {
            guard !users.isEmpty else { throw ValidationError("Name at least one user to add.") }
            try await Runtime.withAdmin(common) { admin, _ in
                // Every user must exist before anyone is added: all or nothing.
                var resolved: [User] = []
                for u in users { resolved.append(try await admin.user(u)) }
                var added: [String] = [], already: [String] = []
                for u in resolved {
                    let before = try await admin.group(group).members.count
                    let after = try await admin.addMember(group: group, user: u.upn).members.count
                    if after > before { added.append(u.upn) } else { already.append(u.upn) }
                }
                if !added.isEmpty { print("Added \(added.joined(separator: ", ")) to \(group).") }
                if !already.isEmpty { print("Already in \(group): \(already.joined(separator: ", ")); nothing changed for \(already.count == 1 ? "that user" : "them").") }
            }
        }
    }

    struct AddDevice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-device",
            abstract: "Add devices to a group (by enrollment id, device name, DeviceID or HWDevID); what the group is assigned reaches them, user or not.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        @Argument(help: "Devices to add.") var devices: [String]
        func run() async throws {
            guard !devices.isEmpty else { throw ValidationError("Name at least one device to add.") }
            try await Runtime.withAdmin(common) { admin, _ in
                for d in devices { _ = try await admin.addDevice(group: group, device: d) }
                print("Added \(devices.joined(separator: ", ")) to \(group).")
            }
        }
    }

    struct RemoveDevice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-device", abstract: "Remove devices from a group.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        @Argument(help: "Devices to remove.") var devices: [String]
        func run() async throws {
            guard !devices.isEmpty else { throw ValidationError("Name at least one device to remove.") }
            try await Runtime.withAdmin(common) { admin, _ in
                for d in devices { _ = try await admin.removeDevice(group: group, device: d) }
                print("Removed \(devices.joined(separator: ", ")) from \(group).")
            }
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-member", abstract: "Remove users from a group.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        @Argument(help: "UPNs to remove.") var users: [String]
        func run() async throws {
            guard !users.isEmpty else { throw ValidationError("Name at least one user to remove.") }
            try await Runtime.withAdmin(common) { admin, _ in
                for u in users { _ = try await admin.removeMember(group: group, user: u) }
                print("Removed \(users.joined(separator: ", ")) from \(group).")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a group no restriction, scope or profile uses.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Group name or id.") var group: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.deleteGroup(group)
                print("Deleted group \(group).")
            }
        }
    }
}

struct Domains: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Domains: only users whose UPN suffix is a verified domain can enroll.",
        subcommands: [List.self, Add.self, Verify.self, Remove.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List domains.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ds = try await admin.settings().domains
                if json { return try JSONOutput.print(ds.map { ["id": AnyEncodable($0.name), "isVerified": AnyEncodable($0.isVerified)] }) }
                print(Table.render(["DOMAIN", "VERIFIED"], ds.map { [$0.name, $0.isVerified ? "yes" : "no"] }))
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a domain (unverified until `winmdm domains verify`).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Domain name, e.g. contoso.com.") var domain: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let d = try await admin.addDomain(domain)
                print("Added \(d.name) (unverified). Verify it with: winmdm domains verify \(d.name)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark a domain verified: its users can enroll.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Domain name.") var domain: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let d = try await admin.verifyDomain(domain)
                print("\(d.name) is verified.")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain no user uses.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "Domain name.") var domain: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                try await admin.removeDomain(domain)
                print("Removed \(domain).")
            }
        }
    }
}

struct Licenses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Licenses: products with seats and service plans; users need one with the MDM plan.",
        subcommands: [List.self, AddProduct.self, DeleteProduct.self, SetSeats.self, Assign.self, Unassign.self])

    struct DeleteProduct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-product", abstract: "Delete a license product no user holds.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "SKU part number or id.") var sku: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.deleteProduct(sku)
                print("Deleted the license product \(p.skuPartNumber).")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List license products and how many seats are used.")
        @OptionGroup var common: CommonOptions
        @Flag(help: "Print JSON.") var json = false
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let ps = try await admin.settings().licenseProducts, used = try await admin.licenseUsage()
                if json {
                    struct P: Encodable { var skuId: String; var skuPartNumber: String; var displayName: String
                        var servicePlans: [String]; var seats: Int?; var consumedUnits: Int }
                    return try JSONOutput.print(ps.map { P(skuId: $0.skuId, skuPartNumber: $0.skuPartNumber, displayName: $0.displayName,
                        servicePlans: $0.servicePlans.map(\.rawValue), seats: $0.seats, consumedUnits: used[$0.skuId] ?? 0) })
                }
                print(Table.render(["SKU", "NAME", "PLANS", "SEATS USED"], ps.map {
                    [$0.skuPartNumber, $0.displayName, $0.servicePlans.map(\.rawValue).joined(separator: ","),
                     "\(used[$0.skuId] ?? 0) of \($0.seats.map(String.init) ?? "unlimited")"]
                }))
            }
        }
    }

    struct AddProduct: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-product", abstract: "Add a license product.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "SKU part number, e.g. INTUNE_A or O365_BASIC.") var sku: String
        @Option(help: "Service plan it includes: mdm or basic-mobility; repeat for several.") var plan: [ServicePlan] = []
        @Option(help: "Number of seats (default unlimited).") var seats: Int?
        @Option(help: "Display name.") var displayName: String?
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.addProduct(partNumber: sku, displayName: displayName, plans: plan, seats: seats)
                print("Added \(p.skuPartNumber) (\(p.servicePlans.map(\.rawValue).joined(separator: ", ")), \(p.seats.map { $0 == 1 ? "1 seat" : "\($0) seats" } ?? "unlimited seats")).")
            }
        }
    }

    struct SetSeats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-seats", abstract: "Change a product's seats.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "SKU part number or id.") var sku: String
        /// Taken as it comes, so "-3" reaches the check below instead of being read as a flag.
        @Argument(parsing: .allUnrecognized, help: "Seats (0 or more), or 'unlimited'.") var seats: [String] = []
        func run() async throws {
            guard seats.count == 1, let text = seats.first else { throw ValidationError("Give the number of seats (0 or more) or 'unlimited', once.") }
            let n: Int?
            if text.lowercased() == "unlimited" { n = nil } else {
                guard let v = Int(text), v >= 0 else { throw ValidationError("'\(text)' is not a number of seats: give 0 or more, or 'unlimited'.") }
                n = v
            }
            try await Runtime.withAdmin(common) { admin, _ in
                let p = try await admin.setSeats(sku, seats: n)
                print("\(p.skuPartNumber) now has \(p.seats.map { $0 == 1 ? "1 seat" : "\($0) seats" } ?? "unlimited seats").")
            }
        }
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a license to a user.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN.") var user: String
        @Argument(help: "SKU part number or id.") var sku: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let u = try await admin.assignLicense(user, sku: sku)
                print("\(u.upn) now holds \(sku.uppercased()).")
            }
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a license from a user.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "UPN.") var user: String
        @Argument(help: "SKU part number or id.") var sku: String
        func run() async throws {
            try await Runtime.withAdmin(common) { admin, _ in
                let u = try await admin.unassignLicense(user, sku: sku)
                print("Removed \(sku.uppercased()) from \(u.upn).")
            }
        }
    }
}

/// Wraps any encodable value for heterogeneous JSON dictionaries.
struct AnyEncodable: Encodable {
    let value: any Encodable
    init(_ value: any Encodable) { self.value = value }
    func encode(to encoder: Encoder) throws { try value.encode(to: encoder) }
}
