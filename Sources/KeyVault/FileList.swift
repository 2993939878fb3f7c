public import TrustCore

/// A list of paths in a file, one per line, as `tar -T` and `rsync --files-from` read them:
/// for thousands of files, which a command line carries slowly (each argument is parsed on its
/// own) or not at all (the system's argument size limit).
public enum FileList {
    /// The paths listed in `path`: every non-empty line as written (a path may hold spaces; a
    /// final line break is optional), relative paths taken from the current directory.
    public static func read(_ path: String) throws(TrustVaultError) -> [String] {
        let bytes = try AtomicFile.read(path, kind: .fileList)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw TrustVaultError(.corruptData, "\(path) is not UTF-8 text", recovery: "list one path per line, as 'find DIR -type f > \(path)' writes it")
        }
        guard !bytes.contains(0) else {
            throw TrustVaultError(.corruptData, "\(path) holds a NUL byte", recovery: "list one path per line, separated by line breaks, not NULs")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
