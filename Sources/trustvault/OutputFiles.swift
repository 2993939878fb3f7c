import CLISupport
import Foundation
import KeyVault

/// Checks, before any card PIN is spent, that `path` can be written: a new file in a writable
/// directory, or (with `replacing`) an existing writable file.
func requireWritableOutput(_ path: String, replacing: Bool) throws(TrustVaultError) {
    if replacing {
        guard access(path, W_OK) == 0 else {
            throw TrustVaultError(.ioFailure, "\(path) cannot be written", recovery: "check its permissions, or give --out")
        }
        return
    }
    if AtomicFile.exists(path) {
        throw TrustVaultError(.alreadyExists, "\(path) already exists", recovery: "choose another --out path or remove it first")
    }
    let dir = (path as NSString).deletingLastPathComponent
    guard access(dir.isEmpty ? "." : dir, W_OK) == 0 else {
        throw TrustVaultError(.ioFailure, "cannot write \(path): its directory is missing or not writable", recovery: "choose another --out path")
    }
}

/// Creates an output file atomically, never replacing an existing one.
func createOutputFile(_ bytes: [UInt8], at path: String, mode: UInt32 = 0o600) throws(TrustVaultError) {
    if AtomicFile.exists(path) {
        throw TrustVaultError(.alreadyExists, "\(path) already exists", recovery: "choose another --out path or remove it first")
    }
    try AtomicFile.create(bytes, at: path, mode: mode)
}
