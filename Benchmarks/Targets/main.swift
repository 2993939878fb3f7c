// targets-benchmark: the metadata work of a targets-key rotation on a large repository.
//
//   targets-benchmark --current DIR --gun GUN --root-key ROOT.pem
//
// DIR holds the repository as the server serves it (root.json, targets.json, snapshot.json);
// ROOT.pem is the repository's root key as unencrypted PKCS#8 (`trustvault key export --format pem`).
// Timed, in one process: load + full verification of the current metadata, the rotation
// (root v+1 signed by root, targets v+1 with every target re-signed by a new key), encoding, and
// verification of the result. Key unsealing (Argon2id) is deliberately outside: it is the same
// fixed cost whatever the repository's size. Scripts/bench-targets.sh runs it beside notary.
import Crypto
import Foundation
import Formats
import Metadata
import MetadataStore
import TrustCore

func argument(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

guard let dir = argument("--current"), let gun = argument("--gun"), let keyPath = argument("--root-key") else {
    fail("usage: targets-benchmark --current DIR --gun GUN --root-key ROOT.pem")
}

func seconds(_ start: ContinuousClock.Instant) -> String {
    let d = ContinuousClock.now - start
    return String(format: "%.3f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}

do {
    let pem = try String(contentsOfFile: keyPath, encoding: .utf8)
    var raw = [UInt8](try P256.Signing.PrivateKey(pemRepresentation: pem).rawRepresentation)
    let rootKey = try PrivateKey(p256Scalar: SecretBytes(consuming: &raw))
    let newTargets = try PrivateKey.generate(.ecdsa)

    let total = ContinuousClock.now
    var t = ContinuousClock.now
    var current = try MetadataSet.load(directory: dir, gun: gun)
    current.files["timestamp"] = nil
    let before = Verifier.verify(current)
    guard before.isValid else { fail("the current metadata does not verify: \(before.problems[0])") }
    print("load + verify current       \(seconds(t))  (targets.json \(current.files["targets"]?.count ?? 0) bytes)")

    t = ContinuousClock.now
    let result = try Transitions.rotateTargets(current: current, newTargets: newTargets, rootSigners: [rootKey], snapshotSigner: nil)
    print("rotate: re-sign root+targets \(seconds(t))")

    t = ContinuousClock.now
    var after = current
    for (role, bytes) in result.files.files { after.files[role] = bytes }
    after.files["snapshot"] = nil  // the server signs the next snapshot
    let report = Verifier.verify(after, trustedRoot: current.files["root"])
    guard report.isValid else { fail("the rotated metadata does not verify: \(report.problems[0])") }
    guard let (_, targets) = try after.targets(buildTargets: false) else { fail("no targets.json") }
    print("verify rotated               \(seconds(t))  (\(targets.targetCount) targets, version \(targets.version))")
    print("total                        \(seconds(total))")
} catch {
    fail("\(error)")
}
