import Foundation
import Testing

/// Runs Scripts/check-imports.py on `root`.
func checkImports(_ root: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", packageRoot + "/Scripts/check-imports.py", root]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("The executables import only what they declare")
struct ImportEdgeTests {
    @Test func theTreeKeepsTheEdge() throws {
        let r = try checkImports(packageRoot)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("ok: trustvault: ArgumentParser, BuildInfo, CLISupport, KeyVault\n"), "\(r.output)")
        #expect(r.output.contains("ok: trustvault-online: ArgumentParser, BuildInfo, CLISupport, Online\n"), "\(r.output)")
    }

    /// A copy of the manifest and the executables' sources with one more file, checked.
    func checkWithExtraFile(_ target: String, _ source: String) throws -> (status: Int32, output: String) {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("import-edge-\(UUID().uuidString.prefix(8))").path
        defer { try? fm.removeItem(atPath: root) }
        try fm.createDirectory(atPath: root + "/Sources", withIntermediateDirectories: true)
        try fm.copyItem(atPath: packageRoot + "/Package.swift", toPath: root + "/Package.swift")
        for exe in ["trustvault", "trustvault-online"] {
            try fm.copyItem(atPath: packageRoot + "/Sources/" + exe, toPath: root + "/Sources/" + exe)
        }
        try source.write(toFile: root + "/Sources/\(target)/Extra.swift", atomically: true, encoding: .utf8)
        return try checkImports(root)
    }

    @Test func aLowerLayerImportedDirectlyIsRefused() throws {
        for module in ["Metadata", "Formats", "SmartCard", "TrustCore"] {
            let r = try checkWithExtraFile("trustvault", "import ArgumentParser\ninternal import \(module)\n")
            #expect(r.status == 1, "\(module): \(r.output)")
            #expect(r.output.contains("Sources/trustvault/Extra.swift: the executable trustvault imports \(module)"), "\(r.output)")
        }
        let online = try checkWithExtraFile("trustvault-online", "@preconcurrency import Metadata\n")
        #expect(online.status == 1 && online.output.contains("trustvault-online imports Metadata"), "\(online.output)")
    }

    @Test func anUndeclaredModuleOrTheOnlineSideIsRefused() throws {
        let undeclared = try checkWithExtraFile("trustvault", "import ZIPFoundation\n")
        #expect(undeclared.status == 1, "\(undeclared.output)")
        #expect(undeclared.output.contains("trustvault imports ZIPFoundation, which Package.swift does not declare"), "\(undeclared.output)")
        let online = try checkWithExtraFile("trustvault", "import Online\n")
        #expect(online.status == 1 && online.output.contains("the offline executable trustvault imports Online"), "\(online.output)")
        let declared = try checkWithExtraFile("trustvault-online", "import Foundation\nimport Online\n")
        #expect(declared.status == 0, "\(declared.output)")
    }
}
