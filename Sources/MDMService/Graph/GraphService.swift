import Foundation
import MDMCore
import MDMStorage
import MDMTroubleshoot

/// The REST API in Microsoft Graph's shape (`/graph/v1.0`, `/graph/beta`) over AdminService and the troubleshooter.
///
/// Roles: reader reads; helpdesk also troubleshoots and retires or deletes devices; admin changes everything.
/// OData basics: `$select`, `$filter` with `eq` on top-level properties, `$top` with `@odata.nextLink` paging.
public struct GraphService: Sendable {
    let store: any MDMStore
    let admin: AdminService
    let publicURL: String
    let providerID: String

    public init(store: any MDMStore, admin: AdminService, publicURL: String, providerID: String = "winmdm") {
        self.store = store
        self.admin = admin
        self.publicURL = publicURL
        self.providerID = providerID
    }

    public func handle(_ r: GraphRequest) async -> GraphResponse {
        do {
            try authorize(r)
            return try await route(r, admin.acting(as: "api:\(r.token.name)"))
        } catch let e as GraphError {
            return .error(e.status, e.code, e.message)
        } catch let e as AdminError {
            let notFound = e.code == .notFound
            return .error(notFound ? 404 : 400, notFound ? "Request_ResourceNotFound" : "Request_BadRequest", e.message)
        } catch {
            return .error(500, "InternalServerError", "The server failed: \(error)")
        }
    }

    /// Readers may only read; helpdesk may also troubleshoot and act on devices.
    func authorize(_ r: GraphRequest) throws {
        if r.method == "GET" { return }
        switch r.token.role {
        case .admin: return
        case .reader: throw GraphError.forbidden
        case .helpdesk:
            let p = r.path
            let allowed = (p.first == "winmdm" && (p.dropFirst().first == "explain" || p.dropFirst().first == "doctor"))
                || (p.count >= 3 && p[0] == "deviceManagement" && p[1] == "managedDevices"
                    && (r.method == "DELETE" || ["retire", "syncDevice", "rebootNow"].contains(p.last ?? "")))
            if !allowed { throw GraphError.forbidden }
        }
    }

