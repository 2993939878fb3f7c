import Foundation
import FuzzHarness
import Testing

/// Replays every input the fuzzers found (Tests/FuzzRegressions/<target>/<input>) through the same
/// harness libFuzzer runs (Fuzz/Harness), in the normal build. A trap fails the whole test run;
/// a slow input fails its bound. Seeds made by the harness's generator run through it too, so the
/// harnesses stay in step with the library between fuzz runs.
@Suite struct FuzzRegressionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzRegressions").path

    static func inputs() -> [(target: String, file: String)] {
        let fm = FileManager.default
        var out: [(String, String)] = []
        for target in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() {
            let dir = root + "/" + target
            for file in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() where !file.hasPrefix(".") {
                out.append((target, dir + "/" + file))
            }
        }
        return out
    }

    @Test func everyRegressionDirectoryNamesAHarness() throws {
        let names = Set(FuzzTarget.all.map(\.name))
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.root).filter { !$0.hasPrefix(".") && $0 != "README.md" }
        #expect(!dirs.isEmpty)
        for dir in dirs { #expect(names.contains(dir), "Tests/FuzzRegressions/\(dir) is not a harness name") }
    }

    @Test func regressionInputsRunBounded() throws {
        let inputs = Self.inputs()
        #expect(!inputs.isEmpty)
        for (targetName, file) in inputs {
            let target = try #require(FuzzTarget.all.first { $0.name == targetName })
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            let start = ContinuousClock.now
            target.run(bytes)
            let elapsed = ContinuousClock.now - start
            #expect(elapsed < .seconds(3), "\(file) took \(elapsed)")
        }
    }

    @Test func generatedSeedsRunThroughEveryHarness() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-seeds-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Seeds.write(to: dir)
        var covered: Set<String> = []
        for target in FuzzTarget.all {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/" + target.name)) ?? []
            for file in files {
                target.run(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + target.name + "/" + file))))
                covered.insert(target.name)
            }
        }
        // Every harness but the bundle one (fuzz.sh zips its members) gets generated seeds.
        #expect(covered == Set(FuzzTarget.all.map(\.name)).subtracting(["bundle"]))
    }
}
