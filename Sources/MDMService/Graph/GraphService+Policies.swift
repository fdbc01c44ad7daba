import Foundation
import MDMCore
import MDMStorage
import MDMTroubleshoot

extension GraphService {
    // MARK: /policies

    func policies(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        guard p.count >= 2 else { throw GraphError.notFound("/policies") }
        if p[1] == "deviceRegistrationPolicy" && p.count == 2 {
            if m == "GET" { return .json(GraphMapping.deviceRegistrationPolicy(try await admin.settings())) }
            guard m == "PUT" else { throw GraphError(405, "Request_BadRequest", "Use GET or PUT.") }
            let b = try JSONBody.object(r.body)
            // PUT replaces: a missing quota means no joins at all, as in Graph.
            let quota = try b.int("userDeviceQuota") ?? 0
            if let join = try b.object("azureADJoin")?.object("allowedToJoin") {
                let type = try join.string("@odata.type") ?? ""
                switch type {
                case "#microsoft.graph.allDeviceRegistrationMembership": _ = try await admin.setJoinPolicy(.all)
                case "#microsoft.graph.noDeviceRegistrationMembership": _ = try await admin.setJoinPolicy(.none)
                case "#microsoft.graph.enumeratedDeviceRegistrationMembership":
                    _ = try await admin.setJoinPolicy(.selected, users: try join.strings("users") ?? [], groups: try join.strings("groups") ?? [])
                default:
                    throw GraphError.badRequest("Unknown allowedToJoin @odata.type '\(type)'; use #microsoft.graph.allDeviceRegistrationMembership, …enumeratedDeviceRegistrationMembership or …noDeviceRegistrationMembership.")
                }
            }
            return .json(GraphMapping.deviceRegistrationPolicy(try await admin.setJoinQuota(quota)))
        }
        let mam: Bool
        switch p[1] {
        case "mobileDeviceManagementPolicies": mam = false
        case "mobileAppManagementPolicies": mam = true
        default: throw GraphError.notFound("/policies/\(p[1])")
        }
        let id = mam ? GraphMapping.mamPolicyID : GraphMapping.mdmPolicyID
        let expand = r.query["$expand"]?.contains("includedGroups") == true
        if p.count == 2 && m == "GET" {
            return try page(r, [GraphMapping.mobilityPolicy(try await admin.settings(), mam: mam, groups: try await admin.groups(), expand: expand)])
        }
        guard p.count >= 3, p[2] == id else { throw GraphError.notFound("Policy \(p.count >= 3 ? p[2] : "")") }
        let which: AdminService.ScopeTarget = mam ? .mam : .mdm
        switch (m, p.count) {
        case ("GET", 3):
            return .json(GraphMapping.mobilityPolicy(try await admin.settings(), mam: mam, groups: try await admin.groups(), expand: expand))
        case ("PATCH", 3):
            let b = try JSONBody.object(r.body)
            if let applies = try b.string("appliesTo") {
                let current = try await admin.settings()
                let scope = mam ? current.mobility.mamScope : current.mobility.mdmScope
                switch applies {
                case "none": _ = try await admin.setScope(which, .none, groups: [])
                case "all": _ = try await admin.setScope(which, .all, groups: [])
                case "selected":
                    guard !scope.groups.isEmpty else {
                        throw GraphError.badRequest("appliesTo selected needs included groups; add them with POST …/includedGroups/$ref first.")
                    }
                    _ = try await admin.setScope(which, .some, groups: scope.groups)
                default: throw GraphError.badRequest("appliesTo must be none, all or selected.")
                }
            }
            let tou = try b.string("termsOfUseUrl"), disc = try b.string("discoveryUrl"), comp = try b.string("complianceUrl")
            if tou != nil || disc != nil || comp != nil {
                _ = try await admin.setMobilityURLs(termsOfUse: tou, discovery: disc, compliance: comp)
            }
            return .noContent
        case ("GET", 4) where p[3] == "includedGroups":
            let s = try await admin.settings()
            let scope = mam ? s.mobility.mamScope : s.mobility.mdmScope
            return try page(r, try await admin.groups().filter { scope.groups.contains($0.id) }.map(GraphMapping.group))
        case ("POST", 5) where p[3] == "includedGroups" && p[4] == "$ref":
            guard let ref = try JSONBody.object(r.body).string("@odata.id"), let gid = ref.split(separator: "/").last else {
                throw GraphError.badRequest("Give the group as {\"@odata.id\": \"…/groups/{id}\"}.")
            }
            let g = try await group(String(gid), admin)
            let s = try await admin.settings()
            let scope = mam ? s.mobility.mamScope : s.mobility.mdmScope
            _ = try await admin.setScope(which, .some, groups: Array(Set(scope.groups + [g.id])))
            return .noContent
        case ("DELETE", 6) where p[3] == "includedGroups" && p[5] == "$ref":
            let g = try await group(p[4], admin)
            let s = try await admin.settings()
            let remaining = (mam ? s.mobility.mamScope : s.mobility.mdmScope).groups.filter { $0 != g.id }
            _ = try await admin.setScope(which, remaining.isEmpty ? .none : .some, groups: remaining)
            return .noContent
        case ("POST", 4) where p[3] == "restoreDefaultUrls":
            _ = try await admin.restoreDefaultMobilityURLs(publicURL: publicURL)
            return .noContent
        default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on this policy path.")
        }
    }

