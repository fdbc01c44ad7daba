import Foundation
import MDMCore
import MDMStorage

// Groups, domains and licenses.
extension AdminService {
    public func groups() async throws -> [Group] { try await store.groups() }

    public func group(_ nameOrID: String) async throws -> Group {
        let all = try await store.groups()
        if let g = all.first(where: { $0.id == nameOrID.lowercased() || $0.displayName.lowercased() == nameOrID.lowercased() }) {
            return g
        }
        throw AdminError.notFound("No group \(nameOrID).", cli: "`winmdm groups list` shows the groups; `winmdm groups create NAME` adds one.",
                                  console: "Groups lists them, and New group adds one.")
    }

    /// With `autopilotGroupTag`, an Autopilot device group: every Autopilot device with that group tag is a member.
    public func createGroup(_ name: String, description: String = "", autopilotGroupTag: String? = nil) async throws -> Group {
        let n = name.trimmingCharacters(in: .whitespaces)
        guard !n.isEmpty, n.count <= 256 else { throw AdminError("A group name must be 1 to 256 characters.") }
        let tag = autopilotGroupTag?.trimmingCharacters(in: .whitespaces)
        if let tag, tag.isEmpty || tag.contains(",") { throw AdminError("A group tag is a non-empty word without commas, like SALES.") }
        let g = Group(displayName: n, description: description, autopilotGroupTag: tag, createdAt: clock.now())
        do { try await store.insertGroup(g) } catch let e as StorageError where e.code == .conflict {
            throw AdminError("A group named \(n) already exists.")
        }
        try await audit("group.create", n, before: nil as Group?, after: g)
        return g
    }

    public func addMember(group: String, user upn: String) async throws -> Group {
        let before = try await self.group(group)
        let u = try await user(upn)
        guard !before.members.contains(u.id) else { return before }
        var g = before
        g.members.append(u.id)
        try await store.updateGroup(g)
        try await audit("group.addMember", g.displayName, before: before, after: g)
        return g
    }

    /// Adds a device (an enrollment id, device name or DeviceID; or a HWDevID) to a group: profiles, compliance
    /// policies and Enrollment Status Pages assigned to the group reach it with or without a user.
    public func addDevice(group: String, device ref: String) async throws -> Group {
        let before = try await self.group(group)
        let hw = try await hardwareID(ref)
        guard !before.devices.contains(hw) else { return before }
        var g = before
        g.devices.append(hw)
        try await store.updateGroup(g)
        try await audit("group.addDevice", g.displayName, before: before, after: g)
        return g
    }

    public func removeDevice(group: String, device ref: String) async throws -> Group {
        let before = try await self.group(group)
        let hw = (try? await hardwareID(ref)) ?? ref
        guard before.devices.contains(hw) else { throw AdminError("\(ref) is not a member of \(before.displayName).") }
        var g = before
        g.devices.removeAll { $0 == hw }
        try await store.updateGroup(g)
        try await audit("group.removeDevice", g.displayName, before: before, after: g)
        return g
    }

    /// A device's HWDevID from any name of one of its enrollments, or the HWDevID itself (64 hex digits, a device
    /// that is not enrolled yet).
    func hardwareID(_ ref: String) async throws -> String {
        if let e = try? await enrollment(ref) { return e.hwDevID }
        if ref.count == 64, ref.allSatisfy(\.isHexDigit) { return ref.uppercased() }
        throw AdminError.notFound("No device \(ref): name an enrollment (its id, device name or DeviceID) or give the device's HWDevID (64 hex digits).")
    }

    public func removeMember(group: String, user upn: String) async throws -> Group {
        let before = try await self.group(group)
        let u = try await user(upn)
        guard before.members.contains(u.id) else { throw AdminError("\(u.upn) is not a member of \(before.displayName).") }
        var g = before
        g.members.removeAll { $0 == u.id }
        try await store.updateGroup(g)
        try await audit("group.removeMember", g.displayName, before: before, after: g)
        return g
    }

