import Foundation
import Testing
import TestSupport

/// The ways people write a path on the command line, each run from a working directory.
struct PathForm: Sendable, CustomTestStringConvertible {
    let name: String
    /// The working directory below the test's base directory ("" = the base itself).
    let workingSubdirectory: String
    let directoryPrefix: String
    let directorySuffix: String
    let filePrefix: String

    var testDescription: String { name }

    /// A directory argument for `name` (e.g. `usb/x/out`, `../out`, `out/`).
    func dir(_ name: String) -> String { directoryPrefix + name + directorySuffix }
    /// A file argument for `name` (a trailing slash only ever applies to directories).
    func file(_ name: String) -> String { filePrefix + name }

    static let all: [PathForm] = [
        PathForm(name: "relative", workingSubdirectory: "", directoryPrefix: "", directorySuffix: "", filePrefix: ""),
        PathForm(name: "dot", workingSubdirectory: "", directoryPrefix: "./", directorySuffix: "", filePrefix: "./"),
        PathForm(name: "nested", workingSubdirectory: "", directoryPrefix: "usb/x/", directorySuffix: "", filePrefix: "usb/x/"),
        PathForm(name: "parent", workingSubdirectory: "work", directoryPrefix: "../", directorySuffix: "", filePrefix: "../"),
        PathForm(name: "trailing slash", workingSubdirectory: "", directoryPrefix: "", directorySuffix: "/", filePrefix: ""),
    ]
}

enum PathForms {
    /// A server timestamp key file (see ``ServerKeyFile``) at `directory/name`.
    @discardableResult
    static func timestampKey(in directory: String, name: String = "timestamp.key") throws -> String {
        try ServerKeyFile.write(at: directory + "/" + name)
    }

    /// Staging directories and temporary files a command left anywhere under `root`.
    static func debris(under root: String) -> [String] {
        guard let walk = FileManager.default.enumerator(atPath: root) else { return [] }
        var found: [String] = []
        for case let rel as String in walk {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".trustvault-staging-") || name.hasPrefix(".tmp-") { found.append(rel) }
        }
        return found
    }
}

extension CLIVault {
    /// `key generate` with its own passphrase variables.
    func generate(_ role: String, gun: String? = nil, env: [String: String]) throws -> String {
        var args = ["key", "generate", "--role", role]
        if let gun { args += ["--gun", gun] }
        let r = try run(args, env: env)
        guard r.status == 0 else { throw TestFailure("key generate failed: \(r)") }
        return r.lastLine
    }
}
