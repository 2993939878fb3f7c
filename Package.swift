// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")
let asn1 = Target.Dependency.product(name: "SwiftASN1", package: "swift-asn1")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let cryptoExtras = Target.Dependency.product(name: "CryptoExtras", package: "swift-crypto")

let package = Package(
    name: "trustvault",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "KeyVault", targets: ["KeyVault"]),
        .executable(name: "trustvault", targets: ["trustvault"]),
        .executable(name: "piv-emulator", targets: ["piv-emulator"]),
        .executable(name: "trustvault-online", targets: ["trustvault-online"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        // Only for the online hand-off (Online, trustvault-online); never linked into trustvault.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // System libraries (Debian: libsodium-dev, libpcsclite-dev, libssl-dev).
        .systemLibrary(
            name: "CSodium", pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"]), .brew(["libsodium"])]),
        .systemLibrary(
            name: "CPCSCLite", pkgConfig: "libpcsclite",
            providers: [.apt(["libpcsclite-dev"])]),
        .systemLibrary(
            name: "COpenSSL", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]),
        .systemLibrary(
            name: "CQREncode", pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"]), .brew(["qrencode"])]),

        // Bottom: errors, secrets in sodium_malloc'ed memory, canonical JSON, atomic files.
        .target(name: "TrustCore", dependencies: ["CSodium"], swiftSettings: swiftSettings),
        // PEM, DER/PKCS#8 (plain, encrypted, notary's variants), X.509, client bundles.
        .target(
            name: "Formats",
            dependencies: ["TrustCore", "COpenSSL", "CSodium", x509, asn1, crypto, cryptoExtras, "ZIPFoundation"],
            swiftSettings: swiftSettings),
        // PC/SC transport and the PIV session.
        .target(
            name: "SmartCard", dependencies: ["TrustCore", "Formats", "CPCSCLite", "COpenSSL", crypto],
            swiftSettings: swiftSettings),
        // Notary/TUF metadata: model, key IDs, signing, verification, transitions.
        .target(
            name: "Metadata", dependencies: ["TrustCore", "Formats", x509, asn1, crypto, cryptoExtras],
            swiftSettings: swiftSettings),
        // Where metadata lives on disk: notary's cache layout, a ceremony's --out, a TUF repository
        // directory. The Metadata module itself reads and writes no files.
        .target(name: "MetadataStore", dependencies: ["TrustCore", "Metadata"], swiftSettings: swiftSettings),
        // The vault: key records, backends, passphrases, backup, ceremonies.
        .target(
            name: "KeyVault",
            dependencies: ["TrustCore", "Formats", "Metadata", "MetadataStore", "SmartCard", "CSodium", "CQREncode", crypto, x509, asn1],
            swiftSettings: swiftSettings),
        // --version for both executables: release, commit and build date (the plugin writes the
        // commit and date into .build before every build; see Scripts/build-info.sh).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        .target(name: "BuildInfo", swiftSettings: swiftSettings, plugins: ["BuildInfoPlugin"]),
        // What both executables share: main()'s one error-to-exit-status map, the escaped printer,
        // the terminal prompts.
        .target(
            name: "CLISupport",
            dependencies: ["TrustCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // The CLI: parsing, tables, the commands. Imports only what it declares here
        // (Scripts/check-imports.sh); KeyVault re-exports the vocabulary of its API.
        .executableTarget(
            name: "trustvault",
            dependencies: ["KeyVault", "CLISupport", "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // The online hand-off: fetch and publish with Docker token auth over AsyncHTTPClient.
        // Only trustvault-online links it; the offline trustvault binary has no network code.
        .target(
            name: "Online",
            dependencies: [
                "TrustCore", "Metadata", "MetadataStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "trustvault-online",
            dependencies: ["Online", "CLISupport", "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),

        // Test support: a PIV card emulator (library + vpcd client) and peer harnesses.
        .target(
            name: "PIVEmulator", dependencies: ["TrustCore", "COpenSSL", crypto, cryptoExtras, x509, asn1],
            swiftSettings: swiftSettings),
        .executableTarget(name: "piv-emulator", dependencies: ["PIVEmulator"], swiftSettings: swiftSettings),

        // Benchmarks (run with `swift run -c release NAME`; see docs/benchmarks.md).
        .executableTarget(
            name: "kdf-benchmark", dependencies: ["KeyVault", "Formats", "TrustCore", "COpenSSL"],
            path: "Benchmarks/KDF", swiftSettings: swiftSettings),
        .executableTarget(
            name: "targets-benchmark", dependencies: ["Metadata", "MetadataStore", "Formats", "TrustCore", crypto],
            path: "Benchmarks/Targets", swiftSettings: swiftSettings),
        .executableTarget(
            name: "floor-benchmark", dependencies: ["TrustCore", "Metadata", crypto], path: "Benchmarks/Floor", swiftSettings: swiftSettings),
        .target(
            name: "TestSupport", dependencies: ["TrustCore", "SmartCard", crypto], path: "Tests/TestSupport",
            exclude: ["token_issuer.py"],
            swiftSettings: swiftSettings),

        // The fuzz harnesses as a library: Fuzz/Driver runs them under libFuzzer (Scripts/fuzz.sh),
        // FuzzRegressionTests replays the committed crash inputs and seeds through them.
        .target(
            name: "FuzzHarness", dependencies: ["TrustCore", "Formats", "Metadata", "MetadataStore", "SmartCard", "KeyVault"],
            path: "Fuzz/Harness", swiftSettings: swiftSettings),

        .testTarget(name: "TrustCoreTests", dependencies: ["TrustCore"], swiftSettings: swiftSettings),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "MetadataTests", dependencies: ["Metadata", "MetadataStore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "SmartCardTests", dependencies: ["SmartCard", "PIVEmulator", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "KeyVaultTests", dependencies: ["KeyVault", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TrustVaultCLITests", dependencies: ["trustvault", "piv-emulator", "TestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzHarness"], swiftSettings: swiftSettings),
        .testTarget(name: "CLISupportTests", dependencies: ["CLISupport", "TrustCore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "OnlineTests", dependencies: ["Online", "trustvault-online", "trustvault", "TestSupport"],
            swiftSettings: swiftSettings),
    ]
)

// The libFuzzer driver is declared only when TRUSTVAULT_FUZZ=1: it links libFuzzer, which only the
// instrumented build made by Scripts/fuzz-build.sh provides (address sanitizer + coverage).
if Context.environment["TRUSTVAULT_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "trustvault-fuzz", dependencies: ["FuzzHarness"], path: "Fuzz/Driver", swiftSettings: swiftSettings))
}
