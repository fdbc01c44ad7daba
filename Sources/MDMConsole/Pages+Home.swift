import Foundation
import MDMCore

/// Home: what the installation holds, what failed in the last day by cause, and what to do first on an empty one.
public struct HomePage: PageModel {
    public struct Step: Sendable, Equatable {
        public var title: String
        public var detail: String
        /// A link to show as code under the detail (the enrollment deep link).
        public var link: String?
    }

    public static let template = "home"
    public var users: Int
    public var devices: Int
    public var queuedCommands: Int
    /// Failed attempts in the last 24 hours, repeats counted.
    public var failures: Int
    public var autopilotDevices: Int
    public var profiles: Int
    public var discoveryURL: String
    public var steps: [Step]
    /// The causes, most to fix first (at most five shown).
    public var groups: [FailureGroup]

    /// The page from what the installation holds. `publicURL` is the server's; `domain` its first verified domain.
    public static func build(users: Int, devices: Int, queuedCommands: Int, failures: [EnrollmentAttempt], autopilotDevices: Int,
                             profiles: Int, publicURL: String, domain: String?) -> HomePage {
        let discovery = publicURL + "/EnrollmentServer/Discovery.svc"
        let domain = domain ?? "example.com"
        let host = URLComponents(string: publicURL)?.host ?? "mdm.example.com"
        var steps: [Step] = []
        // The initial administrator is a user too: one user means nobody who enrolls yet.
        if users <= 1 {
            steps.append(Step(title: "Add the users who will enroll",
                              detail: "Users › All users › New user, or winmdm users add ann@\(domain) --password … --license WINMDM_STANDARD"))
        }
        if devices == 0 {
            steps.append(Step(title: "Point Windows at this server",
                              detail: "Devices find it through the DNS name EnterpriseEnrollment.\(domain) (a CNAME to \(host)), or by entering the server address \(discovery) in Settings › Accounts › Access work or school › Connect."))
            steps.append(Step(title: "Enroll a first device", detail: "On the PC, open this link (it fills in the enrollment dialog):",
                              link: "ms-device-enrollment:?mode=mdm&username=ann@\(domain)&servername=\(discovery)"))
        }
        return HomePage(users: users, devices: devices, queuedCommands: queuedCommands,
                        failures: failures.reduce(0) { $0 + 1 + ($1.repeats ?? 0) }, autopilotDevices: autopilotDevices, profiles: profiles,
                        discoveryURL: discovery, steps: steps, groups: FailureGroup.build(failures))
    }

    public var context: [String: Any] {
        ["users": users, "devices": devices, "queued": queuedCommands, "failures": failures, "autopilot": autopilotDevices,
         "profiles": profiles, "discovery": discoveryURL, "hasSteps": !steps.isEmpty, "hasGroups": !groups.isEmpty,
         "steps": steps.map { s -> [String: Any] in
             var o: [String: Any] = ["title": s.title, "detail": s.detail]
             if let l = s.link { o["link"] = l }
             return o
         },
         "groups": groups.prefix(5).map(\.context)]
    }
}
