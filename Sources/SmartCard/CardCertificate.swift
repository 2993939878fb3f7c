internal import COpenSSL
public import TrustCore
public import Formats

/// Reads the public key out of a DER X.509 certificate stored on a card (via OpenSSL).
public enum CardCertificate {
    public static func publicKey(ofCertificate der: [UInt8]) throws(TrustVaultError) -> PublicKey {
        let cert: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
        guard let cert else { throw .corrupt("the certificate on the card is not DER X.509") }
        defer { X509_free(cert) }
        guard let key = X509_get0_pubkey(cert) else { throw .corrupt("the certificate on the card has no public key") }
        var out: UnsafeMutablePointer<UInt8>?
        let n = i2d_PUBKEY(key, &out)
        guard n > 0, let out else { throw .corrupt("the certificate's public key cannot be encoded") }
        defer { CRYPTO_free(out, #fileID, #line) }
        return try PublicKey(spkiDER: Array(UnsafeBufferPointer(start: out, count: Int(n))))
    }
}
