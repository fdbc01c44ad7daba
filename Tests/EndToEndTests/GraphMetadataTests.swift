import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMEmulator
import MDMServer
import MDMTesting
import Testing

/// Review §5: what `/graph/v1.0` returns has the types and shapes of Microsoft Graph's CSDL: GUIDs where Graph types a
/// GUID, enum members by Graph's names, `@odata.type` on every item of a polymorphic collection, and no property the
/// type does not declare beyond winmdm's documented extensions. The CSDL is the subset winmdm serves at `$metadata`.
@Suite struct GraphMetadataTests {
    /// Properties winmdm returns beyond Microsoft's v1.0 definitions (README, Admin API): beta properties it also
    /// returns on v1.0, and its own.
    static let extensions: [String: Set<String>] = [
        "microsoft.graph.managedDevice": ["hardwareId", "enrolledByUserPrincipalName", "managementState"],
        "microsoft.graph.enrollmentTroubleshootingEvent": ["userPrincipalName", "errorCode", "phase"],
        "microsoft.graph.subscribedSku": ["displayName"],
        "microsoft.graph.windowsAutopilotDeviceIdentity": ["intendedDeploymentProfileId", "winmdmConflictingProfileIds"],
        "microsoft.graph.deviceEnrollmentLimitConfiguration": ["deviceEnrollmentConfigurationType"],
        "microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration": ["deviceEnrollmentConfigurationType", "windowsHomeSkuRestriction"],
        "microsoft.graph.windows10EnrollmentCompletionPageConfiguration": [
            "deviceEnrollmentConfigurationType", "showInstallationProgress", "blockDeviceSetupRetryByUser", "allowDeviceResetOnInstallFailure",
            "allowLogCollectionOnInstallFailure", "customErrorMessage", "installProgressTimeoutInMinutes", "allowDeviceUseOnInstallFailure",
            "allowDeviceUseBeforeProfileAndAppInstallComplete", "selectedMobileAppIds", "installQualityUpdates",
            "trackInstallProgressForAutopilotOnly", "disableUserStatusTrackingAfterFirstUser", "blockingDeviceConfigurationIds"],
    ]