    // MARK: /deviceManagement

    func deviceManagement(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        guard p.count >= 2 else { throw GraphError.notFound("/deviceManagement") }
        switch p[1] {
        case "deviceEnrollmentConfigurations": return try await configurations(r, admin)
        case "deviceConfigurations": return try await deviceConfigurations(r, admin)
        case "deviceCompliancePolicies": return try await deviceCompliancePolicies(r, admin)
        case "managedDevices":
            // The owner's id for each device shown: one indexed look-up per distinct user on the page.
            var owners: [String: String?] = [:]
            func uid(_ upn: String) async throws -> String? {
                if let known = owners[upn] { return known }
                let id = try await admin.store.user(upn: upn)?.id
                owners[upn] = id
                return id
            }
            let policies = try await admin.compliancePolicies()
            func compliance(_ e: Enrollment) async throws -> String {
                GraphMapping.complianceState(try await admin.deviceCompliance(e, policies: policies))
            }
            switch (m, p.count) {
            case ("GET", 2) where r.query["$filter"] == nil:
                return try await keysetPage(r, key: \Enrollment.id, read: { try await admin.store.enrollments(after: $0, limit: $1, activeOnly: false) },
                                            map: { GraphMapping.managedDevice($0, userID: try await uid($0.upn), compliance: try await compliance($0)) })
            case ("GET", 2):
                var items: [JSONObject] = []
                for e in try await admin.enrollments(upn: nil) {
                    items.append(GraphMapping.managedDevice(e, userID: try await uid(e.upn), compliance: try await compliance(e)))
                }
                return try page(r, items)
            case ("GET", 3):
                let e = try await enrollment(p[2], admin)
                return .json(GraphMapping.managedDevice(e, userID: try await uid(e.upn), compliance: try await compliance(e)))
            case ("DELETE", 3): _ = try await admin.deleteDevice(try await enrollment(p[2], admin).id); return .noContent
            case ("POST", 4) where p[3] == "retire": _ = try await admin.retireDevice(try await enrollment(p[2], admin).id); return .noContent
            case ("POST", 4) where ["syncDevice", "rebootNow", "setDeviceName"].contains(p[3]):
                let e = try await enrollment(p[2], admin)
                let command: BuiltInCommand
                switch p[3] {
                case "syncDevice": command = .inventory
                case "rebootNow": command = .reboot
                default:
                    guard let name = try JSONBody.object(r.body).string("deviceName") else { throw GraphError.badRequest("deviceName is required.") }
                    command = .rename(name)
                }
                _ = try await admin.queueCommand(e.id, command, providerID: providerID)
                return .noContent
            case ("GET", 4) where p[3] == "commands":
                let enc = JSONEncoder()
                enc.dateEncodingStrategy = .iso8601
                let items = try await admin.deviceCommands(try await enrollment(p[2], admin).id, limit: 200)
                    .map { try JSONSerialization.jsonObject(with: enc.encode($0)) as! JSONObject }
                return try page(r, items)
            case ("POST", 4) where p[3] == "commands":
                let b = try JSONBody.object(r.body)
                guard let verb = try b.string("verb"), let target = try b.string("target") else {
                    throw GraphError.badRequest("Give verb (Get, Replace, Add, Delete, Exec) and target (./Node/Path), and format and data for writes.")
                }
                let c = try await admin.queueCommand(try await enrollment(p[2], admin).id,
                                                     .raw(verb: verb, target: target, format: try b.string("format"), data: try b.string("data")),
                                                     providerID: providerID)
                let enc = JSONEncoder()
                enc.dateEncodingStrategy = .iso8601
                return .json(try JSONSerialization.jsonObject(with: enc.encode(c)), status: 201)
            default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on managedDevices.")
            }
        case "troubleshootingEvents" where m == "GET":
            let users = try await admin.users()
            let attempts = try await admin.attempts(AttemptQuery(limit: 5000, failedOnly: true))
            return try page(r, attempts.map { a in GraphMapping.troubleshootingEvent(a, userID: users.first { $0.upn == a.facts.upn }?.id) })
        case "windowsAutopilotDeploymentProfiles" where r.version == "beta":
            switch (m, p.count) {
            case ("GET", 2): return try page(r, try await admin.autopilotProfiles().map(GraphMapping.autopilotProfile))
            case ("POST", 2):
                let b = try JSONBody.object(r.body)
                let join: AutopilotJoinType
                switch try b.string("@odata.type") {
                case "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile": join = .entra
                case "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile": join = .hybrid
                default: throw GraphError.badRequest("@odata.type must be #microsoft.graph.azureADWindowsAutopilotDeploymentProfile or #microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile.")
                }
                guard let name = try b.string("displayName") else { throw GraphError.badRequest("displayName is required.") }
                let template = try b.string("deviceNameTemplate").flatMap { $0.isEmpty ? nil : $0 }
                return .json(GraphMapping.autopilotProfile(try await admin.createAutopilotProfile(name: name, joinType: join, template: template, groups: [])), status: 201)
            default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on Autopilot profiles.")
            }
        case "windowsAutopilotDeviceIdentities":
            return try await autopilotIdentities(r, admin)
        case "importedWindowsAutopilotDeviceIdentities" where m == "POST" && p.count == 3 && p[2] == "import":
            // The same checks and row errors as the CSV: the items become the file's rows.
            guard let items = try JSONBody.object(r.body)["importedWindowsAutopilotDeviceIdentities"] as? [JSONObject], !items.isEmpty else {
                throw GraphError.badRequest("Give importedWindowsAutopilotDeviceIdentities: an array of devices.")
            }
            var lines = [AutopilotCSV.header.joined(separator: ",")]
            for i in items {
                let f = [try i.string("serialNumber") ?? "", try i.string("productKey") ?? "", try i.string("hardwareIdentifier") ?? "",
                         try i.string("groupTag") ?? "", try i.string("assignedUserPrincipalName") ?? ""]
                if f.contains(where: { $0.contains(",") || $0.contains("\"") || $0.contains("\n") }) {
                    throw GraphError.badRequest("Values cannot contain commas, quotation marks or line breaks.")
                }
                lines.append(f.joined(separator: ","))
            }
            let rows: [AutopilotImportRow]
            do { rows = try await admin.importAutopilotDevices(csv: Array(lines.joined(separator: "\n").utf8)) } catch let e as AdminError {
                throw GraphError.badRequest(e.message)
            }
            let importID = UUID().uuidString.lowercased()
            return .json(["value": zip(items, rows).map { item, row -> JSONObject in
                ["@odata.type": "#microsoft.graph.importedWindowsAutopilotDeviceIdentity", "id": row.deviceID ?? UUID().uuidString.lowercased(),
                 "importId": importID, "serialNumber": row.serialNumber, "groupTag": item["groupTag"] as? String ?? "",
                 "productKey": item["productKey"] as? String ?? "", "assignedUserPrincipalName": item["assignedUserPrincipalName"] as? String ?? "",
                 "state": ["@odata.type": "microsoft.graph.importedWindowsAutopilotDeviceIdentityState",
                           "deviceImportStatus": row.status == .complete ? "complete" : "error", "deviceRegistrationId": row.deviceID ?? "",
                           "deviceErrorCode": row.errorCode, "deviceErrorName": row.errorName ?? ""] as JSONObject]
            }], status: 200)
        case "importedDeviceIdentities":
            switch (m, p.count) {
            case ("GET", 2):
                return try page(r, try await admin.deviceIdentifiers().map { d in
                    ["@odata.type": "#microsoft.graph.importedDeviceIdentity", "id": d.key, "importedDeviceIdentifier": d.identifier,
                     "importedDeviceIdentityType": "manufacturerModelSerial", "description": d.description,
                     "enrollmentState": d.enrollmentID == nil ? "notContacted" : "enrolled",
                     "createdDateTime": GraphDate.string(d.importedAt), "lastContactedDateTime": GraphDate.string(d.lastContactedAt ?? .distantPast)]
                })
            case ("POST", 3) where p[2] == "importDeviceIdentityList":
                let b = try JSONBody.object(r.body)
                guard let items = b["importedDeviceIdentities"] as? [JSONObject] else { throw GraphError.badRequest("Give importedDeviceIdentities.") }
                var lines: [String] = []
                for i in items {
                    guard try i.string("importedDeviceIdentityType") ?? "manufacturerModelSerial" == "manufacturerModelSerial" else {
                        throw GraphError.badRequest("Windows devices are identified by manufacturerModelSerial.")
                    }
                    let v = try i.string("importedDeviceIdentifier") ?? ""
                    lines.append(v.split(separator: ",", omittingEmptySubsequences: false).count > 3 ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v)
                }
                do {
                    _ = try await admin.importDeviceIdentifiers(csv: Array(lines.joined(separator: "\n").utf8),
                                                                replacingAll: try b.bool("overwriteImportedDeviceIdentities") ?? false)
                } catch let e as AdminError { throw GraphError.badRequest(e.message) }
                return .json(["value": items.map { ["importedDeviceIdentifier": $0["importedDeviceIdentifier"] ?? "", "status": true] as JSONObject }])
            default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on importedDeviceIdentities.")
            }
        default: throw GraphError.notFound("/deviceManagement/\(p[1...].joined(separator: "/"))")
        }
    }

