internal import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore
internal import Foundation

/// What a ceremony wrote and what the operator runs next on the online machine.
public struct CeremonyOutput: Sendable {
    /// The metadata files written under `OUT/tuf/<GUN>/metadata/`, in upload order.
    public var metadataFiles: [(role: String, path: String)] = []
    /// Key files written under `OUT/private/` for the online side.
    public var privateKeyFiles: [(role: String, id: String, path: String)] = []
    /// Keys added to the vault.
    public var newVaultKeys: [KeyRecord] = []
    public var notes: [String] = []
    /// Shell commands to run on the online machine.
    public var onlineCommands: [String] = []
    /// Files of pending outputs (`--pending`) that this output carries on, and their key files.
    var carried = MetadataSet(gun: "")
    var carriedKeyFiles: [String] = []
}

/// The offline ceremonies: every key is obtained through ``Vault/signer(for:secrets:)``, so vault
/// keys and card keys work the same way. Nothing here touches the network: server keys and
/// current metadata arrive as files, results leave as files plus the commands to run online.
public struct Ceremonies: Sendable {
    public let vault: Vault
    public let secrets: SecretSource
    /// Printed in the online commands (`--server URL`, notary's `-s URL`); nil prints a placeholder.
    public var server: String?
    /// The online machine's `--tlscacert FILE`, repeated in the printed online commands.
    public var tlsCAFile: String?
    /// Outputs of earlier ceremonies not yet uploaded (`--pending OUT`), layered in order over
    /// `--current`: the new output builds on them and carries their files, so one upload holds
    /// each changed role once, at its final version.
    public var pending: [String] = []
    /// Changes named on the command line (`--replace-existing`, `--remove-key`, `--lower-threshold`).
    public var consent = CeremonyConsent()
    /// Keys unlocked so far in this ceremony (each is asked for once).
    let unlocked = UnlockedSigners()

    public init(vault: Vault, secrets: SecretSource, server: String? = nil, tlsCAFile: String? = nil) {
        self.tlsCAFile = tlsCAFile
        self.vault = vault
        self.secrets = secrets
        self.server = server
    }

    var serverText: String { server ?? "https://NOTARY-SERVER" }
}
