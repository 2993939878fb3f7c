internal import TrustCore
internal import Formats

extension TUF1 {
    /// What a TUF 1.0 client would do with a repository directory, offline: from a trusted root
    /// through the chain of `N.root.json`, then timestamp → snapshot → targets → delegations,
    /// checking signatures and thresholds, versions, hashes and lengths, expiry, and the target
    /// files themselves. Every problem is named; checking continues past a problem where it can.
    public struct Verifier {
        public struct Report: Sendable {
            public var passed: [String] = []
            public var warnings: [String] = []
            public var problems: [String] = []
            public var isValid: Bool { problems.isEmpty }
        }

        /// The repository's bytes (a directory through `RepositoryStore`, or memory).
        public let source: any RepositorySource
        public let now: TUFTime
        /// File names already checked on the client's path (the rest are checked as copies).
        private var checkedFiles: Set<String> = []
        /// Each role's keys and threshold, as the walk found them.
        private var roleKeys: [String: (keys: [String: Key], threshold: Int)] = [:]
        /// Delegated roles left unchecked because their delegator did not verify.
        private var notChecked: Set<String> = []
        /// SHA-256 of each large role file read on the client's path, and the roles whose file
        /// met its threshold: a copy with the same bytes (`N.targets.json` beside `targets.json`)
        /// has the same verdict and is not parsed and checked twice.
        private var largeFileDigests: [String: [UInt8]] = [:]
        private var thresholdMet: Set<String> = []

        public init(source: any RepositorySource, now: TUFTime = .now()) {
            self.source = source
            self.now = now
        }

        /// From this size on a copy identical to a verified file is recognised by its digest.
        static let largeFile = 1 << 20

        /// A metadata file's name as messages show it.
        private func path(_ name: String) -> String { source.metadataLocation + "/" + name }

