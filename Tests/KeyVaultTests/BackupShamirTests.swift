import Testing
import TrustCore
@testable import KeyVault

/// Shamir secret sharing: field arithmetic, fixed vectors in both directions, properties.
///
/// The vectors were computed with an independent implementation (log/exp tables with
/// generator 0x03 over the AES field 0x11B, written separately in Python for this project)
/// and are checked here against the table-free constant-time Swift code.
@Suite struct BackupShamirTests {
    private func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    // FIPS-197 §4.2 gives {57}·{83} = {c1} and {57}·{13} = {fe}; §5.1.1 / Appendix: {53}⁻¹ = {ca}.
    @Test func fieldMatchesFIPS197Examples() {
        #expect(Shamir.multiply(0x57, 0x83) == 0xC1)
        #expect(Shamir.multiply(0x57, 0x13) == 0xFE)
        #expect(Shamir.inverse(0x53) == 0xCA)
        #expect(Shamir.inverse(0) == 0)
    }

    @Test func everyNonZeroElementHasAnInverse() {
        for a in 1...255 {
            #expect(Shamir.multiply(UInt8(a), Shamir.inverse(UInt8(a))) == 1, "a = \(a)")
        }
    }

    @Test func multiplicationIsCommutativeAndDistributive() {
        for a in stride(from: 0, through: 255, by: 7) {
            for b in stride(from: 0, through: 255, by: 11) {
                let (x, y) = (UInt8(a), UInt8(b))
                #expect(Shamir.multiply(x, y) == Shamir.multiply(y, x))
                let c: UInt8 = 0x9D
                #expect(Shamir.multiply(x, y ^ c) == Shamir.multiply(x, y) ^ Shamir.multiply(x, c))
            }
        }
    }

    static let vector32Secret: [UInt8] = Array(0..<32)
    static let vector32Coefficients: [UInt8] = (0..<64).map { UInt8((0xA5 * $0 + 0x3C) & 0xFF) }
    static let vector32Shares = [
        "ddaca7a669f863a2b5a4ef6ee150abaa4dfc77f6b9a8b372e574bfbeb1c07bfa",
        "d1ba76fde815af32cf4973e3005007ec815ca61b8e68c9e229990e857d2dd70a",
        "0c17d35885e8ca9772e49686ed0da249dcb1c3fe23d56c87d4f4ab20d0f0b2ef",
        "62a97e6e1fccd8e6338d6e480d06672c858d824a7a9fbd1a17713d2d5e0f9b08",
        "bf04dbcb7231bd438e208b2de05bc289d860e7afd722187fea1c9888f3d2feed",
    ]

    @Test func vector3of5SplitsToKnownShares() throws {
        let shares = try Shamir.split(
            SecretBytes(copying: Self.vector32Secret), threshold: 3, count: 5,
            coefficients: { n in Array(Self.vector32Coefficients.prefix(n)) })
        #expect(shares.map(\.index) == [1, 2, 3, 4, 5])
        #expect(shares.map(\.value) == Self.vector32Shares.map(hex))
    }

    @Test(arguments: [[1, 2, 3], [1, 3, 5], [2, 4, 5], [5, 4, 3], [1, 2, 3, 4, 5], [3, 1, 4, 5]])
    func vector3of5CombinesBack(_ which: [Int]) throws {
        let shares = which.map { Shamir.Share(index: UInt8($0), value: hex(Self.vector32Shares[$0 - 1])) }
        let secret = try Shamir.combine(shares)
        #expect(secret.withUnsafeBytes { Array($0) } == Self.vector32Secret)
    }

    @Test func vector2of3Text() throws {
        let secret = Array("trustvault".utf8)
        let expected = ["757a7a6569524a475534", "76626b5f4e3e37111ef4", "776a6449531a1c2327b4"]
        let shares = try Shamir.split(
            SecretBytes(copying: secret), threshold: 2, count: 3,
            coefficients: { n in (0..<n).map { UInt8((7 * $0 + 1) & 0xFF) } })
        #expect(shares.map(\.value) == expected.map(hex))
        let back = try Shamir.combine([
            Shamir.Share(index: 3, value: hex(expected[2])), Shamir.Share(index: 2, value: hex(expected[1])),
        ])
        #expect(back.withUnsafeBytes { Array($0) } == secret)
    }

