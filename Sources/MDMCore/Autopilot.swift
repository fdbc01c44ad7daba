import Foundation

// Windows Autopilot device identities, corporate device identifiers, and how a device's ownership is decided
// (DOMAIN.md §2.3, §2.7, §2.8; MANAGEMENT.md §6).

/// Graph's `enrollmentState` of an Autopilot device.
public enum AutopilotEnrollmentState: String, Codable, Sendable {
    case notContacted, enrolled, failed
}

/// A device registered for Autopilot from its hardware hash (Graph `windowsAutopilotDeviceIdentity`; the hash is kept,
/// as `importedWindowsAutopilotDeviceIdentity.hardwareIdentifier`, to export it again).
public struct AutopilotDevice: Codable, Sendable, Equatable, Identifiable {
    public var id: String
    public var serialNumber: String
    public var productKey: String
    /// Padded base64, as `Get-WindowsAutopilotInfo` writes it.
    public var hardwareHash: String
    public var groupTag: String
    public var assignedUser: String?
    public var importID: String
    public var importedAt: Date
    /// Reported by the device once it enrolls (DevInfo Man / Mod).
    public var manufacturer: String?
    public var model: String?
    public var enrollmentState: AutopilotEnrollmentState
    /// Once the device enrolled: which enrollment and which hardware it is.
    public var enrollmentID: String?
    public var hwDevID: String?
    public var lastContactedAt: Date?
    /// Set when the device was released to another organization: its serial is then theirs (import error 808).
    public var releasedTo: String?

    public init(id: String = UUID().uuidString.lowercased(), serialNumber: String, productKey: String = "", hardwareHash: String,
                groupTag: String = "", assignedUser: String? = nil, importID: String, importedAt: Date) {
        self.id = id
        self.serialNumber = serialNumber
        self.productKey = productKey
        self.hardwareHash = hardwareHash
        self.groupTag = groupTag
        self.assignedUser = assignedUser
        self.importID = importID
        self.importedAt = importedAt
        self.enrollmentState = .notContacted
    }

    /// The lookup key of a serial number: trimmed, upper case.
    public static func serialKey(_ serial: String) -> String { serial.trimmingCharacters(in: .whitespaces).uppercased() }
    public var serialKey: String { Self.serialKey(serialNumber) }
}

/// One row of an Autopilot import, as Intune reports it (`importedWindowsAutopilotDeviceIdentity.state`).
public struct AutopilotImportRow: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case complete, error }
    /// Line in the file (the header is line 1).
    public var line: Int
    public var serialNumber: String
    public var status: Status
    /// Intune's `deviceErrorCode` when it has a number (806, 808), else 0.
    public var errorCode: Int
    public var errorName: String?
    public var message: String?
    public var deviceID: String?

    public static func complete(_ line: Int, _ serial: String, deviceID: String) -> Self {
        .init(line: line, serialNumber: serial, status: .complete, errorCode: 0, errorName: nil, message: nil, deviceID: deviceID)
    }

    public static func error(_ line: Int, _ serial: String, _ code: Int, _ name: String, _ message: String) -> Self {
        .init(line: line, serialNumber: serial, status: .error, errorCode: code, errorName: name, message: message, deviceID: nil)
    }
}

/// A file refused whole, with where it went wrong.
public struct CSVFileProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String
    public init(line: Int, column: Int, _ message: String) { self.line = line; self.column = column; self.message = message }
    public var description: String { line == 0 ? message : "Line \(line), column \(column): \(message)" }
}

/// The CSV `Get-WindowsAutopilotInfo` writes: the header, no quotes, at most 500 rows a file.
public enum AutopilotCSV {
    public static let header = ["Device Serial Number", "Windows Product ID", "Hardware Hash", "Group Tag", "Assigned User"]
    public static let maxRows = 500

    public struct Row: Sendable, Equatable {
        public var line: Int
        public var serialNumber: String
        public var productKey: String
        public var hardwareHash: String
        public var groupTag: String
        public var assignedUser: String
    }

