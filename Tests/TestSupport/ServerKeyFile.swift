public import Foundation
import Crypto

/// A server public-key file as notary-server serves `…/_trust/tuf/timestamp.key` (or
/// `snapshot.key`): `{"keytype":"ecdsa","keyval":{"public":<base64 SPKI DER>,"private":null}}`, for a
/// fresh P-256 key whose private half is thrown away. For offline ceremonies in tests.
public enum ServerKeyFile {
    @discardableResult
    public static func write(at path: String) throws -> String {
        let der = P256.Signing.PrivateKey().publicKey.derRepresentation.base64EncodedString()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try #"{"keytype":"ecdsa","keyval":{"public":"\#(der)","private":null}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
