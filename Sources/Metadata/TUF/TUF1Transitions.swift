public import TrustCore

extension TUF1 {
    /// Pure changes to TUF 1.0 metadata: each takes the `signed` part (or an envelope) and returns
    /// the changed one, keeping every field it does not change (unknown fields included). They
    /// read no file and sign nothing; the TUF ceremonies sign and write what they return.
    public enum Transitions {
        // MARK: Version and expiry

        /// The version after `version`: one more, held at ``TUF1/maximumVersion`` (and a negative
        /// version, which the verifier refuses, goes to the cap too).
        public static func nextVersion(after version: Int64) -> Int64 {
            version >= 0 && version < TUF1.maximumVersion ? version + 1 : TUF1.maximumVersion
        }

        /// `signed` with `version` and `expires` set.
        public static func renewed(_ signed: JSONValue, version: Int64, expires: String) -> JSONValue {
            var s = signed
            s["version"] = .integer(version)
            s["expires"] = .string(expires)
            return s
        }

        /// `env` for its next version: version+1, the new expiry, no signatures (they covered the old one).
        public static func bumped(_ env: Envelope, expires: String) -> Envelope {
            var e = env
            e.signatures = []
            e.signed = renewed(env.signed, version: nextVersion(after: env.version ?? 0), expires: expires)
            return e
        }

        // MARK: Root keys and thresholds

        /// Root `signed` whose `role` is signed by exactly `keys` with `threshold`: the keys are
        /// added to `keys`, keys no role uses any more leave it (sorted by key ID, as written).
        public static func replacingRoleKeys(
            _ signed: JSONValue, role: String, keys new: [(id: String, key: Key)], threshold: Int
        ) throws(TrustVaultError) -> JSONValue {
            guard TUF1.Root.roleNames.contains(role) else { throw .invalid("\(role) is not a top-level role") }
            guard threshold >= 1, threshold <= new.count else {
                throw .invalid("a threshold of \(threshold) with \(new.count) key(s) could never be met")
            }
            let root = try TUF1.Root(signed, name: "root.json")
            var keys = root.keys
            var roles = root.roles
            roles[role] = RoleKeys(keyIDs: new.map(\.id), threshold: threshold)
            for k in new { keys[k.id] = k.key }
            let inUse = Set(roles.values.flatMap(\.keyIDs))
            for id in keys.keys where !inUse.contains(id) { keys[id] = nil }
            var s = signed
            var keyJSON = JSONValue.object([])
            for (id, k) in keys.sorted(by: { $0.key < $1.key }) { keyJSON[id] = k.json }
            s["keys"] = keyJSON
            var roleJSON = s["roles"] ?? .object([])
            roleJSON[role] = .obj(["keyids": .array(new.map { .string($0.id) }), "threshold": .integer(Int64(threshold))])
            s["roles"] = roleJSON
            return s
        }

        /// Root `signed` with `key` (listed as `id`) added to `role`'s keys; the threshold stays.
        public static func addingKey(_ signed: JSONValue, role: String, id: String, key: Key) throws(TrustVaultError) -> JSONValue {
            let root = try TUF1.Root(signed, name: "root.json")
            let current = root.role(role)
            guard !current.keyIDs.contains(id) else { throw .invalid("key \(id.prefix(12)) already is a \(role) key") }
            var keys = current.keyIDs.compactMap { k in root.keys[k].map { (id: k, key: $0) } }
            keys.append((id, key))
            return try replacingRoleKeys(signed, role: role, keys: keys, threshold: current.threshold)
        }

        /// Root `signed` with key `id` no longer one of `role`'s keys (and gone from `keys` when no
        /// other role uses it); refuses to leave fewer keys than the threshold.
        public static func revokingKey(_ signed: JSONValue, role: String, id: String) throws(TrustVaultError) -> JSONValue {
            let root = try TUF1.Root(signed, name: "root.json")
            let current = root.role(role)
            guard current.keyIDs.contains(id) else { throw .notFound("key \(id.prefix(12)) is not a \(role) key") }
            let keys = current.keyIDs.filter { $0 != id }.compactMap { k in root.keys[k].map { (id: k, key: $0) } }
            return try replacingRoleKeys(signed, role: role, keys: keys, threshold: current.threshold)
        }