    /// Text of a file: UTF-8 (a byte order mark is dropped) or, failing that, ANSI (Windows-1252).
    public static func text(_ bytes: [UInt8]) -> String {
        var b = bytes[...]
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { b = b.dropFirst(3) }
        if let s = String(validating: b, as: UTF8.self) { return s }
        return String(data: Data(b), encoding: .windowsCP1252) ?? String(decoding: b, as: UTF8.self)
    }

    /// Splits into lines (CRLF or LF), numbered from 1, dropping blank ones.
    static func lines(_ text: String) -> [(Int, String)] {
        // "\r\n" is one Character in Swift: split on either.
        text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated().compactMap { i, l in
            let line = l.hasSuffix("\r") ? String(l.dropLast()) : String(l)
            return line.trimmingCharacters(in: .whitespaces).isEmpty ? nil : (i + 1, line)
        }
    }

    /// The rows, or the reason the whole file is refused. The header may stop after Hardware Hash or Group Tag, as the
    /// script writes it when those columns are not given.
    public static func parse(_ bytes: [UInt8]) throws(CSVFileProblem) -> [Row] {
        let all = lines(text(bytes))
        guard let (hl, headerLine) = all.first else { throw CSVFileProblem(line: 0, column: 0, "The file is empty; export it with Get-WindowsAutopilotInfo -OutputFile.") }
        let cols = headerLine.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let expected = header.joined(separator: ",")
        guard (3...5).contains(cols.count), cols == Array(header.prefix(cols.count)) else {
            var column = 1
            for (i, c) in cols.enumerated() {
                if i >= header.count || c != header[i] { break }
                column += c.count + 1
            }
            throw CSVFileProblem(line: hl, column: column,
                "the header must be exactly \(expected) (names are case-sensitive; Group Tag and Assigned User may be left off).")
        }
        let body = all.dropFirst()
        guard body.count <= maxRows else {
            throw CSVFileProblem(line: 0, column: 0, "The file has \(body.count) devices; import at most \(maxRows) a file (split it).")
        }
        guard !body.isEmpty else { throw CSVFileProblem(line: 0, column: 0, "The file has a header and no devices.") }
        var rows: [Row] = []
        for (n, line) in all {
            if let q = line.firstIndex(where: { $0 == "\"" || $0 == "\u{201C}" || $0 == "\u{201D}" }) {
                throw CSVFileProblem(line: n, column: line.distance(from: line.startIndex, to: q) + 1,
                    "quotation marks are not allowed (Excel adds them; export the file again and do not edit it in Excel).")
            }
            if n == hl { continue }
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count == cols.count else {
                let column = f.count > cols.count
                    ? line.split(separator: ",", omittingEmptySubsequences: false).prefix(cols.count).reduce(0) { $0 + $1.count + 1 }
                    : line.count + 1
                throw CSVFileProblem(line: n, column: column, "expected \(cols.count) columns (\(cols.joined(separator: ","))), found \(f.count).")
            }
            rows.append(Row(line: n, serialNumber: f[0], productKey: f[1], hardwareHash: f[2],
                            groupTag: f.count > 3 ? f[3] : "", assignedUser: f.count > 4 ? f[4] : ""))
        }
        return rows
    }

    /// Whether a hardware hash is padded base64 that decodes (Graph refuses unpadded hashes as not `Edm.Binary`).
    public static func hashProblem(_ hash: String) -> String? {
        if hash.isEmpty { return "The hardware hash is empty; capture it again on the device." }
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let body = hash.hasSuffix("==") ? hash.dropLast(2) : hash.hasSuffix("=") ? hash.dropLast() : hash[...]
        if let bad = body.first(where: { !alphabet.contains($0) }) {
            return "The hardware hash is not base64 (it contains '\(bad)'); capture it again on the device."
        }
        if hash.count % 4 != 0 {
            return "The hardware hash is not padded base64 (its length \(hash.count) is not a multiple of 4; Graph refuses it as not Edm.Binary); add the missing '=' or capture it again."
        }
        if Data(base64Encoded: hash) == nil { return "The hardware hash does not decode as base64; capture it again on the device." }
        return nil
    }
}