    func autopilotIdentities(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        func device(_ id: String) async throws -> AutopilotDevice {
            do { return try await admin.autopilotDevice(id) } catch { throw GraphError.notFound("Autopilot device \(id)") }
        }
        func json(_ d: AutopilotDevice) async throws -> JSONObject {
            let res = try await admin.autopilotResolution(d)
            return ["@odata.type": "#microsoft.graph.windowsAutopilotDeviceIdentity", "id": d.id, "serialNumber": d.serialNumber,
                    "groupTag": d.groupTag, "productKey": d.productKey, "purchaseOrderIdentifier": "", "manufacturer": d.manufacturer ?? "",
                    "model": d.model ?? "", "userPrincipalName": d.assignedUser ?? "", "addressableUserName": "", "displayName": "",
                    "enrollmentState": d.enrollmentState.rawValue, "managedDeviceId": d.enrollmentID ?? "",
                    "lastContactedDateTime": GraphDate.string(d.lastContactedAt ?? .distantPast),
                    "deploymentProfileAssignmentStatus": res.winner == nil ? "notAssigned" : "assignedInSync",
                    "deploymentProfileAssignmentDetailedStatus": "none",
                    // winmdm's lint (V03): every profile that targets the device when more than one does.
                    "winmdmConflictingProfileIds": res.isConflict ? res.targeting.map(\.id) : [String](),
                    "intendedDeploymentProfileId": res.winner?.id ?? ""]
        }
        do {
            switch (m, p.count) {
            case ("GET", 2):
                var out: [JSONObject] = []
                for d in try await admin.autopilotDevices() { out.append(try await json(d)) }
                return try page(r, out)
            case ("GET", 3): return .json(try await json(try await device(p[2])))
            case ("DELETE", 3):
                try await admin.deleteAutopilotDevice(try await device(p[2]).id)
                return .json([:], status: 204)
            case ("POST", 4):
                let d = try await device(p[2]), b = try JSONBody.object(r.body)
                switch p[3] {
                case "assignUserToDevice":
                    guard let upn = try b.string("userPrincipalName") else { throw GraphError.badRequest("userPrincipalName is required.") }
                    _ = try await admin.updateAutopilotDevice(d.id, assignedUser: .some(upn), override: try b.bool("winmdmOverride") ?? false)
                case "unassignUserFromDevice": _ = try await admin.updateAutopilotDevice(d.id, assignedUser: .some(nil))
                case "updateDeviceProperties":
                    let user: String?? = try b.string("userPrincipalName").map { u in u.isEmpty ? .some(nil) : .some(u) } ?? nil
                    _ = try await admin.updateAutopilotDevice(d.id, groupTag: try b.string("groupTag"), assignedUser: user,
                                                              override: try b.bool("winmdmOverride") ?? false)
                default: throw GraphError.notFound("Action \(p[3])")
                }
                return .json([:], status: 204)
            default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on windowsAutopilotDeviceIdentities.")
            }
        } catch let e as AdminError { throw GraphError.badRequest(e.message) }
    }

