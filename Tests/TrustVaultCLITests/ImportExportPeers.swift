import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real peers (`notary`, `docker`, `openssl`, `zip`) for the import/export tests.
struct Peers {
    let dir = TemporaryDirectory("peers")
    let notary: String
    let docker: String
    let openssl: String

    init() throws {
        notary = try requireTool("notary", package: "notary")
        docker = try requireTool("docker", package: "docker.io")
        openssl = try requireTool("openssl", package: "openssl")
    }

    func path(_ name: String) -> String { dir.sub(name) }

    @discardableResult
    func run(_ tool: String, _ args: [String], env: [String: String] = [:], expectSuccess: Bool = true) throws
        -> ProcessResult
    {
        let result = try Run.program(tool, args, environment: env, directory: dir.path, timeout: 120)
        if expectSuccess, result.status != 0 {
            throw TestFailure("\(tool) \(args.joined(separator: " ")) failed: \(result)")
        }
        return result
    }

    @discardableResult
    func openssl(_ args: [String]) throws -> ProcessResult { try run(openssl, args) }

    @discardableResult
    func shell(_ command: String) throws -> ProcessResult { try run("/bin/sh", ["-c", command]) }

    /// `notary key list` as (id, role, gun) rows.
    func notaryKeys(trustDir: String) throws -> [(id: String, role: String, gun: String)] {
        let out = try run(notary, ["-d", trustDir, "key", "list"]).stdout
        return out.split(separator: "\n").compactMap { line in
            let cells = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let id = cells.first(where: { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }),
                let idIndex = cells.firstIndex(of: id), idIndex >= 1
            else { return nil }
            return (id, cells[0], idIndex == 2 ? cells[1] : "")
        }
    }

    /// The canonical key ID of the private key in `file`, computed only with OpenSSL: SHA-256 of
    /// `{"keytype":T,"keyval":{"private":null,"public":B64}}` over the SPKI OpenSSL derives.
    func opensslKeyID(privateKey file: String, passphrase: String? = nil, isPublic: Bool = false) throws -> String {
        var args = ["pkey", "-in", file, "-pubout", "-outform", "DER", "-out", file + ".spki"]
        if let passphrase { args += ["-passin", "pass:\(passphrase)"] }
        if isPublic { args.insert("-pubin", at: 1) }
        try openssl(args)
        let spki = try Data(contentsOf: URL(fileURLWithPath: path(file + ".spki")))
        let text = try openssl(["pkey", "-in", file + ".spki", "-inform", "DER", "-pubin", "-text_pub", "-noout"]).stdout
        let (type, publicBytes): (String, Data)
        if text.hasPrefix("ED25519") {
            (type, publicBytes) = ("ed25519", spki.suffix(32))
        } else if text.hasPrefix("RSA") || text.contains("Modulus") {
            (type, publicBytes) = ("rsa", spki)
        } else {
            (type, publicBytes) = ("ecdsa", spki)
        }
        let json = "{\"keytype\":\"\(type)\",\"keyval\":{\"private\":null,\"public\":\"\(publicBytes.base64EncodedString())\"}}"
        try json.write(toFile: path(file + ".json"), atomically: true, encoding: .utf8)
        let digest = try openssl(["dgst", "-sha256", "-r", file + ".json"]).stdout
        return String(digest.prefix(64))
    }

    func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
    func write(_ name: String, _ text: String) throws { try text.write(toFile: path(name), atomically: true, encoding: .utf8) }

    func mode(_ file: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// A CA and a client bundle (`bundle/` and `bundle.zip`) with `cert.pem`, `key.pem`,
    /// `ca.pem`, `cert.pub`, `env.sh`, as a registry's admin console hands them out.
    func makeClientBundle(name: String = "bundle", commonName: String = "ci-bot", days: Int = 365) throws {
        if !FileManager.default.fileExists(atPath: path("ca.pem")) {
            try openssl([
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=Example CA",
            ])
        }
        try shell("mkdir -p \(name)")
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name)/key.pem"])
        try openssl(["req", "-new", "-key", "\(name)/key.pem", "-subj", "/CN=\(commonName)", "-out", "\(name).csr"])
        try openssl([
            "x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
            "-days", "\(days)", "-out", "\(name)/cert.pem",
        ])
        try openssl(["pkey", "-in", "\(name)/key.pem", "-pubout", "-out", "\(name)/cert.pub"])
        try shell("cp ca.pem \(name)/ca.pem && printf 'export DOCKER_TLS_VERIFY=1\\n' > \(name)/env.sh")
        _ = try requireTool("zip", package: "zip")
        try shell("cd \(name) && zip -q ../\(name).zip ca.pem cert.pem key.pem cert.pub env.sh")
    }
}

/// `key list --json` rows as dictionaries.
func listedKeys(_ vault: CLIVault) throws -> [[String: Any]] {
    let r = try vault.run(["key", "list", "--json"])
    guard r.status == 0, let data = r.stdout.data(using: .utf8),
        let array = try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    else { throw TestFailure("key list --json failed: \(r)") }
    return array
}

/// The 64-hex lines of stdout (import prints each imported key ID on its own line).
func keyIDLines(_ result: ProcessResult) -> [String] {
    result.stdout.split(separator: "\n").map(String.init).filter { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }
}
