import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMServer
import MDMTesting
import Testing

/// The OpenAPI document at /graph/openapi.json describes what the live API returns.
@Suite struct OpenAPITests {
    /// Checks a JSON value against an OpenAPI 3.0 schema (the subset the document uses).
    struct Validator {
        let doc: [String: Any]

        func resolve(_ schema: [String: Any]) -> [String: Any] {
            guard let ref = schema["$ref"] as? String else { return schema }
            let name = ref.split(separator: "/").last.map(String.init) ?? ""
            return ((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])?[name] as? [String: Any] ?? [:]
        }

        func check(_ value: Any, _ schema0: [String: Any], at path: String, _ problems: inout [String]) {
            let schema = resolve(schema0)
            if value is NSNull { if schema["nullable"] as? Bool != true { problems.append("\(path): null") }; return }
            switch schema["type"] as? String {
            case "object"?:
                guard let o = value as? [String: Any] else { problems.append("\(path): not an object"); return }
                for r in schema["required"] as? [String] ?? [] where o[r] == nil { problems.append("\(path).\(r): missing") }
                let props = schema["properties"] as? [String: Any] ?? [:]
                for (k, v) in o { if let p = props[k] as? [String: Any] { check(v, p, at: "\(path).\(k)", &problems) } }
            case "array"?:
                guard let a = value as? [Any] else { problems.append("\(path): not an array"); return }
                if let items = schema["items"] as? [String: Any] { for (i, v) in a.enumerated() { check(v, items, at: "\(path)[\(i)]", &problems) } }
            case "string"?:
                guard let s = value as? String else { problems.append("\(path): not a string"); return }
                if let e = schema["enum"] as? [String], !e.contains(s) { problems.append("\(path): \(s) not in \(e)") }
            case "integer"?:
                // Foundation on Linux bridges JSON 0 and 1 to Bool as well, so only the Int cast is checked.
                if !(value is Int) { problems.append("\(path): not an integer") }
            case "boolean"?:
                if !(value is Bool) { problems.append("\(path): not a boolean") }
            default: break
            }
        }

        func schema(_ template: String, _ method: String, _ status: Int) -> [String: Any]? {
            let op = ((doc["paths"] as? [String: Any])?[template] as? [String: Any])?[method.lowercased()] as? [String: Any]
            let r = (op?["responses"] as? [String: Any])?[String(status)] as? [String: Any]
            return ((r?["content"] as? [String: Any])?["application/json"] as? [String: Any])?["schema"] as? [String: Any]
        }
    }