    func enrollment(_ id: String, _ admin: AdminService) async throws -> Enrollment {
        do { return try await admin.enrollment(id) } catch { throw GraphError.notFound("Managed device \(id)") }
    }

    func configurations(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        var all: [Restriction] = []
        for t in RestrictionType.allCases { all += try await admin.restrictions(t) }
        func find(_ id: String) throws -> Restriction {
            guard let c = all.first(where: { $0.id == id }) else { throw GraphError.notFound("Enrollment configuration \(id)") }
            return c
        }
        switch (m, p.count) {
        case ("GET", 2): return try page(r, all.map(GraphMapping.restriction))
        case ("POST", 2):
            let b = try JSONBody.object(r.body)
            guard let name = try b.string("displayName") else { throw GraphError.badRequest("displayName is required.") }
            switch try b.string("@odata.type") {
            case "#microsoft.graph.deviceEnrollmentLimitConfiguration":
                guard let limit = try b.int("limit") else { throw GraphError.badRequest("limit is required (1 to 15).") }
                let made = try await admin.createRestriction(.deviceLimit, name: name, description: try b.string("description") ?? "", limit: limit)
                return .json(GraphMapping.restriction(made), status: 201)
            case "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration":
                let made = try await admin.createRestriction(.platform, name: name, description: try b.string("description") ?? "",
                                                             platform: try platformChange(b))
                return .json(GraphMapping.restriction(made), status: 201)
            case "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration":
                let made = try await admin.createStatusPage(name: name, description: try b.string("description") ?? "",
                                                            change: try statusPageChange(b))
                return .json(GraphMapping.restriction(made), status: 201)
            case let t:
                throw GraphError.badRequest("Unknown @odata.type '\(t ?? "")'; accepted: #microsoft.graph.deviceEnrollmentLimitConfiguration, #microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration, #microsoft.graph.windows10EnrollmentCompletionPageConfiguration.")
            }
        case ("GET", 3): return .json(GraphMapping.restriction(try find(p[2])))
        case ("PATCH", 3):
            let c = try find(p[2]), b = try JSONBody.object(r.body)
            if let t = try b.string("@odata.type"), t != GraphMapping.restriction(c)["@odata.type"] as? String {
                throw GraphError.badRequest("@odata.type '\(t)' does not match this configuration.")
            }
            if c.type == .enrollmentStatusPage {
                _ = try await admin.editStatusPage(c.id, name: c.isDefault ? nil : try b.string("displayName"),
                                                   description: try b.string("description"), change: try statusPageChange(b))
                return .noContent
            }
            _ = try await admin.editRestriction(c.type, c.id, name: c.isDefault ? nil : try b.string("displayName"),
                                                description: try b.string("description"), limit: try b.int("limit"),
                                                platform: try platformChange(b))
            return .noContent
        case ("DELETE", 3): let c = try find(p[2]); try await admin.deleteRestriction(c.type, c.id); return .noContent
        case ("GET", 4) where p[3] == "assignments": return try page(r, GraphMapping.assignments(try find(p[2])))
        case ("POST", 4) where p[3] == "assign":
            let c = try find(p[2]), b = try JSONBody.object(r.body)
            guard let list = b["enrollmentConfigurationAssignments"] as? [JSONObject] else {
                throw GraphError.badRequest("Give enrollmentConfigurationAssignments: [{target: {@odata.type: #microsoft.graph.groupAssignmentTarget, groupId}}].")
            }
            var groups: [String] = []
            for a in list {
                guard let t = try a.object("target"), try t.string("@odata.type") == "#microsoft.graph.groupAssignmentTarget",
                      let g = try t.string("groupId") else {
                    throw GraphError.badRequest("Each assignment needs a target of @odata.type #microsoft.graph.groupAssignmentTarget with a groupId.")
                }
                groups.append(try await group(g, admin).id)
            }
            // assign replaces the assignments.
            let remove = c.assignedGroups.filter { !groups.contains($0) }
            if !remove.isEmpty { _ = try await admin.assignRestriction(c.type, c.id, groups: remove, remove: true) }
            if !groups.isEmpty { _ = try await admin.assignRestriction(c.type, c.id, groups: groups) }
            return .noContent
        case ("POST", 4) where p[3] == "setPriority":
            let c = try find(p[2])
            guard let n = try JSONBody.object(r.body).int("priority") else { throw GraphError.badRequest("priority is required.") }
            _ = try await admin.setPriority(c.type, c.id, priority: n)
            return .noContent
        default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on enrollment configurations.")
        }
    }

