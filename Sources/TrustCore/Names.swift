/// The one set of rules for names read from input: delegation roles (notary's rules), docker
/// signer names, and GUNs. Every reader (key files, key records, metadata, arguments) uses these.
public enum Names {
    /// The longest role name or GUN accepted (notary refuses role names of 256 bytes or more).
    public static let maximumLength = 255

    /// Notary's delegation-role rules: `targets/…`, only `[-a-z0-9_/]`, no empty, `.` or `..`
    /// segment (so no `targets//x`), no trailing `/`, shorter than 256 bytes.
    public static func isValidDelegationRole(_ name: String) -> Bool {
        guard name.hasPrefix("targets/"), name.utf8.count <= maximumLength else { return false }
        let rest = name.utf8.dropFirst("targets/".utf8.count)
        guard !rest.isEmpty else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_/".utf8)
        guard rest.allSatisfy({ allowed.contains($0) }) else { return false }
        return !name.split(separator: "/", omittingEmptySubsequences: false).contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }

    /// Docker signer names: `^[a-z0-9][a-z0-9_-]*$`, shorter than 256 bytes.
    public static func isSignerName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= maximumLength else { return false }
        func ok(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return ok(first) && name.utf8.allSatisfy { ok($0) || $0 == 0x5F || $0 == 0x2D }
    }

    /// A GUN is a registry path such as `docker.io/library/app`: printable ASCII without spaces,
    /// no empty, `.` or `..` segment, no leading or trailing `/`, shorter than 256 bytes.
    public static func checkGUN(_ gun: String) throws(TrustVaultError) {
        guard !gun.isEmpty, gun.utf8.count <= maximumLength,
            gun.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            !gun.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            throw .invalid(
                "\"\(Escape.visible(String(gun.prefix(80))))\(gun.count > 80 ? "…" : "")\" is not a valid GUN",
                recovery: "use a repository name such as docker.io/org/app")
        }
    }
}
