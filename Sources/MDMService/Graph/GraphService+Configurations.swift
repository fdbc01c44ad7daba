import Foundation
import MDMCore

/// `/deviceManagement/deviceConfigurations`: configuration profiles as Intune's `windows10CustomConfiguration`, with
/// `omaSettings`, the `assign` action, `assignments`, `deviceStatuses` and `deviceStatusOverview`.
extension GraphService {
    static let customConfigurationType = "#microsoft.graph.windows10CustomConfiguration"

    /// winmdm's format ↔ Graph's omaSetting subtype. Graph carries an XML value as base64 (`omaSettingStringXml.value` is Binary).
    static let omaTypes: [(format: String, type: String)] = [
        ("int", "#microsoft.graph.omaSettingInteger"), ("chr", "#microsoft.graph.omaSettingString"),
        ("bool", "#microsoft.graph.omaSettingBoolean"), ("b64", "#microsoft.graph.omaSettingBase64"),
        ("float", "#microsoft.graph.omaSettingFloatingPoint"), ("xml", "#microsoft.graph.omaSettingStringXml"),
    ]

    static func omaSetting(_ s: OMASetting) -> JSONObject {
        let type = omaTypes.first { $0.format == s.format }?.type ?? "#microsoft.graph.omaSettingString"
        let value: Any = switch s.format {
        case "int": Int(s.value) ?? 0
        case "bool": s.value == "true"
        case "float": Double(s.value) ?? 0
        case "xml": Data(s.value.utf8).base64EncodedString()
        default: s.value
        }
        return ["@odata.type": type, "displayName": s.name ?? s.locURI, "description": NSNull(), "omaUri": s.locURI, "value": value]
    }

    static func omaSetting(from o: JSONObject) throws -> OMASetting {
        guard let type = try o.string("@odata.type"), let format = omaTypes.first(where: { $0.type == type })?.format else {
            throw GraphError.badRequest("Each omaSetting needs an @odata.type: \(omaTypes.map(\.type).joined(separator: ", ")).")
        }
        guard let uri = try o.string("omaUri") else { throw GraphError.badRequest("Each omaSetting needs an omaUri.") }
        let raw = o["value"]
        let value: String
        switch (format, raw) {
        case ("int", let n as Int): value = String(n)
        case ("float", let n as Double): value = String(n)
        case ("bool", let b as Bool): value = b ? "true" : "false"
        case ("xml", let s as String):
            guard let d = Data(base64Encoded: s) else { throw GraphError.badRequest("\(uri): an omaSettingStringXml value is base64-encoded XML.") }
            value = String(decoding: d, as: UTF8.self)
        case ("chr", let s as String), ("b64", let s as String): value = s
        default: throw GraphError.badRequest("\(uri): the value does not fit \(type).")
        }
        let name = try o.string("displayName")
        return OMASetting(name: name == uri ? nil : name, locURI: uri, format: format, value: value)
    }

    static func deviceConfiguration(_ p: ConfigurationProfile) -> JSONObject {
        ["@odata.type": customConfigurationType, "id": p.id, "displayName": p.name, "description": p.description, "version": p.version,
         "createdDateTime": GraphDate.string(p.createdAt), "lastModifiedDateTime": GraphDate.string(p.updatedAt),
         "omaSettings": p.settings.map(omaSetting)]
    }

    static func assignment(_ p: ConfigurationProfile, _ a: ProfileAssignment) -> JSONObject { assignment(ownerID: p.id, a) }

