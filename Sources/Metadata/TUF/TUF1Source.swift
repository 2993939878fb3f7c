public import TrustCore

extension TUF1 {
    /// Where the TUF verifier gets a repository's bytes. The Metadata module reads no files: a
    /// repository directory on disk is `RepositoryStore` (module MetadataStore), a repository
    /// being built or tested is `InMemoryRepository`.
    ///
    /// Names are as a client fetches them (`1.root.json`, `snapshot.json`, `3.targets.json`,
    /// `..%2Fa.json`); target paths are relative to the targets directory (`a/b.txt`,
    /// `<hash>.b.txt`). `metadataLocation` and `targetsLocation` only name the places in messages.
    public protocol RepositorySource: Sendable {
        var metadataLocation: String { get }
        var targetsLocation: String { get }
        /// The file names in the metadata directory; throws when there is no such directory.
        func metadataFileNames() throws(TrustVaultError) -> [String]
        /// A metadata file's bytes, nil when it is absent; throws when it cannot be read (too
        /// large, not a regular file, no permission).
        func metadataFile(_ name: String) throws(TrustVaultError) -> [UInt8]?
        /// A target file's bytes, nil when it is absent.
        func targetFile(_ relativePath: String) throws(TrustVaultError) -> [UInt8]?
    }

    /// A repository held in memory: what a ceremony is about to write, or a test's repository.
    public struct InMemoryRepository: RepositorySource {
        public var metadata: [String: [UInt8]]
        public var targets: [String: [UInt8]]
        public var metadataLocation: String
        public var targetsLocation: String

        public init(metadata: [String: [UInt8]] = [:], targets: [String: [UInt8]] = [:], name: String = "repository") {
            self.metadata = metadata
            self.targets = targets
            metadataLocation = name + "/metadata"
            targetsLocation = name + "/targets"
        }

        public func metadataFileNames() throws(TrustVaultError) -> [String] { metadata.keys.sorted() }
        public func metadataFile(_ name: String) throws(TrustVaultError) -> [UInt8]? { metadata[name] }
        public func targetFile(_ relativePath: String) throws(TrustVaultError) -> [UInt8]? { targets[relativePath] }

        /// Adds `env` under the names a client fetches (`N.root.json` for root; with consistent
        /// snapshots also `N.<role>.json` for the other roles but timestamp).
        public mutating func put(_ env: Envelope, role: String, consistent: Bool) {
            for name in TUF1.fileNames(role: role, version: env.version, consistent: consistent) { metadata[name] = env.encoded }
        }
    }

    /// `N.root.json`.
    public static func rootFileName(_ version: Int64) -> String { "\(version).root.json" }

    /// A non-root role's file name. Role names are untrusted text: the name carries them
    /// percent-encoded as python-tuf fetches them (`TUF1RoleNames.swift`), so `../a` is
    /// `..%2Fa.json`, inside `metadata/`.
    public static func fileName(role: String, version: Int64? = nil) -> String {
        (version.map { "\($0)." } ?? "") + encodedRoleName(role) + ".json"
    }

    /// The names a role's file is written under: root only as `N.root.json`; the others under
    /// their plain name, and with consistent snapshots (not timestamp) also as `N.<role>.json`.
    public static func fileNames(role: String, version: Int64?, consistent: Bool) -> [String] {
        if role == "root" { return version.map { [rootFileName($0)] } ?? [] }
        var names: [String] = []
        if consistent, role != "timestamp", let version { names.append(fileName(role: role, version: version)) }
        names.append(fileName(role: role))
        return names
    }

    /// The root versions among `names` (`N.root.json`, 1 ≤ N ≤ the version cap), ascending.
    public static func rootVersions(in names: [String]) -> [Int64] {
        names.compactMap { name -> Int64? in
            guard name.hasSuffix(".root.json") else { return nil }
            return Int64(name.dropLast(".root.json".count)).flatMap { $0 >= 1 && $0 <= TUF1.maximumVersion ? $0 : nil }
        }.sorted()
    }
}
