import Foundation
@testable import Formats
import Testing
import TrustCore

/// Proves that the buffers trustvault's own code fills while exporting a key (the DER
/// serializer's output, notary's `pub ‖ seed ‖ pub`, RFC 8410's inner OCTET STRING, the array
/// lent by `withTemporaryArray`) are wiped: after the export, the process's writable memory is
/// searched for byte patterns that only those buffers ever hold.
///
/// Ed25519 keys live in libsodium memory (no swift-crypto copies), so any hit is ours.
/// glibc's mallopt(3) (malloc.h is not part of the Glibc module).
@_silgen_name("mallopt") func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@Suite("Secrets: exported key bytes are wiped from the buffers the code owns")
struct SecretWipeTests {
    /// Whether `needle` occurs in this process's anonymous writable memory, other than in the
    /// needle itself and the scan buffer.
    static func memoryContains(_ needle: SecretBytes) throws -> Bool {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        let mem = open("/proc/self/mem", O_RDONLY)
        guard mem >= 0 else { throw CocoaError(.fileReadNoPermission) }
        defer { close(mem) }
        let chunkSize = 1 << 20
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { chunk.deallocate() }
        let chunkStart = UInt64(UInt(bitPattern: chunk)), chunkEnd = chunkStart + UInt64(chunkSize)
        return needle.withUnsafeBytes { nd -> Bool in
            let needleStart = UInt64(UInt(bitPattern: nd.baseAddress!))
            for line in maps.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, fields[1].hasPrefix("rw"), fields[1].hasSuffix("p") else { continue }
                if fields.count >= 6, fields[5].hasPrefix("/") { continue }  // files mapped from disk
                let range = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
                guard range.count == 2 else { continue }
                var offset = range[0]
                while offset < range[1] {
                    let want = Int(min(UInt64(chunkSize), range[1] - offset))
                    let n = pread(mem, chunk, want, off_t(Int64(bitPattern: offset)))
                    if n <= 0 { break }
                    let hay = UnsafeRawBufferPointer(start: chunk, count: n)
                    let first = nd[0]
                    var i = 0
                    while i + nd.count <= n {
                        if hay[i] == first, memcmp(chunk + i, nd.baseAddress!, nd.count) == 0 {
                            let at = offset + UInt64(i)
                            if at != needleStart, !(at >= chunkStart && at < chunkEnd) { return true }
                        }
                        i += 1
                    }
                    if n <= nd.count { break }
                    offset += UInt64(n - nd.count + 1)  // overlap: a needle across two reads is found
                }
            }
            return false
        }
    }

    /// The finished PKCS#8 (which only our serializer builds; swift-crypto is never asked for
    /// one) must exist only in the secure memory returned, not in a serializer buffer left behind.
    /// Freed memory must stay readable for the scan: malloc must not give the top of the heap
    /// back to the kernel (which zeroes it) while the test runs.
    init() {
        _ = glibcMallopt(-1, Int32.max)  // M_TRIM_THRESHOLD
        _ = glibcMallopt(-3, Int32.max)  // M_MMAP_THRESHOLD: no mmap'ed chunks either
    }

    @Test(arguments: [KeyAlgorithm.rsa, .ecdsa, .ed25519])
    func serializedPKCS8ExistsOnlyInSecureMemory(algorithm: KeyAlgorithm) throws {
        let key = try PrivateKey.generate(algorithm)
        for der in [try PrivateKeyDER.standardPKCS8(key), try PrivateKeyDER.notaryPKCS8(key)] {
            #expect(try !Self.memoryContains(der), "an unwiped copy of the \(algorithm) PKCS#8 is in memory")
        }
    }

    @Test func exportedEd25519KeyLeavesNoCopyInOwnedBuffers() throws {
        // The seed is kept only masked, and the needles are built in sodium memory, so the test
        // itself holds no plain copy.
        let mask = (0..<32).map { _ in UInt8.random(in: 1...255) }
        var masked: [UInt8] = []
        var pub: [UInt8] = []
        do {
            var seed = (0..<32).map { _ in UInt8.random(in: 0...255) }
            for i in 0..<32 { masked.append(seed[i] ^ mask[i]) }
            let key = try PrivateKey(ed25519Seed: SecretBytes(consuming: &seed))
            pub = key.publicKey.tufPublicBytes
            // Every export path that builds DER around the seed.
            let notary = try PrivateKeyDER.notaryPKCS8(key)
            let standard = try PrivateKeyDER.standardPKCS8(key)
            _ = try NotaryKeyFile.block(for: key, role: "targets", gun: "example.com/x", path: nil, passphrase: Passphrase("pw"))
            #expect(notary.count > 96)
            #expect(standard.count == 48)
        }
        // Only our own buffers ever held "seed ‖ pub" (notary's layout) or "04 20 ‖ seed"
        // (RFC 8410's inner OCTET STRING).
        let notaryLayout = SecretBytes(count: 64) { out in
            for i in 0..<32 { out[i] = masked[i] ^ mask[i] }
            for i in 0..<32 { out[32 + i] = pub[i] }
        }
        let rfc8410 = SecretBytes(count: 34) { out in
            out[0] = 0x04
            out[1] = 0x20
            for i in 0..<32 { out[2 + i] = masked[i] ^ mask[i] }
        }
        // The scan works: a plain array holding the pattern is found.
        var planted = [UInt8](repeating: 0, count: 64)
        notaryLayout.withUnsafeBytes { for i in 0..<64 { planted[i] = $0[i] } }
        #expect(try Self.memoryContains(notaryLayout))
        Sodium.wipe(&planted)
        #expect(try !Self.memoryContains(notaryLayout), "an unwiped copy of notary's pub ‖ seed ‖ pub is in memory")
        #expect(try !Self.memoryContains(rfc8410), "an unwiped copy of the RFC 8410 private key is in memory")
    }
}

