import Foundation
import Testing
import TestSupport

extension DockerInspectTests {
    /// After the checks on the full repository: a signer's key replaced in its own role (its file
    /// still signed by the old key) and a role removed whole (its file left on the server). The
    /// real docker CLI skips both as the notary client does; trustvault's inspect is byte-identical
    /// and verify names them.
    func untrustedDelegationsAreSkippedAsDockerSkipsThem(_ repo: ServedRepository) throws {
        let listed = try repo.notary(["delegation", "list", repo.gun]).stdout
        let aliceLine = try #require(listed.split(separator: "\n").first { $0.hasPrefix("targets/alice ") }, "\(listed)")
        let aliceID = try #require(aliceLine.split(separator: " ").first { $0.count == 64 }.map(String.init), "\(listed)")
        try repo.notary(["delegation", "add", repo.gun, "targets/alice", repo.path("carol.crt"), "-p"])
        try repo.notary(["delegation", "remove", repo.gun, "targets/alice", aliceID, "-p"])
        try compareWithDocker(repo, "replaced", untrusted: ["targets/alice.json, because 0 valid signature(s)"])
        try repo.notary(["delegation", "remove", repo.gun, "targets/bob", "-y", "-p"])
        // Here the notary client signs the snapshot (it holds the snapshot key) and leaves the
        // removed role out of it; with a server-held snapshot the server keeps listing it
        // (RevocationTests.aRemovedRoleThatSignedTagsNeverLocksTheRepository).
        try compareWithDocker(repo, "removed", untrusted: ["targets/alice.json, because 0 valid signature(s)"])
        #expect(!FileManager.default.fileExists(atPath: repo.path("fetched-removed") + "/targets/bob.json"))
    }

    func compareWithDocker(_ repo: ServedRepository, _ name: String, untrusted: [String]) throws {
        let dir = repo.path("fetched-" + name)
        let fetched = try Run.program(
            TrustVaultCLI.productsDirectory + "/trustvault-online",
            ["fetch", repo.gun, "--server", repo.server.url, "--tlscacert", repo.path("ca.crt"), "--out", dir],
            environment: ["DOCKER_CONFIG": repo.path("online-docker-config")])
        #expect(fetched.status == 0, "\(fetched)")
        let verify = try TrustVaultCLI.run(["verify", dir, "--gun", repo.gun])
        #expect(verify.status == 0, "\(verify)")
        for u in untrusted { #expect(verify.stdout.contains("not trusted: " + u), "\(verify)") }
        for tag in [nil, "v2", "v5"] as [String?] {
            let label = tag.map { repo.gun + ":" + $0 } ?? repo.gun
            let tagArgs = tag.map { ["--tag", $0] } ?? []
            let docker = try repo.dockerInspect(["--pretty", label])
            let ours = try TrustVaultCLI.run(["inspect", dir, "--gun", repo.gun] + tagArgs)
            #expect(docker.status == 0 && ours.status == 0, "\(docker)\n\(ours)")
            #expect(ours.stdout == docker.stdout, "\(name): pretty view of \(label) differs:\n--- docker\n\(docker.stdout)--- trustvault\n\(ours.stdout)")
            let dockerJSON = try repo.dockerInspect([label])
            let oursJSON = try TrustVaultCLI.run(["inspect", dir, "--gun", repo.gun, "--json"] + tagArgs)
            #expect(
                oursJSON.stdout == dockerJSON.stdout, "\(name): JSON of \(label) differs:\n--- docker\n\(dockerJSON.stdout)--- trustvault\n\(oursJSON.stdout)")
        }
    }
}
