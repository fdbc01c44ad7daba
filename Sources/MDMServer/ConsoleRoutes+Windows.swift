import Foundation
import HTTPTypes
import Hummingbird
import MDMConsole
import MDMCore
import MDMService
import MDMStorage

// Devices › Windows: devices, configuration profiles, the Enrollment Status Page, compliance and Autopilot.
extension ConsoleRouting {
    func addWindows() {
        let kit = self.kit, c = self.c
        view("/console/devices/windows") { req, _, who in
            let q = (req.uri.queryParameters.get("q").map { $0.removingPercentEncoding ?? $0 } ?? "").trimmingCharacters(in: .whitespaces)
            let sort = req.uri.queryParameters.get("sort") ?? "enrolled"
            let settings = try await c.admin.settings(), schedule = settings.checkInSchedule, now = Date()
            var shown: [Enrollment]
            var model: [String: Any] = [:]
            if q.isEmpty && sort == "enrolled" {
                // One page of active devices, oldest enrollment first, keyed by the last one shown.
                let rows = try await c.admin.enrollments(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1, activeOnly: true)
                shown = Array(rows.prefix(ConsolePages.pageSize))
                if rows.count > shown.count, let last = shown.last { model["next"] = "/console/devices/windows?after=" + ConsolePages.esc(last.id) }
            } else {
                // A search or another order reads the active devices once and shows the first matches.
                let needle = q.lowercased()
                var all = try await c.admin.allEnrollments().filter { $0.state == .active }
                if !needle.isEmpty {
                    all = all.filter { e in
                        [e.deviceName ?? "", e.upn, e.deviceID, e.id, e.osVersion ?? ""].contains { $0.lowercased().contains(needle) }
                    }
                }
                switch sort {
                case "name": all.sort { ($0.deviceName ?? $0.deviceID).lowercased() < ($1.deviceName ?? $1.deviceID).lowercased() }
                case "user": all.sort { ($0.upn, $0.deviceName ?? "") < ($1.upn, $1.deviceName ?? "") }
                case "seen": all.sort { ($0.lastSeenAt ?? .distantPast) > ($1.lastSeenAt ?? .distantPast) }
                case "expires": all.sort { $0.certificateNotAfter < $1.certificateNotAfter }
                default: all.sort { $0.enrolledAt < $1.enrolledAt }
                }
                shown = Array(all.prefix(ConsolePages.pageSize))
                model["summary"] = "\(all.count) device\(all.count == 1 ? "" : "s")\(needle.isEmpty ? "" : " match") \(all.count > shown.count ? "; the first \(shown.count) are shown, search to narrow" : "")."
            }
            var compliance: [String: [DeviceCompliance]] = [:]
            if !settings.compliancePolicies.isEmpty {
                for e in shown { compliance[e.id] = try await c.admin.deviceCompliance(e, policies: settings.compliancePolicies, now: now) }
            }
            let devices = shown.map { e -> [String: Any] in
                let states = compliance[e.id] ?? []
                return ["id": e.id, "compliance": states.isEmpty ? "no policy" : DeviceCompliance.overall(states).rawValue,
                 "reasons": states.filter { $0.state != .compliant }.flatMap { p in p.reasons.map { "\(p.policyName): \($0)" } }, "name": e.deviceName ?? e.deviceID, "upn": e.upn, "primaryUser": e.primaryUser ?? "", "hasUser": e.primaryUser != nil,
                 "ownership": e.ownership.rawValue.capitalized,
                 "os": [e.osVersion, e.osEdition.map { WindowsEdition.name($0) }].compactMap { $0 }.joined(separator: " "), "state": e.state.rawValue, "expires": ConsoleTime.short(e.certificateNotAfter),
                 "renewed": e.certificateRenewedAt.map { "renewed " + ConsoleTime.short($0) } ?? "",
                 "seen": e.lastSeenAt.map { ConsoleTime.short($0) } ?? "never",
                 "nextCheckIn": ConsoleTime.short(schedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: now))]
            }
            model["devices"] = devices
            model["schedule"] = schedule.summary
            if !q.isEmpty { model["q"] = q }
            model["sorts"] = [("enrolled", "Enrolled (oldest first)"), ("name", "Device name"), ("user", "Primary user"), ("seen", "Last check-in"),
                              ("expires", "Certificate expiry")].map { ["value": $0.0, "label": $0.1, "selected": $0.0 == sort] }
            return kit.page(who, "windowsDevices", "Windows devices", "windows", model, req: req)
        }
        action("/console/devices/windows/:id", roles: [.admin, .helpdesk]) { req, form, who in
            let id = String(req.uri.path.split(separator: "/").last ?? "")
            let admin = c.admin.acting(as: "console:\(who.user.upn)")
            switch ConsoleKit.value(form, "action") {
            case "unassign": _ = try await admin.unassignUser(id)
            case "retire", "delete":
                // Only from the confirmation page, which said what will happen.
                let what = ConsoleKit.value(form, "action")!
                guard ConsoleKit.value(form, "confirmed") == "yes" else { return ConsolePages.redirect("/console/devices/windows/\(id)/confirm?action=\(what)") }
                let e = what == "retire" ? try await admin.retireDevice(id) : try await admin.deleteDevice(id)
                return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc("\(what == "retire" ? "Retired" : "Deleted") \(e.deviceName ?? e.deviceID) of \(e.upn)."))
            case "sync", "reboot":
                let restart = ConsoleKit.value(form, "action") == "reboot"
                let q = try await admin.queueCommand(id, restart ? .reboot : .inventory, providerID: c.providerID)
                let e = try await admin.enrollment(id)
                let next = try await admin.settings().checkInSchedule.nextCheckIn(enrolledAt: e.enrolledAt, lastSeen: e.lastSeenAt, now: Date())
                let what = restart ? "Restart queued" : "Sync queued: the device reports its inventory"
                let push = q.note.map { " " + $0 } ?? " (no push: sooner only if the device restarts, a user signs in, or someone presses Sync on it)."
                return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc(
                    "\(what) for its next check-in, expected by \(ConsoleTime.short(next)).\(push)"))
            default: throw AdminError("Choose Sync, Restart, Unassign user, Retire or Delete.")
            }
            return ConsolePages.redirect("/console/devices/windows?msg=" + ConsolePages.esc("Done."))
        }
        view("/console/devices/windows/configuration") { req, _, who in
            let groups = try await c.admin.groups()
            func target(_ a: ProfileAssignment) -> String { ConsolePages.assignment(a, groups) }
            var profiles: [[String: Any]] = []
            for p in try await c.admin.configurationProfiles() {
                // Counts from the states alone; a device is read only for the failures shown (at most 20).
                let (_, rows) = try await c.admin.profileStates(p.id)
                func count(_ s: DeviceProfileState.State) -> Int { rows.filter { $0.state == s }.count }
                var failures: [[String: Any]] = []
                for st in rows where failures.count < 20 {
                    for f in st.settings where f.state == .failed && failures.count < 20 {
                        let name = try await c.admin.enrollment(id: st.enrollmentID)?.deviceName
                        failures.append(["device": name ?? st.enrollmentID, "uri": f.locURI, "status": f.status ?? "-",
                                         "hresult": f.status.flatMap(OMAStatus.hresult).map { "(\($0))" } ?? "", "meaning": OMAStatus.meaning(f.status ?? "")])
                    }
                }
                profiles.append(["name": p.name, "description": p.description, "version": p.version,
                                 "settings": p.settings.map { ["uri": $0.locURI, "value": $0.value] },
                                 "assigned": p.assignments.isEmpty ? "not assigned" : p.assignments.map(target).joined(separator: ", "),
                                 "succeeded": count(.succeeded), "pending": count(.pending) + count(.removing), "failed": count(.failed),
                                 "conflict": count(.conflict), "notApplicable": count(.notApplicable), "failures": failures])
            }
            let conflicts = try await c.admin.profileConflicts().map {
                ["uri": $0.locURI, "winner": $0.winnerName, "winningValue": $0.winningValue, "loser": $0.loserName, "losingValue": $0.losingValue, "reason": $0.reason]
            }
            return kit.page(who, "configuration", "Configuration profiles", "configuration",
                        ["profiles": profiles, "conflicts": conflicts, "hasConflicts": !conflicts.isEmpty,
                         "schedule": try await c.admin.settings().checkInSchedule.summary], req: req)
        }
        view("/console/devices/windows/compliance") { req, _, who in
            let groups = try await c.admin.groups()
            func target(_ a: ProfileAssignment) -> String { ConsolePages.assignment(a, groups) }
            let policies = try await c.admin.compliancePolicies().map { p -> [String: Any] in
                ["name": p.name, "description": p.description, "rules": p.rulesSummary,
                 "assigned": p.assignments.isEmpty ? "not assigned" : p.assignments.map(target).joined(separator: ", "), "created": ConsoleTime.short(p.createdAt)]
            }
            return kit.page(who, "compliance", "Compliance policies", "compliance", ["policies": policies], req: req)
        }
        view("/console/devices/windows/esp") { req, _, who in
            var pages: [[String: Any]] = []
            for r in try await c.admin.restrictions(.enrollmentStatusPage) {
                let s = r.statusPage ?? .intuneDefault
                pages.append(["priority": r.isDefault ? "Default" : String(r.priority), "name": r.isDefault ? "All users and all devices" : r.displayName,
                              "groups": r.isDefault ? "everyone" : try await c.admin.groupNames(r.assignedGroups).joined(separator: ", "),
                              "shown": s.showInstallationProgress ? "yes" : "no", "blocking": try await c.admin.blockingProfileNames(s),
                              "timeout": s.installProgressTimeoutInMinutes, "buttons": s.failureButtons.joined(separator: ", "),
                              "message": s.customErrorMessage.isEmpty ? StatusPageSettings.windowsErrorText : s.customErrorMessage])
            }
            let t = c.troubleshooting
            var failures: [[String: Any]] = []
            for a in try await c.admin.attempts(AttemptQuery(limit: 200, failedOnly: true)) where failures.count < 20 {
                guard let d = a.denials.first, d.rule == .statusPageTimeout || d.rule == .statusPageProfileFailed else { continue }
                failures.append(["time": ConsoleTime.short(a.time), "upn": a.facts.upn ?? "", "device": a.facts.deviceName ?? a.enrollmentID ?? "",
                                 "code": a.code ?? "", "reason": d.reason, "fix": try await t.recordedFixes(a).first?.command ?? ""])
            }
            return kit.page(who, "statusPage", "Enrollment Status Page", "esp", ["pages": pages, "failures": failures], req: req)
        }
        /// The Autopilot lint as console warnings: what is wrong, the code Windows setup shows, and the fix.
        @Sendable func warning(_ f: AdminService.AutopilotFinding) -> String { "\(f.code): \(f.message) Fix: \(f.fix)" }
        @Sendable func autopilotPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
            let findings = try await c.admin.autopilotLint()
            var wins: [String: Int] = [:]
            for d in try await c.admin.autopilotDevices() { if let w = try await c.admin.autopilotResolution(d).winner { wins[w.id, default: 0] += 1 } }
            var profiles: [[String: Any]] = []
            for p in try await c.admin.autopilotProfiles() {
                profiles.append(["name": p.displayName, "join": p.joinType == .entra ? "Microsoft Entra joined" : "Hybrid joined",
                                 "template": p.deviceNameTemplate ?? "", "groups": try await c.admin.groupNames(p.assignedGroups).joined(separator: ", "),
                                 "devices": wins[p.id] ?? 0, "created": ConsoleTime.short(p.createdAt),
                                 "warnings": findings.filter { $0.profiles.contains { $0.id == p.id } }.map { "\($0.device.serialNumber): " + warning($0) }])
            }
            return kit.page(who, "autopilot", "Autopilot deployment profiles", "autopilot", extra.merging(["profiles": profiles]) { a, _ in a }, req: req)
        }
        @Sendable func autopilotDevicesPage(_ req: Request, _ who: ConsoleUser, extra: [String: Any] = [:]) async throws -> Response {
            let findings = try await c.admin.autopilotLint()
            var devices: [[String: Any]] = []
            for d in try await c.admin.autopilotDevices() {
                let r = try await c.admin.autopilotResolution(d)
                devices.append(["serial": d.serialNumber, "model": [d.manufacturer, d.model].compactMap { $0 }.joined(separator: " "),
                                "tag": d.groupTag, "user": d.assignedUser ?? "", "profile": r.winner?.displayName ?? "none",
                                "state": ["notContacted": "Not contacted", "enrolled": "Enrolled", "failed": "Failed"][d.enrollmentState.rawValue] ?? "",
                                "imported": ConsoleTime.short(d.importedAt), "warnings": findings.filter { $0.device.id == d.id }.map(warning)])
            }
            return kit.page(who, "autopilotDevices", "Autopilot devices", "autopilotDevices", extra.merging(["devices": devices]) { a, _ in a }, req: req)
        }
        view("/console/devices/windows/autopilot/devices") { req, _, who in try await autopilotDevicesPage(req, who) }
        // 500 devices with their hardware hashes (about 4 KB each) fit in 4 MiB.
        action("/console/devices/windows/autopilot/devices", maxBytes: 4 << 20) { req, form, who in
            var extra: [String: Any] = [:]
            let file = ConsoleKit.value(form, "csv") ?? ""
            if file.isEmpty {
                extra["uploadError"] = "choose the CSV file to import."
            } else {
                do {
                    let rows = try await c.admin.acting(as: "console:\(who.user.upn)").importAutopilotDevices(csv: Multipart.bytes(file))
                    extra["results"] = rows.map { r -> [String: Any] in
                        ["line": r.line, "serial": r.serialNumber, "status": r.status == .complete ? "Imported" : "Error",
                         "error": r.errorName.map { n in r.errorCode == 0 ? n : "\(r.errorCode) \(n)" } ?? "", "message": r.message ?? ""]
                    }
                    let ok = rows.filter { $0.status == .complete }.count
                    extra["summary"] = "\(ok) of \(rows.count) device\(rows.count == 1 ? "" : "s") imported."
                } catch let e as AdminError {
                    // The whole file was refused (header, quoting, size): nothing was imported.
                    extra["uploadError"] = e.consoleMessage.replacingOccurrences(of: "The file was not imported. ", with: "")
                }
            }
            return try await autopilotDevicesPage(req, who, extra: extra)
        }
        view("/console/devices/windows/autopilot") { req, _, who in try await autopilotPage(req, who, extra: ["serial": "PF3X9K2L7Q8R"]) }
        action("/console/devices/windows/autopilot") { req, form, who in
            let template = ConsoleKit.value(form, "template") ?? "", serial = ConsoleKit.value(form, "serial") ?? "PF3X9K2L7Q8R"
            var extra: [String: Any] = ["template": template, "serial": serial, "name": ConsoleKit.value(form, "name") ?? ""]
            do throws(TemplateProblems) {
                let t = try DeviceNameTemplate(template)
                extra["preview"] = t.expand(serial: serial)
            } catch {
                extra["problems"] = error.problems
                extra["hasProblems"] = true
            }
            if ConsoleKit.value(form, "action") == "create", extra["hasProblems"] == nil {
                let join = AutopilotJoinType(rawValue: ConsoleKit.value(form, "join") ?? "entra") ?? .entra
                _ = try await c.admin.acting(as: "console:\(who.user.upn)").createAutopilotProfile(
                    name: ConsoleKit.value(form, "name") ?? "", joinType: join, template: template.isEmpty ? nil : template, groups: [])
                return ConsolePages.redirect("/console/devices/windows/autopilot?msg=" + ConsolePages.esc("Profile created."))
            }
            return try await autopilotPage(req, who, extra: extra)
        }
    }
}