/// A corporate device identifier (Graph `importedDeviceIdentity`, type `manufacturerModelSerial`).
public struct DeviceIdentifier: Codable, Sendable, Equatable, Identifiable {
    public var manufacturer: String
    public var model: String
    /// Periods removed, as Intune requires.
    public var serialNumber: String
    public var description: String
    public var importedAt: Date
    /// Set when a device matched it.
    public var enrollmentID: String?
    public var lastContactedAt: Date?

    public init(manufacturer: String, model: String, serialNumber: String, description: String = "", importedAt: Date) {
        self.manufacturer = manufacturer.trimmingCharacters(in: .whitespaces)
        self.model = model.trimmingCharacters(in: .whitespaces)
        self.serialNumber = Self.cleanSerial(serialNumber)
        self.description = description
        self.importedAt = importedAt
    }

    public static func cleanSerial(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ".", with: "") }
    /// `Manufacturer,Model,Serial`, Graph's `importedDeviceIdentifier`.
    public var identifier: String { "\(manufacturer),\(model),\(serialNumber)" }
    /// The lookup key: the three values, case-insensitive.
    public static func key(manufacturer: String, model: String, serial: String) -> String {
        [manufacturer.trimmingCharacters(in: .whitespaces), model.trimmingCharacters(in: .whitespaces), cleanSerial(serial)]
            .map { $0.uppercased() }.joined(separator: ",")
    }
    public var key: String { Self.key(manufacturer: manufacturer, model: model, serial: serialNumber) }
    public var id: String { key }
}

/// The corporate identifier CSV: `manufacturer,model,serial` lines, no header, at most 5,000 rows. A field may be
/// quoted when it holds a comma ("Dell, Inc.").
public enum DeviceIdentifierCSV {
    public static let maxRows = 5000
    public static let maxBytes = 5 * 1024 * 1024

    public static func parse(_ bytes: [UInt8], now: Date) throws(CSVFileProblem) -> [DeviceIdentifier] {
        guard bytes.count <= maxBytes else { throw CSVFileProblem(line: 0, column: 0, "The file is larger than 5 MB; split it.") }
        let lines = AutopilotCSV.lines(AutopilotCSV.text(bytes))
        guard !lines.isEmpty else { throw CSVFileProblem(line: 0, column: 0, "The file is empty; write one manufacturer,model,serial line per device.") }
        guard lines.count <= maxRows else { throw CSVFileProblem(line: 0, column: 0, "The file has \(lines.count) lines; import at most \(maxRows) a file.") }
        var out: [DeviceIdentifier] = []
        for (n, line) in lines {
            let f = try fields(line, line: n)
            guard f.count == 3 else {
                throw CSVFileProblem(line: n, column: 1, "expected manufacturer,model,serial (three values, no header), found \(f.count) value\(f.count == 1 ? "" : "s").")
            }
            if n == lines[0].0, f[2].lowercased().contains("serial") {
                throw CSVFileProblem(line: n, column: 1, "the file must not have a header line; start with the first device.")
            }
            for (i, v) in f.enumerated() where v.trimmingCharacters(in: .whitespaces).isEmpty {
                throw CSVFileProblem(line: n, column: 1, "the \(["manufacturer", "model", "serial number"][i]) is empty.")
            }
            out.append(DeviceIdentifier(manufacturer: f[0], model: f[1], serialNumber: f[2], importedAt: now))
        }
        return out
    }

