import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MDMCore
import MDMServer
import MDMService
import MDMTesting
import NIOCore
import Testing

/// The Graph-shaped admin API, in-process through the router.
struct API: @unchecked Sendable {
    let client: any TestClientProtocol
    let token: String?

    struct Reply {
        var status: Int
        var json: [String: Any]
        var raw: String
        var value: [[String: Any]] { json["value"] as? [[String: Any]] ?? [] }
        var error: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    func call(_ method: HTTPRequest.Method, _ path: String, _ body: Any? = nil, rawBody: String? = nil, token: String?? = nil) async throws -> Reply {
        var headers = HTTPFields()
        if let t = token ?? self.token { headers[.authorization] = "Bearer \(t)" }
        headers[.contentType] = "application/json"
        var buffer: ByteBuffer?
        if let rawBody { buffer = ByteBuffer(string: rawBody) }
        else if let body { buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)) }
        let r = try await client.execute(uri: path, method: method, headers: headers, body: buffer)
        let text = String(buffer: r.body)
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        return Reply(status: Int(r.status.code), json: json, raw: text)
    }

    static func run(_ body: @escaping @Sendable (API, TestServer) async throws -> Void) async throws {
        let server = try await TestServer.make()
        let admin = try await server.admin.createToken(name: "tests", role: .admin)
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in try await body(API(client: client, token: admin.secret), server) }
        await server.close()
    }
}

