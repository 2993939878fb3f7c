internal import TrustCore
internal import Formats
internal import Metadata
internal import Foundation

/// Everything a Notary ceremony decided before anything is written: the signed metadata, the
/// keys to seal into the vault, the online keys for `OUT/private`, the keys it retires, the notes
/// and which online step follows. Computing it changes nothing on disk; ``Ceremonies/commit(_:out:output:)``
/// writes it in one ``CeremonyTransaction``.
struct CeremonyPlan {
    enum OnlineStep { case publish, none }

    var gun: String
    /// The new metadata (signed) and the transition's notes and root signature status.
    var result: TransitionResult
    /// New keys sealed into the vault before any output is written.
    var newKeys: [(key: PrivateKey, role: String, gun: String?, passphrase: Passphrase)] = []
    /// Private keys exported to `OUT/private` for the online side, with the export passphrase.
    var onlineKeys: [(key: PrivateKey, role: String)] = []
    var exportPassphrase: Passphrase?
    /// The repository as the ceremony read it (nil for a new repository): the key-status book
    /// compares the roles before and after.
    var current: MetadataSet?
    /// Canonical IDs of keys that stop playing a role here.
    var retired: [String] = []
    /// Whether the key-status book records the change (every ceremony but `delegation reset`).
    var recordsKeyStatus = true
    /// `OUT/previous-root.json`: the root.json in force, when the new root must satisfy it too.
    var previousRoot: [UInt8]?
    /// Notes shown after the transition's own.
    var notes: [String] = []
    var onlineStep = OnlineStep.publish

    init(gun: String, current: MetadataSet?, result: TransitionResult) {
        self.gun = gun
        self.result = result
        self.current = current
    }
}

extension Ceremonies {
    /// Writes `plan` as one transaction: new vault keys first, then the staged `--out` (online
    /// key files, metadata, `previous-root.json`), the key-status book, and the move of the staged
    /// output into `out`. Any failure takes all of it back (keys, book, staged and moved files);
    /// a kill -9 leaves at most unused new vault keys and a staging directory the next run removes,
    /// never a partial `OUT/tuf/<GUN>/metadata`.
    func commit(_ plan: CeremonyPlan, out: String, output: inout CeremonyOutput) throws(TrustVaultError) {
        let gun = plan.gun
        let staging = stage(out)
        try CeremonyTransaction.run(vault: vault) { (t: CeremonyTransaction) throws(TrustVaultError) in
            t.onRollback { AtomicFile.removeCreatedTree(staging) }
            for k in plan.newKeys {
                output.newVaultKeys.append(try t.addKey(k.key, role: k.role, gun: k.gun, passphrase: k.passphrase))
            }
            if let exportPass = plan.exportPassphrase {
                for k in plan.onlineKeys {
                    try writeOnlineKey(k.key, role: k.role, gun: gun, passphrase: exportPass, to: staging, output: &output)
                }
            }
            // The metadata last: once it exists, the keys it names are in the vault and in OUT/private.
            try write(plan.result, to: staging, output: &output)
            if let previous = plan.previousRoot {
                try AtomicFile.create(previous, at: staging + "/previous-root.json", mode: 0o644)
            }
            if plan.recordsKeyStatus {
                try recordKeyStatus(plan.result, gun: gun, retired: plan.retired, current: plan.current, in: t)
            }
            // What the move adds to `out` goes again if the move fails half way.
            let createdOut = AtomicFile.firstMissingDirectory(out)
            let createdMetadata = AtomicFile.firstMissingDirectory(out + "/tuf/" + gun + "/metadata")
            let createdPrivate = AtomicFile.firstMissingDirectory(out + "/private")
            let newPrivate = ((try? AtomicFile.list(staging + "/private")) ?? []).filter { !AtomicFile.exists(out + "/private/" + $0) }
            let previousCreated = !AtomicFile.exists(out + "/previous-root.json")
            t.onRollback {
                if let createdOut { AtomicFile.removeCreatedTree(createdOut); return }
                for name in newPrivate { AtomicFile.removeCreatedTree(out + "/private/" + name) }
                if let createdPrivate { AtomicFile.removeCreatedTree(createdPrivate) }
                if let createdMetadata { AtomicFile.removeCreatedTree(createdMetadata) }
                if previousCreated, plan.previousRoot != nil { AtomicFile.removeCreatedTree(out + "/previous-root.json") }
            }
            try moveStaged(out, output: &output)
        }
        output.notes += plan.notes
        auditOnlineKeys(output, gun: gun)
        if plan.onlineStep == .publish {
            let step = Self.onlineStep(
                out: out, gun: gun, files: output.metadataFiles, rootStatus: plan.result.rootStatus, server: server, tlsCAFile: tlsCAFile)
            output.onlineCommands += step.commands
            output.notes += step.notes
        }
    }
}