    @Test(arguments: [(2, 2), (2, 3), (3, 5), (5, 5), (4, 9), (2, 255), (255, 255)])
    func anyKOfNReconstructFewerDoNot(_ kn: (Int, Int)) throws {
        let (k, n) = kn
        let secret = SecretSeal.randomKey()
        let shares = try Shamir.split(secret, threshold: k, count: n)
        #expect(shares.count == n)
        #expect(Set(shares.map(\.index)).count == n)
        for _ in 0..<5 {
            let chosen = Array(shares.shuffled().prefix(k))
            #expect(try Shamir.combine(chosen).constantTimeEquals(secret))
            let tooFew = Array(chosen.prefix(k - 1))
            #expect(try !Shamir.combine(tooFew).constantTimeEquals(secret))
        }
    }

    /// With k−1 shares fixed, every secret byte value stays possible: for a 2-of-n split,
    /// share 1 of a one-byte secret is s ⊕ a with a uniform, so over many splits of the same
    /// secret it takes (nearly) all 256 values and its distribution does not depend on s.
    @Test func fewerThanKSharesAreUniform() throws {
        for secretByte: UInt8 in [0x00, 0xFF] {
            var counts = [Int](repeating: 0, count: 256)
            let trials = 256 * 40
            for _ in 0..<trials {
                let shares = try Shamir.split(SecretBytes(copying: [secretByte]), threshold: 2, count: 3)
                counts[Int(shares[0].value[0])] += 1
            }
            // Chi-square with 255 degrees of freedom: mean 255, sd ≈ 22.6; 400 is > 6 sd.
            let expected = Double(trials) / 256
            let chi2 = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            #expect(chi2 < 400, "chi² = \(chi2) for secret byte \(secretByte)")
            #expect(counts.filter { $0 == 0 }.count < 3)
        }
    }

    /// Structural: for any k−1 shares and any candidate secret there is exactly one
    /// polynomial through them, so each candidate is equally consistent with what was seen.
    @Test func kMinusOneSharesFitEverySecret() throws {
        let shares = try Shamir.split(SecretBytes(copying: [0x42]), threshold: 3, count: 5)
        let seen = Array(shares.prefix(2))
        for candidate in 0...255 {
            // The point (0, candidate) and the two seen shares fix one degree-2 polynomial; a
            // third share taken from it makes combine() return the candidate.
            let points = [(UInt8(0), UInt8(candidate))] + seen.map { ($0.index, $0.value[0]) }
            let y255 = interpolate(points, at: 0xFF)
            let back = try Shamir.combine(seen + [Shamir.Share(index: 0xFF, value: [y255])])
            #expect(back.withUnsafeBytes { Array($0) } == [UInt8(candidate)])
        }
    }

    private func interpolate(_ points: [(UInt8, UInt8)], at x: UInt8) -> UInt8 {
        var acc: UInt8 = 0
        for (i, p) in points.enumerated() {
            var num: UInt8 = 1
            var den: UInt8 = 1
            for (j, q) in points.enumerated() where j != i {
                num = Shamir.multiply(num, x ^ q.0)
                den = Shamir.multiply(den, p.0 ^ q.0)
            }
            acc ^= Shamir.multiply(p.1, Shamir.multiply(num, Shamir.inverse(den)))
        }
        return acc
    }

    @Test(arguments: [(1, 3), (0, 3), (4, 3), (2, 256), (300, 300)])
    func refusesBadParameters(_ kn: (Int, Int)) {
        #expect(throws: TrustVaultError.invalid("")) {
            try Shamir.split(SecretSeal.randomKey(), threshold: kn.0, count: kn.1)
        }
    }

    @Test func refusesDuplicateZeroAndMismatchedShares() {
        let a = Shamir.Share(index: 1, value: [1, 2])
        #expect(throws: TrustVaultError.invalid("")) { try Shamir.combine([a, a]) }
        #expect(throws: TrustVaultError.invalid("")) { try Shamir.combine([Shamir.Share(index: 0, value: [1, 2]), a]) }
        #expect(throws: TrustVaultError.invalid("")) { try Shamir.combine([a, Shamir.Share(index: 2, value: [1])]) }
        #expect(throws: TrustVaultError.invalid("")) { try Shamir.combine([]) }
    }
}