    func statusPageChange(_ b: JSONObject) throws -> StatusPageChange {
        if let apps = b["selectedMobileAppIds"] as? [Any], !apps.isEmpty {
            throw GraphError.badRequest("winmdm has no apps; the page waits for configuration profiles: give blockingDeviceConfigurationIds.")
        }
        var c = StatusPageChange(showInstallationProgress: try b.bool("showInstallationProgress"),
                                 blockDeviceUseUntilComplete: try b.bool("allowDeviceUseBeforeProfileAndAppInstallComplete").map { !$0 },
                                 allowDeviceResetOnInstallFailure: try b.bool("allowDeviceResetOnInstallFailure"),
                                 blockDeviceSetupRetryByUser: try b.bool("blockDeviceSetupRetryByUser"),
                                 allowDeviceUseOnInstallFailure: try b.bool("allowDeviceUseOnInstallFailure"),
                                 allowLogCollectionOnInstallFailure: try b.bool("allowLogCollectionOnInstallFailure"),
                                 customErrorMessage: try b.string("customErrorMessage"),
                                 installProgressTimeoutInMinutes: try b.int("installProgressTimeoutInMinutes"),
                                 disableUserStatusTrackingAfterFirstUser: try b.bool("disableUserStatusTrackingAfterFirstUser"))
        if b.keys.contains("blockingDeviceConfigurationIds") {
            if b["blockingDeviceConfigurationIds"] is NSNull { c.blockOnAllProfiles = true }
            else if let ids = b["blockingDeviceConfigurationIds"] as? [String] { c.blockingProfiles = ids }
            else { throw GraphError.badRequest("blockingDeviceConfigurationIds is a list of deviceConfiguration ids, or null for all assigned profiles.") }
        }
        return c
    }

