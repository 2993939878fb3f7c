import Foundation
import PackagePlugin

/// Before every build of the BuildInfo target, runs Scripts/build-info.sh to write
/// GeneratedBuildInfo.swift (commit and build date for `--version`) into the plugin's work
/// directory inside .build; the source tree is never written.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = context.package.directoryURL.appending(path: "Scripts/build-info.sh")
        return [
            .prebuildCommand(
                displayName: "Recording the commit and build date for --version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path(percentEncoded: false), context.package.directoryURL.path(percentEncoded: false), output.path(percentEncoded: false)],
                outputFilesDirectory: output)
        ]
    }
}
