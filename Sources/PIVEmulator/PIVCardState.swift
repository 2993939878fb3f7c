internal import Foundation
public import TrustCore

/// What an emulated card remembers across power cycles and process restarts.
///
/// This is test-support state: the private keys are stored in the clear in the JSON file. It
/// must never hold a real key.
public struct PIVCardState: Codable, Sendable, Equatable {
    public struct SlotKey: Codable, Sendable, Equatable {
        /// PIV algorithm identifier (`0x11` P-256, `0x14` P-384).
        public var algorithm: UInt8
        public var scalar: [UInt8]
        public var pinPolicy: UInt8
        public var touchPolicy: UInt8
        /// `1` generated on the card, `2` imported.
        public var origin: UInt8
    }

    public static let factoryPIN: [UInt8] = Array("123456".utf8)
    public static let factoryPUK: [UInt8] = Array("12345678".utf8)
    public static let factoryManagementKey: [UInt8] =
        Array((1...8).map { UInt8($0) }) + (1...8).map { UInt8($0) }
        + (1...8).map { UInt8($0) }

    public var serial: UInt32
    public var version: [UInt8]
    public var pin: [UInt8]
    public var puk: [UInt8]
    public var pinRetries: Int
    public var pukRetries: Int
    public var pinTriesLeft: Int
    public var pukTriesLeft: Int
    public var managementKey: [UInt8]
    public var managementKeyAlgorithm: UInt8
    /// Keys by slot, keyed by lower-case hex (`"9c"`).
    public var keys: [String: SlotKey]
    /// Data objects by lower-case hex tag (`"5fc10a"`).
    public var objects: [String: [UInt8]]
    /// The attestation (F9) key's scalar; made on first use.
    public var attestationScalar: [UInt8]?

    /// A card as it leaves the factory: PIN 123456, PUK 12345678, management key 010203…08
    /// (3DES before firmware 5.7, AES-192 from 5.7), no keys, no objects.
    public static func factory(serial: UInt32, version: [UInt8] = [5, 4, 3]) -> PIVCardState {
        let aesDefault = version.count == 3 && (version[0] > 5 || (version[0] == 5 && version[1] >= 7))
        return PIVCardState(
            serial: serial, version: version, pin: factoryPIN, puk: factoryPUK,
            pinRetries: 3, pukRetries: 3, pinTriesLeft: 3, pukTriesLeft: 3,
            managementKey: factoryManagementKey, managementKeyAlgorithm: aesDefault ? 0x0A : 0x03,
            keys: [:], objects: [:], attestationScalar: nil)
    }

    /// Loads the state saved at `path`, or `nil` if there is no file.
    public static func load(from path: String) throws(TrustVaultError) -> PIVCardState? {
        guard AtomicFile.exists(path) else { return nil }
        let bytes = try AtomicFile.read(path)
        do {
            return try JSONDecoder().decode(PIVCardState.self, from: Data(bytes))
        } catch {
            throw .corrupt("\(path): not an emulator card state (\(error))", recovery: "delete the file for a factory-fresh card")
        }
    }

    public func save(to path: String) throws(TrustVaultError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do { data = try encoder.encode(self) } catch { throw .io("cannot encode the card state: \(error)") }
        try AtomicFile.write(Array(data), to: path)
    }
}
