// One harness per parser. Each feeds the bytes to the parser the CLI uses and lets every thrown
// TrustVaultError go: the fuzzer looks for traps (overflow, bounds), sanitizer reports, hangs
// and memory blow-ups, never for a particular verdict.
internal import Foundation
internal import TrustCore
internal import Formats
internal import Metadata
internal import MetadataStore
internal import SmartCard
internal import KeyVault

public struct FuzzTarget: Sendable {
    public let name: String
    public let run: @Sendable ([UInt8]) -> Void

    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "json", run: fuzzJSON),
        FuzzTarget(name: "pem", run: fuzzPEM),
        FuzzTarget(name: "keyfile", run: fuzzKeyFile),
        FuzzTarget(name: "pkcs8", run: fuzzPKCS8),
        FuzzTarget(name: "certificate", run: fuzzCertificate),
        FuzzTarget(name: "bundle", run: fuzzBundle),
        FuzzTarget(name: "metadata", run: fuzzMetadata),
        FuzzTarget(name: "tuf", run: fuzzTUF),
        FuzzTarget(name: "backup-header", run: fuzzBackupHeader),
        FuzzTarget(name: "backup-payload", run: fuzzBackupPayload),
        FuzzTarget(name: "key-record", run: fuzzKeyRecord),
        FuzzTarget(name: "share", run: fuzzShares),
        FuzzTarget(name: "apdu", run: fuzzAPDU),
    ]
}

/// Splits an input into parts at 0x00 bytes (metadata files, share files, card replies).
func parts(_ bytes: [UInt8], max: Int) -> [[UInt8]] {
    Array(bytes.split(separator: 0, maxSplits: max - 1, omittingEmptySubsequences: false).map(Array.init).prefix(max))
}

func fuzzJSON(_ bytes: [UInt8]) {
    guard let value = try? JSONValue(parsing: bytes) else { return }
    // What parses must re-encode canonically and parse back to the same value.
    let canonical = value.canonicalBytes
    guard let again = try? JSONValue(parsing: canonical), again == value else {
        fatalError("canonical JSON did not round-trip")
    }
}

func fuzzPEM(_ bytes: [UInt8]) {
    guard let blocks = try? PEM.parse(bytes, source: "fuzz.pem") else { return }
    for block in blocks { _ = PEM.encode(block) }
}

let fuzzPassphrase = Passphrase("fuzz-passphrase")

func fuzzKeyFile(_ bytes: [UInt8]) {
    // One passphrase attempt per block (what TRUSTVAULT_IMPORT_PASSPHRASE gives).
    let report = KeyFileReader.read(
        bytes: bytes, source: "fuzz.key", defaults: KeyImportDefaults(role: "targets", gun: "example.com/fuzz"),
        passphrase: { request in request.attempt == 0 ? fuzzPassphrase : nil })
    for entry in report.entries { _ = entry.keyID }
    for refusal in report.refusals { _ = refusal.description }
}

func fuzzPKCS8(_ bytes: [UInt8]) {
    _ = try? PrivateKeyDER.parsePKCS8(bytes)
    _ = try? PrivateKeyDER.parseSEC1(bytes)
    _ = try? PrivateKeyDER.parsePKCS1(bytes)
    _ = try? PrivateKeyDER.parseNotaryEd25519(bytes)
    _ = try? OpenSSLCrypto.decryptPKCS8(bytes, passphrase: fuzzPassphrase)
}

func fuzzCertificate(_ bytes: [UInt8]) {
    if let info = try? CertificateInfo(derEncoded: bytes) {
        _ = try? info.checkValidity()
    }
    _ = try? CardCertificate.publicKey(ofCertificate: bytes)
    if let infos = try? CertificateInfo.parseAll(pem: bytes, source: "fuzz-cert.pem") {
        for info in infos { _ = try? info.checkValidity() }
    }
    if let text = String(validating: bytes, as: UTF8.self), let key = try? TUFKey(certificatePEM: text) {
        var warnings: [String] = []
        try? Verifier.checkRootCertificate(key, gun: "example.com/fuzz", now: .now(), warnings: &warnings)
    }
}

/// A scratch directory in memory-backed storage, one per process.
let scratch: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let dir = "\(base)/trustvault-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: "/dev/shm/trustvault-fuzz-\(getpid())") }
    return dir
}()