@Suite("Cost caps of imported key files")
struct PBEParameterTests {
    /// An encrypted PKCS#8 made by OpenSSL with `args`, as DER.
    func encrypted(_ args: [String]) throws -> [UInt8] {
        let dir = NSTemporaryDirectory() + "pbe-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", dir + "/k.pem"]
        try p.run(); p.waitUntilExit()
        let q = Process()
        q.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        q.arguments = ["pkcs8", "-topk8", "-in", dir + "/k.pem", "-outform", "DER", "-out", dir + "/k.der", "-passout", "pass:pw"] + args
        try q.run(); q.waitUntilExit()
        #expect(q.terminationStatus == 0)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/k.der")))
    }

    @Test func whatOpenSSLWritesIsAcceptedAndDecrypts() throws {
        for args in [["-v2", "aes-256-cbc"], ["-v2", "aes-256-cbc", "-iter", "600000"], ["-scrypt"], ["-v1", "PBE-SHA1-3DES"]] {
            let der = try encrypted(args)
            try PBEParameters.check(der)
            _ = try OpenSSLCrypto.decryptPKCS8(der, passphrase: Passphrase("pw"))
        }
    }

    @Test func scryptBeyondTheBoundIsUnsupportedNotAWrongPassphrase() throws {
        // OpenSSL's scrypt (N=16384, r=8, p=1) with r patched to 127 (2 GiB of memory), refused
        // before OpenSSL derives anything.
        var der = try encrypted(["-scrypt"])
        let nrp: [UInt8] = [0x02, 0x02, 0x40, 0x00, 0x02, 0x01, 0x08, 0x02, 0x01, 0x01]
        let at = try #require((0...(der.count - nrp.count)).first { Array(der[$0..<($0 + nrp.count)]) == nrp })
        der[at + 6] = 0x7F
        let error = #expect(throws: TrustVaultError.self) { try OpenSSLCrypto.decryptPKCS8(der, passphrase: Passphrase("wrong")) }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("unsupported parameters") == true)
    }
}
