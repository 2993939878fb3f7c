public import TrustCore
public import SmartCard
internal import Formats

extension CardProcedures {
    /// `card attest --ca FILE`: the CA file (PEM, its first certificate) is read through the input
    /// gate and parsed before the card is asked anything; then as `attest(serial:slot:caDER:env:)`.
    public static func attest(serial: UInt32, slot: PIVSlot, caFile: String?, env: CardEnvironment) throws(TrustVaultError)
        -> CardAttestation
    {
        let caDER: [UInt8]? = try caFile.map { (path: String) throws(TrustVaultError) -> [UInt8] in
            let certs = try CertificateInfo.parseAll(pem: AtomicFile.read(path, kind: .publicKey), source: path)
            guard let first = certs.first else { throw TrustVaultError.corrupt("\(path) holds no certificate") }
            return first.derBytes
        }
        return try attest(serial: serial, slot: slot, caDER: caDER, env: env)
    }
}
