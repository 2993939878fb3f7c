internal import TrustCore
internal import Formats

/// The files a transition produced (only the changed ones, ready to upload) and notes for
/// the operator (for example "needs one more root signature").
public struct TransitionResult: Sendable {
    public var files: MetadataSet
    public var notes: [String] = []
    /// Whether the server is expected to sign the snapshot (no snapshot.json in `files`).
    public var serverSignsSnapshot: Bool
    /// Where a new root.json stands against its own and the previous root's thresholds.
    public var rootStatus: RootSignatureStatus?

    public init(files: MetadataSet, notes: [String] = [], serverSignsSnapshot: Bool, rootStatus: RootSignatureStatus? = nil) {
        self.files = files
        self.notes = notes
        self.serverSignsSnapshot = serverSignsSnapshot
        self.rootStatus = rootStatus
    }
}

/// How many valid signatures a root.json carries against its own root role and, for a rotation,
/// against the previous root's role (notary's client and server require both thresholds).
public struct RootSignatureStatus: Sendable {
    public var version: Int
    public var have: Int
    public var need: Int
    /// Canonical IDs of the root keys whose signature is still missing.
    public var missing: [String]
    public var previousVersion: Int?
    public var previousHave = 0
    public var previousNeed = 0
    public var previousMissing: [String] = []

    public var complete: Bool { have >= need && (previousVersion == nil || previousHave >= previousNeed) }

    public static func of(_ env: SignedMetadata, root: Root, previous: Root?) -> RootSignatureStatus {
        let counts = env.rootStepCounts(previous: ((previous ?? root).role(.root), (previous ?? root).keys), own: (root.role(.root), root.keys))
        func summary(_ c: ThresholdCount, _ r: Root) -> (Int, Int, [String]) {
            (c.valid.count, c.role.threshold, c.missing.compactMap { r.keys[$0]?.displayID })
        }
        let (have, need, missing) = summary(counts.own, root)
        var status = RootSignatureStatus(version: root.version, have: have, need: need, missing: missing)
        if let previous {
            (status.previousHave, status.previousNeed, status.previousMissing) = summary(counts.previous, previous)
            status.previousVersion = previous.version
        }
        return status
    }

    static func words(_ n: Int) -> String {
        ["no", "one", "two", "three", "four", "five"].indices.contains(n) ? ["no", "one", "two", "three", "four", "five"][n] : "\(n)"
    }

    /// "new root v2: 1 of 2 signatures; previous root v1: 1 of 2 — needs one more from …".
    public var summary: String {
        var text = "new root v\(version): \(min(have, need)) of \(need) signatures"
        if let previousVersion { text += "; previous root v\(previousVersion): \(min(previousHave, previousNeed)) of \(previousNeed)" }
        var needs: [String] = []
        if have < need {
            needs.append("\(Self.words(need - have)) more from \(missing.map { String($0.prefix(12)) }.joined(separator: ", ")) (new root keys)")
        }
        if let previousVersion, previousHave < previousNeed {
            needs.append(
                "\(Self.words(previousNeed - previousHave)) more from \(previousMissing.map { String($0.prefix(12)) }.joined(separator: ", ")) (root keys of v\(previousVersion))"
            )
        }
        return needs.isEmpty ? text + " — complete" : text + " — needs " + needs.joined(separator: " and ")
    }
}