    @Test("§5: every resource winmdm serves on v1.0 matches the CSDL it serves at $metadata")
    func responsesMatchTheMetadata() async throws {
        let server = try await TestServer.make()
        try await server.addUser("meta@winmdm.test")
        try await server.addUser("nolicense@winmdm.test", licensed: false)
        _ = try await server.admin.createGroup("Staff", description: "")
        try await server.inProcess { t in
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "meta@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
            _ = try? await WindowsDevice(profile: DeviceProfile(upn: "nolicense@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
        }
        let token = try await server.admin.createToken(name: "meta", role: .admin).secret
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in
            let api = API(client: client, token: token)
            // $metadata needs no token, as Graph's does, and is the document this test reads.
            let served = try await api.call(.get, "/graph/v1.0/$metadata", token: .some(nil))
            #expect(served.status == 200)
            let csdl = try CSDL(Data(served.raw.utf8))
            #expect(csdl.types["microsoft.graph.managedDevice"] != nil && csdl.enums["microsoft.graph.complianceState"]?.contains("inGracePeriod") == true)

            let userID = try #require(try await api.call(.get, "/graph/v1.0/users").value.first?["id"] as? String)
            let resources: [(path: String, type: String, collection: Bool)] = [
                ("/graph/v1.0/users", "microsoft.graph.user", true),
                ("/graph/v1.0/users/\(userID)", "microsoft.graph.user", false),
                ("/graph/v1.0/groups", "microsoft.graph.group", true),
                ("/graph/v1.0/domains", "microsoft.graph.domain", true),
                ("/graph/v1.0/subscribedSkus", "microsoft.graph.subscribedSku", true),
                ("/graph/v1.0/deviceManagement/managedDevices", "microsoft.graph.managedDevice", true),
                ("/graph/v1.0/deviceManagement/troubleshootingEvents", "microsoft.graph.deviceManagementTroubleshootingEvent", true),
                ("/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", "microsoft.graph.deviceEnrollmentConfiguration", true),
            ]
            for r in resources {
                let reply = try await api.call(.get, r.path)
                #expect(reply.status == 200, "\(r.path): \(reply.raw)")
                let body = try JSONDecoder().decode(JSONValue.self, from: Data(reply.raw.utf8))
                guard case .object(let o) = body else { Issue.record("\(r.path) is not an object"); continue }
                let items: [JSONValue]
                if r.collection {
                    guard case .array(let a)? = o["value"] else { Issue.record("\(r.path) has no value array"); continue }
                    #expect(!a.isEmpty, "\(r.path) returned nothing to check")
                    items = a
                } else {
                    items = [body]
                }
                var issues: [String] = []
                for (n, item) in items.enumerated() {
                    csdl.check(item, entity: r.type, path: "\(r.path)[\(n)]", extensions: Self.extensions, into: &issues)
                }
                #expect(issues.isEmpty, "\(issues.joined(separator: "\n"))")
            }
        }
        await server.close()
    }

    @Test("§5: beta's $metadata adds the Autopilot types, and the Autopilot resources match it")
    func betaAutopilotMatchesTheMetadata() async throws {
        try await API.run { api, server in
            _ = try await server.admin.createGroup("Kiosks", description: "")
            _ = try await server.admin.createAutopilotProfile(name: "Kiosk", joinType: .entra, template: "KIOSK-%RAND:5%", groups: ["Kiosks"])
            _ = try await server.admin.createAutopilotProfile(name: "Office", joinType: .hybrid, template: nil, groups: [])
            _ = try await server.admin.importAutopilotDevices(csv: AutopilotTests.csv(["PFMETA1,,\(DeviceProfile.hardwareHash()),KIOSK,"]))
            let served = try await api.call(.get, "/graph/beta/$metadata", token: .some(nil))
            #expect(served.status == 200 && served.raw.contains("<EntityType Name=\"windowsAutopilotDeviceIdentity\""))
            #expect(try await api.call(.get, "/graph/v2.0/$metadata", token: .some(nil)).status == 404)
            let csdl = try CSDL(Data(served.raw.utf8))
            #expect(csdl.types["microsoft.graph.user"] != nil, "beta serves the v1.0 types too")
            for (path, type) in [("/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities", "microsoft.graph.windowsAutopilotDeviceIdentity"),
                                 ("/graph/beta/deviceManagement/windowsAutopilotDeploymentProfiles", "microsoft.graph.windowsAutopilotDeploymentProfile")] {
                let reply = try await api.call(.get, path)
                guard case .object(let o) = try JSONDecoder().decode(JSONValue.self, from: Data(reply.raw.utf8)), case .array(let items)? = o["value"] else {
                    Issue.record("\(path): \(reply.raw)"); continue
                }
                #expect(!items.isEmpty, "\(path) returned nothing to check")
                var issues: [String] = []
                for (n, item) in items.enumerated() { csdl.check(item, entity: type, path: "\(path)[\(n)]", extensions: Self.extensions, into: &issues) }
                #expect(issues.isEmpty, "\(issues.joined(separator: "\n"))")
            }
        }
    }

    @Test("§5: SDKs' annotations are accepted in request bodies; a mismatched @odata.type is refused")
    func annotationsInRequestBodies() async throws {
        try await API.run { api, server in
            try await server.addUser("sdk@winmdm.test")
            let id = try #require(try await api.call(.get, "/graph/v1.0/users").value.first { $0["userPrincipalName"] as? String == "sdk@winmdm.test" }?["id"] as? String)
            // What Kiota and the PowerShell SDK send: the type (with or without #) and property annotations.
            let patched = try await api.call(.patch, "/graph/v1.0/users/\(id)", ["@odata.type": "#microsoft.graph.user", "displayName": "SDK user",
                                                                                 "displayName@odata.type": "#String", "@odata.context": "x"])
            #expect(patched.status == 204, "\(patched.raw)")
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)").json["displayName"] as? String == "SDK user")
            #expect(try await api.call(.patch, "/graph/v1.0/users/\(id)", ["@odata.type": "microsoft.graph.user", "accountEnabled": true]).status == 204)
            let wrong = try await api.call(.patch, "/graph/v1.0/users/\(id)", ["@odata.type": "#microsoft.graph.group", "displayName": "No"])
            #expect(wrong.status == 400 && wrong.raw.contains("does not match"), "\(wrong.raw)")
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)").json["displayName"] as? String == "SDK user", "a refused change leaves no trace")
            // A polymorphic resource takes its type without the '#', as OData allows.
            let limit = try #require(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations").value
                .first { $0["@odata.type"] as? String == "#microsoft.graph.deviceEnrollmentLimitConfiguration" }?["id"] as? String)
            let edit = try await api.call(.patch, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(limit)",
                                          ["@odata.type": "microsoft.graph.deviceEnrollmentLimitConfiguration", "limit": 7, "limit@odata.type": "#Int32"])
            #expect(edit.status == 204, "\(edit.raw)")
            #expect(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(limit)").json["limit"] as? Int == 7)
        }
    }
}