    static func fields(_ line: String, line n: Int) throws(CSVFileProblem) -> [String] {
        var out: [String] = [], cur = "", quoted = false, i = 0, wasQuoted = false
        let chars = Array(line)
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { cur.append("\""); i += 1 } else { quoted = false }
                } else { cur.append(c) }
            } else if c == "\"" {
                guard cur.trimmingCharacters(in: .whitespaces).isEmpty, !wasQuoted else {
                    throw CSVFileProblem(line: n, column: i + 1, "a quotation mark inside a value; quote the whole value (\"Dell, Inc.\").")
                }
                quoted = true; wasQuoted = true; cur = ""
            } else if c == "," {
                out.append(cur.trimmingCharacters(in: .whitespaces)); cur = ""; wasQuoted = false
            } else {
                if wasQuoted, !c.isWhitespace { throw CSVFileProblem(line: n, column: i + 1, "text after a closing quotation mark.") }
                cur.append(c)
            }
            i += 1
        }
        if quoted { throw CSVFileProblem(line: n, column: chars.count + 1, "a quoted value is not closed.") }
        out.append(cur.trimmingCharacters(in: .whitespaces))
        return out
    }
}

/// Corporate or personal, as Intune's ownership table decides it.
public enum DeviceOwnership: String, Codable, Sendable, CaseIterable {
    case corporate, personal
}

/// A device's ownership and why: shown to the administrator next to the device.
public struct OwnershipRecord: Codable, Sendable, Equatable {
    public enum Source: String, Codable, Sendable {
        /// Registered with Autopilot (by serial, or the Autopilot context items of the enrollment).
        case autopilot
        /// A provisioning package (bulk enrollment).
        case bulk
        /// Matched a corporate device identifier.
        case identifier
        /// The way it enrolled, with no identifiers uploaded (Entra join: corporate; Add work account: personal).
        case enrollmentType = "enrollment-type"
        /// Identifiers exist and the device did not match one.
        case notPreregistered = "not-preregistered"
        /// Decided at the first check-in, when the device reports its serial number.
        case pending
        /// Set by an administrator.
        case admin
    }

    public var ownership: DeviceOwnership
    public var source: Source
    public var reason: String
    public var decidedAt: Date
    /// The administrator who set it (source admin).
    public var by: String?

    public init(_ ownership: DeviceOwnership, _ source: Source, _ reason: String, at: Date, by: String? = nil) {
        self.ownership = ownership
        self.source = source
        self.reason = reason
        self.decidedAt = at
        self.by = by
    }

    public var isPending: Bool { source == .pending }

    /// What the enrollment request alone says (the serial number is not in it): Autopilot, provisioning packages and
    /// already-matched hardware are corporate; once corporate identifiers exist, any other device waits for its serial
    /// number; without identifiers, Entra join is corporate and a work account added from Settings is personal.
    public static func atEnrollment(kind: EnrollmentKind, autopilot: AutopilotDevice?, autopilotHint: Bool,
                                    matchedIdentifier: DeviceIdentifier?, identifiersExist: Bool, now: Date) -> OwnershipRecord {
        if kind == .bulk { return .init(.corporate, .bulk, "Enrolled with a provisioning package (bulk enrollment).", at: now) }
        if let a = autopilot { return .init(.corporate, .autopilot, "Registered with Autopilot (serial number \(a.serialNumber)).", at: now) }
        if autopilotHint { return .init(.corporate, .autopilot, "Enrolled by Windows Autopilot (the request carried Autopilot's context items).", at: now) }
        if let m = matchedIdentifier { return .init(.corporate, .identifier, "Matches the corporate identifier \(m.identifier).", at: now) }
        if identifiersExist {
            return .init(kind == .user ? .personal : .corporate, .pending,
                         "Corporate identifiers exist: decided at the first check-in from the serial number the device reports.", at: now)
        }
        return kind == .user
            ? .init(.personal, .enrollmentType, "A work account added from Settings (user enrollment) is a personal device.", at: now)
            : .init(.corporate, .enrollmentType, "Joined to the organization (device enrollment) is a corporate device.", at: now)
    }
}

/// Which Autopilot deployment profile a device gets.
public struct AutopilotResolution: Sendable, Equatable {
    /// The oldest-created profile assigned to one of the device's groups.
    public var winner: AutopilotProfile?
    /// Every profile assigned to one of its groups, oldest first.
    public var targeting: [AutopilotProfile]

    public var isConflict: Bool { targeting.count > 1 }

