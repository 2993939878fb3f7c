public import TrustCore
internal import Formats
internal import CSodium

/// PEM text of private key material, built in secure memory (`sodium_malloc`, wiped when
/// released) and never in a `String`: the base64 is libsodium's `sodium_bin2base64` writing into
/// a secure buffer, the lines are copied into another.
enum SecretPEM {
    static let lineLength = 64

    /// `-----BEGIN type-----`, the DER in base64 lines of 64 characters, `-----END type-----`,
    /// each line ending in `\n` (the form OpenSSL writes).
    static func encode(type: String, der: SecretBytes) -> SecretBytes {
        let begin = Array("-----BEGIN \(type)-----\n".utf8), end = Array("-----END \(type)-----\n".utf8)
        let encodedLength = (der.count + 2) / 3 * 4
        let base64 = SecretBytes(count: encodedLength + 1) { buffer in  // + the NUL libsodium writes
            der.withBytePointer { bytes, count in
                _ = sodium_bin2base64(
                    buffer.baseAddress!.assumingMemoryBound(to: CChar.self), buffer.count, bytes, count,
                    sodium_base64_VARIANT_ORIGINAL)
            }
        }
        let lines = (encodedLength + lineLength - 1) / lineLength
        return SecretBytes(count: begin.count + encodedLength + lines + end.count) { out in
            var at = 0
            func put(_ raw: UnsafeRawBufferPointer) {
                out.baseAddress!.advanced(by: at).copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                at += raw.count
            }
            begin.withUnsafeBytes(put)
            base64.withUnsafeBytes { text in
                var start = 0
                while start < encodedLength {
                    let stop = min(start + lineLength, encodedLength)
                    put(UnsafeRawBufferPointer(rebasing: text[start..<stop]))
                    [UInt8(ascii: "\n")].withUnsafeBytes(put)
                    start = stop
                }
            }
            end.withUnsafeBytes(put)
        }
    }

    /// The parts one after the other, in one secure buffer.
    static func joined(_ parts: [SecretBytes]) -> SecretBytes {
        SecretBytes(count: parts.reduce(0) { $0 + $1.count }) { out in
            var at = 0
            for part in parts where part.count > 0 {
                part.withUnsafeBytes { out.baseAddress!.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                at += part.count
            }
        }
    }
}

extension Vault {
    /// Unencrypted PKCS#8 `PRIVATE KEY` PEM of vault keys, one block per key in the order given,
    /// as OpenSSL writes it, in secure memory. Card keys are refused (their private half never
    /// leaves the card); each vault key is unlocked with its passphrase from `secrets`.
    public func unencryptedPEM(_ records: [KeyRecord], secrets: SecretSource) throws(TrustVaultError) -> SecretBytes {
        guard !records.isEmpty else { throw .invalid("no keys to export") }
        var blocks: [SecretBytes] = []
        for record in records {
            if case .card(let serial, let slot) = record.location {
                throw .invalid(
                    "key \(record.id) lives on card \(serial) slot \(slot); its private half cannot leave the card",
                    recovery: "export only vault keys, or use --format public for the card key's public key")
            }
            let der = try PrivateKeyDER.standardPKCS8(try unlock(record, secrets: secrets))
            blocks.append(SecretPEM.encode(type: "PRIVATE KEY", der: der))
        }
        return SecretPEM.joined(blocks)
    }
}
