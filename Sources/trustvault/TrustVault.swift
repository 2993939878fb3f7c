import ArgumentParser

@main
struct TrustVault: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "trustvault", abstract: "Offline key vault.")
}
