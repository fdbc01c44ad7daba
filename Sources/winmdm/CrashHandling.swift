import Foundation

/// A crashing server must exit at once so its supervisor (systemd's `Restart=on-failure`) can start it again.
///
/// Swift's runtime backtracer, on by default on Linux, symbolicates the whole process before exiting; on this binary
/// that freezes a crashed server for tens of seconds while it holds its port. The runtime reads its setting only at
/// start, so `serve` re-executes itself once with a fast setting (an unsymbolicated trace of the crashed thread)
/// unless the admin chose one with `SWIFT_BACKTRACE`.
enum CrashHandling {
    static let serverSetting = "enable=yes,interactive=no,symbolicate=off,threads=crashed,registers=none,images=none"

    static func prepare(arguments: [String]) {
        #if os(Linux)
        guard arguments.count > 1, arguments[1] == "serve", getenv("SWIFT_BACKTRACE") == nil else { return }
        setenv("SWIFT_BACKTRACE", serverSetting, 1)
        let argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        // execv returned: carry on in this process with the default backtracer rather than not at all.
        #endif
    }
}