        /// Root `signed` with `role`'s threshold set (between 1 and its number of keys).
        public static func settingThreshold(_ signed: JSONValue, role: String, threshold: Int) throws(TrustVaultError) -> JSONValue {
            let root = try TUF1.Root(signed, name: "root.json")
            let current = root.role(role)
            let keys = current.keyIDs.compactMap { k in root.keys[k].map { (id: k, key: $0) } }
            return try replacingRoleKeys(signed, role: role, keys: keys, threshold: threshold)
        }

        // MARK: Delegations

        /// The `delegations` object for these keys (sorted by key ID) and roles (in order).
        public static func delegationsJSON(keys: [String: Key], roles: [Delegation]) -> JSONValue {
            var k = JSONValue.object([])
            for (id, key) in keys.sorted(by: { $0.key < $1.key }) { k[id] = key.json }
            return .obj(["keys": k, "roles": .array(roles.map(\.json))])
        }

        /// Targets `signed` delegating to `delegation` with `keys` (a role of that name is replaced
        /// in place, a new one goes last).
        public static func delegating(
            _ signed: JSONValue, to delegation: Delegation, keys new: [(id: String, key: Key)], name: String = "targets.json"
        ) throws(TrustVaultError) -> JSONValue {
            guard delegation.role.threshold >= 1, delegation.role.threshold <= delegation.role.keyIDs.count else {
                throw .invalid("a threshold of \(delegation.role.threshold) with \(delegation.role.keyIDs.count) key(s) could never be met")
            }
            var (keys, roles) = try TUF1.delegations(signed, name: name)
            if let i = roles.firstIndex(where: { $0.name == delegation.name }) { roles[i] = delegation } else { roles.append(delegation) }
            for k in new { keys[k.id] = k.key }
            var s = signed
            s["delegations"] = delegationsJSON(keys: keys, roles: roles)
            return s
        }

        /// Targets `signed` without the delegation to `role`; keys no remaining role uses go, and
        /// `delegations` goes when no role is left.
        public static func undelegating(_ signed: JSONValue, role: String, name: String = "targets.json") throws(TrustVaultError) -> JSONValue {
            var (keys, roles) = try TUF1.delegations(signed, name: name)
            guard roles.contains(where: { $0.name == role }) else { throw .notFound("\(name) does not delegate to \(role)") }
            roles.removeAll { $0.name == role }
            let inUse = Set(roles.flatMap(\.role.keyIDs))
            for id in keys.keys where !inUse.contains(id) { keys[id] = nil }
            var s = signed
            s["delegations"] = roles.isEmpty ? nil : delegationsJSON(keys: keys, roles: roles)
            return s
        }

        // MARK: Targets

        /// One entry of `targets`: a target path, its length and SHA-256.
        public struct TargetFile: Sendable, Equatable {
            public var name: String
            public var length: Int64
            public var sha256: String
            public init(name: String, length: Int64, sha256: String) {
                self.name = name
                self.length = length
                self.sha256 = sha256
            }
        }

        /// Targets `signed` with these entries added (an entry of the same path is replaced).
        public static func addingTargets(_ signed: JSONValue, _ files: [TargetFile]) -> JSONValue {
            if let merged = addingPlainTargets(signed, files) { return merged }
            var s = signed
            var members = s["targets"]?.objectValue ?? []
            // One index of the existing paths (by UTF-8 bytes, as JSONValue compares keys): adding
            // 10,000 files to a 100,000-target role is then linear, not 10,000 scans and copies.
            var index = Self.memberIndex(members)
            for f in files {
                let value = JSONValue.obj(["length": .integer(f.length), "hashes": .obj(["sha256": .string(f.sha256)])])
                let key = Array(f.name.utf8)
                if let i = index[key] {
                    members[i].value = value
                } else {
                    index[key] = members.count
                    members.append(JSONValue.Member(f.name, value))
                }
            }
            s["targets"] = .object(members)
            return s
        }

