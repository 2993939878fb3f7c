import Formats
import TrustCore

enum PrivateKeyFixture {
    static func p256() throws -> (secret: SecretBytes, publicKey: PublicKey) {
        let key = try PrivateKey.generate(.ecdsa)
        return (key.exportSecret(), key.publicKey)
    }
}
