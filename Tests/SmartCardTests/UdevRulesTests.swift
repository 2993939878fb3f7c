import Foundation
import Testing

/// CI has no udevd (and systemd 252 no `udevadm verify`): check the rules file's shape instead.
@Suite("udev rules")
struct UdevRulesTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("udev/69-trustvault-piv.rules").path

    @Test func rulesTagYubiKeysAndCCIDReadersForUaccess() throws {
        let text = try String(contentsOfFile: Self.file, encoding: .utf8)
        let rules = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(rules.contains { $0.contains("ATTR{idVendor}==\"1050\"") && $0.contains("TAG+=\"uaccess\"") })
        #expect(rules.contains { $0.contains("ENV{ID_USB_INTERFACES}==\"*:0b????:*\"") && $0.contains("TAG+=\"uaccess\"") })
        #expect(!rules.contains { $0.contains("MODE=\"0666\"") }, "no world-writable devices")
        // Every rule is a comma-separated list of KEY op "value" pairs; GOTO targets exist.
        let pair = #/^[A-Z_]+(\{[A-Za-z_]+\})?(==|!=|=|\+=)"[^"]*"$/#
        for rule in rules where !rule.hasPrefix("LABEL=") {
            for part in rule.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                #expect(part.wholeMatch(of: pair) != nil, "malformed: \(part)")
            }
        }
        let labels = Set(rules.filter { $0.hasPrefix("LABEL=") }.map { $0.dropFirst(6).trimmingCharacters(in: ["\""]) })
        for rule in rules {
            if let r = rule.range(of: "GOTO=\"") {
                let target = rule[r.upperBound...].prefix { $0 != "\"" }
                #expect(labels.contains(String(target)))
            }
        }
        // Sorts before systemd's 70-uaccess.rules.
        #expect(URL(fileURLWithPath: Self.file).lastPathComponent < "70-uaccess.rules")
    }
}
