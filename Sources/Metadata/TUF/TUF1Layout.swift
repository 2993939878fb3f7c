public import TrustCore

extension TUF1 {
    /// A repository directory: `DIR/metadata/` (what clients fetch) and `DIR/targets/`.
    ///
    /// Files are named as python-tuf's ngclient fetches them: `N.root.json`, `timestamp.json`,
    /// and `snapshot.json`, `targets.json`, `<role>.json` — with consistent snapshots also
    /// `N.snapshot.json`, `N.targets.json`, `N.<role>.json` (trustvault writes both names; the
    /// unversioned one is always the newest).
    public struct Layout: Sendable {
        public let dir: String
        public init(_ dir: String) { self.dir = dir }

        public var metadataDir: String { dir + "/metadata" }
        public var targetsDir: String { dir + "/targets" }

        public func rootPath(_ version: Int64) -> String { metadataDir + "/\(version).root.json" }
        /// Role names are untrusted text: the file name carries them percent-encoded as python-tuf
        /// fetches them (`TUF1RoleNames.swift`), so `../a` is `..%2Fa.json`, inside `metadata/`.
        public func path(role: String) -> String { metadataDir + "/\(TUF1.encodedRoleName(role)).json" }
        public func path(role: String, version: Int64) -> String { metadataDir + "/\(version).\(TUF1.encodedRoleName(role)).json" }

        /// The versions of `N.root.json` present, ascending.
        public func rootVersions() throws(TrustVaultError) -> [Int64] {
            guard AtomicFile.isDirectory(metadataDir) else {
                throw .notFound("\(metadataDir) does not exist", recovery: "give the repository directory (the one holding metadata/)")
            }
            return try AtomicFile.list(metadataDir).compactMap { name -> Int64? in
                guard name.hasSuffix(".root.json") else { return nil }
                return Int64(name.dropLast(".root.json".count)).flatMap { $0 >= 1 && $0 <= TUF1.maximumVersion ? $0 : nil }
            }.sorted()
        }

        /// The newest root version present.
        public func latestRoot() throws(TrustVaultError) -> (version: Int64, envelope: Envelope, root: Root) {
            guard let v = try rootVersions().last else {
                throw .notFound("no N.root.json in \(metadataDir)", recovery: "create the repository with 'trustvault tuf init \(dir)'")
            }
            let env = try Envelope.load(rootPath(v))
            return (v, env, try Root(env.signed, name: rootPath(v)))
        }

        /// Writes a non-root role's file (and its versioned copy under consistent snapshots).
        public func write(_ env: Envelope, role: String, consistent: Bool) throws(TrustVaultError) -> [String] {
            var written: [String] = []
            if consistent, role != "timestamp", let v = env.version {
                try AtomicFile.write(env.encoded, to: path(role: role, version: v), mode: 0o644)
                written.append(path(role: role, version: v))
            }
            try AtomicFile.write(env.encoded, to: path(role: role), mode: 0o644)
            written.append(path(role: role))
            return written
        }
    }
}