    func route(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        switch (m, p.count, p.first ?? "") {
        // Users
        case ("GET", 1, "users") where r.query["$filter"] == nil:
            return try await keysetPage(r, key: \User.upn, read: { try await admin.store.users(after: $0, limit: $1) }, map: GraphMapping.user)
        case ("GET", 1, "users"): return try page(r, try await admin.users().map(GraphMapping.user))
        case ("POST", 1, "users"): return try await createUser(r, admin)
        case ("GET", 2, "users"): return .json(GraphMapping.user(try await user(p[1], admin)))
        case ("PATCH", 2, "users"): return try await patchUser(r, admin)
        case ("DELETE", 2, "users"): try await admin.deleteUser(try await user(p[1], admin).id); return .noContent
        case ("POST", 3, "users") where p[2] == "assignLicense": return try await assignLicense(r, admin)
        case ("GET", 3, "users") where p[2] == "licenseDetails":
            let u = try await user(p[1], admin), s = try await admin.settings()
            return try page(r, u.assignedLicenses.compactMap { s.product($0) }.map {
                ["id": $0.skuId, "skuId": $0.skuId, "skuPartNumber": $0.skuPartNumber,
                 "servicePlans": $0.servicePlans.map { ["servicePlanId": GraphMapping.planID($0), "servicePlanName": GraphMapping.planName($0)] }]
            })
        case ("GET", 3, "users") where p[2] == "managedDevices":
            let u = try await user(p[1], admin)
            return try page(r, try await admin.enrollments(upn: u.upn).map { GraphMapping.managedDevice($0, userID: u.id) })
        // Groups
        case ("GET", 1, "groups"): return try page(r, try await admin.groups().map(GraphMapping.group))
        case ("POST", 1, "groups"):
            let b = try JSONBody.object(r.body)
            guard let name = try b.string("displayName") else { throw GraphError.badRequest("displayName is required.") }
            return .json(GraphMapping.group(try await admin.createGroup(name, description: try b.string("description") ?? "")), status: 201)
        case ("GET", 2, "groups"): return .json(GraphMapping.group(try await group(p[1], admin)))
        case ("DELETE", 2, "groups"): try await admin.deleteGroup(try await group(p[1], admin).id); return .noContent
        case ("GET", 3, "groups") where p[2] == "members":
            let g = try await group(p[1], admin)
            return try page(r, try await admin.users().filter { g.members.contains($0.id) }.map(GraphMapping.user))
        case ("POST", 4, "groups") where p[2] == "members" && p[3] == "$ref":
            let b = try JSONBody.object(r.body)
            guard let ref = try b.string("@odata.id"), let last = ref.split(separator: "/").last else {
                throw GraphError.badRequest("Give the member as {\"@odata.id\": \"…/users/{id}\"}.")
            }
            let g = try await group(p[1], admin), u = try await user(String(last), admin)
            _ = try await admin.addMember(group: g.id, user: u.upn)
            return .noContent
        case ("DELETE", 5, "groups") where p[2] == "members" && p[4] == "$ref":
            let g = try await group(p[1], admin), u = try await user(p[3], admin)
            _ = try await admin.removeMember(group: g.id, user: u.upn)
            return .noContent
        // Domains and SKUs
        case ("GET", 1, "domains"):
            let s = try await admin.settings()
            return try page(r, s.domains.enumerated().map { GraphMapping.domain($1, initial: $0 == 0) })
        case ("POST", 1, "domains"):
            guard let id = try JSONBody.object(r.body).string("id") else { throw GraphError.badRequest("id (the domain name) is required.") }
            return .json(GraphMapping.domain(try await admin.addDomain(id), initial: false), status: 201)
        case ("GET", 2, "domains"):
            let s = try await admin.settings()
            guard let i = s.domains.firstIndex(where: { $0.name == p[1].lowercased() }) else { throw GraphError.notFound("Domain \(p[1])") }
            return .json(GraphMapping.domain(s.domains[i], initial: i == 0))
        case ("POST", 3, "domains") where p[2] == "verify":
            return .json(GraphMapping.domain(try await admin.verifyDomain(p[1]), initial: false))
        case ("GET", 1, "subscribedSkus"):
            let used = try await admin.licenseUsage()
            return try page(r, try await admin.settings().licenseProducts.map { GraphMapping.sku($0, used: used[$0.skuId] ?? 0) })
        // Policies
        case (_, _, "policies"): return try await policies(r, admin)
        // Device management
        case (_, _, "deviceManagement"): return try await deviceManagement(r, admin)
        // winmdm's own
        case (_, _, "winmdm") where r.version == "beta": return try await winmdm(r, admin)
        default:
            throw GraphError(404, "Request_UnsupportedQuery", "\(m) /\(p.joined(separator: "/")) is not a resource of /graph/\(r.version).")
        }
    }

    // MARK: Users

    func user(_ ref: String, _ admin: AdminService) async throws -> User {
        do { return try await admin.user(ref) } catch { throw GraphError.notFound("User \(ref)") }
    }

    func group(_ ref: String, _ admin: AdminService) async throws -> Group {
        do { return try await admin.group(ref) } catch { throw GraphError.notFound("Group \(ref)") }
    }

    func createUser(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let b = try JSONBody.object(r.body)
        guard let upn = try b.string("userPrincipalName") else { throw GraphError.badRequest("userPrincipalName is required.") }
        guard let password = try b.object("passwordProfile")?.string("password") else {
            throw GraphError.badRequest("passwordProfile.password is required.")
        }
        var u = try await admin.addUser(upn: upn, password: password, displayName: try b.string("displayName")).user
        if try b.bool("accountEnabled") == false { u = try await admin.updateUser(u.id, enabled: false) }
        return .json(GraphMapping.user(u), status: 201)
    }