    public func deleteGroup(_ nameOrID: String) async throws {
        let g = try await group(nameOrID)
        let s = try await settings()
        var uses: [String] = []
        for r in s.restrictions where r.assignedGroups.contains(g.id) { uses.append("restriction \"\(r.displayName)\"") }
        if s.joinPolicy.groups.contains(g.id) { uses.append("Users may join devices") }
        if s.mobility.mdmScope.groups.contains(g.id) { uses.append("MDM user scope") }
        if s.mobility.mamScope.groups.contains(g.id) { uses.append("MAM user scope") }
        for p in s.autopilotProfiles where p.assignedGroups.contains(g.id) { uses.append("Autopilot profile \"\(p.displayName)\"") }
        guard uses.isEmpty else { throw AdminError("\(g.displayName) is still used by: \(uses.joined(separator: ", ")). Remove it there first.") }
        try await store.deleteGroup(id: g.id)
        try await audit("group.delete", g.displayName, before: g, after: nil as Group?)
    }

    func resolveGroups(_ refs: [String]) async throws -> [String] {
        var ids: [String] = []
        for g in refs { ids.append(try await group(g).id) }
        return ids
    }

    func resolveUsers(_ refs: [String]) async throws -> [String] {
        var ids: [String] = []
        for u in refs { ids.append(try await user(u).id) }
        return ids
    }

    /// The display names of group ids, for messages and listings.
    public func groupNames(_ ids: [String]) async throws -> [String] {
        let all = try await store.groups()
        return ids.map { id in all.first { $0.id == id }?.displayName ?? id }
    }

    // MARK: Domains