        /// ``addingTargets(_:_:)`` for a `targets` object kept as plain bytes (a large file read in
        /// plain form) and plain new paths: the new entries merged into the bytes in key order,
        /// without a tree; nil otherwise. The result has the members ``addingTargets`` gives
        /// (a path added twice: the last one; an existing path: its entry replaced).
        static func addingPlainTargets(_ signed: JSONValue, _ files: [TargetFile]) -> JSONValue? {
            guard case .verbatim(let v)? = signed["targets"], v.isPlain,
                files.allSatisfy({ f in f.name.utf8.allSatisfy(TUF1PlainForm.isPlain) && f.sha256.utf8.allSatisfy(TUF1PlainForm.isPlain) }),
                let members = TUF1.plainMembers(v)
            else { return nil }
            var latest: [[UInt8]: Int] = [:]
            for (i, f) in files.enumerated() { latest[Array(f.name.utf8)] = i }
            let added = latest.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            func entry(_ f: TargetFile, into out: inout [UInt8]) {
                out.append(UInt8(ascii: "\""))
                out += f.name.utf8
                out += #"":{"hashes":{"sha256":""#.utf8
                out += f.sha256.utf8
                out += #""},"length":"#.utf8
                out += String(f.length).utf8
                out.append(UInt8(ascii: "}"))
            }
            var out: [UInt8] = []
            out.reserveCapacity(v.range.count + files.count * 160)
            out.append(UInt8(ascii: "{"))
            v.buffer.withUnsafeBufferPointer { p in
                var k = 0
                func separate() { if out.count > 1 { out.append(UInt8(ascii: ",")) } }
                for m in members {
                    let key = UnsafeBufferPointer(rebasing: p[m.key])
                    while k < added.count, added[k].key.lexicographicallyPrecedes(key) {
                        separate()
                        entry(files[added[k].value], into: &out)
                        k += 1
                    }
                    if k < added.count, added[k].key.elementsEqual(key) {
                        separate()
                        entry(files[added[k].value], into: &out)
                        k += 1
                        continue
                    }
                    separate()
                    out += UnsafeBufferPointer(rebasing: p[(m.key.lowerBound - 1)..<m.value.upperBound])
                }
                while k < added.count {
                    separate()
                    entry(files[added[k].value], into: &out)
                    k += 1
                }
            }
            out.append(UInt8(ascii: "}"))
            var s = signed
            s["targets"] = .verbatim(VerbatimJSON(canonicalObjectIn: out, range: 0..<out.count, isPlain: true))
            return s
        }

        /// The position of each member by its key's UTF-8 bytes (the first one for a duplicate key,
        /// as `JSONValue`'s subscript finds it).
        static func memberIndex(_ members: [JSONValue.Member]) -> [[UInt8]: Int] {
            var index: [[UInt8]: Int] = [:]
            index.reserveCapacity(members.count)
            for (i, m) in members.enumerated() where index[Array(m.key.utf8)] == nil { index[Array(m.key.utf8)] = i }
            return index
        }

        /// Targets `signed` without these paths; each must be there (`role` names the file in errors).
        public static func removingTargets(_ signed: JSONValue, _ names: [String], role: String = "targets") throws(TrustVaultError) -> JSONValue {
            var s = signed
            let members = s["targets"]?.objectValue ?? []
            let index = Self.memberIndex(members)
            var removed = Set<Int>()
            for n in names {
                guard let i = index[Array(n.utf8)], !removed.contains(i) else { throw .notFound("\(role).json has no target \"\(n)\"") }
                removed.insert(i)
            }
            s["targets"] = .object(members.enumerated().filter { !removed.contains($0.offset) }.map(\.element))
            return s
        }

        // MARK: Snapshot and timestamp

        /// `meta` entries set to `{"version": N}` (nil removes the entry): a snapshot's file
        /// versions, or a timestamp's `snapshot.json`.
        public static func settingMeta(_ signed: JSONValue, _ versions: [(file: String, version: Int64?)]) -> JSONValue {
            var s = signed
            var meta = s["meta"] ?? .object([])
            for (file, version) in versions { meta[file] = version.map { .obj(["version": .integer($0)]) } }
            s["meta"] = meta
            return s
        }
    }
}