    func patchUser(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let b = try JSONBody.object(r.body)
        try JSONBody.expect(b, type: "#microsoft.graph.user")
        let known: Set<String> = ["displayName", "accountEnabled", "userPrincipalName", "passwordProfile", "@odata.type"]
        if let extra = b.keys.first(where: { !known.contains($0) }) {
            throw GraphError.badRequest("'\(extra)' cannot be changed; accepted: \(known.sorted().joined(separator: ", ")).")
        }
        let u = try await user(r.path[1], admin)
        _ = try await admin.updateUser(u.id, displayName: try b.string("displayName"), enabled: try b.bool("accountEnabled"),
                                       newUPN: try b.string("userPrincipalName"), password: try b.object("passwordProfile")?.string("password"))
        return .noContent
    }

    func assignLicense(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let b = try JSONBody.object(r.body)
        let u = try await user(r.path[1], admin)
        guard let add = b["addLicenses"] as? [JSONObject], let remove = b["removeLicenses"] as? [String] else {
            throw GraphError.badRequest("Give addLicenses (array of {skuId}) and removeLicenses (array of skuId), either may be empty.")
        }
        for l in add {
            guard let sku = try l.string("skuId") else { throw GraphError.badRequest("Each added license needs a skuId.") }
            _ = try await admin.assignLicense(u.id, sku: sku)
        }
        for sku in remove { _ = try await admin.unassignLicense(u.id, sku: sku) }
        return .json(GraphMapping.user(try await admin.user(u.id)))
    }

    // MARK: Paging and OData

    /// `$filter` (eq on top-level properties), `$select`, `$top` and `$skiptoken`, then `value` and `@odata.nextLink`.
    func page(_ r: GraphRequest, _ items: [JSONObject]) throws -> GraphResponse {
        .json(try OData.page(items, query: r.query, path: r.path.joined(separator: "/"), baseURL: r.baseURL))
    }

    /// A listing paged in the store by key, when there is no `$filter` (which needs the whole listing, `page`):
    /// `read(after, limit)` returns up to `limit` rows after that key in key order, so a page reads one row more than
    /// it shows, whatever the fleet's size.
    func keysetPage<Row: Sendable>(_ r: GraphRequest, key: (Row) -> String, read: (String?, Int) async throws -> [Row],
                                   map: (Row) async throws -> JSONObject) async throws -> GraphResponse {
        let top = try OData.top(r.query)
        let rows = try await read(try OData.keysetToken(r.query["$skiptoken"]), top + 1)
        let shown = Array(rows.prefix(top))
        var items: [JSONObject] = []
        for row in shown { items.append(try await map(row)) }
        return .json(try OData.keysetPage(items, next: rows.count > top ? shown.last.map(key) : nil, query: r.query,
                                          path: r.path.joined(separator: "/"), baseURL: r.baseURL))
    }
}

/// The OData query options winmdm understands, over a listing already read: a pure function of its input, so it
/// can be fuzzed on its own.
public enum OData {
    /// `$filter`, `$select`, `$top` (1–999, default 100) and `$skiptoken`, then `value` and `@odata.nextLink`.
    public static func page(_ items: [JSONObject], query: [String: String], path: String, baseURL: String) throws -> JSONObject {
        var items = items
        if let filter = query["$filter"] { items = try Self.filter(items, filter) }
        let top = try self.top(query)
        let skip = try skipToken(query["$skiptoken"])
        let slice = Array(items.dropFirst(skip).prefix(top))
        var out: JSONObject = ["@odata.context": "\(baseURL)/$metadata#\(path)", "value": try select(slice, query["$select"])]
        if skip < items.count, items.count - skip > top {
            out["@odata.nextLink"] = nextLink(query, token: String(skip + top), top: top, path: path, baseURL: baseURL)
        }
        return out
    }

