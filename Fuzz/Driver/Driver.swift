// Entry point of the libFuzzer harnesses. SwiftPM renames an executable's `main` to
// `<module>_main` and links `--defsym main=trustvault_fuzz_main`, so the libFuzzer driver is
// started from here (the build links libFuzzer's no-main archive; see Scripts/fuzz-build.sh).
//
//   TRUSTVAULT_FUZZ_TARGET=NAME trustvault-fuzz [libFuzzer flags] CORPUS_DIR…
//   trustvault-fuzz --list              the target names
//   trustvault-fuzz --seeds DIR         writes generated seed inputs to DIR/<target>/
internal import Foundation
internal import FuzzHarness

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

nonisolated(unsafe) var selectedTarget: FuzzTarget? = nil

@_cdecl("trustvault_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    let arguments = CommandLine.arguments
    if arguments.count >= 2, arguments[1] == "--list" {
        for target in FuzzTarget.all { print(target.name) }
        return 0
    }
    if arguments.count >= 3, arguments[1] == "--seeds" {
        do {
            try Seeds.write(to: arguments[2])
            return 0
        } catch {
            FileHandle.standardError.write(Data("error: writing seeds: \(error)\n".utf8))
            return 1
        }
    }
    let name = ProcessInfo.processInfo.environment["TRUSTVAULT_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.all.first(where: { $0.name == name }) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
        FileHandle.standardError.write(Data("error: set TRUSTVAULT_FUZZ_TARGET to one of: \(names)\n".utf8))
        return 64
    }
    selectedTarget = target
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in
        let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        selectedTarget!.run(bytes)
        return 0
    }
}