    @Test func liveResponsesMatchTheDocument() async throws {
        let server = try await TestServer.make()
        try await server.addUser("doc@winmdm.test")
        try await server.addUser("nolic@winmdm.test", licensed: false)
        try await server.inProcess { t in
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "doc@winmdm.test", password: "Correct horse 1"), transport: t).enroll(discoveryURL: server.discoveryURL)
            _ = try? await WindowsDevice(profile: DeviceProfile(upn: "nolic@winmdm.test", password: "Correct horse 1"), transport: t).enroll(discoveryURL: server.discoveryURL)
        }
        let token = try await server.admin.createToken(name: "openapi", role: .admin).secret
        _ = try await server.admin.createGroup("Docs")
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in
            let api = API(client: client, token: token)
            let raw = try await client.execute(uri: "/graph/openapi.json", method: .get)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: raw.body).utf8)) as? [String: Any])
            #expect(doc["openapi"] as? String == "3.0.3")
            let v = Validator(doc: doc)
            let user = try await server.admin.user("doc@winmdm.test")
            let group = try await server.admin.group("Docs")
            let device = try #require(try await server.store.enrollments(upn: "doc@winmdm.test").first)
            let limit = try await server.admin.restriction(.deviceLimit, "Default")
            let failed = try #require(try await server.store.attempts(.init(limit: 1, failedOnly: true)).first)
            let profile = try await server.admin.createConfigurationProfile(name: "Doc profile", settings: [
                OMASetting(name: "No camera", locURI: "./Device/Vendor/MSFT/Policy/Config/Camera/AllowCamera", format: "int", value: "0")])
            let configs = "/graph/v1.0/deviceManagement/deviceConfigurations"
            let policy = try await server.admin.createCompliancePolicy(CompliancePolicy(name: "Doc compliance", osMinimumVersion: "10.0.22631", createdAt: Date()))
            _ = try await server.admin.assignCompliancePolicy(policy.id, to: "all-users")
            let compliance = "/graph/v1.0/deviceManagement/deviceCompliancePolicies"
            let calls: [(String, String, String, Any?, Int)] = [
                ("/users", "GET", "/graph/v1.0/users", nil, 200),
                ("/users/{id}", "GET", "/graph/v1.0/users/\(user.id)", nil, 200),
                ("/users/{id}/licenseDetails", "GET", "/graph/v1.0/users/\(user.id)/licenseDetails", nil, 200),
                ("/users/{id}/managedDevices", "GET", "/graph/v1.0/users/\(user.id)/managedDevices", nil, 200),
                ("/groups", "GET", "/graph/v1.0/groups", nil, 200),
                ("/groups/{id}", "GET", "/graph/v1.0/groups/\(group.id)", nil, 200),
                ("/domains", "GET", "/graph/v1.0/domains", nil, 200),
                ("/subscribedSkus", "GET", "/graph/v1.0/subscribedSkus", nil, 200),
                ("/policies/deviceRegistrationPolicy", "GET", "/graph/v1.0/policies/deviceRegistrationPolicy", nil, 200),
                ("/policies/mobileDeviceManagementPolicies", "GET", "/graph/beta/policies/mobileDeviceManagementPolicies?$expand=includedGroups", nil, 200),
                ("/policies/mobileAppManagementPolicies", "GET", "/graph/beta/policies/mobileAppManagementPolicies", nil, 200),
                ("/deviceManagement/deviceEnrollmentConfigurations", "GET", "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", nil, 200),
                ("/deviceManagement/deviceEnrollmentConfigurations/{id}", "GET", "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(limit.id)", nil, 200),
                ("/deviceManagement/deviceEnrollmentConfigurations/{id}/assignments", "GET", "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(limit.id)/assignments", nil, 200),
                ("/deviceManagement/managedDevices", "GET", "/graph/v1.0/deviceManagement/managedDevices", nil, 200),
                ("/deviceManagement/managedDevices/{id}", "GET", "/graph/v1.0/deviceManagement/managedDevices/\(device.id)", nil, 200),
                ("/deviceManagement/managedDevices/{id}/commands", "POST", "/graph/beta/deviceManagement/managedDevices/\(device.id)/commands",
                 ["verb": "Get", "target": "./DevDetail/SwV"], 201),
                ("/deviceManagement/managedDevices/{id}/commands", "GET", "/graph/beta/deviceManagement/managedDevices/\(device.id)/commands", nil, 200),
                ("/deviceManagement/troubleshootingEvents", "GET", "/graph/v1.0/deviceManagement/troubleshootingEvents", nil, 200),
                ("/deviceManagement/windowsAutopilotDeploymentProfiles", "POST", "/graph/beta/deviceManagement/windowsAutopilotDeploymentProfiles",
                 ["@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": "Doc"], 201),
                ("/deviceManagement/windowsAutopilotDeploymentProfiles", "GET", "/graph/beta/deviceManagement/windowsAutopilotDeploymentProfiles", nil, 200),
                ("/users", "POST", "/graph/v1.0/users", ["userPrincipalName": "new@winmdm.test", "passwordProfile": ["password": "Correct horse 1"]], 201),
                ("/groups", "POST", "/graph/v1.0/groups", ["displayName": "More"], 201),
                ("/deviceManagement/deviceEnrollmentConfigurations", "POST", "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations",
                 ["@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": "Doc limit", "limit": 3], 201),
                ("/winmdm/explain", "POST", "/graph/beta/winmdm/explain", ["text": "80180003 and 0x8018FFFF"], 200),
                ("/winmdm/doctor", "POST", "/graph/beta/winmdm/doctor", ["userPrincipalName": "nolic@winmdm.test"], 200),
                ("/winmdm/attempts", "GET", "/graph/beta/winmdm/attempts", nil, 200),
                ("/winmdm/attempts/{id}", "GET", "/graph/beta/winmdm/attempts/\(failed.id)", nil, 200),
                ("/winmdm/report/failures", "GET", "/graph/beta/winmdm/report/failures?since=1h", nil, 200),
                ("/deviceManagement/deviceConfigurations", "GET", configs, nil, 200),
                ("/deviceManagement/deviceConfigurations", "POST", configs,
                 ["@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": "Doc 2",
                  "omaSettings": [["@odata.type": "#microsoft.graph.omaSettingString", "displayName": "s", "omaUri": "./Vendor/MSFT/X/Y", "value": "v"]]], 201),
                ("/deviceManagement/deviceConfigurations/{id}", "GET", "\(configs)/\(profile.id)", nil, 200),
                ("/deviceManagement/deviceConfigurations/{id}/assign", "POST", "\(configs)/\(profile.id)/assign",
                 ["assignments": [["target": ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": group.id]]]], 200),
                ("/deviceManagement/deviceConfigurations/{id}/assignments", "GET", "\(configs)/\(profile.id)/assignments", nil, 200),
                ("/deviceManagement/deviceConfigurations/{id}/deviceStatuses", "GET", "\(configs)/\(profile.id)/deviceStatuses", nil, 200),
                ("/deviceManagement/deviceConfigurations/{id}/deviceStatusOverview", "GET", "\(configs)/\(profile.id)/deviceStatusOverview", nil, 200),
                ("/deviceManagement/deviceCompliancePolicies", "GET", compliance, nil, 200),
                ("/deviceManagement/deviceCompliancePolicies", "POST", compliance,
                 ["@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": "Doc 2", "storageRequireEncryption": true], 201),
                ("/deviceManagement/deviceCompliancePolicies/{id}", "GET", "\(compliance)/\(policy.id)", nil, 200),
                ("/deviceManagement/deviceCompliancePolicies/{id}/assignments", "GET", "\(compliance)/\(policy.id)/assignments", nil, 200),
                ("/deviceManagement/deviceCompliancePolicies/{id}/deviceStatuses", "GET", "\(compliance)/\(policy.id)/deviceStatuses", nil, 200),
                ("/deviceManagement/deviceCompliancePolicies/{id}/assign", "POST", "\(compliance)/\(policy.id)/assign",
                 ["assignments": [["target": ["@odata.type": "#microsoft.graph.allDevicesAssignmentTarget"]]]], 200),
                ("/deviceManagement/importedWindowsAutopilotDeviceIdentities/import", "POST", "/graph/beta/deviceManagement/importedWindowsAutopilotDeviceIdentities/import",
                 ["importedWindowsAutopilotDeviceIdentities": [["serialNumber": "DOC1", "hardwareIdentifier": DeviceProfile.hardwareHash(), "groupTag": "DOC"],
                                                               ["serialNumber": "DOC2", "hardwareIdentifier": "not base64!"]]], 200),
                ("/deviceManagement/windowsAutopilotDeviceIdentities", "GET", "/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities", nil, 200),
                ("/deviceManagement/windowsAutopilotDeviceIdentities/{id}", "GET", "/graph/beta/deviceManagement/windowsAutopilotDeviceIdentities/DOC1", nil, 200),
                ("/deviceManagement/importedDeviceIdentities/importDeviceIdentityList", "POST", "/graph/beta/deviceManagement/importedDeviceIdentities/importDeviceIdentityList",
                 ["importedDeviceIdentities": [["importedDeviceIdentityType": "manufacturerModelSerial", "importedDeviceIdentifier": "Microsoft,Surface Laptop 5,0123456789"]]], 200),
                ("/deviceManagement/importedDeviceIdentities", "GET", "/graph/beta/deviceManagement/importedDeviceIdentities", nil, 200),
            ]
            for (template, method, uri, body, status) in calls {
                let r = try await api.call(HTTPRequest.Method(rawValue: method)!, uri, body)
                #expect(r.status == status, "\(method) \(uri): \(r.status) \(r.raw.prefix(200))")
                guard let schema = v.schema(template, method, status) else { Issue.record("no schema for \(method) \(template) \(status)"); continue }
                var problems: [String] = []
                let value = try JSONSerialization.jsonObject(with: Data(r.raw.utf8), options: [.fragmentsAllowed])
                v.check(value, schema, at: "\(method) \(template)", &problems)
                #expect(problems.isEmpty, "\(problems)")
            }
            // Errors follow the documented error shape.
            let e = try await api.call(.get, "/graph/v1.0/users/nobody")
            var problems: [String] = []
            v.check(e.json, ["$ref": "#/components/schemas/ODataError"], at: "error", &problems)
            #expect(e.status == 404 && problems.isEmpty)
        }
        await server.close()
    }
}