func fuzzBundle(_ bytes: [UInt8]) {
    let path = scratch + "/bundle.zip"
    FileManager.default.createFile(atPath: path, contents: Data(bytes))
    let report = ClientBundle.read(
        path, defaults: KeyImportDefaults(role: "targets/ci", gun: nil),
        passphrase: { request in request.attempt == 0 ? fuzzPassphrase : nil })
    for refusal in report.refusals { _ = refusal.description }
}

let metadataRoles = ["root", "targets", "snapshot", "timestamp", "targets/releases"]

func fuzzMetadata(_ bytes: [UInt8]) {
    var files: [String: [UInt8]] = [:]
    for (role, part) in zip(metadataRoles, parts(bytes, max: metadataRoles.count)) where !part.isEmpty {
        files[role] = part
        _ = try? SignedMetadata(parsing: part, name: role + ".json")
        checkExactFormAgreesWithTheStrictParser(part)
    }
    let set = MetadataSet(gun: "example.com/ref", files: files)
    let report = Verifier.verify(set)
    _ = "\(report)"
    _ = try? set.root()
    _ = try? set.targets()
}

/// Differential check, the one verdict this harness looks at: a file the one-pass reader accepts
/// (`NotaryV1.readExactForm`) must be one the strict parser reads to the same tree and signed
/// bytes, and that notary's encoder writes back byte for byte. A disagreement traps, so the
/// fuzzer reports it.
func checkExactFormAgreesWithTheStrictParser(_ part: [UInt8]) {
    guard let fast = (try? NotaryV1.readExactForm(part, name: "f")) ?? nil else { return }
    guard let doc = try? JSONValue(parsing: part), let signed = doc["signed"], let sigs = doc["signatures"]?.arrayValue else {
        fatalError("the one-pass reader accepted a file the strict parser refuses")
    }
    let signatures = sigs.enumerated().compactMap { try? NotaryV1.parseSignature($0.element, index: $0.offset, name: "f") }
    precondition(fast.signed == signed && fast.signatures == signatures, "the one-pass reader read a different tree")
    precondition(Array(part[fast.canonicalSigned]) == signed.canonicalBytes, "the one-pass reader found other signed bytes")
    precondition(NotaryV1.envelopeBytes(signed: signed, canonical: nil, signatures: signatures) == part, "not in notary's exact form")
    if let t = try? Targets(json: fast.signed, name: "f"), let built = try? Targets(json: signed, name: "f") {
        precondition(t.targets == built.targets, "the target table read other entries")
    }
}

/// The same differential check for TUF files in plain form (`TUF1.readExactForm`): the same tree,
/// signatures and OLPC canonical signed bytes as the strict parser, the same target entries and
/// the same indented writing.
func checkPlainFormAgreesWithTheStrictParser(_ part: [UInt8]) {
    guard let fast = (try? TUF1.readExactForm(part, name: "f")) ?? nil else { return }
    guard let doc = try? JSONValue(parsing: part), let signed = doc["signed"], let sigs = doc["signatures"]?.arrayValue else {
        fatalError("the plain-form reader accepted a file the strict parser refuses")
    }
    let signatures = sigs.enumerated().compactMap { try? TUF1.parseSignature($0.element, index: $0.offset, name: "f") }
    precondition(fast.signed == signed && fast.signatures == signatures, "the plain-form reader read a different tree")
    precondition(Array(fast.signedBuffer[fast.canonicalSigned]) == TUF1.Canonical.bytes(signed), "the plain-form reader made other signed bytes")
    precondition(TUF1.Pretty.bytes(fast.signed) == TUF1.Pretty.bytes(signed), "the plain form re-indents differently")
    if let fastTargets = fast.signed["targets"], let treeTargets = signed["targets"] {
        let a = TUF1.targetEntries(fastTargets), b = TUF1.targetEntries(treeTargets)
        precondition(
            a?.map(\.name) == b?.map(\.name) && a?.map(\.length) == b?.map(\.length) && a?.map(\.hashes) == b?.map(\.hashes),
            "the plain target entries differ from the tree's")
    }
}

let tufFiles = ["1.root.json", "timestamp.json", "snapshot.json", "targets.json", "2.root.json"]

