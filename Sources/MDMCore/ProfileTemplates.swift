import Foundation

/// Profile builders for what administrators ask for most: named fields with ranges and choices instead of free-text
/// OMA-URIs (MANAGEMENT.md §2). Each field is checked; the settings carry where they apply (edition, build), so a
/// device without the feature records "not applicable" instead of failing.
public struct ProfileTemplate: Sendable {
    public struct Field: Sendable {
        public enum Kind: Sendable {
            case int(ClosedRange<Int>)
            case bool
            /// Accepted words and the value each one stands for.
            case choice([(String, String)])
            /// A local Windows account name: 1 to 20 characters, none of " / \\ [ ] : ; | = , + * ? < > @, not only dots or spaces.
            case accountName
        }
        public var name: String
        public var help: String
        public var kind: Kind
        public var defaultValue: String

        public var accepted: String {
            switch kind {
            case .int(let r): "\(r.lowerBound)–\(r.upperBound)"
            case .bool: "true or false"
            case .choice(let c): c.map(\.0).joined(separator: ", ")
            case .accountName: "a local account name of 1 to 20 characters"
            }
        }
    }

    public var id: String
    public var title: String
    /// What Windows needs for it, for people.
    public var requirement: String
    public var fields: [Field]
    let build: @Sendable ([String: String]) throws(ProfileError) -> [OMASetting]

    /// Settings from `values` (field name → text); unknown fields and values out of range are refused with what is accepted.
    public func settings(_ values: [String: String]) throws(ProfileError) -> [OMASetting] {
        for key in values.keys where !fields.contains(where: { $0.name == key }) {
            throw ProfileError("\(id) has no field '\(key)'; its fields: \(fields.map(\.name).joined(separator: ", ")).")
        }
        var resolved: [String: String] = [:]
        for f in fields {
            let raw = values[f.name] ?? f.defaultValue
            switch f.kind {
            case .int(let r):
                guard let n = Int(raw), r.contains(n) else { throw ProfileError("\(f.name) is \(f.accepted) (\(f.help)); '\(raw)' is not.") }
                resolved[f.name] = String(n)
            case .bool:
                guard let b = ["true": "true", "yes": "true", "on": "true", "false": "false", "no": "false", "off": "false"][raw.lowercased()] else {
                    throw ProfileError("\(f.name) is true or false; '\(raw)' is not.")
                }
                resolved[f.name] = b
            case .choice(let c):
                guard let v = c.first(where: { $0.0 == raw.lowercased() })?.1 else { throw ProfileError("\(f.name) is one of \(f.accepted); '\(raw)' is not.") }
                resolved[f.name] = v
            case .accountName:
                let forbidden = Set("\"/\\[]:;|=,+*?<>@%")
                guard (1...20).contains(raw.count), !raw.contains(where: { forbidden.contains($0) || $0.isNewline }),
                      !raw.allSatisfy({ $0 == "." || $0 == " " }) else {
                    throw ProfileError("\(f.name) is a local account name of 1 to 20 characters without \" / \\ [ ] : ; | = , + * ? < > @ %, not only dots or spaces; '\(raw)' is not.")
                }
                resolved[f.name] = raw
            }
        }
        return try build(resolved)
    }

    public static func named(_ id: String) -> ProfileTemplate? { all.first { $0.id == id.lowercased() } }

    static let policy = "./Device/Vendor/MSFT/Policy/Config/"

    static func int(_ name: String, _ uri: String, _ v: String, _ a: SettingApplicability?, group: String? = nil) -> OMASetting {
        OMASetting(name: name, locURI: uri, format: "int", value: v, atomicGroup: group, applicability: a)
    }

    public static let all: [ProfileTemplate] = [updateRing, bitLocker, password, defender, restrictions, localAdmin]

