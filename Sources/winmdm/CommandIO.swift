import Foundation
import MDMPKI
import Synchronization

/// Where a command's output, input and files go. On the command line: the terminal and the local disk. When a server
/// runs a command for a remote CLI (`--server URL --token T`), everything is captured instead: standard output and
/// error come back to the caller, files the command reads are the ones the caller uploaded (nothing on the server's
/// disk is reachable by path), and files it writes are sent back for the caller to write.
final class CommandIO: Sendable {
    /// The capture of the command this task runs for a remote caller; nil on the command line.
    @TaskLocal static var remote: CommandIO?

    private struct State {
        var out: [UInt8] = []
        var err: [UInt8] = []
        var written: [String: RemoteFile] = [:]
    }
    private let state = Mutex(State())
    /// Files the caller uploaded, by the path it named on its command line.
    let uploaded: [String: [UInt8]]
    /// The caller's standard input, when the command reads it.
    let standardInput: [UInt8]

    init(uploaded: [String: [UInt8]] = [:], standardInput: [UInt8] = []) {
        self.uploaded = uploaded
        self.standardInput = standardInput
    }

    var output: (out: [UInt8], err: [UInt8], files: [String: RemoteFile]) {
        state.withLock { ($0.out, $0.err, $0.written) }
    }

    fileprivate func append(out bytes: some Collection<UInt8>) { state.withLock { $0.out += bytes } }
    fileprivate func append(err bytes: some Collection<UInt8>) { state.withLock { $0.err += bytes } }
    fileprivate func write(_ file: RemoteFile, to path: String) { state.withLock { $0.written[path] = file } }

    // MARK: - What commands call

    /// A line (or more) on standard error: warnings and progress that are not the command's answer.
    static func printError(_ text: String) {
        let line = text.hasSuffix("\n") ? text : text + "\n"
        if let remote { remote.append(err: line.utf8) } else { FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// Bytes on standard output as they are (a file the command prints instead of writing).
    static func writeOutput(_ data: Data) {
        if let remote { remote.append(out: data) } else { FileHandle.standardOutput.write(data) }
    }

    /// The contents of a file the command was given; nil when it cannot be read (or, remotely, was not uploaded).
    static func contents(ofFile path: String) -> Data? {
        if let remote { return remote.uploaded[path].map { Data($0) } }
        return FileManager.default.contents(atPath: path)
    }

    /// Everything on standard input.
    static func readStandardInput() -> Data {
        if let remote { return Data(remote.standardInput) }
        return FileHandle.standardInput.readDataToEndOfFile()
    }

    /// One line of standard input without its newline, nil at the end.
    static func readLine() -> String? {
        guard let remote else { return Swift.readLine(strippingNewline: true) }
        let text = String(decoding: remote.standardInput, as: UTF8.self)
        return text.isEmpty ? nil : String(text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// Writes a file the command produces (owner-only when `mode` says so).
    static func write(_ data: Data, to path: String, mode: Int = 0o644) throws {
        if let remote { return remote.write(RemoteFile(data: data, mode: mode), to: path) }
        try SecureFile.write([UInt8](data), to: URL(fileURLWithPath: path), mode: mode_t(mode))
    }

}

/// A file a remotely run command wrote, for the caller to write where it asked.
struct RemoteFile: Codable, Sendable, Equatable {
    var data: Data
    var mode: Int
}

/// The command's output: this module's `print` goes where `CommandIO` says (the terminal, or a remote caller).
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    let text = items.map { "\($0)" }.joined(separator: separator) + terminator
    if let remote = CommandIO.remote { remote.append(out: text.utf8) } else { Swift.print(text, terminator: "") }
}
