// floor-benchmark: the least work any verifier of a metadata file must do, as a yardstick.
//
//   floor-benchmark FILE [FILE...]
//
// For each FILE (a targets.json of a large repository), best of three in one process: read the
// file, one strict validation pass over it (a Notary file in notary's exact encoding: the
// one-pass reader, `NotaryV1.readExactForm`, which checks the whole file without building a tree;
// any other file, a TUF one: the strict parser, `JSONValue(parsing:)`, the least a reader of
// JSON that is not in canonical form must do),
// SHA-256 and SHA-512 over its bytes, and one ECDSA P-256 signature check over bytes of the
// file's size (the signature is made here beforehand, untimed: the check's cost is hashing the
// signed bytes plus one scalar verification, whatever key made it). Scripts/bench-scale.sh
// prints each command's distance from this total.
import Crypto
import Foundation
import Metadata
import TrustCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    exit(1)
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

let files = Array(CommandLine.arguments.dropFirst())
guard !files.isEmpty else { fail("usage: floor-benchmark FILE [FILE...]") }

let key = P256.Signing.PrivateKey()
for path in files {
    guard let sample = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    guard let signature = try? key.signature(for: sample) else { fail("cannot sign") }
    let publicKey = key.publicKey
    var best: [String: Double] = [:]
    let exact = (try? NotaryV1.readExactForm([UInt8](sample), name: path)) != nil
    let parts = ["read", exact ? "validate (one pass)" : "parse (strict JSON)", "sha256", "sha512", "ecdsa p-256 verify"]
    for _ in 0..<3 {
        let clock = ContinuousClock()
        var t = clock.now
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        let bytes = [UInt8](data)
        var times: [Double] = [seconds(clock.now - t)]
        t = clock.now
        if exact {
            do { guard try NotaryV1.readExactForm(bytes, name: path) != nil else { fail("\(path) changed") } } catch { fail("\(path): \(error)") }
        } else {
            do { _ = try JSONValue(parsing: bytes) } catch { fail("\(path) is not strict JSON: \(error)") }
        }
        times.append(seconds(clock.now - t))
        t = clock.now
        _ = SHA256.hash(data: bytes)
        times.append(seconds(clock.now - t))
        t = clock.now
        _ = SHA512.hash(data: bytes)
        times.append(seconds(clock.now - t))
        t = clock.now
        guard publicKey.isValidSignature(signature, for: bytes) else { fail("the signature does not verify") }
        times.append(seconds(clock.now - t))
        for (p, s) in zip(parts, times) { best[p] = min(best[p] ?? .infinity, s) }
    }
    print("floor for \(path) (\(sample.count) bytes), best of 3:")
    func line(_ name: String, _ s: Double) { print("  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: " %8.4f s", s)) }
    for p in parts { line(p, best[p]!) }
    line("total", parts.reduce(0) { $0 + best[$1]! })
}
