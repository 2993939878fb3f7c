import ArgumentParser
import Foundation
import KeyVault
import Metadata
import TrustCore

extension TrustVault {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a repository's metadata offline.",
            discussion: """
                Checks signatures and thresholds, root certificates (CN, validity, encoding), expiry, \
                versions against --root (an older, trusted root.json), snapshot and timestamp hashes, \
                byte-exact encoding, and delegation names and paths. Exit 0 only if everything holds.
                """)

        @Argument(help: "A notary cache directory (root.json …) or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Option(help: ArgumentHelp("A previously trusted root.json the metadata must chain to.", valueName: "file")) var root: String?

        func run() throws {
            let set = try MetadataSet.load(directory: dir, gun: gun)
            let trusted = try root.map { (p: String) throws(TrustVaultError) in try AtomicFile.read(p) }
            let report = Verifier.verify(set, trustedRoot: trusted)
            for line in report.passed { printOut("ok: \(line)") }
            for w in report.warnings { printOut("warning: \(w)") }
            if let first = report.problems.first {
                for p in report.problems.dropFirst() { TrustVault.writeError("problem: \(p)") }
                throw TrustVaultError.verification(
                    first, recovery: report.problems.count > 1 ? "\(report.problems.count) problems in total; the others are listed above" : nil)
            }
            printOut("Verified: \(gun) in \(dir)")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show signed tags, signers, administrative keys and expiries (like 'docker trust inspect --pretty').")

        @Argument(help: "A notary cache directory or trust directory.") var dir: String
        @Option(help: "The repository.") var gun: String
        @Flag(help: "Print JSON for scripts.") var json = false

        func run() throws {
            let report = try InspectReport(try MetadataSet.load(directory: dir, gun: gun))
            if json {
                printOut(report.json.canonicalString)
            } else {
                print(report.pretty, terminator: "")
            }
        }
    }
}