    public func addDomain(_ name: String) async throws -> Domain {
        let n = name.lowercased().trimmingCharacters(in: .whitespaces)
        guard n.contains("."), !n.hasPrefix("."), !n.hasSuffix("."), n.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw AdminError("'\(name)' is not a domain name; expected something like contoso.com.")
        }
        try await changeSettings("domain.add", n) { s in
            guard s.domain(named: n) == nil else { throw AdminError("The domain \(n) is already added.") }
            s.domains.append(Domain(name: n, isVerified: false))
        }
        return Domain(name: n, isVerified: false)
    }

    public func verifyDomain(_ name: String) async throws -> Domain {
        let n = name.lowercased()
        try await changeSettings("domain.verify", n) { s in
            guard let i = s.domains.firstIndex(where: { $0.name == n }) else {
                throw AdminError.notFound("No domain \(n); add it first", cli: "with: winmdm domains add \(n)", console: "under Tenant administration.")
            }
            s.domains[i].isVerified = true
        }
        return Domain(name: n, isVerified: true)
    }

    public func removeDomain(_ name: String) async throws {
        let n = name.lowercased()
        let users = try await store.users().filter { $0.domain == n }
        guard users.isEmpty else { throw AdminError("\(users.count) user(s) still use \(n) (for example \(users[0].upn)); change their UPN first.") }
        try await changeSettings("domain.remove", n) { s in
            guard s.domain(named: n) != nil else { throw AdminError.notFound("No domain \(n).") }
            s.domains.removeAll { $0.name == n }
            guard s.domains.contains(where: \.isVerified) else { throw AdminError("\(n) is the last verified domain; add and verify another first.") }
        }
    }

    // MARK: Licenses

    static func product(_ sku: String, in s: TenantSettings) throws -> LicenseProduct {
        guard let p = s.product(sku) else {
            throw AdminError.notFound("No license product \(sku); products: \(s.licenseProducts.map(\.skuPartNumber).joined(separator: ", ")).")
        }
        return p
    }

    /// How many users hold each product.
    public func licenseUsage() async throws -> [String: Int] {
        var used: [String: Int] = [:]
        for u in try await store.users() { for sku in u.assignedLicenses { used[sku, default: 0] += 1 } }
        return used
    }

    func checkSeat(_ p: LicenseProduct, settings: TenantSettings) async throws {
        guard let seats = p.seats else { return }
        let used = try await licenseUsage()[p.skuId] ?? 0
        if used >= seats {
            throw AdminError("\(seats == 1 ? "The only seat" : "All \(seats) seats") of \(p.skuPartNumber) \(seats == 1 ? "is" : "are") assigned; unassign one or raise the seats", cli: "(winmdm licenses set-seats \(p.skuPartNumber) N).", console: ".")
        }
    }

    public func addProduct(partNumber: String, displayName: String?, plans: [ServicePlan], seats: Int?) async throws -> LicenseProduct {
        guard !partNumber.isEmpty, partNumber.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
            throw AdminError("A SKU part number is letters, digits, '_' and '-' (like INTUNE_A).")
        }
        if let seats, seats < 0 { throw AdminError("Seats must be 0 or more (leave it out for unlimited).") }
        guard !plans.isEmpty else { throw AdminError("Give at least one service plan: mdm or basic-mobility.") }
        let p = LicenseProduct(skuPartNumber: partNumber, displayName: displayName ?? partNumber, servicePlans: plans, seats: seats)
        try await changeSettings("license.product.add", p.skuPartNumber) { s in
            guard s.product(p.skuPartNumber) == nil else { throw AdminError("A product \(p.skuPartNumber) already exists.") }
            s.licenseProducts.append(p)
        }
        return p
    }

    /// Deletes a product nobody holds (a held one would silently unlicense its users).
    public func deleteProduct(_ sku: String) async throws -> LicenseProduct {
        let s = try await settings()
        guard let p = s.product(sku) else {
            throw AdminError.notFound("No license product \(sku); products: \(s.licenseProducts.map(\.skuPartNumber).joined(separator: ", ")).")
        }
        let holders = try await licenseUsage()[p.skuId] ?? 0
        guard holders == 0 else {
            throw AdminError("\(holders == 1 ? "1 user holds" : "\(holders) users hold") \(p.skuPartNumber); unassign it from them first", cli: "(winmdm licenses unassign UPN \(p.skuPartNumber)), so nobody loses a license by surprise.",
                             console: ", so nobody loses a license by surprise.")
        }
        try await changeSettings("license.deleteProduct", p.skuPartNumber) { $0.licenseProducts.removeAll { $0.skuId == p.skuId } }
        return p
    }

    public func setSeats(_ sku: String, seats: Int?) async throws -> LicenseProduct {
        if let seats, seats < 0 { throw AdminError("Seats must be 0 or more (leave it out for unlimited).") }
        let p = try Self.product(sku, in: try await settings())
        let used = try await licenseUsage()[p.skuId] ?? 0
        if let seats, seats < used { throw AdminError("\(used == 1 ? "1 user holds" : "\(used) users hold") \(p.skuPartNumber); unassign \(used - seats == 1 ? "one" : "\(used - seats)") before lowering the seats to \(seats).") }
        let after = try await changeSettings("license.product.seats", p.skuPartNumber) { s in
            if let i = s.licenseProducts.firstIndex(where: { $0.skuId == p.skuId }) { s.licenseProducts[i].seats = seats }
        }
        return after.product(p.skuId)!
    }

    public func assignLicense(_ upn: String, sku: String) async throws -> User {
        let before = try await user(upn)
        let s = try await settings()
        let p = try Self.product(sku, in: s)
        guard !before.assignedLicenses.contains(p.skuId) else { return before }
        try await checkSeat(p, settings: s)
        var u = before
        u.assignedLicenses.append(p.skuId)
        try await store.updateUser(u)
        try await audit("user.assignLicense", u.upn, before: UserRecord(before), after: UserRecord(u))
        return u
    }

    public func unassignLicense(_ upn: String, sku: String) async throws -> User {
        let before = try await user(upn)
        let p = try Self.product(sku, in: try await settings())
        guard before.assignedLicenses.contains(p.skuId) else { throw AdminError("\(before.upn) does not hold \(p.skuPartNumber).") }
        var u = before
        u.assignedLicenses.removeAll { $0 == p.skuId }
        try await store.updateUser(u)
        try await audit("user.removeLicense", u.upn, before: UserRecord(before), after: UserRecord(u))
        return u
    }
}

// Device settings, mobility, maintenance, auth policy.
extension AdminService {
    public func setAuthPolicy(_ policy: AuthPolicy) async throws -> AuthPolicy {
        let (before, _) = try await store.updateTenantSettings { $0.authPolicy = policy }
        if before.authPolicy != policy { try await audit("tenant.authPolicy", "tenant", before: before.authPolicy, after: policy) }
        return before.authPolicy
    }

    public func setMaintenance(_ on: Bool) async throws -> TenantSettings {
        try await changeSettings("tenant.maintenance", "tenant") { $0.maintenance = on }
    }