    /// Windows Update for Business ring (Policy CSP Update): deferrals, deadlines, active hours.
    public static let updateRing = ProfileTemplate(
        id: "update-ring", title: "Windows Update ring", requirement: "Pro, Enterprise or Education; deadlines need 1903 (build 18362) or later",
        fields: [
            Field(name: "qualityDeferralDays", help: "days quality updates wait", kind: .int(0...30), defaultValue: "0"),
            Field(name: "featureDeferralDays", help: "days feature updates wait", kind: .int(0...365), defaultValue: "0"),
            Field(name: "qualityDeadlineDays", help: "days before a quality update installs regardless", kind: .int(0...30), defaultValue: "7"),
            Field(name: "featureDeadlineDays", help: "days before a feature update installs regardless", kind: .int(0...30), defaultValue: "7"),
            Field(name: "graceDays", help: "days after a deadline before a forced restart", kind: .int(0...7), defaultValue: "2"),
            Field(name: "activeHoursStart", help: "hour active hours start", kind: .int(0...23), defaultValue: "8"),
            Field(name: "activeHoursEnd", help: "hour active hours end", kind: .int(0...23), defaultValue: "17"),
        ],
        build: { v throws(ProfileError) in
            let pro = SettingApplicability(notOnHome: true), deadlines = SettingApplicability(minBuild: 18362, notOnHome: true)
            let u = policy + "Update/"
            return [
                int("Quality update deferral (days)", u + "DeferQualityUpdatesPeriodInDays", v["qualityDeferralDays"]!, pro),
                int("Feature update deferral (days)", u + "DeferFeatureUpdatesPeriodInDays", v["featureDeferralDays"]!, pro),
                int("Quality update deadline (days)", u + "ConfigureDeadlineForQualityUpdates", v["qualityDeadlineDays"]!, deadlines),
                int("Feature update deadline (days)", u + "ConfigureDeadlineForFeatureUpdates", v["featureDeadlineDays"]!, deadlines),
                int("Grace period (days)", u + "ConfigureDeadlineGracePeriod", v["graceDays"]!, deadlines),
                int("Active hours start", u + "ActiveHoursStart", v["activeHoursStart"]!, pro),
                int("Active hours end", u + "ActiveHoursEnd", v["activeHoursEnd"]!, pro),
            ]
        })

    /// BitLocker CSP: require encryption, silently or not, with an encryption method for OS, fixed and removable drives.
    public static let bitLocker = ProfileTemplate(
        id: "bitlocker", title: "BitLocker", requirement: "Pro since 1809 (build 17763), Enterprise, Education; silent encryption only on Entra-joined devices",
        fields: [
            Field(name: "requireEncryption", help: "encrypt every eligible drive", kind: .bool, defaultValue: "true"),
            Field(name: "silent", help: "no prompt about other disk encryption; standard users may start it", kind: .bool, defaultValue: "true"),
            Field(name: "method", help: "encryption method for OS and fixed drives (removable drives use AES-CBC 256 when XTS is chosen)",
                  kind: .choice([("xts-aes-128", "6"), ("xts-aes-256", "7"), ("aes-cbc-128", "3"), ("aes-cbc-256", "4")]), defaultValue: "xts-aes-256"),
        ],
        build: { v throws(ProfileError) in
            let a = SettingApplicability(minBuild: 17763, notOnHome: true)
            let b = "./Device/Vendor/MSFT/BitLocker/"
            let method = v["method"]!, removable = ["6", "7"].contains(method) ? "4" : method
            // ADMX-backed: the value is XML, escaped inside a chr value; all three drive types or the CSP answers 500.
            let admx = "<enabled/><data id=\"EncryptionMethodWithXtsOsDropDown_Name\" value=\"\(method)\"/>"
                + "<data id=\"EncryptionMethodWithXtsFdvDropDown_Name\" value=\"\(method)\"/>"
                + "<data id=\"EncryptionMethodWithXtsRdvDropDown_Name\" value=\"\(removable)\"/>"
            var s = [int("Require device encryption", b + "RequireDeviceEncryption", v["requireEncryption"] == "true" ? "1" : "0", a)]
            s.append(OMASetting(name: "Encryption method by drive type", locURI: b + "EncryptionMethodByDriveType", format: "chr", value: admx, applicability: a))
            if v["silent"] == "true" {
                s.append(int("No warning for other disk encryption (silent)", b + "AllowWarningForOtherDiskEncryption", "0", a))
                s.append(int("Standard users may encrypt", b + "AllowStandardUserEncryption", "1", a))
            }
            return s
        })

    /// DeviceLock: a password or PIN with length, character rules, inactivity lock and expiry, sent as one Atomic.
    public static let password = ProfileTemplate(
        id: "password", title: "Password (DeviceLock)", requirement: "Pro, Enterprise or Education; local accounts must change their password at next sign-in",
        fields: [
            Field(name: "minLength", help: "shortest password or PIN", kind: .int(4...16), defaultValue: "8"),
            Field(name: "type", help: "what counts as a password",
                  kind: .choice([("alphanumeric", "0"), ("numeric", "1"), ("either", "2")]), defaultValue: "alphanumeric"),
            Field(name: "complexCharacters", help: "1 digits only, 2 digits and lower case, 3 and upper case, 4 and special", kind: .int(1...4), defaultValue: "2"),
            Field(name: "inactivityLockMinutes", help: "minutes idle before the screen locks (0: never)", kind: .int(0...999), defaultValue: "15"),
            Field(name: "expirationDays", help: "days a password lasts (0: forever)", kind: .int(0...730), defaultValue: "0"),
            Field(name: "history", help: "earlier passwords that cannot be reused", kind: .int(0...50), defaultValue: "0"),
        ],
        build: { v throws(ProfileError) in
            let a = SettingApplicability(notOnHome: true), d = policy + "DeviceLock/", g = "devicelock"
            return [
                int("Password required (0 = yes)", d + "DevicePasswordEnabled", "0", a, group: g),
                int("Minimum length", d + "MinDevicePasswordLength", v["minLength"]!, a, group: g),
                int("Password type", d + "AlphanumericDevicePasswordRequired", v["type"]!, a, group: g),
                int("Complex characters", d + "MinDevicePasswordComplexCharacters", v["complexCharacters"]!, a, group: g),
                int("Lock after idle (minutes)", d + "MaxInactivityTimeDeviceLock", v["inactivityLockMinutes"]!, a, group: g),
                int("Expiry (days)", d + "DevicePasswordExpiration", v["expirationDays"]!, a, group: g),
                int("History", d + "DevicePasswordHistory", v["history"]!, a, group: g),
            ]
        })

