import Foundation

/// Reads the captured samples and golden files kept under Tests/Fixtures.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func sample(_ prefix: String) throws -> [UInt8] {
        let dir = root.appendingPathComponent("samples")
        let name = try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasPrefix(prefix + "-") }
        guard let name else { throw CocoaError(.fileNoSuchFile) }
        return [UInt8](try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    static func sampleText(_ prefix: String) throws -> String { String(decoding: try sample(prefix), as: UTF8.self) }

    /// Compares with a golden file; WINMDM_UPDATE_GOLDEN=1 rewrites it instead.
    static func golden(_ name: String, _ actual: String) throws -> (expected: String, actual: String) {
        let url = root.appendingPathComponent("golden").appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["WINMDM_UPDATE_GOLDEN"] == "1" {
            try actual.write(to: url, atomically: true, encoding: .utf8)
        }
        return (try String(contentsOf: url, encoding: .utf8), actual)
    }
}