    public static func resolve(groupIDs: Set<String>, profiles: [AutopilotProfile]) -> AutopilotResolution {
        let t = profiles.filter { !$0.assignedGroups.filter(groupIDs.contains).isEmpty }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return AutopilotResolution(winner: t.first, targeting: t)
    }

    /// In words: which wins and why (SCENARIOS.md V03).
    public var explanation: String? {
        guard isConflict, let w = winner else { return nil }
        let others = targeting.dropFirst().map { "\"\($0.displayName)\"" }.joined(separator: ", ")
        return "\(targeting.count) Autopilot profiles target this device through its groups: \"\(w.displayName)\" wins because it was created first, over \(others). During setup Windows can fail with 0x801C03EA (\"Registering your device for mobile management\"); keep the device in the groups of one profile."
    }
}

/// The groups of an Autopilot device: Autopilot device groups whose tag it carries, and the groups that hold its
/// hardware once it enrolled.
public func autopilotGroupIDs(_ d: AutopilotDevice, groups: [Group]) -> Set<String> {
    let tag = d.groupTag.lowercased()
    return Set(groups.filter { g in
        (!tag.isEmpty && g.autopilotGroupTag?.lowercased() == tag) || (d.hwDevID.map(g.devices.contains) ?? false)
    }.map(\.id))
}

/// `AutopilotConfigurationFile.json` for "Autopilot for existing devices" (MANAGEMENT.md §6.2): one profile, ASCII.
public enum AutopilotConfigurationFile {
    public static let fileName = "AutopilotConfigurationFile.json"

    /// The `CloudAssignedOobeConfig` bits: 2 user not a local administrator, 4 privacy settings skipped, 8 and 256 OEM
    /// registration skipped (always), 16 license terms skipped, 1024 keyboard page skipped.
    public static func oobeBits(_ o: AutopilotOOBE) -> Int {
        var bits = 8 + 256
        if o.userType == .standard { bits += 2 }
        if o.privacySettingsHidden { bits += 4 }
        if o.eulaHidden { bits += 16 }
        if o.keyboardSelectionPageSkipped { bits += 1024 }
        return bits
    }

    public struct Unsupported: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The file's bytes. Self-deploying profiles and pre-provisioning need Microsoft's deployment service and are refused.
    public static func encode(_ p: AutopilotProfile, tenantID: String, tenantDomain: String) throws(Unsupported) -> [UInt8] {
        guard p.oobe.deviceUsageType == .singleUser else {
            throw Unsupported(description: "\"\(p.displayName)\" is self-deploying; the offline file supports user-driven profiles only (self-deploying needs Microsoft's deployment service and TPM attestation).")
        }
        let server = "{\"ZeroTouchConfig\":{\"CloudAssignedTenantUpn\":\"\",\"ForcedEnrollment\":1,\"CloudAssignedTenantDomain\":\"\(tenantDomain)\"}}"
        var o: [String: Any] = [
            "Version": 2049,
            "Comment_File": "Profile \(p.displayName), written by winmdm",
            "CloudAssignedTenantId": tenantID,
            "CloudAssignedTenantDomain": tenantDomain,
            "CloudAssignedOobeConfig": oobeBits(p.oobe),
            "CloudAssignedDomainJoinMethod": p.joinType == .hybrid ? 1 : 0,
            "CloudAssignedForcedEnrollment": 1,
            "ZtdCorrelationId": p.id,
            "CloudAssignedAadServerData": server,
        ]
        if p.namesDevices, let t = p.deviceNameTemplate { o["CloudAssignedDeviceName"] = t }
        if p.locale != "os-default" { o["CloudAssignedLanguage"] = p.locale }
        let data = (try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        // ANSI only: anything outside ASCII is written as a \u escape (OOBE ignores a file it cannot read as ANSI).
        var out: [UInt8] = []
        for scalar in String(decoding: data, as: UTF8.self).unicodeScalars {
            if scalar.isASCII { out.append(UInt8(scalar.value)) } else {
                for unit in String(scalar).utf16 { out += Array(String(format: "\\u%04x", unit).utf8) }
            }
        }
        return out + [0x0A]
    }
}
