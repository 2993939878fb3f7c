// KDF benchmark: what unlocking a vault key costs the owner, what one wrong guess costs an
// attacker, beside one guess against a notary key file (PBKDF2-HMAC-SHA1 x2048 + AES-256-CBC),
// measured on the same machine in the same run.
//
//     swift run -c release kdf-benchmark [--quick]

import COpenSSL
import Foundation
import Formats
import KeyVault
import TrustCore

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// One guess against a notary key file: derive the key with PBKDF2-HMAC-SHA1 (2048 iterations,
/// 8-byte salt, 32-byte key) and decrypt the PKCS#8 body with AES-256-CBC, as notary does.
func notaryGuess(passphrase: [UInt8], salt: [UInt8], iv: [UInt8], body: [UInt8]) -> Bool {
    var key = [UInt8](repeating: 0, count: 32)
    _ = passphrase.withUnsafeBufferPointer { p in
        PKCS5_PBKDF2_HMAC_SHA1(
            UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(p.count),
            salt, Int32(salt.count), 2048, 32, &key)
    }
    guard let ctx = EVP_CIPHER_CTX_new() else { return false }
    defer { EVP_CIPHER_CTX_free(ctx) }
    var out = [UInt8](repeating: 0, count: body.count + 16)
    var n: Int32 = 0
    var m: Int32 = 0
    EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), nil, key, iv)
    EVP_DecryptUpdate(ctx, &out, &n, body, Int32(body.count))
    return out.withUnsafeMutableBufferPointer { buffer in
        EVP_DecryptFinal_ex(ctx, buffer.baseAddress! + Int(n), &m) == 1
    }
}

let quick = CommandLine.arguments.contains("--quick")
let base = FileManager.default.temporaryDirectory.path + "/kdf-bench-\(getpid())"
try? FileManager.default.removeItem(atPath: base)
defer { try? FileManager.default.removeItem(atPath: base) }

// Notary baseline: mean over many guesses.
let salt = Sodium.randomBytes(8)
let iv = Sodium.randomBytes(16)
let body = Sodium.randomBytes(144)
let notaryRounds = quick ? 200 : 2000
let notaryTotal = seconds {
    for i in 0..<notaryRounds { _ = notaryGuess(passphrase: Array("guess-\(i)".utf8), salt: salt, iv: iv, body: body) }
}
let notaryGuessSeconds = notaryTotal / Double(notaryRounds)

print("trustvault KDF benchmark (libsodium \(Sodium.version), \(ProcessInfo.processInfo.activeProcessorCount) cores)")
print(
    String(
        format: "notary key file guess (PBKDF2-HMAC-SHA1 x2048 + AES-256-CBC): %.3f ms  (mean of %d)",
        notaryGuessSeconds * 1000, notaryRounds))
print("")
print("profile       Argon2id          unlock (right)   one wrong guess   guess / notary guess   peak RSS")
// The default profile as `trustvault init` records it on this machine (calibrated here, now).
let calibration = try KDFCalibration.calibrate()
let profiles: [(label: String, profile: KDFProfile)] =
    KDFProfile.all.map { ($0.name, $0) } + [("calibrated", calibration.profile)]
var calibratedGuess = 0.0
var calibratedUnlock = 0.0
for (label, profile) in profiles {
    let vault = try Vault.create(at: "\(base)/\(label)", profile: profile)
    let record = try vault.add(
        PrivateKey.generate(.ecdsa), role: "targets", gun: "bench/app",
        passphrase: Passphrase("the right passphrase"))
    let runs = quick ? 1 : (profile == .sensitive ? 3 : 5)
    var unlock: [Double] = []
    var guess: [Double] = []
    for _ in 0..<runs {
        unlock.append(try seconds { _ = try vault.unlock(record, passphrase: Passphrase("the right passphrase")) })
        guess.append(seconds { _ = try? vault.unlock(record, passphrase: Passphrase("a wrong guess")) })
    }
    let u = median(unlock)
    let g = median(guess)
    if label == "calibrated" { (calibratedUnlock, calibratedGuess) = (u, g) }
    let name = label.padding(toLength: 12, withPad: " ", startingAt: 0)
    print(
        name
            + String(
                format: "  %d passes %4d MiB   %8.0f ms        %8.0f ms         %10.0fx          %6.0f MiB",
                profile.opsLimit, profile.memLimit >> 20, u * 1000, g * 1000, g / notaryGuessSeconds, peakRSSMiB()))
}

print("")
print(
    String(
        format:
            "init's calibration: %d passes over 512 MiB (measured %.0f ms a pass + %.0f ms fixed: "
            + "estimated %.2f s per unlock; notary guess %.3f ms in its own measurement)",
        calibration.profile.opsLimit, calibration.perPassSeconds * 1000, calibration.fixedSeconds * 1000,
        calibration.unlockSeconds, calibration.notaryGuessSeconds * 1000))
let ratio = calibratedGuess / notaryGuessSeconds
print(
    String(
        format: "goal: one guess >= 1000x a notary key-file guess with unlock <= 2 s -> %.0fx, unlock %.2f s: ",
        ratio, calibratedUnlock) + (ratio >= 1000 && calibratedUnlock <= 2 ? "met" : "NOT met"))
