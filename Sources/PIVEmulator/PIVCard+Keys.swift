internal import Foundation
internal import TrustCore

// The emulated card's key slots: generate, import, sign, attest and metadata (the APDU state
// machine and its dispatch: PIVCard.swift).

extension PIVCard {
    // MARK: keys

    static func slotName(_ slot: UInt8) -> String { String(format: "%02x", slot) }

    static func isKeySlot(_ slot: UInt8) -> Bool {
        [0x9A, 0x9C, 0x9D, 0x9E].contains(slot) || (0x82...0x95).contains(slot)
    }

    /// YubiKey defaults: 9C ALWAYS, 9E NEVER, the others ONCE.
    static func defaultPINPolicy(_ slot: UInt8) -> UInt8 {
        switch slot {
        case 0x9C: 0x03
        case 0x9E: 0x01
        default: 0x02
        }
    }

    func sign(_ alg: UInt8, slot: UInt8, _ inner: [(tag: [UInt8], value: [UInt8])], justVerified: Bool) -> Reply {
        guard Self.isKeySlot(slot), let key = state.keys[Self.slotName(slot)], key.algorithm == alg else {
            return .sw(0x6A80)
        }
        guard let response = TLV.find([0x82], in: inner), response.isEmpty,
            let input = TLV.find([0x81], in: inner)
        else { return .sw(0x6A80) }
        switch key.pinPolicy {
        case 0x03: guard pinVerified && justVerified else { return .sw(0x6982) }
        case 0x01: break
        default: guard pinVerified else { return .sw(0x6982) }
        }
        if alg == 0xE0 {
            // Ed25519 signs the whole message.
            guard let sig = EmulatorCrypto.signEd25519(seed: key.scalar, message: input) else { return .sw(0x6F00) }
            return .ok(TLV.encode(0x7C, TLV.encode(0x82, sig)))
        }
        let fieldSize = alg == 0x11 ? 32 : 48
        guard input.count <= fieldSize else { return .sw(0x6A80) }
        guard let sig = EmulatorCrypto.signDigest(alg, scalar: key.scalar, digest: input) else { return .sw(0x6F00) }
        return .ok(TLV.encode(0x7C, TLV.encode(0x82, sig)))
    }

    private func policies(_ tlvs: [(tag: [UInt8], value: [UInt8])], slot: UInt8) -> (UInt8, UInt8)? {
        var pin = TLV.find([0xAA], in: tlvs)?.first ?? 0
        var touch = TLV.find([0xAB], in: tlvs)?.first ?? 0
        guard pin <= 3, touch <= 3 else { return nil }
        if pin == 0 { pin = Self.defaultPINPolicy(slot) }
        if touch == 0 { touch = 0x01 }
        return (pin, touch)
    }

    func generate(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard c.p1 == 0x00, Self.isKeySlot(c.p2), let outer = TLV.parse(c.data), let ac = TLV.find([0xAC], in: outer),
            let inner = TLV.parse(ac), let alg = TLV.find([0x80], in: inner)?.first,
            let (pin, touch) = policies(inner, slot: c.p2)
        else { return .sw(0x6A80) }
        if alg == 0xE0 && state.version.lexicographicallyPrecedes([5, 7, 0]) { return .sw(0x6A80) }
        guard let (scalar, point) = EmulatorCrypto.generateEC(alg) else { return .sw(0x6A80) }
        state.keys[Self.slotName(c.p2)] = .init(algorithm: alg, scalar: scalar, pinPolicy: pin, touchPolicy: touch, origin: 1)
        persist()
        return .ok(TLV.encode([0x7F, 0x49], TLV.encode(0x86, point)))
    }

    func importKey(_ c: Command) -> Reply {
        guard managementAuthenticated else { return .sw(0x6982) }
        guard Self.isKeySlot(c.p2), let tlvs = TLV.parse(c.data), let (pin, touch) = policies(tlvs, slot: c.p2) else {
            return .sw(0x6A80)
        }
        let size: Int
        switch c.p1 {
        case 0x11: size = 32
        case 0x14: size = 48
        default: return .sw(0x6A80)
        }
        guard let scalar = TLV.find([0x06], in: tlvs), scalar.count == size,
            EmulatorCrypto.publicPoint(c.p1, scalar: scalar) != nil
        else { return .sw(0x6A80) }
        state.keys[Self.slotName(c.p2)] = .init(algorithm: c.p1, scalar: scalar, pinPolicy: pin, touchPolicy: touch, origin: 2)
        persist()
        return .ok()
    }

    /// The attestation key, made (with its 5FFF01 certificate) the first time it is needed.
    private func attestationKey() -> [UInt8]? {
        if let k = state.attestationScalar { return k }
        guard let (scalar, _) = EmulatorCrypto.generateEC(0x11),
            let cert = try? Attestation.rootCertificate(scalar: scalar, serial: state.serial)
        else { return nil }
        state.attestationScalar = scalar
        state.objects["5fff01"] = TLV.encode(0x70, cert) + TLV.encode(0x71, [0x00]) + TLV.encode(0xFE, [])
        persist()
        return scalar
    }

    func attest(_ c: Command) -> Reply {
        guard let key = state.keys[Self.slotName(c.p1)] else { return .sw(0x6A88) }
        guard key.origin == 1 else { return .sw(0x6A80) }  // only keys generated on the card
        guard key.algorithm == 0x11, let point = EmulatorCrypto.publicPoint(0x11, scalar: key.scalar),
            let root = attestationKey(),
            let cert = try? Attestation.certificate(
                slot: c.p1, point: point, pinPolicy: key.pinPolicy, touchPolicy: key.touchPolicy, state: state,
                rootScalar: root)
        else { return .sw(0x6A80) }
        return .ok(cert)
    }

    func metadata(_ c: Command) -> Reply {
        switch c.p2 {
        case 0x80, 0x81:
            let isPIN = c.p2 == 0x80
            let isDefault = isPIN ? state.pin == PIVCardState.factoryPIN : state.puk == PIVCardState.factoryPUK
            let total = isPIN ? state.pinRetries : state.pukRetries
            let left = isPIN ? state.pinTriesLeft : state.pukTriesLeft
            return .ok(
                TLV.encode(0x01, [0xFF]) + TLV.encode(0x05, [isDefault ? 1 : 0])
                    + TLV.encode(0x06, [UInt8(total), UInt8(left)]))
        case 0x9B:
            let isDefault = state.managementKey == PIVCardState.factoryManagementKey
            return .ok(
                TLV.encode(0x01, [state.managementKeyAlgorithm]) + TLV.encode(0x02, [0x00, 0x01])
                    + TLV.encode(0x05, [isDefault ? 1 : 0]))
        default:
            guard let key = state.keys[Self.slotName(c.p2)],
                let point = EmulatorCrypto.publicPoint(key.algorithm, scalar: key.scalar)
            else { return .sw(0x6A88) }
            return .ok(
                TLV.encode(0x01, [key.algorithm]) + TLV.encode(0x02, [key.pinPolicy, key.touchPolicy])
                    + TLV.encode(0x03, [key.origin]) + TLV.encode(0x04, TLV.encode(0x86, point)))
        }
    }
}
