import ArgumentParser
import CLISupport
import KeyVault

extension TrustVault {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new vault.",
            discussion: """
                The KDF profile sets the Argon2id cost of every passphrase-sealed key (root keys \
                always use at least 'moderate'). 'moderate', the default, is calibrated on this \
                machine: at least 4 passes over 512 MiB, more until one unlock takes about 1.8 s \
                (at most 10). 'interactive' is for tests and demos.
                """)

        @OptionGroup var global: GlobalOptions

        @Option(help: "Argon2id cost: interactive, moderate or sensitive.")
        var kdf: KDFChoice = .moderate

        func run() throws {
            let context = CLIContext(global)
            var profile = kdf.profile
            var calibration: KDFCalibration?
            if profile == .moderate {
                StepProgress.note("calibrating the KDF on this machine (about 3 seconds)…")
                calibration = try KDFCalibration.calibrate()
                profile = calibration?.profile ?? profile
            }
            let vault = try Vault.create(at: context.vaultPath, profile: profile)
            printOut("Created vault \(vault.path)")
            printOut("KDF profile: \(profile)")
            for line in calibration?.summary ?? [] { printOut(line) }
        }
    }
}