    /// Microsoft Defender Antivirus protections (Home included).
    public static let defender = ProfileTemplate(
        id: "defender", title: "Microsoft Defender Antivirus", requirement: "every edition, Home included",
        fields: [
            Field(name: "realtime", help: "real-time protection", kind: .bool, defaultValue: "true"),
            Field(name: "cloud", help: "cloud-delivered protection", kind: .bool, defaultValue: "true"),
            Field(name: "behavior", help: "behaviour monitoring", kind: .bool, defaultValue: "true"),
        ],
        build: { v throws(ProfileError) in
            let d = policy + "Defender/"
            func on(_ k: String) -> String { v[k] == "true" ? "1" : "0" }
            return [
                int("Real-time protection", d + "AllowRealtimeMonitoring", on("realtime"), nil),
                int("Cloud-delivered protection", d + "AllowCloudProtection", on("cloud"), nil),
                int("Behaviour monitoring", d + "AllowBehaviorMonitoring", on("behavior"), nil),
            ]
        })

    /// Device restrictions: the camera for now.
    public static let restrictions = ProfileTemplate(
        id: "restrictions", title: "Device restrictions", requirement: "Pro, Enterprise or Education",
        fields: [Field(name: "camera", help: "allow the camera", kind: .bool, defaultValue: "true")],
        build: { v throws(ProfileError) in
            [int("Camera", policy + "Camera/AllowCamera", v["camera"] == "true" ? "1" : "0", SettingApplicability(notOnHome: true))]
        })

    /// A local administrator account created through the Accounts CSP with a password winmdm picks for each device,
    /// keeps sealed, and shows to administrators on request (`winmdm devices local-admin`).
    public static let localAdmin = ProfileTemplate(
        id: "local-admin", title: "Managed local administrator",
        requirement: "Windows 10 1803 (build 17134) or later, every edition; the Accounts CSP only creates accounts, so the password is set once and cannot be rotated through it",
        fields: [Field(name: "account", help: "the account's name", kind: .accountName, defaultValue: "winmdmadmin")],
        build: { v throws(ProfileError) in
            let a = SettingApplicability(minBuild: 17134), u = "./Device/Vendor/MSFT/Accounts/Users/\(v["account"]!)/"
            return [
                OMASetting(name: "Password (picked per device by winmdm)", locURI: u + "Password", format: "chr",
                           value: ManagedLocalAccount.passwordPlaceholder, verb: "Add", applicability: a),
                OMASetting(name: "Member of Administrators", locURI: u + "LocalUserGroup", format: "int", value: "2", verb: "Add", applicability: a),
            ]
        })
}

/// The local administrator account winmdm created on one device, with its password sealed (never stored in clear).
public struct ManagedLocalAccount: Codable, Sendable, Equatable {
    public var account: String
    /// AES-GCM, base64, opened only with the installation's secret key and this enrollment's id.
    public var sealedPassword: String
    public var setAt: Date

    public init(account: String, sealedPassword: String, setAt: Date) {
        self.account = account
        self.sealedPassword = sealedPassword
        self.setAt = setAt
    }

    /// Stands for the device's own password in a profile and in queued commands; replaced only on the wire.
    public static let passwordPlaceholder = "{{winmdm:managed-password}}"

    /// The account a command's Password node names (`…/Accounts/Users/{name}/Password`).
    public static func account(in locURI: String) -> String? {
        let parts = locURI.split(separator: "/")
        guard let i = parts.firstIndex(of: "Users"), i + 2 < parts.count, parts[i - 1] == "Accounts", parts[i + 2] == "Password" else { return nil }
        return String(parts[i + 1])
    }

    /// 20 characters with upper and lower case, digits and symbols, from the system's random generator.
    public static func newPassword() -> String {
        let sets = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#$%&()*+-.=?@^_~"].map(Array.init)
        let all = sets.flatMap { $0 }
        var g = SystemRandomNumberGenerator()
        var chars = sets.map { $0.randomElement(using: &g)! } + (0..<16).map { _ in all.randomElement(using: &g)! }
        chars.shuffle(using: &g)
        return String(chars)
    }
}
