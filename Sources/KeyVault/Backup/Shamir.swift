package import TrustCore
internal import CSodium

/// Shamir's secret sharing over GF(2^8), byte by byte.
///
/// Each byte `s` of the secret becomes the constant term of its own random polynomial
/// `f(x) = s + a1·x + … + a(k-1)·x^(k-1)` over GF(256) (the AES field, reduction polynomial
/// x^8 + x^4 + x^3 + x + 1 = 0x11B). The coefficients `a1…a(k-1)` come from libsodium's
/// CSPRNG (`randombytes_buf`). Share number `i` (1…n) holds `f(i)` for every byte; any `k`
/// shares give back `f(0)` by Lagrange interpolation, and any `k-1` shares are uniformly
/// distributed whatever the secret is (they reveal nothing about it).
///
/// **Timing.** The field arithmetic below uses no tables and no secret-dependent branches or
/// memory indices: multiplication is the shift-and-add ("Russian peasant") loop with masks
/// instead of `if`, always 8 rounds; inversion is `a^254` by a fixed square-and-multiply chain
/// (which also maps 0 to 0 without a branch). Loop counts depend only on the public `k`, `n`
/// and the secret's length. The Swift optimiser gives no formal guarantee, so this is
/// "constant-time-ish": it avoids the cache-timing leaks that log/exp tables would have.
package enum Shamir {
    /// One share: its x coordinate (the share number, 1…255) and one y byte per secret byte.
    package struct Share: Sendable, Equatable, CustomStringConvertible {
        package let index: UInt8
        package let value: [UInt8]
        /// Never shows the share bytes.
        package var description: String { "Share(\(index), \(value.count) bytes, redacted)" }
        package init(index: UInt8, value: [UInt8]) {
            self.index = index
            self.value = value
        }
    }

    // MARK: GF(256)

    /// Product in GF(2^8) mod 0x11B, constant time.
    package static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a
        var b = b
        var product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))  // add a when the low bit of b is set
            let carry = a >> 7
            a = (a << 1) ^ (0x1B & (0 &- carry))  // a·x, reduced when x^8 appeared
            b >>= 1
        }
        return product
    }

    /// Multiplicative inverse (`a^254`); maps 0 to 0. Constant time.
    package static func inverse(_ a: UInt8) -> UInt8 {
        // 254 = 0b11111110: a^2 · a^4 · a^8 · … · a^128.
        var square = multiply(a, a)  // a^2
        var result = square
        for _ in 0..<6 {
            square = multiply(square, square)  // a^4, a^8, …, a^128
            result = multiply(result, square)
        }
        return result
    }

    // MARK: Split and combine

    /// Splits `secret` into `count` shares of which any `threshold` recover it.
    ///
    /// - Throws: `.invalidArgument` unless 2 ≤ threshold ≤ count ≤ 255 and the secret is non-empty.
    package static func split(
        _ secret: SecretBytes, threshold: Int, count: Int
    ) throws(TrustVaultError) -> [Share] {
        try split(secret, threshold: threshold, count: count) { needed in
            var bytes = [UInt8](repeating: 0, count: needed)
            Sodium.ensureInitialised()
            bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) }
            return bytes
        }
    }

    /// Splits with caller-supplied polynomial coefficients. `coefficients(n)` must return
    /// `n` bytes: for secret byte `b` the coefficients of x^1…x^(k-1) are bytes
    /// `b·(k-1) ..< (b+1)·(k-1)`. **For test vectors only; never use outside tests.**
    package static func split(
        _ secret: SecretBytes, threshold: Int, count: Int,
        coefficients: (Int) -> [UInt8]
    ) throws(TrustVaultError) -> [Share] {
        try validate(threshold: threshold, count: count)
        guard secret.count > 0 else { throw .invalid("there is no secret to split (0 bytes)") }
        let degree = threshold - 1
        var coeffs = coefficients(secret.count * degree)
        defer { Sodium.wipe(&coeffs) }
        guard coeffs.count == secret.count * degree else {
            throw .invalid("the coefficient source returned \(coeffs.count) bytes instead of \(secret.count * degree)")
        }
        var values = [[UInt8]](repeating: [UInt8](repeating: 0, count: secret.count), count: count)
        secret.withUnsafeBytes { s in
            for byteIndex in 0..<s.count {
                for shareIndex in 0..<count {
                    let x = UInt8(shareIndex + 1)
                    // Horner: (((a(k-1)·x + a(k-2))·x + …)·x + s)
                    var y: UInt8 = 0
                    var power = degree
                    while power >= 1 {
                        y = multiply(y, x) ^ coeffs[byteIndex * degree + power - 1]
                        power -= 1
                    }
                    y = multiply(y, x) ^ s[byteIndex]
                    values[shareIndex][byteIndex] = y
                }
            }
        }
        return values.enumerated().map { Share(index: UInt8($0.offset + 1), value: $0.element) }
    }

    /// Recovers the secret from shares by Lagrange interpolation at x = 0.
    ///
    /// All shares given are used (pass exactly the `k` you have or more: with more than `k`
    /// consistent shares the result is the same). The caller checks the threshold, because
    /// only the share files know `k`.
    /// - Throws: `.invalidArgument` for no shares, duplicate or zero share numbers, or
    ///   shares of different lengths.
    package static func combine(_ shares: [Share]) throws(TrustVaultError) -> SecretBytes {
        guard let first = shares.first else { throw .invalid("no shares were given") }
        let length = first.value.count
        guard length > 0 else { throw .invalid("share \(first.index) holds no bytes") }
        var seen = Set<UInt8>()
        for share in shares {
            guard share.index != 0 else { throw .invalid("share number 0 is not valid (shares are numbered from 1)") }
            guard seen.insert(share.index).inserted else {
                throw .invalid("share \(share.index) was given twice", recovery: "give each custodian's share once")
            }
            guard share.value.count == length else {
                throw .invalid("share \(share.index) holds \(share.value.count) bytes but share \(first.index) holds \(length)")
            }
        }
        // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j − x_i); subtraction is XOR in GF(2^8).
        var basis = [UInt8](repeating: 0, count: shares.count)
        for (i, si) in shares.enumerated() {
            var numerator: UInt8 = 1
            var denominator: UInt8 = 1
            for (j, sj) in shares.enumerated() where j != i {
                numerator = multiply(numerator, sj.index)
                denominator = multiply(denominator, sj.index ^ si.index)
            }
            basis[i] = multiply(numerator, inverse(denominator))
        }
        return SecretBytes(count: length) { out in
            for byteIndex in 0..<length {
                var acc: UInt8 = 0
                for (i, share) in shares.enumerated() {
                    acc ^= multiply(share.value[byteIndex], basis[i])
                }
                out[byteIndex] = acc
            }
        }
    }

    /// Checks 2 ≤ threshold ≤ count ≤ 255.
    package static func validate(threshold: Int, count: Int) throws(TrustVaultError) {
        guard threshold >= 2 else {
            throw .invalid(
                "a threshold of \(threshold) is not allowed: at least 2 shares must be needed",
                recovery: "use --shares K/N with 2 ≤ K ≤ N ≤ 255, or a backup passphrase instead of shares")
        }
        guard count <= 255 else {
            throw .invalid("\(count) shares are too many (at most 255)", recovery: "use --shares K/N with N ≤ 255")
        }
        guard threshold <= count else {
            throw .invalid(
                "a threshold of \(threshold) is more than the \(count) shares made: the backup could never be opened",
                recovery: "use --shares K/N with K ≤ N")
        }
    }
}
