public import TrustCore
internal import SwiftASN1
internal import Foundation

/// Cost caps for encrypted PKCS#8 key files, checked before any passphrase is asked for or any
/// key derivation runs: a hostile file must not make an import run for minutes or take GiBs.
///
/// The bounds are far above what notary, docker and OpenSSL write (PBKDF2 ×2048 — notary and
/// docker ×10,000 at most; OpenSSL's scrypt N=16384, r=8, p=1):
/// - PBKDF2 and the PKCS#5/PKCS#12 PBES1 schemes: 1 to ``maximumIterations`` iterations;
/// - scrypt: N a power of two up to 2^20, r ≤ 32, p ≤ 16, memory 128·N·r ≤ 256 MiB and
///   N·r·p ≤ 2^21 (16× OpenSSL's default work, about a second).
/// Anything else is "unsupported parameters", never "wrong passphrase". One import (every file,
/// trust directory and bundle given to one `key import`) may spend at most ``PBEBudget/perImport``
/// cost units in total (an iteration, or one unit of scrypt's N·r·p, each roughly 0.5 µs), so a
/// file of thousands of costly blocks cannot add up to minutes either.
public enum PBEParameters {
    public static let maximumIterations = 1_000_000
    public static let maximumScryptN = 1 << 20
    public static let maximumScryptR = 32
    public static let maximumScryptP = 16
    public static let maximumScryptMemory = 256 << 20
    public static let maximumScryptWork = 1 << 21

    static let pbes2 = "1.2.840.113549.1.5.13"
    static let pbkdf2 = "1.2.840.113549.1.5.12"
    static let scrypt = "1.3.6.1.4.1.11591.4.11"
    /// PKCS#5 v1.5 PBES1 (`1.2.840.113549.1.5.x`) and PKCS#12 PBE (`1.2.840.113549.1.12.1.x`):
    /// parameters `SEQUENCE { salt OCTET STRING, iterations INTEGER }`.
    static let pbes1Prefixes = ["1.2.840.113549.1.5.", "1.2.840.113549.1.12.1."]

    /// Checks the cost parameters of a DER `EncryptedPrivateKeyInfo` and returns its cost
    /// (iterations, or N·r·p for scrypt). Structures it does not recognise are left to OpenSSL
    /// (which refuses unknown schemes) and cost 0.
    @discardableResult
    public static func check(_ der: [UInt8]) throws(TrustVaultError) -> Int {
        let root: ASN1Node
        do { root = try DER.parse(der) } catch {
            throw .corrupt("the encrypted PKCS#8 structure is not valid DER (damaged or truncated)")
        }
        guard let algorithm = children(root)?.first, let parts = children(algorithm), parts.count >= 1,
            let oid = oidString(parts[0])
        else { return 0 }
        let params = parts.count > 1 ? parts[1] : nil
        if oid == pbes2 {
            guard let params, let p = children(params), let kdf = p.first, let k = children(kdf), let kdfOID = k.first.flatMap(oidString),
                k.count > 1, let kdfParams = children(k[1])
            else { return 0 }
            if kdfOID == pbkdf2 {
                guard kdfParams.count >= 2 else { throw unsupported("PBKDF2 without an iteration count") }
                return try checkIterations(integer(kdfParams[1]), scheme: "PBKDF2")
            } else if kdfOID == scrypt {
                guard kdfParams.count >= 4 else { throw unsupported("scrypt without N, r and p") }
                return try checkScrypt(n: integer(kdfParams[1]), r: integer(kdfParams[2]), p: integer(kdfParams[3]))
            }
        } else if pbes1Prefixes.contains(where: { oid.hasPrefix($0) }), let params, let p = children(params), p.count >= 2 {
            return try checkIterations(integer(p[1]), scheme: "password-based encryption")
        }
        return 0
    }

    static func checkIterations(_ value: Int?, scheme: String) throws(TrustVaultError) -> Int {
        guard let value, value >= 1, value <= maximumIterations else {
            throw unsupported(
                "\(scheme) with \(value.map { "\($0)" } ?? "an out-of-range number of") iterations (trustvault accepts 1 to \(maximumIterations))")
        }
        return value
    }

    static func checkScrypt(n: Int?, r: Int?, p: Int?) throws(TrustVaultError) -> Int {
        guard let n, let r, let p, n >= 2, n <= maximumScryptN, n & (n - 1) == 0, r >= 1, r <= maximumScryptR,
            p >= 1, p <= maximumScryptP, 128 * n * r <= maximumScryptMemory, n * r * p <= maximumScryptWork
        else {
            throw unsupported(
                "scrypt with N=\(n.map(String.init) ?? "?"), r=\(r.map(String.init) ?? "?"), p=\(p.map(String.init) ?? "?") (trustvault accepts N ≤ 2^20, r ≤ 32, p ≤ 16, at most 256 MiB and N·r·p ≤ 2^21)"
            )
        }
        return n * r * p
    }

    static func unsupported(_ what: String) -> TrustVaultError {
        .unsupported(
            "the key file's encryption uses unsupported parameters: \(what)",
            recovery: "re-encrypt it with standard settings: openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEWKEY")
    }

    static func children(_ node: ASN1Node) -> [ASN1Node]? {
        guard case .constructed(let nodes) = node.content else { return nil }
        return Array(nodes)
    }

    static func oidString(_ node: ASN1Node) -> String? {
        guard node.identifier == .objectIdentifier, let oid = try? ASN1ObjectIdentifier(derEncoded: node) else { return nil }
        return oid.description
    }

    /// A non-negative INTEGER that fits in 32 bits, else nil (so it is reported as out of range).
    static func integer(_ node: ASN1Node) -> Int? {
        guard node.identifier == .integer, let v = try? Int64(derEncoded: node), v >= 0, v <= Int64(UInt32.max) else { return nil }
        return Int(v)
    }
}

/// The key-derivation work one import may spend on encrypted key files, shared by every file,
/// trust directory and bundle of that import (``KeyImportDefaults/budget``).
public final class PBEBudget: @unchecked Sendable, Hashable {
    /// 8 million units: about 4 s; thousands of notary/docker keys (×2048 each) fit.
    public static let perImport = 8_000_000
    private let lock = NSLock()
    private var spent = 0

    public init() {}

    /// Spends `cost`, or refuses when the import would exceed ``perImport``.
    func spend(_ cost: Int, source: String) throws(TrustVaultError) {
        lock.lock()
        defer { lock.unlock() }
        if let error = Self.refusal(spent: spent, cost: cost, source: source) { throw error }
        spent += cost
    }

    /// The refusal spending `cost` now would meet, without spending it.
    func refusal(for cost: Int, source: String) -> TrustVaultError? {
        lock.lock()
        defer { lock.unlock() }
        return Self.refusal(spent: spent, cost: cost, source: source)
    }

    private static func refusal(spent: Int, cost: Int, source: String) -> TrustVaultError? {
        guard spent + cost > perImport else { return nil }
        return .unsupported(
            "\(source): the encrypted keys of this import together ask for more key-derivation work than trustvault spends on one import (unsupported parameters: \(perImport) iterations in all)",
            recovery: "import the files in smaller groups, or re-encrypt them with standard settings (openssl pkcs8 -topk8 -v2 aes-256-cbc)")
    }

    public static func == (a: PBEBudget, b: PBEBudget) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}
