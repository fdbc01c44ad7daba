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
            let sort = WindowsDevicesPage.Sort(rawValue: req.uri.queryParameters.get("sort") ?? "") ?? .enrolled
            let settings = try await c.admin.settings(), now = c.clock.now()
            let shown: [Enrollment]
            var next: String?, summary: String?
            if q.isEmpty && sort == .enrolled {
                // One page of active devices, oldest enrollment first, keyed by the last one shown.
                let rows = try await c.admin.enrollments(after: req.uri.queryParameters.get("after"), limit: ConsolePages.pageSize + 1, activeOnly: true)
                shown = Array(rows.prefix(ConsolePages.pageSize))
                if rows.count > shown.count, let last = shown.last { next = "/console/devices/windows?after=" + ConsolePages.esc(last.id) }
            } else {
                // A search or another order reads the active devices once and shows the first matches.
                (shown, summary) = WindowsDevicesPage.matching(try await c.admin.allEnrollments(), query: q, sort: sort, shown: ConsolePages.pageSize)
            }
            var compliance: [String: [DeviceCompliance]] = [:]
            if !settings.compliancePolicies.isEmpty {
                for e in shown { compliance[e.id] = try await c.admin.deviceCompliance(e, policies: settings.compliancePolicies, now: now) }
            }
            let page = WindowsDevicesPage(devices: shown, compliance: compliance, schedule: settings.checkInSchedule, now: now, query: q,
                                          sort: sort, next: next, summary: summary)
            return kit.page(who, page, title: "Windows devices", section: "windows", req: req)
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
            var profiles: [ConfigurationPage.Profile] = []
            for p in try await c.admin.configurationProfiles() {
                // Counts from the states alone; a device is read only for the failures shown (at most 20).
                let (_, rows) = try await c.admin.profileStates(p.id)
                var failures: [(device: String, uri: String, status: String?)] = []
                for st in rows where failures.count < 20 {
                    for f in st.settings where f.state == .failed && failures.count < 20 {
                        let name = try await c.admin.enrollment(id: st.enrollmentID)?.deviceName
                        failures.append((device: name ?? st.enrollmentID, uri: f.locURI, status: f.status))
                    }
                }
                profiles.append(.init(profile: p, assigned: p.assignments.isEmpty ? "not assigned" : p.assignments.map { ConsolePages.assignment($0, groups) }.joined(separator: ", "),
                                      states: rows, failures: failures))
            }
            let page = ConfigurationPage(profiles: profiles, conflicts: try await c.admin.profileConflicts(),
                                         schedule: try await c.admin.settings().checkInSchedule)
            return kit.page(who, page, title: "Configuration profiles", section: "configuration", req: req)
        }
        view("/console/devices/windows/compliance") { req, _, who in
            let groups = try await c.admin.groups()
            let page = CompliancePage(policies: try await c.admin.compliancePolicies().map {
                (policy: $0, assigned: $0.assignments.isEmpty ? "not assigned" : $0.assignments.map { ConsolePages.assignment($0, groups) }.joined(separator: ", "))
            })
            return kit.page(who, page, title: "Compliance policies", section: "compliance", req: req)
        }
        view("/console/devices/windows/esp") { req, _, who in
            var pages: [StatusPagesPage.Page] = []
            for r in try await c.admin.restrictions(.enrollmentStatusPage) {
                pages.append(.init(restriction: r, groups: try await c.admin.groupNames(r.assignedGroups).joined(separator: ", "),
                                   blocking: try await c.admin.blockingProfileNames(r.statusPage ?? .intuneDefault)))
            }
            var failures: [StatusPagesPage.Failure] = []
            for a in try await c.admin.attempts(AttemptQuery(limit: 200, failedOnly: true)) where failures.count < 20 {
                guard let d = a.denials.first, d.rule == .statusPageTimeout || d.rule == .statusPageProfileFailed else { continue }
                failures.append(.init(attempt: a, reason: d.reason, fix: try await c.troubleshooting.recordedFixes(a).first?.command ?? ""))
            }
            return kit.page(who, StatusPagesPage(pages: pages, failures: failures), title: "Enrollment Status Page", section: "esp", req: req)
        }
        /// The Autopilot lint as console warnings: what is wrong, the code Windows setup shows, and the fix.
        @Sendable func warning(_ f: AdminService.AutopilotFinding) -> String { "\(f.code): \(f.message) Fix: \(f.fix)" }
        @Sendable func autopilotPage(_ req: Request, _ who: ConsoleUser, form: AutopilotProfilesPage.Form = .init()) async throws -> Response {
            let findings = try await c.admin.autopilotLint()
            var wins: [String: Int] = [:]
            for d in try await c.admin.autopilotDevices() { if let w = try await c.admin.autopilotResolution(d).winner { wins[w.id, default: 0] += 1 } }
            var rows: [AutopilotProfilesPage.Row] = []
            for p in try await c.admin.autopilotProfiles() {
                rows.append(.init(profile: p, groups: try await c.admin.groupNames(p.assignedGroups).joined(separator: ", "), devices: wins[p.id] ?? 0,
                                  warnings: findings.filter { $0.profiles.contains { $0.id == p.id } }.map { "\($0.device.serialNumber): " + warning($0) }))
            }
            return kit.page(who, AutopilotProfilesPage(rows: rows, form: form), title: "Autopilot deployment profiles", section: "autopilot", req: req)
        }
        @Sendable func autopilotDevicesPage(_ req: Request, _ who: ConsoleUser, upload: AutopilotDevicesPage.Upload? = nil) async throws -> Response {
            let findings = try await c.admin.autopilotLint()
            var rows: [AutopilotDevicesPage.Row] = []
            for d in try await c.admin.autopilotDevices() {
                rows.append(.init(device: d, profile: try await c.admin.autopilotResolution(d).winner?.displayName ?? "none",
                                  warnings: findings.filter { $0.device.id == d.id }.map(warning)))
            }
            return kit.page(who, AutopilotDevicesPage(rows: rows, upload: upload), title: "Autopilot devices", section: "autopilotDevices", req: req)
        }
        view("/console/devices/windows/autopilot/devices") { req, _, who in try await autopilotDevicesPage(req, who) }
        // 500 devices with their hardware hashes (about 4 KB each) fit in 4 MiB.
        action("/console/devices/windows/autopilot/devices", maxBytes: 4 << 20) { req, form, who in
            let file = ConsoleKit.value(form, "csv") ?? ""
            let upload: AutopilotDevicesPage.Upload
            if file.isEmpty {
                upload = .refused("choose the CSV file to import.")
            } else {
                do {
                    upload = .imported(try await c.admin.acting(as: "console:\(who.user.upn)").importAutopilotDevices(csv: Multipart.bytes(file)))
                } catch let e as AdminError {
                    // The whole file was refused (header, quoting, size): nothing was imported.
                    upload = .refused(e.consoleMessage.replacingOccurrences(of: "The file was not imported. ", with: ""))
                }
            }
            return try await autopilotDevicesPage(req, who, upload: upload)
        }
        view("/console/devices/windows/autopilot") { req, _, who in try await autopilotPage(req, who) }
        action("/console/devices/windows/autopilot") { req, form, who in
            let template = ConsoleKit.value(form, "template") ?? "", serial = ConsoleKit.value(form, "serial") ?? "PF3X9K2L7Q8R"
            var preview = AutopilotProfilesPage.Form(name: ConsoleKit.value(form, "name") ?? "", template: template, serial: serial)
            do throws(TemplateProblems) {
                preview.preview = try DeviceNameTemplate(template).expand(serial: serial)
            } catch {
                preview.problems = error.problems
            }
            if ConsoleKit.value(form, "action") == "create", preview.problems.isEmpty {
                let join = AutopilotJoinType(rawValue: ConsoleKit.value(form, "join") ?? "entra") ?? .entra
                _ = try await c.admin.acting(as: "console:\(who.user.upn)").createAutopilotProfile(
                    name: preview.name, joinType: join, template: template.isEmpty ? nil : template, groups: [])
                return ConsolePages.redirect("/console/devices/windows/autopilot?msg=" + ConsolePages.esc("Profile created."))
            }
            return try await autopilotPage(req, who, form: preview)
        }
    }
}
