import _CryptoExtras
import Foundation

/// The authorities and the TLS certificate kept in the data directory, created on first run.
///
/// Files: `device-ca.pem` / `device-ca-key.pem` (device identities), `tls-ca.pem` / `tls-ca-key.pem` (signs the
/// server certificate; install it on test devices), `tls-cert.pem` / `tls-key.pem`. Key files are mode 0600.
public struct PKIFiles: Sendable {
    public let directory: URL
    public let deviceCA: CertificateAuthority
    public let tlsCA: CertificateAuthority
    public let tlsCertificatePath: String
    public let tlsKeyPath: String
    /// Paths created by this call, for the first-run message.
    public let created: [String]

    public var deviceCAPath: String { directory.appendingPathComponent("device-ca.pem").path }
    public var tlsCAPath: String { directory.appendingPathComponent("tls-ca.pem").path }

    /// Loads what exists and creates what does not. The server certificate is re-issued when the host names it
    /// must cover are not all in the current one (the public URL changed).
    public static func loadOrCreate(directory: URL, hostNames: [String], ipAddresses: [[UInt8]],
                                    organization: String, now: Date) throws(PKIError) -> PKIFiles {
        var created: [String] = []
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw PKIError(.storage, "Cannot create \(directory.path): \(error.localizedDescription)")
        }
        func ca(_ base: String, _ cn: String) throws(PKIError) -> CertificateAuthority {
            let certURL = directory.appendingPathComponent("\(base).pem"), keyURL = directory.appendingPathComponent("\(base)-key.pem")
            if fm.fileExists(atPath: certURL.path) {
                return try CertificateAuthority(certificatePEM: try read(certURL), privateKeyPEM: try read(keyURL))
            }
            let made = try CertificateAuthority.create(commonName: cn, organization: organization, now: now)
            try SecureFile.write(made.privateKeyPEM, to: keyURL, mode: 0o600)
            try SecureFile.write(made.certificatePEM, to: certURL, mode: 0o644)
            created += [certURL.path, keyURL.path]
            return made
        }
        let device = try ca("device-ca", "\(organization) Device Identity CA")
        let tls = try ca("tls-ca", "\(organization) TLS Root CA")

        let certURL = directory.appendingPathComponent("tls-cert.pem"), keyURL = directory.appendingPathComponent("tls-key.pem")
        var needsCert = !fm.fileExists(atPath: certURL.path) || !fm.fileExists(atPath: keyURL.path)
        if !needsCert, let covered = try? coveredNames(certURL) {
            needsCert = !Set(hostNames.map { $0.lowercased() }).isSubset(of: covered)
        }
        if needsCert {
            do {
                let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
                let cert = try tls.issueServerCertificate(publicKey: key.publicKey, hostNames: hostNames,
                                                          ipAddresses: ipAddresses, now: now, validity: 825 * 86400)
                try SecureFile.write(key.pkcs8PEMRepresentation, to: keyURL, mode: 0o600)
                try SecureFile.write(cert.pem + tls.certificatePEM, to: certURL, mode: 0o644)
                created += [certURL.path, keyURL.path]
            } catch let e as PKIError {
                throw e
            } catch {
                throw PKIError(.issuance, "Creating the TLS key failed: \(error).")
            }
        }
        return PKIFiles(directory: directory, deviceCA: device, tlsCA: tls, tlsCertificatePath: certURL.path,
                        tlsKeyPath: keyURL.path, created: created)
    }

    static func read(_ url: URL) throws(PKIError) -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw PKIError(.storage, "Cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func coveredNames(_ url: URL) throws -> Set<String> {
        // The file holds the leaf then the CA: read the first block only.
        guard let der = PEM.decode(try String(contentsOf: url, encoding: .utf8)) else { return [] }
        let cert = try X509Bridge.certificate(der: der)
        return X509Bridge.dnsNames(cert)
    }
}

/// Writes a file atomically with the mode set before any content is visible.
public enum SecureFile {
    public static func write(_ text: String, to url: URL, mode: mode_t) throws(PKIError) {
        try write(Array(text.utf8), to: url, mode: mode)
    }

    /// Writes through a temporary file renamed into place: a reader sees the old file or the whole new one.
    public static func write(_ bytes: [UInt8], to url: URL, mode: mode_t) throws(PKIError) {
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw PKIError(.storage, "Cannot create \(url.path) (errno \(errno)).") }
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(tmp.path, url.path) == 0 else {
            unlink(tmp.path)
            throw PKIError(.storage, "Cannot write \(url.path) (errno \(errno)).")
        }
    }
}
