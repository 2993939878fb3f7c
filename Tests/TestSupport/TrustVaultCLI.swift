import Foundation
import Crypto

/// Runs the built `trustvault` binary (and finds the other products next to it).
public enum TrustVaultCLI {
    /// The build products directory (`.build/<triple>/debug`): where the test runner lives.
    public static var productsDirectory: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The runner is `<products>/trustvaultPackageTests.xctest` (a file on Linux).
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("trustvault").path) {
            url.deleteLastPathComponent()
        }
        return url.path
    }

    public static var binary: String { productsDirectory + "/trustvault" }

    /// Runs `trustvault ARGS` with the given environment (on top of a scrubbed base).
    @discardableResult
    public static func run(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil, directory: String? = nil
    ) throws -> ProcessResult {
        try Run.program(binary, arguments, environment: environment, stdin: stdin, directory: directory)
    }
}

/// Temporary directories removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "trustvault-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func sub(_ name: String) -> String { path + "/" + name }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A fingerprint of every file (path, mode, bytes) under a directory: equal fingerprints mean
/// the tree is byte-for-byte unchanged. The lock file and audit log can be excluded.
public func treeFingerprint(_ root: String, excluding: Set<String> = []) -> String {
    var lines: [String] = []
    let fm = FileManager.default
    guard let enumerator = fm.enumerator(atPath: root) else { return "missing" }
    for case let rel as String in enumerator {
        if excluding.contains(rel) || excluding.contains((rel as NSString).lastPathComponent) { continue }
        let full = root + "/" + rel
        let attributes = (try? fm.attributesOfItem(atPath: full)) ?? [:]
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        var isDir: ObjCBool = false
        _ = fm.fileExists(atPath: full, isDirectory: &isDir)
        if isDir.boolValue {
            lines.append("\(rel)/ \(String(mode, radix: 8))")
        } else {
            let data = fm.contents(atPath: full) ?? Data()
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            lines.append("\(rel) \(String(mode, radix: 8)) \(digest)")
        }
    }
    return lines.sorted().joined(separator: "\n")
}

/// Whether CI asked for every peer to be present (`CI=true`).
public var runningInCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// The path of a required external program; throws if it is missing (tests that need a peer
/// fail loudly rather than skip).
public func requireTool(_ name: String, package: String) throws -> String {
    if let path = Run.which(name) { return path }
    throw TestFailure("\(name) is not installed; install the Debian package '\(package)' (the CI script does)")
}