        /// `trustedRoot`: bytes of a root the caller trusts (`--root`); without it `1.root.json`
        /// is the trust anchor (trust on first use), checked against its own keys.
        public mutating func verify(trustedRoot: [UInt8]? = nil) -> Report {
            checkedFiles = []
            roleKeys = [:]
            notChecked = []
            largeFileDigests = [:]
            thresholdMet = []
            var r = Report()
            var root: Root
            var rootEnv: Envelope
            do throws(TrustVaultError) {
                let versions = TUF1.rootVersions(in: try source.metadataFileNames())
                guard let first = versions.first else {
                    r.problems.append("no N.root.json in \(source.metadataLocation)")
                    return r
                }
                if let trustedRoot {
                    rootEnv = try Envelope(parsing: trustedRoot, name: "the trusted root (--root)")
                    root = try Root(rootEnv.signed, name: "the trusted root (--root)")
                    r.passed.append("trusted root: version \(root.version) (--root)")
                } else {
                    let firstPath = path(rootFileName(first))
                    guard let bytes = try source.metadataFile(rootFileName(first)) else {
                        throw .notFound("\(firstPath): no such file")
                    }
                    rootEnv = try Envelope(parsing: bytes, name: firstPath)
                    root = try Root(rootEnv.signed, name: firstPath)
                    if root.version != first {
                        r.problems.append("\(firstPath): its version is \(root.version), the file name says \(first)")
                    }
                    if let p = thresholdProblem(rootEnv, role: root.role("root"), keys: root.keys, name: "\(first).root.json", what: "its own root keys") {
                        // Nothing is trusted below a first root that does not verify.
                        r.problems.append(p)
                        return r
                    } else {
                        r.passed.append("\(first).root.json: signed by its root keys (trust on first use; pass --root to pin a root)")
                    }
                }
            } catch {
                r.problems.append(error.message)
                return r
            }

            // The chain of roots.
            var next = root.version + 1
            while true {
                let name = rootFileName(next)
                do {
                    guard let bytes = try source.metadataFile(name) else { break }
                    let env = try Envelope(parsing: bytes, name: path(name))
                    let newRoot = try Root(env.signed, name: name)
                    var ok = true
                    if newRoot.version != next {
                        r.problems.append("\(name): its version is \(newRoot.version), the file name says \(next)")
                        ok = false
                    }
                    let step = env.rootStepCounts(previous: (root.role("root"), root.keys), own: (newRoot.role("root"), newRoot.keys))
                    if let p = thresholdProblem(step.previous, name: name, what: "the keys of root version \(root.version)") {
                        r.problems.append(p)
                        ok = false
                    }
                    if let p = thresholdProblem(step.own, name: name, what: "its own root keys") {
                        r.problems.append(p)
                        ok = false
                    }
                    guard ok else {
                        r.problems.append("a client stops at root version \(root.version): \(name) is not trusted")
                        break
                    }
                    r.passed.append("\(name): signed by root version \(root.version)'s keys and by its own")
                    root = newRoot
                    rootEnv = env
                } catch {
                    r.problems.append(error.message)
                    break
                }
                next += 1
            }
            let rootExpiry = ExpiryState.of(root.expires, now: now, window: 30 * Lifetime.day)
            if rootExpiry == .expired {
                r.problems.append("root version \(root.version) expired on \(root.expires.display)")
            } else {
                r.passed.append("root version \(root.version): expires \(root.expires.display)")
                if rootExpiry == .expiresSoon {
                    r.warnings.append(
                        "root version \(root.version) expires on \(root.expires.display), within 30 days: the root holders run 'trustvault tuf refresh DIR --roles root'"
                    )
                }
            }

            // timestamp
            guard let ts = load(role: "timestamp", version: nil, report: &r) else { return r }
            checkSigned(ts, role: "timestamp", keys: root.keys(of: "timestamp"), threshold: root.role("timestamp").threshold, report: &r)
            guard let snapInfo = ts.signed["meta"]?["snapshot.json"], let snapVersion = snapInfo["version"]?.intValue else {
                r.problems.append("timestamp.json: no meta entry for snapshot.json")
                return r
            }

            // snapshot
            let snapVersionInName = root.consistentSnapshot ? snapVersion : nil
            guard let snap = load(role: "snapshot", version: snapVersionInName, report: &r, info: snapInfo) else { return r }
            checkSigned(
                snap, role: "snapshot", keys: root.keys(of: "snapshot"), threshold: root.role("snapshot").threshold, report: &r,
                file: root.consistentSnapshot ? "\(snapVersion).snapshot.json" : nil)
            if snap.version != snapVersion {
                r.problems.append("snapshot.json: version \(snap.version ?? 0), timestamp.json says \(snapVersion)")
            }
            guard let meta = snap.signed["meta"]?.objectValue else {
                r.problems.append("snapshot.json: no \"meta\" object")
                return r
            }

            // targets and delegations, walked from the top.
            var visited: Set<String> = []
            var queue: [(name: String, keys: [String: Key], role: RoleKeys, parent: Delegation?)] = [
                ("targets", root.keys(of: "targets"), root.role("targets"), nil)
            ]
            while !queue.isEmpty {
                let item = queue.removeFirst()
                guard !visited.contains(item.name) else { continue }
                visited.insert(item.name)
                let fileName = item.name + ".json"
                if let why = TUF1.unusableRoleName(item.name) {
                    r.problems.append("\(item.parent.map { "a role delegated as \(Escape.visible($0.name))" } ?? fileName): \(why); not checked")
                    continue
                }
                guard let info = meta.first(where: { $0.key == fileName })?.value, let v = info["version"]?.intValue else {
                    r.problems.append("snapshot.json: no meta entry for \(fileName)")
                    continue
                }
                guard let env = load(role: item.name, version: root.consistentSnapshot ? v : nil, report: &r, info: info) else { continue }
                let file = TUF1.fileName(role: item.name, version: root.consistentSnapshot ? v : nil)
                let problemsBefore = r.problems.count
                checkSigned(env, role: item.name, keys: item.keys, threshold: item.role.threshold, report: &r, file: file)
                if env.version != v { r.problems.append("\(fileName): version \(env.version ?? 0), snapshot.json says \(v)") }
                checkTargets(env, name: fileName, delegation: item.parent, consistent: root.consistentSnapshot, report: &r)
                let verified = r.problems.count == problemsBefore
                do {
                    let d = try delegations(env.signed, name: fileName)
                    if !verified {
                        // A client trusts a delegation only from a delegator that verified:
                        // nothing below this role is reported as passed.
                        for del in d.roles where !visited.contains(del.name) && !notChecked.contains(del.name) {
                            notChecked.insert(del.name)
                            r.problems.append("\(Escape.visible(del.name)).json: not checked, because its delegator \(fileName) did not verify")
                        }
                        continue
                    }
                    for del in d.roles {
                        var keys: [String: Key] = [:]
                        for id in del.role.keyIDs { keys[id] = d.keys[id] }
                        queue.append((del.name, keys, del.role, del))
                    }
                } catch {
                    r.problems.append(error.message)
                }
            }
            for m in meta where m.key.hasSuffix(".json") && !visited.contains(String(m.key.dropLast(5))) && !notChecked.contains(String(m.key.dropLast(5))) {
                r.warnings.append("snapshot.json lists \(m.key), which no targets metadata delegates to")
            }
            checkCopies(report: &r)
            return r
        }