/// TUF 1.0 metadata (1.root, timestamp, snapshot, targets, 2.root; split at 0x00) through the
/// client workflow `tuf verify` runs.
func fuzzTUF(_ bytes: [UInt8]) {
    let dir = scratch + "/tuf"
    let metadata = dir + "/metadata"
    try? FileManager.default.removeItem(atPath: dir)
    try? FileManager.default.createDirectory(atPath: metadata, withIntermediateDirectories: true)
    for (name, part) in zip(tufFiles, parts(bytes, max: tufFiles.count)) where !part.isEmpty {
        FileManager.default.createFile(atPath: metadata + "/" + name, contents: Data(part))
        checkPlainFormAgreesWithTheStrictParser(part)
        if let envelope = try? TUF1.Envelope(parsing: part, name: name), name.hasSuffix("root.json") {
            _ = try? TUF1.Root(envelope.signed, name: name)
        }
    }
    var verifier = TUF1.Verifier(directory: dir)
    let report = verifier.verify()
    _ = report.problems.count + report.passed.count
}

func fuzzBackupHeader(_ bytes: [UInt8]) {
    guard let (header, _) = try? BackupFile.parseHeader(bytes, file: "fuzz.tvbackup") else { return }
    _ = header.json.canonicalBytes
}

func fuzzBackupPayload(_ bytes: [UInt8]) {
    guard let entries = try? BackupFile.decodePayload(bytes, file: "fuzz.tvbackup") else { return }
    _ = try? Backup.validate(entries, file: "fuzz.tvbackup")
}

func fuzzKeyRecord(_ bytes: [UInt8]) {
    // The file name is taken from the record's own ID so that the checks behind it are reached.
    let name = (try? JSONValue(parsing: bytes))?["public"]?["id"]?.stringValue ?? "x"
    _ = try? Vault.checkRecord(bytes, file: "keys/\(name).json", fileName: name + ".json")
}

func fuzzShares(_ bytes: [UInt8]) {
    var shares: [(file: String, share: BackupShare)] = []
    for (i, part) in parts(bytes, max: 4).enumerated() {
        if let share = try? BackupShare.parse(String(decoding: part, as: UTF8.self), file: "share-\(i).txt") {
            shares.append(("share-\(i).txt", share))
        }
    }
    guard let first = shares.first?.share else { return }
    let header = BackupHeader(
        formatVersion: BackupHeader.currentVersion, backupID: first.backupID, created: "2026-01-01T00:00:00Z",
        keyMode: .shares(threshold: first.threshold, count: first.count), keyCheck: [UInt8](repeating: 0, count: 32))
    _ = try? ShareSet.combine(shares, header: header, backupFile: "fuzz.tvbackup")
}

/// A card whose replies (data ‖ SW1 SW2) come from the input, one per APDU, split at 0x00 0x00 0x00.
final class FuzzCard: APDUTransport {
    var replies: [[UInt8]]
    init(_ bytes: [UInt8]) {
        var out: [[UInt8]] = []
        var current: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if i + 2 < bytes.count, bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 0 {
                out.append(current)
                current = []
                i += 3
            } else {
                current.append(bytes[i])
                i += 1
            }
        }
        out.append(current)
        replies = out.reversed()
    }
    func transmit(_ apdu: [UInt8]) throws(TrustVaultError) -> [UInt8] {
        guard let reply = replies.popLast() else { throw .invalid("no more replies") }
        return reply
    }
}

func fuzzAPDU(_ bytes: [UInt8]) {
    _ = TLV.parse(bytes)
    let session = PIVSession(transport: FuzzCard(bytes))
    try? session.select()
    _ = try? session.serial()
    _ = try? session.version()
    _ = try? session.pinStatus()
    _ = try? session.pukStatus()
    _ = try? session.managementKeyInfo()
    for slot in [PIVSlot.signature, PIVSlot.authentication] {
        _ = try? session.slotMetadata(slot)
        _ = try? session.slotPublicKey(slot)
        _ = try? session.readCertificate(slot: slot)
        _ = try? session.attest(slot: slot)
    }
    _ = try? session.signP256(slot: .signature, message: [1, 2, 3])
    _ = try? session.signEd25519(slot: .signature, message: [1, 2, 3])
}
