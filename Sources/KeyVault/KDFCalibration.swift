public import TrustCore
internal import Formats

/// Calibrates the `moderate` KDF profile on the machine that creates a vault, as LUKS2 does
/// for its Argon2id: the number of passes over 512 MiB is raised until one unlock takes about
/// ``targetUnlockSeconds`` here, never below `moderate`'s 4 passes and never above
/// ``KDFProfile/maximumCalibratedOpsLimit``.
///
/// Beside it, the cost of one guess against a notary key file (PBKDF2-HMAC-SHA1 ×2048 and
/// AES-256-CBC, as notary and docker write them) is measured in the same run, so `init` can say
/// what one wrong guess against this vault costs compared with one against the file it replaces.
/// One wrong guess costs exactly one unlock: Argon2id runs before the authenticated decryption
/// can tell right from wrong.
public struct KDFCalibration: Sendable {
    /// The profile to record in the vault.
    public let profile: KDFProfile
    /// Measured: the time each further pass over 512 MiB adds to one Argon2id run.
    public let perPassSeconds: Double
    /// Measured: the part of one Argon2id run that does not grow with its passes (allocating,
    /// touching and freeing 512 MiB).
    public let fixedSeconds: Double
    /// Expected time of one unlock (and of one wrong guess) with ``profile`` on this machine.
    public var unlockSeconds: Double { fixedSeconds + perPassSeconds * Double(profile.opsLimit) }
    /// Measured: one wrong guess against a notary key file (median).
    public let notaryGuessSeconds: Double

    /// The unlock time calibration aims at: under the 2 s a holder waits at most, with room for
    /// the noise of one short measurement.
    public static let targetUnlockSeconds = 1.8
    /// The goal for one guess against the vault, in guesses against a notary key file.
    public static let goalRatio = 1000.0

    /// How many notary-key-file guesses one guess against this vault costs.
    public var guessRatio: Double { notaryGuessSeconds > 0 ? unlockSeconds / notaryGuessSeconds : 0 }
    /// Whether the goal (≥ 1000×, unlock ≤ 2 s) is met on this machine.
    public var meetsGoal: Bool { guessRatio >= Self.goalRatio && unlockSeconds <= 2.0 }

    public init(
        profile: KDFProfile, perPassSeconds: Double, fixedSeconds: Double, notaryGuessSeconds: Double
    ) {
        self.profile = profile
        self.perPassSeconds = perPassSeconds
        self.fixedSeconds = fixedSeconds
        self.notaryGuessSeconds = notaryGuessSeconds
    }

    /// Measures this machine and returns the calibrated `moderate` profile. Takes about 3 s:
    /// Argon2id over 512 MiB with 1 and with 3 passes, each twice in turn (the faster of each
    /// pair counts, so one slow moment of a busy machine does not skew the line), and a few
    /// hundred PBKDF2 guesses.
    ///
    /// An unlock costs a fixed part (the 512 MiB are allocated and touched afresh each time)
    /// plus a time per pass; the two points give both, so the estimate for more passes is
    /// neither inflated by the fixed part nor short of it.
    public static func calibrate(targetUnlockSeconds target: Double = targetUnlockSeconds) throws(TrustVaultError)
        -> KDFCalibration
    {
        let base = KDFProfile.moderate
        let salt = Sodium.randomBytes(SecretSeal.saltBytes)
        func run(_ passes: UInt64) throws(TrustVaultError) -> Double {
            try seconds { () throws(TrustVaultError) in
                _ = try SecretSeal.deriveKey(
                    passphrase: Passphrase("calibration"), salt: salt, opsLimit: passes, memLimit: base.memLimit)
            }
        }
        var one = Double.infinity
        var three = Double.infinity
        for _ in 0..<2 {
            one = min(one, try run(1))
            three = min(three, try run(3))
        }
        let (perPass, fixed) = line(one: one, three: three)
        let wanted = perPass > 0 ? UInt64(max(1, ((target - fixed) / perPass).rounded(.down))) : base.opsLimit
        let profile = KDFProfile.moderate(passes: wanted)
        return KDFCalibration(
            profile: profile, perPassSeconds: perPass, fixedSeconds: fixed, notaryGuessSeconds: try notaryGuess())
    }

    /// The time per pass and the fixed part, from one run of 1 pass and one of 3. When noise
    /// makes the two points disagree with a line through positive values (the 3-pass run not
    /// slower, or slower by more than three times the 1-pass run), the whole 3-pass time is
    /// taken as passes, which errs on the slow side: fewer passes are chosen, never more.
    static func line(one: Double, three: Double) -> (perPass: Double, fixed: Double) {
        let perPass = (three - one) / 2
        let fixed = one - perPass
        guard perPass > 0, fixed >= 0 else { return (three / 3, 0) }
        return (perPass, fixed)
    }

    /// The median time of one wrong guess against a freshly made notary key file.
    public static func notaryGuess(batches: Int = 5, guessesPerBatch: Int = 40) throws(TrustVaultError) -> Double {
        let pkcs8 = try PrivateKeyDER.notaryPKCS8(try PrivateKey.generate(.ecdsa))
        let file = try NotaryKeyFile.encrypt(pkcs8: pkcs8, passphrase: Passphrase("the owner's passphrase"))
        var perGuess: [Double] = []
        for batch in 0..<batches {
            let total = try seconds {
                for guess in 0..<guessesPerBatch {
                    _ = try? OpenSSLCrypto.decryptPKCS8(file, passphrase: Passphrase("guess \(batch)-\(guess)"))
                }
            }
            perGuess.append(total / Double(guessesPerBatch))
        }
        return perGuess.sorted()[perGuess.count / 2]
    }

    /// What `init` prints.
    public var summary: [String] {
        let ratio = Int(guessRatio.rounded())
        var lines = [
            "KDF calibrated on this machine: \(profile.opsLimit) passes over \(profile.memLimit >> 20) MiB, "
                + "about \(format(unlockSeconds)) s per unlock; one wrong guess costs about \(ratio)× a guess "
                + "against a notary key file (\(format(notaryGuessSeconds * 1000)) ms)."
        ]
        if unlockSeconds > 2.0 {
            lines.append(
                "note: one unlock takes about \(format(unlockSeconds)) s here, over the 2 s aimed at (the machine is busy "
                    + "or slow), so the vault keeps moderate's minimum of \(KDFProfile.moderate.opsLimit) passes")
        } else if guessRatio < Self.goalRatio {
            lines.append(
                "note: the goal is one guess ≥ \(Int(Self.goalRatio))× a notary key-file guess with unlocks under 2 s; "
                    + "this machine reaches \(ratio)×")
        }
        return lines
    }

    private func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    private static func seconds(_ body: () throws(TrustVaultError) -> Void) throws(TrustVaultError) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        try body()
        let elapsed = clock.now - start
        let (s, attoseconds) = elapsed.components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
