import ArgumentParser
import Foundation

/// Owner-only permissions for the data directory, whatever the umask or whoever created it.
enum DataDirectory {
    /// Private keys that must never have been readable by anyone else.
    static let keyFiles = ["pki/device-ca-key.pem", "pki/tls-ca-key.pem", "pki/tls-key.pem"]

    /// Refuses to run when a CA or TLS key is readable or writable by group or others: whoever could read it can issue
    /// device certificates or impersonate the server, so the admin has to look, not winmdm silently fix it.
    static func refuseExposedKeys(_ dir: URL) throws {
        for name in keyFiles {
            let path = dir.appendingPathComponent(name).path
            guard let mode = self.mode(path), mode & 0o077 != 0 else { continue }
            throw ValidationError("""
                The private key \(path) has mode \(String(mode & 0o777, radix: 8)): other users of this machine can read it. \
                Anyone who read it can issue device certificates or impersonate the server. Make it private with \
                `chmod 600 \(path)` and, if others may have copied it, create new certificates (move the pki directory away and start again).
                """)
        }
    }

    /// Sets the directory and its `pki` folder to 0700 and every file in them to owner-only (0600 or 0700).
    static func restrictModes(_ dir: URL) {
        let fm = FileManager.default
        for folder in [dir, dir.appendingPathComponent("pki")] {
            guard fm.fileExists(atPath: folder.path) else { continue }
            chmod(folder.path, 0o700)
            for name in (try? fm.contentsOfDirectory(atPath: folder.path)) ?? [] {
                let path = folder.appendingPathComponent(name).path
                var st = stat()
                guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                let mode = mode_t(st.st_mode & 0o777)
                if mode & 0o077 != 0 { chmod(path, mode & 0o700) }
            }
        }
    }

    static func mode(_ path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return mode_t(st.st_mode & 0o777)
    }
}
