import Formats
import Foundation
import Testing
import TestSupport
import TrustCore
@testable import KeyVault

/// `init`'s calibration of the default profile: more passes over 512 MiB on a fast machine,
/// never fewer than `moderate`'s 4, never more than 10; the parameters recorded in the vault
/// and in every record read back, and nothing else accepted.
@Suite("KDF calibration")
struct KDFCalibrationTests {
    @Test func calibratedProfilesStayWithinModeratesBounds() {
        #expect(KDFProfile.moderate(passes: 1) == .moderate)
        #expect(KDFProfile.moderate(passes: 4) == .moderate)
        #expect(KDFProfile.moderate(passes: 7).opsLimit == 7)
        #expect(KDFProfile.moderate(passes: 7).memLimit == KDFProfile.moderate.memLimit)
        #expect(KDFProfile.moderate(passes: 7).name == "moderate")
        #expect(KDFProfile.moderate(passes: 99).opsLimit == KDFProfile.maximumCalibratedOpsLimit)
        // Stronger than the uncalibrated profile, weaker than sensitive's 1 GiB.
        #expect(KDFProfile.moderate(passes: 7).atLeast(.moderate) == .moderate(passes: 7))
        #expect(KDFProfile.moderate(passes: 7).atLeast(.sensitive) == .sensitive)
    }

    @Test func storedParametersAreAProfileOrACalibratedModerate() throws {
        let mem = Int64(KDFProfile.moderate.memLimit)
        for passes in Int64(4)...Int64(KDFProfile.maximumCalibratedOpsLimit) {
            let p = try KDFProfile.stored(opsLimit: passes, memLimit: mem, in: "vault.json")
            #expect(p.name == "moderate" && Int64(p.opsLimit) == passes)
        }
        // One pass more than the bound, a calibrated pass count over another memory size, fewer
        // passes than moderate: all refused before any KDF runs.
        for (ops, mem) in [
            (Int64(KDFProfile.maximumCalibratedOpsLimit) + 1, mem), (5, Int64(KDFProfile.sensitive.memLimit)),
            (3, mem), (6, mem / 2),
        ] {
            #expect(throws: TrustVaultError.corrupt("")) { try KDFProfile.stored(opsLimit: ops, memLimit: mem, in: "k.json") }
        }
    }

    @Test func argon2WorkIsBoundedByTheStrongestProfile() {
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        // 10 passes over 1 GiB: each bound alone holds, the work (passes × memory) does not.
        #expect(throws: TrustVaultError.corrupt("")) {
            _ = try SecretSeal.deriveKey(
                passphrase: Passphrase("x"), salt: salt, opsLimit: KDFProfile.maximumCalibratedOpsLimit,
                memLimit: KDFProfile.sensitive.memLimit)
        }
    }

    @Test func aVaultWithACalibratedProfileSealsAndOpens() throws {
        let dir = TemporaryDirectory("kdf-calibrated")
        let profile = KDFProfile.moderate(passes: 5)
        let vault = try Vault.create(at: dir.sub("vault"), profile: profile)
        let manifest = try JSONValue(parsing: Array(try Data(contentsOf: URL(fileURLWithPath: vault.path + "/vault.json"))))
        #expect(manifest["kdf"]?["opslimit"]?.intValue == 5)
        #expect(manifest["kdf"]?["profile"]?.stringValue == "moderate")
        let reopened = try Vault.open(at: vault.path)
        #expect(reopened.profile == profile)
        let record = try reopened.add(
            PrivateKey.generate(.ecdsa), role: "root", gun: nil, passphrase: Passphrase("root passphrase"))
        let sealed = try String(contentsOfFile: vault.path + "/keys/\(record.id).json", encoding: .utf8)
        #expect(sealed.contains("\"opslimit\":5"))
        _ = try reopened.unlock(record, passphrase: Passphrase("root passphrase"))
    }

    @Test func theLineThroughOneAndThreePassesSplitsPassesFromTheFixedPart() {
        // 0.2 s fixed, 0.25 s a pass.
        let (perPass, fixed) = KDFCalibration.line(one: 0.45, three: 0.95)
        #expect(abs(perPass - 0.25) < 1e-9 && abs(fixed - 0.2) < 1e-9)
        // Noise that breaks the line (3 passes no slower than 1, or more than 3 times slower)
        // falls back to counting the whole 3-pass run as passes: the slow side, fewer passes.
        for (one, three) in [(0.5, 0.5), (0.6, 0.4), (0.2, 0.9)] {
            let (p, f) = KDFCalibration.line(one: one, three: three)
            #expect(abs(p - three / 3) < 1e-9 && f == 0)
        }
    }

    @Test func calibrationMeasuresThisMachine() throws {
        let c = try KDFCalibration.calibrate()
        #expect(c.profile.name == "moderate")
        #expect(c.profile.memLimit == KDFProfile.moderate.memLimit)
        #expect((KDFProfile.moderate.opsLimit...KDFProfile.maximumCalibratedOpsLimit).contains(c.profile.opsLimit))
        #expect(c.perPassSeconds > 0 && c.fixedSeconds >= 0 && c.notaryGuessSeconds > 0)
        // The estimate is the fixed part plus the measured time per pass times the passes chosen.
        #expect(abs(c.unlockSeconds - (c.fixedSeconds + c.perPassSeconds * Double(c.profile.opsLimit))) < 1e-9)
        // More passes only while the estimate stays within the target.
        if c.profile.opsLimit > KDFProfile.moderate.opsLimit {
            #expect(c.unlockSeconds <= KDFCalibration.targetUnlockSeconds + 1e-9)
        }
        #expect(c.summary.first?.contains("\(c.profile.opsLimit) passes over 512 MiB") == true)
    }
}