/// A JSON value that keeps booleans and numbers apart (JSONSerialization does not on every platform).
indirect enum JSONValue: Decodable {
    case null, bool(Bool), int(Int64), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// The parts of an OData CSDL document a response is checked against.
struct CSDL {
    struct Property { var type: String; var nullable: Bool }
    struct StructuredType { var base: String?; var properties: [String: Property] = [:] }
    var types: [String: StructuredType] = [:]
    var enums: [String: Set<String>] = [:]

    init(_ data: Data) throws {
        let reader = Reader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        guard parser.parse() else { throw CocoaError(.coderReadCorrupt) }
        types = reader.types
        enums = reader.enums
    }

    /// `graph.user` and `microsoft.graph.user` are the same name.
    static func qualified(_ name: String) -> String { name.hasPrefix("graph.") ? "microsoft." + name : name }

    func properties(of type: String) -> [String: Property] {
        guard let t = types[type] else { return [:] }
        return (t.base.map { properties(of: $0) } ?? [:]).merging(t.properties) { _, new in new }
    }

    func isDerived(_ type: String, from base: String) -> Bool {
        var t: String? = type
        while let current = t { if current == base { return true }; t = types[current]?.base }
        return false
    }

    func hasDerivedTypes(_ type: String) -> Bool { types.contains { $0.key != type && isDerived($0.key, from: type) } }

    func check(_ value: JSONValue, entity declared: String, path: String, extensions: [String: Set<String>], into issues: inout [String]) {
        guard case .object(let o) = value else { return issues.append("\(path): not an object") }
        var type = declared
        if case .string(let t)? = o["@odata.type"] {
            let named = String(t.drop(while: { $0 == "#" }))
            if types[named] == nil || !isDerived(named, from: declared) {
                issues.append("\(path): @odata.type \(t) is not \(declared) or a type derived from it")
            } else {
                type = named
            }
        } else if hasDerivedTypes(declared) {
            issues.append("\(path): an item of a polymorphic collection of \(declared) without @odata.type")
        }
        checkProperties(o, of: type, path: path, extensions: extensions, into: &issues)
    }

    private func checkProperties(_ o: [String: JSONValue], of type: String, path: String, extensions: [String: Set<String>], into issues: inout [String]) {
        let declared = properties(of: type)
        for (name, value) in o.sorted(by: { $0.key < $1.key }) where !name.hasPrefix("@") {
            guard let p = declared[name] else {
                if extensions[type]?.contains(name) != true { issues.append("\(path).\(name): \(type) has no such property") }
                continue
            }
            checkValue(value, p.type, nullable: p.nullable, path: "\(path).\(name)", extensions: extensions, into: &issues)
        }
    }

    private func checkValue(_ value: JSONValue, _ rawType: String, nullable: Bool, path: String, extensions: [String: Set<String>], into issues: inout [String]) {
        if case .null = value {
            if !nullable { issues.append("\(path): null where \(rawType) is not nullable") }
            return
        }
        if rawType.hasPrefix("Collection("), rawType.hasSuffix(")") {
            guard case .array(let a) = value else { return issues.append("\(path): not an array (\(rawType))") }
            let element = String(rawType.dropFirst("Collection(".count).dropLast())
            for (n, v) in a.enumerated() { checkValue(v, element, nullable: false, path: "\(path)[\(n)]", extensions: extensions, into: &issues) }
            return
        }
        let type = Self.qualified(rawType)
        switch (type, value) {
        case ("Edm.String", .string): return
        case ("Edm.Boolean", .bool): return
        case ("Edm.Int32", .int(let i)) where Int64(Int32.min)...Int64(Int32.max) ~= i: return
        case ("Edm.Int64", .int): return
        case ("Edm.Guid", .string(let s)):
            if s.range(of: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", options: .regularExpression) == nil {
                issues.append("\(path): '\(s)' is not a GUID")
            }
            return
        case ("Edm.DateTimeOffset", .string(let s)):
            if ISO8601DateFormatter().date(from: s) == nil { issues.append("\(path): '\(s)' is not an ISO 8601 date and time") }
            return
        default: break
        }
        if let members = enums[type] {
            if case .string(let s) = value, members.contains(s) { return }
            return issues.append("\(path): \(value) is not a member of \(type) (\(members.sorted().joined(separator: ", ")))")
        }
        if types[type] != nil {
            guard case .object(let o) = value else { return issues.append("\(path): not an object (\(type))") }
            return checkProperties(o, of: type, path: path, extensions: extensions, into: &issues)
        }
        issues.append("\(path): \(value) does not have the type \(type)")
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var types: [String: StructuredType] = [:]
        var enums: [String: Set<String>] = [:]
        var namespace = ""
        var current: String?
        var currentEnum: String?

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
            switch name {
            case "Schema": namespace = a["Namespace"] ?? ""
            case "EntityType", "ComplexType":
                let full = namespace + "." + (a["Name"] ?? "")
                types[full] = StructuredType(base: a["BaseType"].map(CSDL.qualified))
                current = full
            case "Property":
                if let current, let n = a["Name"], let t = a["Type"] {
                    types[current]?.properties[n] = Property(type: t, nullable: a["Nullable"] != "false")
                }
            case "EnumType": currentEnum = namespace + "." + (a["Name"] ?? ""); enums[currentEnum!] = []
            case "Member": if let currentEnum, let n = a["Name"] { enums[currentEnum]?.insert(n) }
            default: break
            }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "EntityType" || name == "ComplexType" { current = nil }
            if name == "EnumType" { currentEnum = nil }
        }
    }
}
