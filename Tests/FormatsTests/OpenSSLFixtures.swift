import Foundation
import Formats
import TestSupport
import TrustCore

/// Key and certificate fixtures made at test time by the real `openssl` command.
struct OpenSSLFixtures {
    let dir = TemporaryDirectory("formats-test")
    let openssl: String

    init() throws {
        openssl = try requireTool("openssl", package: "openssl")
    }

    func path(_ name: String) -> String { dir.sub(name) }

    /// Runs `openssl ARGS` in the fixture directory; throws with its stderr when it fails.
    @discardableResult
    func run(_ arguments: [String]) throws -> ProcessResult {
        let result = try Run.program(openssl, arguments, directory: dir.path)
        guard result.status == 0 else {
            throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result
    }

    /// Runs a shell command line in the fixture directory (for `zip` and text edits).
    @discardableResult
    func shell(_ command: String) throws -> ProcessResult {
        let result = try Run.program("/bin/sh", ["-c", command], directory: dir.path)
        guard result.status == 0 else { throw TestFailure("\(command) failed: \(result.stderr)") }
        return result
    }

    func read(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    func write(_ name: String, _ text: String) throws { try write(name, Array(text.utf8)) }

    /// The key ID of the public half of the private key in `name`, computed from the SPKI that
    /// OpenSSL derives (independently of trustvault's parsers).
    func keyID(ofPrivateKey name: String, passphrase: String? = nil) throws -> String {
        var args = ["pkey", "-in", name, "-pubout", "-outform", "DER", "-out", name + ".spki.der"]
        if let passphrase { args += ["-passin", "pass:\(passphrase)"] }
        try run(args)
        return try PublicKey(spkiDER: try read(name + ".spki.der")).keyID
    }

    /// A new P-256 key in SEC1 form (`EC PRIVATE KEY`).
    func ecKey(_ name: String, curve: String = "prime256v1") throws {
        try run(["ecparam", "-name", curve, "-genkey", "-noout", "-out", name])
    }

    /// `openssl asn1parse` of a DER file with offsets and hex payloads removed, so two
    /// encodings of different keys compare equal when their structure is the same.
    func asn1Outline(derFile: String) throws -> [String] {
        let out = try run(["asn1parse", "-inform", "DER", "-in", derFile]).stdout
        return out.split(separator: "\n").map { line in
            var s = String(line)
            if let colon = s.firstIndex(of: ":") { s = String(s[s.index(after: colon)...]) }  // drop offset
            if let hex = s.range(of: "[HEX DUMP]:") { s = String(s[..<hex.upperBound]) }
            return s.trimmingCharacters(in: .whitespaces)
        }
    }
}

/// A passphrase provider that answers `passphrase` once per block, then gives up.
func fixedPassphrase(_ passphrase: String) -> KeyFilePassphraseProvider {
    { request in request.attempt == 0 ? Passphrase(passphrase) : nil }
}

/// A provider for inputs that must not need a passphrase.
let noPassphrase: KeyFilePassphraseProvider = { (_: KeyFilePassphraseRequest) throws(TrustVaultError) -> Passphrase? in
    throw TrustVaultError(.missingSecret, "test: no passphrase expected")
}