    /// A profile's or a policy's assignment in Graph's shape (its id joins the owner and the target).
    static func assignment(ownerID: String, _ a: ProfileAssignment) -> JSONObject {
        let target: JSONObject = switch (a.target, a.exclude) {
        case (ProfileAssignment.allUsers, _): ["@odata.type": "#microsoft.graph.allLicensedUsersAssignmentTarget"]
        case (ProfileAssignment.allDevices, _): ["@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"]
        case (let g, true): ["@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": g]
        case (let g, false): ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g]
        }
        return ["id": "\(ownerID)_\(a.target)", "target": target]
    }

    static func assignment(from o: JSONObject) throws -> ProfileAssignment {
        guard let t = try o.object("target"), let type = try t.string("@odata.type") else {
            throw GraphError.badRequest("Each assignment needs a target with an @odata.type.")
        }
        switch type {
        case "#microsoft.graph.allLicensedUsersAssignmentTarget": return ProfileAssignment(target: ProfileAssignment.allUsers)
        case "#microsoft.graph.allDevicesAssignmentTarget": return ProfileAssignment(target: ProfileAssignment.allDevices)
        case "#microsoft.graph.groupAssignmentTarget", "#microsoft.graph.exclusionGroupAssignmentTarget":
            guard let g = try t.string("groupId") else { throw GraphError.badRequest("A group assignment target needs groupId.") }
            return ProfileAssignment(target: g, exclude: type.hasPrefix("#microsoft.graph.exclusion"))
        default:
            throw GraphError.badRequest("'\(type)' is not an assignment target winmdm knows: groupAssignmentTarget, exclusionGroupAssignmentTarget, allLicensedUsersAssignmentTarget, allDevicesAssignmentTarget.")
        }
    }

    /// Graph's `deviceConfigurationDeviceStatus.status` (a `complianceStatus`) for a profile's state on one device.
    static func complianceStatus(_ s: DeviceProfileState.State) -> String {
        switch s {
        case .succeeded: "compliant"
        case .failed: "error"
        case .conflict: "conflict"
        case .notApplicable: "notApplicable"
        case .pending, .removing: "unknown"
        case .removed: "notAssigned"
        }
    }

    func deviceConfigurations(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        func find(_ id: String) async throws -> ConfigurationProfile {
            guard let c = try await admin.store.configurationProfile(id: id) else { throw GraphError.notFound("Device configuration \(id)") }
            return c
        }
        func settings(_ b: JSONObject) throws -> [OMASetting]? {
            guard let list = b["omaSettings"] else { return nil }
            guard let items = list as? [JSONObject] else { throw GraphError.badRequest("omaSettings must be an array of omaSetting objects.") }
            return try items.map(Self.omaSetting(from:))
        }
        switch (m, p.count) {
        case ("GET", 2): return try page(r, try await admin.configurationProfiles().map(Self.deviceConfiguration))
        case ("POST", 2):
            let b = try JSONBody.object(r.body)
            guard try b.string("@odata.type") == Self.customConfigurationType else {
                throw GraphError.badRequest("winmdm creates \(Self.customConfigurationType) configurations; give that @odata.type.")
            }
            guard let name = try b.string("displayName") else { throw GraphError.badRequest("displayName is required.") }
            let c = try await admin.createConfigurationProfile(name: name, description: try b.string("description") ?? "", settings: try settings(b) ?? [])
            return .json(Self.deviceConfiguration(c), status: 201)
        case ("GET", 3): return .json(Self.deviceConfiguration(try await find(p[2])))
        case ("PATCH", 3):
            let b = try JSONBody.object(r.body)
            if let t = try b.string("@odata.type"), t != Self.customConfigurationType { throw GraphError.badRequest("This configuration is a \(Self.customConfigurationType).") }
            _ = try await admin.updateConfigurationProfile(try await find(p[2]).id, name: try b.string("displayName"),
                                                           description: try b.string("description"), settings: try settings(b))
            return .noContent
        case ("DELETE", 3): _ = try await admin.deleteConfigurationProfile(try await find(p[2]).id); return .noContent
        case ("POST", 4) where p[3] == "assign":
            let b = try JSONBody.object(r.body)
            guard let list = b["assignments"] as? [JSONObject] else { throw GraphError.badRequest("assignments must be an array.") }
            let c = try await admin.setProfileAssignments(try await find(p[2]).id, try list.map(Self.assignment(from:)))
            return .json(["value": c.assignments.map { Self.assignment(c, $0) }])
        case ("GET", 4) where p[3] == "assignments":
            let c = try await find(p[2])
            return try page(r, c.assignments.map { Self.assignment(c, $0) })
        case ("GET", 4) where p[3] == "deviceStatuses":
            let (c, rows) = try await admin.profileDeviceStates(try await find(p[2]).id)
            return try page(r, rows.map { s, e in
                ["id": "\(c.id)_\(s.enrollmentID)", "deviceDisplayName": e?.deviceName ?? s.enrollmentID, "userName": e?.upn ?? "",
                 "userPrincipalName": e?.upn ?? "", "deviceModel": e?.inventory?["./DevInfo/Mod"] ?? "",
                 "status": Self.complianceStatus(s.state), "lastReportedDateTime": GraphDate.string(s.updatedAt),
                 "complianceGracePeriodExpirationDateTime": "9999-12-31T23:59:59Z"] as JSONObject
            })
        case ("GET", 4) where p[3] == "deviceStatusOverview":
            let (c, rows) = try await admin.profileStates(try await find(p[2]).id)
            func count(_ states: Set<DeviceProfileState.State>) -> Int { rows.filter { states.contains($0.state) }.count }
            let last = rows.map(\.updatedAt).max() ?? c.updatedAt
            return .json(["id": "\(c.id)_deviceStatusOverview", "pendingCount": count([.pending, .removing]),
                          "notApplicableCount": count([.notApplicable]), "successCount": count([.succeeded]), "errorCount": count([.failed]),
                          "failedCount": 0, "conflictCount": count([.conflict]), "lastUpdateDateTime": GraphDate.string(last),
                          "configurationVersion": c.version])
        default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on deviceConfigurations.")
        }
    }
}
