/// Standard Windows error codes that show up around enrollment but are not enrollment errors themselves: generic
/// HRESULTs, Win32 errors in their HRESULT form (0x8007xxxx), WinHTTP, certificate, crypto, SSPI and NTSTATUS codes.
/// The numbers and symbolic names are Windows' own (winerror.h, ntstatus.h, winhttp.h); the one-line meanings are
/// written for this project. A code that is in none of these is still decoded into its facility and number, so every
/// code a text contains gets a name, even when no cause is known for it.
public struct WindowsCode: Sendable, Codable, Equatable {
    /// `0x` + eight upper-case hex digits.
    public var code: String
    /// The symbolic name, when the code is a known one.
    public var name: String?
    /// What the code says, in one line.
    public var meaning: String
    /// Where it comes from: "HRESULT", "Win32", "WinHTTP", "NTSTATUS", or the facility it decodes to.
    public var family: String
}

public enum WindowsCodes {
    /// HRESULT → (name, meaning).
    static let table: [UInt32: (String, String)] = [
        // Generic COM HRESULTs.
        0x8000_4001: ("E_NOTIMPL", "The called function is not implemented."),
        0x8000_4002: ("E_NOINTERFACE", "The requested interface is not supported."),
        0x8000_4003: ("E_POINTER", "A required pointer was null."),
        0x8000_4004: ("E_ABORT", "The operation was aborted."),
        0x8000_4005: ("E_FAIL", "Unspecified failure: the component gave no reason; the cause is in the surrounding log lines."),
        0x8000_FFFF: ("E_UNEXPECTED", "A failure the component did not expect (often a state it cannot handle)."),
        0x8000_000A: ("E_PENDING", "The data needed is not available yet."),
        // COM and RPC (facility 1 and 8).
        0x8001_0105: ("RPC_E_SERVERFAULT", "The server threw an exception while handling a COM call."),
        0x8001_0106: ("RPC_E_CHANGED_MODE", "The thread's COM apartment was already set to another mode (a caller problem, not the server)."),
        0x8001_0108: ("RPC_E_DISCONNECTED", "The COM object the caller used has disconnected from its clients."),
        0x8001_010A: ("RPC_E_SERVERCALL_RETRYLATER", "The COM server is busy; the call should be retried."),
        0x8008_0005: ("CO_E_SERVER_EXEC_FAILURE", "The COM server process could not be started."),
        // Win32 errors as HRESULTs (facility 7).
        0x8007_0001: ("ERROR_INVALID_FUNCTION", "The function is not valid for this object or state."),
        0x8007_0002: ("ERROR_FILE_NOT_FOUND", "A file (or registry value) the component looked for does not exist."),
        0x8007_0003: ("ERROR_PATH_NOT_FOUND", "A path (or registry key) the component looked for does not exist."),
        0x8007_0005: ("E_ACCESSDENIED", "Access denied (Win32 ERROR_ACCESS_DENIED): missing rights, or a policy forbids it."),
        0x8007_0006: ("E_HANDLE", "An invalid handle was used."),
        0x8007_000D: ("ERROR_INVALID_DATA", "The data is not valid."),
        0x8007_000E: ("E_OUTOFMEMORY", "Not enough memory to complete the operation."),
        0x8007_0020: ("ERROR_SHARING_VIOLATION", "Another process holds the file open."),
        0x8007_0032: ("ERROR_NOT_SUPPORTED", "The request is not supported (on this edition, build or configuration)."),
        0x8007_0057: ("E_INVALIDARG", "A parameter is wrong (Win32 ERROR_INVALID_PARAMETER)."),
        0x8007_0070: ("ERROR_DISK_FULL", "There is not enough space on the disk."),
        0x8007_0079: ("ERROR_SEM_TIMEOUT", "A wait timed out (often a network share or device that did not answer)."),
        0x8007_007A: ("ERROR_INSUFFICIENT_BUFFER", "A buffer passed to a call was too small."),
        0x8007_00B7: ("ERROR_ALREADY_EXISTS", "The object to create already exists."),
        0x8007_0102: ("WAIT_TIMEOUT", "A wait ended because its time ran out."),
        0x8007_0422: ("ERROR_SERVICE_DISABLED", "A service the operation needs is disabled."),
        0x8007_042B: ("ERROR_PROCESS_ABORTED", "A process ended unexpectedly."),
        0x8007_0490: ("ERROR_NOT_FOUND", "An element the component looked for was not found."),
        0x8007_04C7: ("ERROR_CANCELLED", "The operation was cancelled (often by the user closing a dialog)."),
        0x8007_04C9: ("ERROR_CONNECTION_REFUSED", "The remote computer refused the network connection."),
        0x8007_04CF: ("ERROR_NETWORK_UNREACHABLE", "The network location cannot be reached."),
        0x8007_04D4: ("ERROR_CONNECTION_ABORTED", "The local system aborted the network connection."),
        0x8007_0520: ("ERROR_NO_SUCH_LOGON_SESSION", "The logon session it refers to does not exist (or has ended)."),
        0x8007_052E: ("ERROR_LOGON_FAILURE", "Unknown user name or bad password."),
        0x8007_054B: ("ERROR_NO_SUCH_DOMAIN", "The domain does not exist or cannot be contacted."),
        0x8007_054F: ("ERROR_INTERNAL_ERROR", "An internal error in the component."),
        0x8007_05B4: ("ERROR_TIMEOUT", "The operation timed out."),
        0x8007_0643: ("ERROR_INSTALL_FAILURE", "An installation (MSI) failed: its log says why."),
        0x8007_06BA: ("RPC_S_SERVER_UNAVAILABLE", "The RPC server is unavailable (a service or remote computer did not answer)."),
        0x8007_06BE: ("RPC_S_CALL_FAILED", "A remote procedure call failed."),
        0x8007_0774: ("ERROR_DOMAIN_CONTROLLER_NOT_FOUND", "No domain controller could be found for the domain."),
        0x8007_0BC2: ("ERROR_SUCCESS_REBOOT_REQUIRED", "Done, but a restart is needed to finish."),
        0x8007_0BC9: ("ERROR_FAIL_REBOOT_REQUIRED", "Failed because a restart is pending; restart and retry."),
        0x8007_139F: ("ERROR_INVALID_STATE", "The group or resource is not in the right state for the operation."),
        // WinHTTP (Win32 12xxx as 0x80072xxx).
        0x8007_2EE2: ("ERROR_WINHTTP_TIMEOUT", "An HTTP request timed out."),
        0x8007_2EE4: ("ERROR_WINHTTP_INTERNAL_ERROR", "WinHTTP failed internally."),
        0x8007_2EE5: ("ERROR_WINHTTP_INVALID_URL", "The URL is not valid."),
        0x8007_2EE6: ("ERROR_WINHTTP_UNRECOGNIZED_SCHEME", "The URL's scheme is not http or https."),
        0x8007_2EE7: ("ERROR_WINHTTP_NAME_NOT_RESOLVED", "The server's name could not be resolved (DNS)."),
        0x8007_2EFD: ("ERROR_WINHTTP_CANNOT_CONNECT", "The connection to the server could not be made."),
        0x8007_2EFE: ("ERROR_WINHTTP_CONNECTION_ERROR", "The connection to the server was reset or ended."),
        0x8007_2F05: ("ERROR_WINHTTP_SECURE_CERT_DATE_INVALID", "The server's TLS certificate is expired or not yet valid."),
        0x8007_2F06: ("ERROR_WINHTTP_SECURE_CERT_CN_INVALID", "The server's TLS certificate does not name the host that was asked for."),
        0x8007_2F0C: ("ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED", "The server asked for a client certificate and none was given."),
        0x8007_2F0D: ("ERROR_WINHTTP_SECURE_INVALID_CA", "The server's TLS certificate chains to a root the device does not trust."),
        0x8007_2F19: ("ERROR_WINHTTP_SECURE_CERT_REV_FAILED", "The revocation of the server's TLS certificate could not be checked."),
        0x8007_2F76: ("ERROR_WINHTTP_HEADER_NOT_FOUND", "An expected HTTP header is missing."),
        0x8007_2F78: ("ERROR_WINHTTP_INVALID_SERVER_RESPONSE", "The server's answer could not be read as HTTP."),
        0x8007_2F7D: ("ERROR_WINHTTP_SECURE_CHANNEL_ERROR", "The TLS channel failed (protocol or cipher mismatch, or a TLS-inspecting proxy)."),
        0x8007_2F8F: ("ERROR_WINHTTP_SECURE_FAILURE", "The server's TLS certificate was refused (untrusted, expired, wrong name, or revoked)."),
        // Certificates and trust (facility 11).
        0x800B_0101: ("CERT_E_EXPIRED", "A certificate is expired or not yet valid."),
        0x800B_0109: ("CERT_E_UNTRUSTEDROOT", "A certificate chain ends in a root that is not trusted."),
        0x800B_010A: ("CERT_E_CHAINING", "A certificate chain could not be built to a trusted root."),
        0x800B_010F: ("CERT_E_CN_NO_MATCH", "The certificate's name does not match the host."),
        0x800B_0110: ("CERT_E_WRONG_USAGE", "The certificate is not valid for the requested use."),
        // Crypto and SSPI (facility 9).
        0x8009_0009: ("NTE_BAD_FLAGS", "Invalid flags passed to a crypto call."),
        0x8009_000F: ("NTE_EXISTS", "The key or object already exists."),
        0x8009_0016: ("NTE_BAD_KEYSET", "The key container does not exist (a missing or damaged key)."),
        0x8009_0027: ("NTE_INVALID_PARAMETER", "A crypto parameter is wrong."),
        0x8009_0029: ("NTE_NOT_SUPPORTED", "The crypto operation is not supported (by this key storage provider, often the TPM)."),
        0x8009_0030: ("NTE_DEVICE_NOT_READY", "The key storage device (often the TPM) is not ready."),
        0x8009_0302: ("SEC_E_UNSUPPORTED_FUNCTION", "The security function is not supported (often a TLS version or cipher mismatch)."),
        0x8009_030C: ("SEC_E_LOGON_DENIED", "The logon attempt failed."),
        0x8009_030E: ("SEC_E_NO_CREDENTIALS", "No credentials are available to the security package."),
        0x8009_0311: ("SEC_E_NO_AUTHENTICATING_AUTHORITY", "No authority could be contacted for authentication (no domain controller)."),
        0x8009_0322: ("SEC_E_WRONG_PRINCIPAL", "The target principal name is incorrect (Kerberos SPN or TLS name)."),
        0x8009_0325: ("SEC_E_UNTRUSTED_ROOT", "The TLS certificate chain was issued by an authority that is not trusted."),
        0x8009_0326: ("SEC_E_ILLEGAL_MESSAGE", "The TLS peer sent a message that could not be read, or ended the handshake with an alert."),
        0x8009_0327: ("SEC_E_CERT_UNKNOWN", "An unknown error occurred while processing a certificate."),
        0x8009_0328: ("SEC_E_CERT_EXPIRED", "The received certificate has expired."),
        0x8009_2004: ("CRYPT_E_NOT_FOUND", "The object or property was not found (often a certificate missing from its store)."),
        0x8009_2012: ("CRYPT_E_NO_REVOCATION_CHECK", "The revocation function could not check the certificate."),
        0x8009_2013: ("CRYPT_E_REVOCATION_OFFLINE", "Revocation could not be checked because the revocation server was offline."),
        // NTSTATUS.
        0xC000_0001: ("STATUS_UNSUCCESSFUL", "The operation failed (generic NTSTATUS)."),
        0xC000_0005: ("STATUS_ACCESS_VIOLATION", "A process touched memory it may not (a crash)."),
        0xC000_000D: ("STATUS_INVALID_PARAMETER", "A parameter is wrong."),
        0xC000_0017: ("STATUS_NO_MEMORY", "Not enough memory."),
        0xC000_0022: ("STATUS_ACCESS_DENIED", "Access denied."),
        0xC000_0034: ("STATUS_OBJECT_NAME_NOT_FOUND", "The named object does not exist."),
        0xC000_005E: ("STATUS_NO_LOGON_SERVERS", "No logon server (domain controller) is available."),
        0xC000_0064: ("STATUS_NO_SUCH_USER", "The user name does not exist."),
        0xC000_006A: ("STATUS_WRONG_PASSWORD", "The password is wrong."),
        0xC000_006D: ("STATUS_LOGON_FAILURE", "The logon failed: unknown user name or bad password."),
        0xC000_0071: ("STATUS_PASSWORD_EXPIRED", "The password has expired."),
        0xC000_0072: ("STATUS_ACCOUNT_DISABLED", "The account is disabled."),
        0xC000_00BB: ("STATUS_NOT_SUPPORTED", "The request is not supported."),
        0xC000_015B: ("STATUS_LOGON_TYPE_NOT_GRANTED", "The user has not been granted this kind of logon."),
        0xC000_0225: ("STATUS_NOT_FOUND", "The object was not found."),
        0xC000_0234: ("STATUS_ACCOUNT_LOCKED_OUT", "The account is locked out after too many failed sign-ins."),
    ]