@Suite struct GraphAPITests {
    @Test func usersGroupsLicensesAndDomains() async throws {
        try await API.run { api, _ in
            let created = try await api.call(.post, "/graph/v1.0/users", ["userPrincipalName": "Kim@winmdm.test", "displayName": "Kim",
                                                                            "accountEnabled": true, "passwordProfile": ["password": "Correct horse 1"]])
            #expect(created.status == 201 && created.json["userPrincipalName"] as? String == "kim@winmdm.test")
            let id = try #require(created.json["id"] as? String)
            #expect(try await api.call(.patch, "/graph/v1.0/users/\(id)", ["displayName": "Kim Lee"]).status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)").json["displayName"] as? String == "Kim Lee")
            let skus = try await api.call(.get, "/graph/v1.0/subscribedSkus")
            let sku = try #require(skus.value.first?["skuId"] as? String)
            #expect(skus.value.first?["skuPartNumber"] as? String == "WINMDM_STANDARD")
            let licensed = try await api.call(.post, "/graph/v1.0/users/\(id)/assignLicense", ["addLicenses": [["skuId": sku]], "removeLicenses": [String]()])
            #expect((licensed.json["assignedLicenses"] as? [[String: Any]])?.first?["skuId"] as? String == sku)
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)/licenseDetails").value.first?["skuPartNumber"] as? String == "WINMDM_STANDARD")
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)/managedDevices").value.isEmpty)
            let g = try await api.call(.post, "/graph/v1.0/groups", ["displayName": "Staff"])
            let gid = try #require(g.json["id"] as? String)
            #expect(try await api.call(.post, "/graph/v1.0/groups/\(gid)/members/$ref", ["@odata.id": "https://x/graph/v1.0/users/\(id)"]).status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/groups/\(gid)/members").value.count == 1)
            #expect(try await api.call(.delete, "/graph/v1.0/groups/\(gid)/members/\(id)/$ref").status == 204)
            let d = try await api.call(.post, "/graph/v1.0/domains", ["id": "contoso.com"])
            #expect(d.status == 201 && d.json["isVerified"] as? Bool == false)
            #expect(try await api.call(.post, "/graph/v1.0/domains/contoso.com/verify").json["isVerified"] as? Bool == true)
            #expect(try await api.call(.get, "/graph/v1.0/domains?$filter=isVerified eq true").value.count == 2)
            #expect(try await api.call(.delete, "/graph/v1.0/users/\(id)").status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/users/\(id)").status == 404)
        }
    }

    @Test func odataSelectFilterAndPaging() async throws {
        try await API.run { api, server in
            for n in 1...5 { try await server.addUser("u\(n)@winmdm.test") }
            let first = try await api.call(.get, "/graph/v1.0/users?$top=2&$select=userPrincipalName")
            #expect(first.value.count == 2 && first.value[0].keys.sorted() == ["userPrincipalName"])
            var next = first.json["@odata.nextLink"] as? String
            var seen = first.value.count
            while let link = next {
                let path = String(link[link.range(of: "/graph/")!.lowerBound...])
                let page = try await api.call(.get, path)
                seen += page.value.count
                next = page.json["@odata.nextLink"] as? String
            }
            #expect(seen == 5)
            // Unfiltered listings page in the store: the token names the last key, not an offset.
            #expect((first.json["@odata.nextLink"] as? String)?.contains("$skiptoken=k") == true)
            #expect(try await api.call(.get, "/graph/v1.0/users?$skiptoken=5").status == 400)
            #expect(try await api.call(.get, "/graph/v1.0/users?$skiptoken=k%21%21").status == 400)
            let one = try await api.call(.get, "/graph/v1.0/users?$filter=userPrincipalName eq 'u3@winmdm.test'")
            #expect(one.value.count == 1)
            #expect(try await api.call(.get, "/graph/v1.0/users?$filter=startswith(userPrincipalName,'u')").status == 400)
            #expect(try await api.call(.get, "/graph/v1.0/users?$top=0").status == 400)
        }
    }

    @Test func managedDevicesPageInTheStoreWithTheirOwners() async throws {
        try await API.run { api, server in
            let owner = try await server.addUser("pager@winmdm.test")
            let now = Date()
            for n in 0..<7 {
                let e = Enrollment(upn: "pager@winmdm.test", deviceID: "PAGER\(n)", hwDevID: "HW-PAGER\(n)", deviceName: "PAGER-\(n)",
                                   enrollmentType: .full, osEdition: 48, osVersion: "10.0.26100.1", certificateSerial: "0\(n)",
                                   certificateThumbprint: "THUMB\(n)", certificateNotAfter: now.addingTimeInterval(86400),
                                   enrolledAt: now.addingTimeInterval(Double(n)))
                #expect(try await server.store.commitEnrollment(e) { _ in [] }.isEmpty)
            }
            var names: [String] = [], path: String? = "/graph/v1.0/deviceManagement/managedDevices?$top=3", pages = 0
            while let p = path {
                let page = try await api.call(.get, p)
                #expect(page.status == 200 && page.value.count <= 3, "\(page.raw)")
                #expect(page.value.allSatisfy { $0["userId"] as? String == owner.id }, "\(page.raw)")
                names += page.value.compactMap { $0["deviceName"] as? String }
                path = (page.json["@odata.nextLink"] as? String).map { String($0[$0.range(of: "/graph/")!.lowerBound...]) }
                pages += 1
            }
            #expect(names == (0..<7).map { "PAGER-\($0)" } && pages == 3, "\(names)")
            let filtered = try await api.call(.get, "/graph/v1.0/deviceManagement/managedDevices?$filter=deviceName eq 'PAGER-4'")
            #expect(filtered.value.count == 1 && filtered.value.first?["userId"] as? String == owner.id, "\(filtered.raw)")
        }
    }

    @Test func policiesAndEnrollmentConfigurations() async throws {
        try await API.run { api, server in
            let drp = try await api.call(.put, "/graph/v1.0/policies/deviceRegistrationPolicy", [
                "userDeviceQuota": 20, "azureADJoin": ["allowedToJoin": ["@odata.type": "#microsoft.graph.noDeviceRegistrationMembership"]]])
            #expect(drp.json["userDeviceQuota"] as? Int == 20)
            #expect(try await server.admin.settings().joinPolicy.kind == .none)
            let mdm = try await api.call(.get, "/graph/beta/policies/mobileDeviceManagementPolicies")
            let pid = try #require(mdm.value.first?["id"] as? String)
            #expect(mdm.value.first?["appliesTo"] as? String == "all")
            #expect(try await api.call(.patch, "/graph/beta/policies/mobileDeviceManagementPolicies/\(pid)", ["termsOfUseUrl": ""]).status == 204)
            #expect(try await server.admin.settings().mobility.termsOfUseURL == "")
            #expect(try await api.call(.post, "/graph/beta/policies/mobileDeviceManagementPolicies/\(pid)/restoreDefaultUrls").status == 204)
            #expect(try await server.admin.settings().mobility.termsOfUseURLIsValid)
            let g = try await server.admin.createGroup("Pilot")
            #expect(try await api.call(.post, "/graph/beta/policies/mobileDeviceManagementPolicies/\(pid)/includedGroups/$ref", ["@odata.id": "groups/\(g.id)"]).status == 204)
            let expanded = try await api.call(.get, "/graph/beta/policies/mobileDeviceManagementPolicies/\(pid)?$expand=includedGroups")
            #expect(expanded.json["appliesTo"] as? String == "selected" && (expanded.json["includedGroups"] as? [Any])?.count == 1)

            let configs = try await api.call(.get, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations")
            let ids = configs.value.compactMap { $0["id"] as? String }
            #expect(ids.contains { $0.hasSuffix("_DefaultLimit") } && ids.contains { $0.hasSuffix("_DefaultPlatformRestrictions") })
            let made = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": "Contractors", "limit": 2])
            let cid = try #require(made.json["id"] as? String)
            #expect(made.status == 201 && made.json["priority"] as? Int == 1)
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(cid)/assign", [
                "enrollmentConfigurationAssignments": [["target": ["@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": g.id]]]]).status == 204)
            #expect(try await api.call(.get, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(cid)/assignments").value.count == 1)
            let platform = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration", "displayName": "No personal",
                "windowsRestriction": ["platformBlocked": false, "personalDeviceEnrollmentBlocked": true]])
            #expect((platform.json["windowsRestriction"] as? [String: Any])?["personalDeviceEnrollmentBlocked"] as? Bool == true)
            let defaultPlatform = try #require(ids.first { $0.hasSuffix("_DefaultPlatformRestrictions") })
            #expect(try await api.call(.patch, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(defaultPlatform)", [
                "windowsHomeSkuRestriction": ["platformBlocked": false]]).status == 204)
            #expect(try await server.admin.restriction(.platform, "Default").windows?.homeAllowed == true)
            let second = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": "Interns", "limit": 1])
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(second.json["id"] as! String)/setPriority", ["priority": 1]).status == 204)
            #expect(try await server.admin.restriction(.deviceLimit, "Contractors").priority == 2)
            #expect(try await api.call(.delete, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(cid)").status == 204)
            let profile = try await api.call(.post, "/graph/beta/deviceManagement/windowsAutopilotDeploymentProfiles", [
                "@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": "AP", "deviceNameTemplate": "CON-%SERIAL%"])
            #expect(profile.status == 201)
            let bad = try await api.call(.post, "/graph/beta/deviceManagement/windowsAutopilotDeploymentProfiles", [
                "@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": "Bad", "deviceNameTemplate": "my pc %serial%"])
            #expect(bad.status == 400 && bad.raw.contains("upper case"))
        }
    }

    @Test func devicesTroubleshootingAndWinmdmActions() async throws {
        let server = try await TestServer.make()
        try await server.addUser("dev@winmdm.test")
        try await server.addUser("nolic@winmdm.test", licensed: false)
        let token = try await server.admin.createToken(name: "helpdesk", role: .helpdesk).secret
        try await server.inProcess { t in
            _ = try await WindowsDevice(profile: DeviceProfile(upn: "dev@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
            _ = try? await WindowsDevice(profile: DeviceProfile(upn: "nolic@winmdm.test", password: "Correct horse 1"), transport: t)
                .enroll(discoveryURL: server.discoveryURL)
        }
        let app = Application(router: buildRouter(server.services))
        try await app.test(.router) { client in
            let api = API(client: client, token: token)
            let devices = try await api.call(.get, "/graph/v1.0/deviceManagement/managedDevices")
            let did = try #require(devices.value.first?["id"] as? String)
            #expect(devices.value.first?["managedDeviceOwnerType"] as? String == "personal")
            let events = try await api.call(.get, "/graph/v1.0/deviceManagement/troubleshootingEvents")
            let ev = try #require(events.value.first)
            #expect(ev["failureCategory"] as? String == "userValidation" && ev["@odata.type"] as? String == "#microsoft.graph.enrollmentTroubleshootingEvent")
            let attempt = try await api.call(.get, "/graph/beta/winmdm/attempts/\(ev["correlationId"] as! String)")
            #expect((attempt.json["explanation"] as? [[String: Any]])?.first?["rule"] as? String == "no-license")
            let explain = try await api.call(.post, "/graph/beta/winmdm/explain", ["text": "0x80180018"])
            #expect(explain.json["codes"] as? [String] == ["0x80180018"])
            let doctor = try await api.call(.post, "/graph/beta/winmdm/doctor", ["userPrincipalName": "nolic@winmdm.test"])
            #expect((doctor.json["items"] as? [[String: Any]])?.first?["rule"] as? String == "no-license")
            #expect(try await api.call(.get, "/graph/beta/winmdm/report/failures?since=1h").json["failedAttempts"] as? Int == 1)
            // Device actions go to the command queue; helpdesk may sync and reboot, not send raw commands.
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/managedDevices/\(did)/syncDevice").status == 204)
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/managedDevices/\(did)/rebootNow").status == 204)
            #expect(try await api.call(.post, "/graph/beta/deviceManagement/managedDevices/\(did)/commands", ["verb": "Get", "target": "./DevDetail/SwV"]).status == 403)
            let queued = try await api.call(.get, "/graph/beta/deviceManagement/managedDevices/\(did)/commands")
            // Newest first; a sync is one Get per inventory node.
            #expect(queued.value.compactMap { $0["kind"] as? String } == ["reboot"] + Array(repeating: "inventory", count: 7))
            // Helpdesk may act on devices but not change policy.
            #expect(try await api.call(.post, "/graph/v1.0/deviceManagement/managedDevices/\(did)/retire").status == 204)
            #expect(try await api.call(.post, "/graph/v1.0/groups", ["displayName": "Nope"]).status == 403)
            #expect(try await api.call(.delete, "/graph/v1.0/deviceManagement/managedDevices/\(did)").status == 204)
        }
        await server.close()
    }

    @Test func refusedRequestsChangeNothing() async throws {
        try await API.run { api, server in
            let reader = try await server.admin.createToken(name: "reader", role: .reader).secret
            let before = try await server.admin.settings()
            let noToken = try await api.call(.get, "/graph/v1.0/users", token: .some(nil))
            #expect(noToken.status == 401 && noToken.error == "InvalidAuthenticationToken")
            #expect(try await api.call(.get, "/graph/v1.0/users", token: "wmdm_forged").status == 401)
            #expect(try await api.call(.get, "/graph/v1.0/users", token: reader).status == 200)
            let denied = try await api.call(.post, "/graph/v1.0/groups", ["displayName": "x"], token: reader)
            #expect(denied.status == 403 && denied.error == "Authorization_RequestDenied")
            #expect(try await api.call(.post, "/graph/v1.0/groups", rawBody: "{not json").status == 400)
            let unknown = try await api.call(.post, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations", [
                "@odata.type": "#microsoft.graph.windows81EnrollmentCompletionPageConfiguration", "displayName": "ESP"])
            #expect(unknown.status == 400 && unknown.raw.contains("Unknown @odata.type"))
            let tooMany = try await api.call(.patch, "/graph/v1.0/deviceManagement/deviceEnrollmentConfigurations/\(before.defaultRestriction(.deviceLimit).id)",
                                            ["limit": 16])
            #expect(tooMany.status == 400 && tooMany.raw.contains("between 1 and 15"))
            #expect(try await api.call(.put, "/graph/v1.0/policies/deviceRegistrationPolicy", [
                "userDeviceQuota": 5, "azureADJoin": ["allowedToJoin": ["@odata.type": "#microsoft.graph.somethingElse"]]]).status == 400)
            #expect(try await api.call(.patch, "/graph/v1.0/users/nobody@winmdm.test", ["displayName": "x"]).status == 404)
            #expect(try await api.call(.get, "/graph/v2.0/users").status == 404)
            // Only the tokens' last use (recorded on every authenticated request, refused or not) may differ.
            func withoutUse(_ t: TenantSettings) -> TenantSettings {
                var t = t
                for i in t.apiTokens.indices { t.apiTokens[i].lastUsedAt = nil }
                return t
            }
            #expect(withoutUse(try await server.admin.settings()) == withoutUse(before))
            #expect(try await server.admin.groups().isEmpty)
        }
    }
}