    func platformChange(_ b: JSONObject) throws -> PlatformChange {
        let w = try b.object("windowsRestriction"), home = try b.object("windowsHomeSkuRestriction")
        return PlatformChange(platformBlocked: try w?.bool("platformBlocked"), personalDeviceEnrollmentBlocked: try w?.bool("personalDeviceEnrollmentBlocked"),
                              osMinimumVersion: try w?.string("osMinimumVersion"), osMaximumVersion: try w?.string("osMaximumVersion"),
                              homeAllowed: try home?.bool("platformBlocked").map { !$0 })
    }

    // MARK: /beta/winmdm

    func winmdm(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        let troubleshoot = TroubleshootService(store: store, admin: admin, publicURL: publicURL)
        switch (m, p.count, p.count > 1 ? p[1] : "") {
        case ("POST", 2, "explain"):
            let text: String
            if let o = try? JSONSerialization.jsonObject(with: Data(r.body)) as? JSONObject, let t = o["text"] as? String { text = t }
            else { text = String(decoding: r.body, as: UTF8.self) }
            let e = Explainer().explain(text)
            let named = e.named.map { c -> JSONObject in
                ["code": c.code, "name": c.name ?? NSNull(), "meaning": c.meaning, "family": c.family]
            }
            return .json(["codes": e.codes, "named": named, "events": e.events, "unrecognized": e.unrecognized,
                          "contexts": e.contexts.map { ["id": $0.id, "title": $0.title, "signals": $0.signals] as JSONObject },
                          "question": e.question ?? NSNull(),
                          "causes": e.causes.map { c -> JSONObject in
                              var o: JSONObject = ["id": c.id, "title": c.title, "confirm": c.confirm, "fix": c.fix, "code": c.code, "intune": c.intune,
                                                   "confidence": c.confidence, "certainty": c.certainty, "clues": c.clues]
                              o["scenario"] = c.scenario ?? NSNull()
                              o["rule"] = c.rule ?? NSNull()
                              o["ask"] = c.ask ?? NSNull()
                              o["doctor"] = c.doctor ?? NSNull()
                              return o
                          }])
        case ("GET", 2, "attempts"):
            let q = AttemptQuery(limit: 1000, failedOnly: r.query["failed"] == "true", upn: r.query["user"])
            let enc = JSONEncoder()
            enc.dateEncodingStrategy = .iso8601
            let items = try await admin.attempts(q).map { try JSONSerialization.jsonObject(with: enc.encode($0)) as! JSONObject }
            return try page(r, items)
        case ("GET", 3, "attempts"):
            let a = try await admin.attempt(id: p[2])
            let enc = JSONEncoder()
            enc.dateEncodingStrategy = .iso8601
            var o = try JSONSerialization.jsonObject(with: enc.encode(a)) as! JSONObject
            o["explanation"] = try JSONSerialization.jsonObject(with: enc.encode(try await troubleshoot.diagnose(a).recorded))
            return .json(o)
        case ("POST", 2, "doctor"):
            let b = try JSONBody.object(r.body)
            guard let upn = try b.string("userPrincipalName") else { throw GraphError.badRequest("userPrincipalName is required.") }
            let kind = try b.string("enrollmentType").map { v -> EnrollmentKind in
                guard let k = EnrollmentKind(rawValue: v) else { throw GraphError.badRequest("enrollmentType must be user, device or bulk.") }
                return k
            } ?? .user
            let d = try await troubleshoot.doctor(upn: upn, hwDevID: try b.string("hwDevId"), osEdition: try b.int("osEdition"),
                                                  osVersion: try b.string("osVersion"), kind: kind)
            let enc = JSONEncoder()
            return .json(try JSONSerialization.jsonObject(with: enc.encode(d)))
        case ("GET", 3, "report") where p[2] == "failures":
            let since = TimeSpan.parse(r.query["since"] ?? "24h")
            guard let since else { throw GraphError.badRequest("since must be a duration like 90m, 24h or 7d.") }
            let enc = JSONEncoder()
            enc.dateEncodingStrategy = .iso8601
            return .json(try JSONSerialization.jsonObject(with: enc.encode(try await FailureReport.build(store: store, since: Date() - since))))
        default: throw GraphError.notFound("/beta/\(p.joined(separator: "/"))")
        }
    }
}
