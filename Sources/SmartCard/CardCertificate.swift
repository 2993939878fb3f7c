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

extension CardCertificate {
    static func parse(_ der: [UInt8]) -> OpaquePointer? {
        der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_X509(nil, &p, buf.count)
        }
    }

    /// Whether `certificate` carries a valid signature by the key of `issuer` (both DER), and
    /// names `issuer`'s subject as its issuer. Validity dates are not checked here.
    public static func isSigned(_ certificate: [UInt8], by issuer: [UInt8]) -> Bool {
        guard let cert = parse(certificate), let ca = parse(issuer) else { return false }
        defer {
            X509_free(cert)
            X509_free(ca)
        }
        guard let key = X509_get0_pubkey(ca) else { return false }
        guard X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca)) == 0 else { return false }
        return X509_verify(cert, key) == 1
    }
}