    /// "Users may join devices": All, Selected (with users and groups), or None.
    public func setJoinPolicy(_ kind: JoinPolicy.Kind, users: [String] = [], groups: [String] = []) async throws -> TenantSettings {
        let userIDs = try await resolveUsers(users), groupIDs = try await resolveGroups(groups)
        if kind == .selected && userIDs.isEmpty && groupIDs.isEmpty {
            throw AdminError("Selected needs at least one user or group;", cli: "give --user or --group, or use none to let nobody join.",
                             console: "pick them, or choose None to let nobody join.")
        }
        if kind != .selected && !(userIDs.isEmpty && groupIDs.isEmpty) {
            throw AdminError("Users and groups go with Selected only.", cli: "(--user and --group)")
        }
        let policy = JoinPolicy(kind: kind, users: userIDs, groups: groupIDs)
        return try await changeSettings("deviceSettings.usersMayJoin", "deviceRegistrationPolicy") { $0.joinPolicy = policy }
    }

    /// Adds users or groups to a Selected join policy (the seed's "Add Members").
    public func addJoinMembers(users: [String], groups: [String]) async throws -> TenantSettings {
        let userIDs = try await resolveUsers(users), groupIDs = try await resolveGroups(groups)
        return try await changeSettings("deviceSettings.usersMayJoin", "deviceRegistrationPolicy") { s in
            guard s.joinPolicy.kind == .selected else {
                throw AdminError("Users may join devices is \(s.joinPolicy.kind.rawValue.capitalized), not Selected;",
                                 cli: "set it with: winmdm device-settings users-may-join selected --user …", console: "choose Selected first.")
            }
            s.joinPolicy.users += userIDs.filter { !s.joinPolicy.users.contains($0) }
            s.joinPolicy.groups += groupIDs.filter { !s.joinPolicy.groups.contains($0) }
        }
    }

    public func setJoinQuota(_ quota: Int) async throws -> TenantSettings {
        guard (0...1000).contains(quota) || quota == TenantSettings.unlimitedJoinQuota else {
            throw AdminError("The device registration quota must be between 0 and 1000, or unlimited (default 50).")
        }
        return try await changeSettings("deviceSettings.quota", "deviceRegistrationPolicy") { $0.joinQuota = quota }
    }

    public enum ScopeTarget: String, Sendable { case mdm, mam }

    public func setScope(_ which: ScopeTarget, _ kind: UserScope.Kind, groups: [String]) async throws -> TenantSettings {
        let ids = try await resolveGroups(groups)
        if kind == .some && ids.isEmpty { throw AdminError("Some needs at least one group;", cli: "give --group, or use none or all otherwise.",
                                                                      console: "pick one, or choose None or All otherwise.") }
        if kind != .some && !ids.isEmpty { throw AdminError("Groups go with Some only.", cli: "(--group)") }
        let scope = UserScope(kind: kind, groups: ids)
        return try await changeSettings("mobility.\(which.rawValue)Scope", "mobility") { s in
            if which == .mdm { s.mobility.mdmScope = scope } else { s.mobility.mamScope = scope }
        }
    }

    public func setMobilityURLs(termsOfUse: String?, discovery: String?, compliance: String?) async throws -> TenantSettings {
        for (name, v) in [("terms of use", termsOfUse), ("discovery", discovery), ("compliance", compliance)] {
            if let v, !v.isEmpty, URLComponents(string: v)?.scheme?.lowercased() != "https" {
                throw AdminError("The \(name) URL '\(v)' must be an absolute https URL (or empty to clear it).")
            }
        }
        return try await changeSettings("mobility.urls", "mobility") { s in
            if let termsOfUse { s.mobility.termsOfUseURL = termsOfUse }
            if let discovery { s.mobility.discoveryURL = discovery }
            if let compliance { s.mobility.complianceURL = compliance }
        }
    }

    /// "Restore default MDM URLs": winmdm's own terms, discovery and compliance URLs.
    public func restoreDefaultMobilityURLs(publicURL: String) async throws -> TenantSettings {
        let d = MobilitySettings.defaults(publicURL: publicURL)
        return try await changeSettings("mobility.restoreDefaultUrls", "mobility") { s in
            s.mobility.termsOfUseURL = d.termsOfUseURL
            s.mobility.discoveryURL = d.discoveryURL
            s.mobility.complianceURL = d.complianceURL
        }
    }
}