        private mutating func load(role: String, version: Int64?, report r: inout Report, info: JSONValue? = nil) -> Envelope? {
            let name = TUF1.fileName(role: role, version: version)
            checkedFiles.insert(name)
            do {
                guard let bytes = try source.metadataFile(name) else {
                    r.problems.append("\(name) is missing from \(source.metadataLocation)")
                    return nil
                }
                if let info, let p = checkFileInfo(info, bytes: bytes) { r.problems.append("\(name): \(p)") }
                if bytes.count >= Self.largeFile { largeFileDigests[role] = FileDigest.compute("sha256", of: bytes) }
                let env = try Envelope(parsing: bytes, name: name)
                _ = try commonFields(env.signed, type: role == "timestamp" || role == "snapshot" ? role : "targets", name: name)
                return env
            } catch {
                r.problems.append(error.message)
                return nil
            }
        }

        private mutating func checkSigned(
            _ env: Envelope, role: String, keys: [String: Key], threshold: Int, report r: inout Report, file: String? = nil
        ) {
            roleKeys[role] = (keys, threshold)
            let name = file ?? role + ".json"
            if let p = thresholdProblem(
                env, role: RoleKeys(keyIDs: Array(keys.keys), threshold: threshold), keys: keys, name: name, what: "the \(role) role's keys")
            {
                r.problems.append(p)
            } else {
                thresholdMet.insert(role)
                r.passed.append("\(name) version \(env.version ?? 0): \(threshold) of \(keys.count) signature(s) required, threshold met")
            }
            let state = env.expires.map { ExpiryState.of($0, now: now, window: role == "timestamp" ? nil : 7 * Lifetime.day) }
            if let e = env.expires, state == .expired {
                r.problems.append("\(name) version \(env.version ?? 0) expired on \(e.display)")
            } else if let e = env.expires, state == .expiresSoon {
                r.warnings.append("\(name) expires on \(e.display), within 7 days: run 'trustvault tuf refresh'")
            }
        }

        private func checkTargets(_ env: Envelope, name: String, delegation: Delegation?, consistent: Bool, report r: inout Report) {
            guard let targetsValue = env.signed["targets"], let targets = TUF1.targetEntries(targetsValue) else {
                r.problems.append("\(name): no \"targets\" object")
                return
            }
            // Each target on every core (100,000 small files are mostly open/read/close), its
            // entry made there from the file's bytes: first the checks of the metadata alone, then
            // its file read and hashed. The findings are reported in the targets' order, as one
            // pass would have.
            let source = source
            let checked = TUF1.parallelMap(targets.count) { i -> TargetFindings? in
                let entry = targets[i]
                var f = TargetFindings()
                if let delegation, !delegation.covers(entry.name) {
                    f.problems.append(
                        "\(name): target \(entry.name) is outside the paths delegated to \(delegation.name) (\(delegation.paths.joined(separator: ", ")))")
                }
                guard entry.length != nil, let hashes = entry.hashes, !hashes.isEmpty else {
                    f.problems.append("\(name): target \(entry.name) needs \"length\" and \"hashes\"")
                    return f
                }
                guard let (dir, base) = TUF1.targetPathParts(entry.name) else {
                    f.problems.append(
                        "\(name): target path \"\(Escape.visible(entry.name))\" would leave \(source.targetsLocation); not read")
                    return f
                }
                var candidates: [String] = []
                if consistent {
                    // The spec's consistent-snapshot name: one `<hash>.<name>` per listed hash,
                    // in the target's directory (python-tuf fetches the first, go-tuf sha512).
                    candidates.reserveCapacity(hashes.count + 1)
                    for h in hashes {
                        guard let hex = h.value.stringValue, !hex.isEmpty, Hex.decode(hex) != nil else { continue }
                        candidates.append(dir + hex.lowercased() + "." + base)
                    }
                }
                candidates.append(entry.name)
                var present = false
                for candidate in candidates {
                    do throws(TrustVaultError) {
                        guard let bytes = try source.targetFile(candidate) else { continue }
                        present = true
                        if let p = TUF1.checkFileInfo(length: entry.length, hashes: hashes, bytes: bytes) {
                            f.problems.append("target \(entry.name) (\(source.targetsLocation + "/" + candidate)): \(p)")
                        }
                    } catch {
                        present = true
                        f.problems.append(error.message)
                    }
                }
                if !present { f.warnings.append("\(name): target file \(entry.name) is not in \(source.targetsLocation) (served elsewhere?)") }
                return f.problems.isEmpty && f.warnings.isEmpty ? nil : f
            }
            for case let f? in checked {
                r.problems += f.problems
                r.warnings += f.warnings
            }
        }

