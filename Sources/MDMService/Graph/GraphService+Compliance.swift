import Foundation
import MDMCore

/// `/deviceManagement/deviceCompliancePolicies`: compliance policies as `windows10CompliancePolicy`, with `assign`,
/// `assignments` and `deviceStatuses` (Graph's `complianceStatus`).
extension GraphService {
    static let compliancePolicyType = "#microsoft.graph.windows10CompliancePolicy"

    static func compliancePolicy(_ p: CompliancePolicy) -> JSONObject {
        ["@odata.type": compliancePolicyType, "id": p.id, "displayName": p.name, "description": p.description, "version": 1,
         "createdDateTime": GraphDate.string(p.createdAt), "lastModifiedDateTime": GraphDate.string(p.updatedAt),
         "osMinimumVersion": p.osMinimumVersion ?? NSNull(), "osMaximumVersion": p.osMaximumVersion ?? NSNull(),
         "storageRequireEncryption": p.storageRequireEncryption, "activeFirewallRequired": p.activeFirewallRequired,
         "antivirusRequired": p.antivirusRequired, "tpmRequired": p.tpmRequired,
         "scheduledActionsForRule": [["ruleName": "PasswordRequired", "scheduledActionConfigurations": [
             ["actionType": "block", "gracePeriodHours": p.graceHours, "notificationTemplateId": "", "notificationMessageCCList": [String]()]]]]]
    }

    func deviceCompliancePolicies(_ r: GraphRequest, _ admin: AdminService) async throws -> GraphResponse {
        let p = r.path, m = r.method
        func find(_ id: String) async throws -> CompliancePolicy {
            guard let c = try await admin.compliancePolicies().first(where: { $0.id == id }) else { throw GraphError.notFound("Compliance policy \(id)") }
            return c
        }
        switch (m, p.count) {
        case ("GET", 2): return try page(r, try await admin.compliancePolicies().map(Self.compliancePolicy))
        case ("POST", 2):
            let b = try JSONBody.object(r.body)
            guard try b.string("@odata.type") == Self.compliancePolicyType else {
                throw GraphError.badRequest("winmdm creates \(Self.compliancePolicyType) policies; give that @odata.type.")
            }
            guard let name = try b.string("displayName") else { throw GraphError.badRequest("displayName is required.") }
            var grace = 0
            if let actions = b["scheduledActionsForRule"] as? [JSONObject],
               let configs = actions.first?["scheduledActionConfigurations"] as? [JSONObject],
               let block = configs.first(where: { ($0["actionType"] as? String) == "block" }) {
                guard let h = block["gracePeriodHours"] as? Int else { throw GraphError.badRequest("gracePeriodHours must be a whole number.") }
                grace = h
            }
            let c = try await admin.createCompliancePolicy(CompliancePolicy(
                name: name, description: try b.string("description") ?? "", osMinimumVersion: try b.string("osMinimumVersion"),
                osMaximumVersion: try b.string("osMaximumVersion"), storageRequireEncryption: try b.bool("storageRequireEncryption") ?? false,
                activeFirewallRequired: try b.bool("activeFirewallRequired") ?? false, antivirusRequired: try b.bool("antivirusRequired") ?? false,
                tpmRequired: try b.bool("tpmRequired") ?? false, graceHours: grace, createdAt: Date()))
            return .json(Self.compliancePolicy(c), status: 201)
        case ("GET", 3): return .json(Self.compliancePolicy(try await find(p[2])))
        case ("DELETE", 3): _ = try await admin.deleteCompliancePolicy(try await find(p[2]).id); return .noContent
        case ("POST", 4) where p[3] == "assign":
            let c = try await find(p[2])
            let b = try JSONBody.object(r.body)
            guard let list = b["assignments"] as? [JSONObject] else { throw GraphError.badRequest("assignments must be an array.") }
            let wanted = try list.map(Self.assignment(from:))
            for a in c.assignments where !wanted.contains(a) { _ = try await admin.unassignCompliancePolicy(c.id, target: a.target) }
            for a in wanted { _ = try await admin.assignCompliancePolicy(c.id, to: a.target, exclude: a.exclude) }
            let now = try await find(c.id)
            return .json(["value": now.assignments.map { Self.assignment(ownerID: now.id, $0) }])
        case ("GET", 4) where p[3] == "assignments":
            let c = try await find(p[2])
            return try page(r, c.assignments.map { Self.assignment(ownerID: c.id, $0) })
        case ("GET", 4) where p[3] == "deviceStatuses":
            let c = try await find(p[2])
            var items: [JSONObject] = []
            for e in try await admin.enrollments(upn: nil) where e.state == .active {
                guard let s = try await admin.deviceCompliance(e, policies: [c]).first else { continue }
                let status = switch s.state {
                case .compliant: "compliant"
                case .nonCompliant, .inGracePeriod: "nonCompliant"
                case .unknown: "unknown"
                }
                items.append(["id": "\(c.id)_\(e.id)", "deviceDisplayName": e.deviceName ?? e.deviceID, "userName": e.upn, "userPrincipalName": e.upn,
                              "deviceModel": e.inventory?["./DevInfo/Mod"] ?? "", "status": status,
                              "lastReportedDateTime": GraphDate.string(e.lastSeenAt ?? e.enrolledAt),
                              "complianceGracePeriodExpirationDateTime": GraphDate.string(s.graceEndsAt ?? Date.distantFuture)])
            }
            return try page(r, items)
        default: throw GraphError(405, "Request_BadRequest", "\(m) is not supported on deviceCompliancePolicies.")
        }
    }
}