    /// One page a store read by key (keyset paging): `items` are the page, `next` the key after which the next page
    /// starts, nil on the last page. `$select` applies; `$filter` is for listings read whole (`page`).
    public static func keysetPage(_ items: [JSONObject], next: String?, query: [String: String], path: String, baseURL: String) throws -> JSONObject {
        var out: JSONObject = ["@odata.context": "\(baseURL)/$metadata#\(path)", "value": try select(items, query["$select"])]
        if let next {
            out["@odata.nextLink"] = nextLink(query, token: "k" + Base64URL.encode(Array(next.utf8)), top: try top(query), path: path, baseURL: baseURL)
        }
        return out
    }

    /// `$top`: 1–999, default 100.
    public static func top(_ query: [String: String]) throws -> Int {
        try query["$top"].map { v -> Int in
            guard v.count <= 4, let n = Int(v), (1...999).contains(n) else { throw GraphError.badRequest("$top must be between 1 and 999.") }
            return n
        } ?? 100
    }

    /// The key a keyset `$skiptoken` carries (`k` and the base64url key this server wrote), nil without one.
    public static func keysetToken(_ raw: String?) throws -> String? {
        guard let raw else { return nil }
        guard raw.count <= 700, raw.first == "k", let bytes = Base64URL.decode(String(raw.dropFirst())),
              let key = String(bytes: bytes, encoding: .utf8), !key.isEmpty else {
            throw GraphError.badRequest("$skiptoken '\(raw.prefix(40))' is not one this server issued; follow @odata.nextLink as given.")
        }
        return key
    }

    static func nextLink(_ query: [String: String], token: String, top: Int, path: String, baseURL: String) -> String {
        var q = query
        q["$skiptoken"] = token
        q["$top"] = String(top)
        let allowed = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))
        let text = q.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.value)" }
            .joined(separator: "&")
        return "\(baseURL)/\(path)?\(text)"
    }

    /// `$skiptoken` is the offset this server put in a nextLink: a whole number from 0 to 999,999,999.
    static func skipToken(_ raw: String?) throws -> Int {
        guard let raw else { return 0 }
        guard !raw.isEmpty, raw.count <= 9, raw.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(raw) else {
            throw GraphError.badRequest("$skiptoken '\(raw.prefix(40))' is not one this server issued; follow @odata.nextLink as given.")
        }
        return n
    }

    /// `name eq 'value'`, `flag eq true`, `count eq 3`; clauses joined with `and`.
    static func filter(_ items: [JSONObject], _ expression: String) throws -> [JSONObject] {
        var clauses: [(String, Any)] = []
        for clause in expression.components(separatedBy: " and ") {
            let parts = clause.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 2).map(String.init)
            guard parts.count == 3, parts[1].lowercased() == "eq" else {
                throw GraphError.badRequest("Unsupported $filter '\(clause)'; use property eq 'value' (and … and …).")
            }
            let raw = parts[2]
            let value: Any
            if raw.hasPrefix("'") && raw.hasSuffix("'") && raw.count >= 2 { value = String(raw.dropFirst().dropLast()).replacingOccurrences(of: "''", with: "'") }
            else if raw == "true" || raw == "false" { value = raw == "true" }
            else if let n = Int(raw) { value = n }
            else { throw GraphError.badRequest("Unsupported $filter value \(raw); quote strings with '…'.") }
            clauses.append((parts[0], value))
        }
        return items.filter { item in
            clauses.allSatisfy { key, value in
                switch (item[key], value) {
                case (let a as String, let b as String): a.lowercased() == b.lowercased()
                case (let a as Bool, let b as Bool): a == b
                case (let a as Int, let b as Int): a == b
                default: false
                }
            }
        }
    }

    static func select(_ items: [JSONObject], _ select: String?) throws -> [JSONObject] {
        guard let select, !select.isEmpty else { return items }
        let keys = Set(select.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }).union(["@odata.type"])
        return items.map { $0.filter { keys.contains($0.key) } }
    }
}