        struct TargetFindings: Sendable {
            var problems: [String] = []
            var warnings: [String] = []
        }

        /// Every other non-root file in metadata/ (older versions, unversioned copies) must still
        /// carry valid signatures of its role's current keys: a changed file is named, even one no
        /// client fetches today.
        private func checkCopies(report r: inout Report) {
            let notChecked = notChecked
            guard let names = try? source.metadataFileNames() else { return }
            for name in names.sorted() where name.hasSuffix(".json") && !name.hasSuffix("root.json") && !checkedFiles.contains(name) {
                var role = String(name.dropLast(5))
                if let dot = role.firstIndex(of: "."), Int64(role[..<dot]) != nil { role = String(role[role.index(after: dot)...]) }
                role = TUF1.decodedRoleName(role) ?? role
                if notChecked.contains(role) { continue }
                guard let rk = roleKeys[role] else {
                    r.warnings.append("\(name): no role \(role) in this repository")
                    continue
                }
                do {
                    guard let bytes = try source.metadataFile(name) else { continue }
                    if bytes.count >= Self.largeFile, thresholdMet.contains(role), let digest = largeFileDigests[role],
                        FileDigest.compute("sha256", of: bytes) == digest
                    {
                        continue  // the very file verified above
                    }
                    let env = try Envelope(parsing: bytes, name: path(name))
                    let ids = Array(rk.keys.keys)
                    guard
                        let p = thresholdProblem(
                            env, role: RoleKeys(keyIDs: ids, threshold: rk.threshold), keys: rk.keys,
                            name: name, what: "the \(role) role's keys")
                    else { continue }
                    if env.signatureChecks(ids, keys: rk.keys).contains(where: { $0.check != .valid }) {
                        r.problems.append(p + " (a copy clients may fetch)")
                    } else {
                        r.warnings.append("\(name): signed by keys the \(role) role no longer lists (an older version, from before a key rotation?)")
                    }
                } catch {
                    r.problems.append(error.message)
                }
            }
        }

        /// A message when fewer than `role.threshold` of `role`'s keys signed `env`; nil when met.
        /// A key or signature trustvault cannot read is named as such, apart from a signature
        /// that does not match (the only case that points at a changed file).
        func thresholdProblem(_ env: Envelope, role: RoleKeys, keys: [String: Key], name: String, what: String) -> String? {
            thresholdProblem(env.thresholdCount(role, keys: keys), name: name, what: what)
        }

        func thresholdProblem(_ count: ThresholdCount, name: String, what: String) -> String? {
            guard !count.isMet else { return nil }
            let role = count.role, checks = count.checks, valid = count.valid
            var unreadableKeys: [String] = [], unreadableSigs: [String] = [], bad: [String] = []
            for c in checks {
                switch c.check {
                case .valid: break
                case .unreadableKey(let why): unreadableKeys.append("\(c.keyID.prefix(12)) (\(why))")
                case .unreadableSignature(let why): unreadableSigs.append("\(c.keyID.prefix(12)) (\(why))")
                case .mismatch: bad.append(String(c.keyID.prefix(12)))
                }
            }
            let signed = Set(checks.map(\.keyID))
            let missing = role.keyIDs.filter { !signed.contains($0) }.map { String($0.prefix(12)) }
            var text = "\(name): \(valid.count) valid signature(s) from \(what), \(role.threshold) required"
            if !unreadableKeys.isEmpty { text += "; key(s) trustvault cannot read: \(unreadableKeys.joined(separator: ", "))" }
            if !unreadableSigs.isEmpty { text += "; signature(s) trustvault cannot read: \(unreadableSigs.joined(separator: ", "))" }
            if !bad.isEmpty { text += "; signature(s) that do not verify (file changed after signing?): \(bad.joined(separator: ", "))" }
            if !missing.isEmpty { text += "; not signed by: \(missing.joined(separator: ", "))" }
            return text
        }
    }
}

extension TUF1.Envelope {
    /// Where `role`'s threshold stands: valid signatures among its keys.
    public func thresholdStatus(_ role: TUF1.RoleKeys, keys: [String: TUF1.Key]) -> (valid: Int, threshold: Int, missing: [String]) {
        let count = thresholdCount(role, keys: keys)
        return (count.valid.count, role.threshold, count.missing)
    }
}