    /// Facilities of HRESULTs (winerror.h), and the ranges enrollment codes live in.
    static let facilities: [UInt32: String] = [
        1: "RPC", 2: "DISPATCH", 3: "STORAGE", 4: "ITF", 7: "WIN32", 8: "WINDOWS", 9: "SECURITY", 10: "CONTROL", 11: "CERT",
        12: "INTERNET", 15: "SETUPAPI", 16: "SCARD", 17: "COMPLUS", 23: "SXS", 25: "HTTP", 32: "BACKGROUNDCOPY",
        36: "WINDOWSUPDATE", 37: "DIRECTORYSERVICE", 40: "TPM_SERVICES", 41: "TPM_SOFTWARE",
    ]

    public static func isKnown(_ v: UInt32) -> Bool { table[v] != nil }

    /// Lower-cased symbolic name → code, for names written in a text instead of numbers.
    static let byName: [String: UInt32] = Dictionary(table.map { ($0.value.0.lowercased(), $0.key) }, uniquingKeysWith: { a, _ in a })

    /// Whether a value is an error HRESULT or NTSTATUS worth naming when it is spelled as a code (`0x…`).
    public static func isFailure(_ v: UInt32) -> Bool { v >> 28 == 0x8 || v >> 28 == 0xC }

    /// The name and meaning of a code; for an unknown one, what its bits say.
    public static func describe(_ v: UInt32) -> WindowsCode {
        let hex = HexFormat.code(v)
        if let (name, meaning) = table[v] {
            return WindowsCode(code: hex, name: name, meaning: meaning, family: family(v))
        }
        if v >> 20 == 0xCAA || v >> 16 == 0xC103 {
            let what = v >> 20 == 0xCAA ? "Microsoft sign-in (CAA)" : "Autopilot and the Enrollment Status Page"
            return WindowsCode(code: hex, name: nil, meaning: "An error from \(what), code \(v & 0xFFFF).", family: family(v))
        }
        if v >> 28 == 0xC {
            return WindowsCode(code: hex, name: nil, meaning: "An NTSTATUS error (facility \((v >> 16) & 0xFFF), code \(v & 0xFFFF)).", family: "NTSTATUS")
        }
        let facility = (v >> 16) & 0x7FF, number = v & 0xFFFF
        let range: String
        switch v >> 16 {
        case 0x8018: range = "MDM enrollment (MENROLL)"
        case 0x8019: range = "MDM enrollment, HTTP status \(number)"
        case 0x801C: range = "device registration (DSREG)"
        case 0x8007: range = "Win32 error \(number)"
        default:
            if v >> 20 == 0xCAA { range = "Microsoft sign-in (CAA)" }
            else if let name = facilities[facility] { range = "facility \(name), code \(number)" }
            else { range = "facility \(facility), code \(number)" }
        }
        return WindowsCode(code: hex, name: nil, meaning: "An error HRESULT: \(range).", family: family(v))
    }

    /// Which family a code belongs to, from its bits: the enrollment (MENROLL), registration (DSREG), sign-in (CAA)
    /// and Autopilot ranges by their prefixes, Win32 and WinHTTP inside facility 7, NTSTATUS by its severity bits,
    /// anything else by its facility.
    public static func family(_ v: UInt32) -> String {
        switch v >> 16 {
        case 0x8018: return "MENROLL"
        case 0x8019: return "MENROLL (HTTP status)"
        case 0x801C: return "DSREG"
        case 0x8103, 0xC103: return "Autopilot/ESP"
        case 0x8007: return v & 0xFFFF >= 12000 && v & 0xFFFF < 12200 ? "WinHTTP" : "Win32"
        default: break
        }
        if v >> 20 == 0xCAA { return "CAA" }
        if v >> 28 == 0xC { return "NTSTATUS" }
        return facilities[(v >> 16) & 0x7FF] ?? "HRESULT"
    }
}
