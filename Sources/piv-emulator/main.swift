// piv-emulator: a virtual PIV card (YubiKey 5 behaviour) for vsmartcard's vpcd reader.
//
//   piv-emulator STATE_FILE PORT SERIAL [--version X.Y.Z] [--host H] [--log FILE] [--nfc-atr] [--drop-on-sign] [--drop-on-ins HEX[:P2]] [--drop-after-ins HEX[:P2]]
//
// STATE_FILE keeps the card (keys, PIN, objects) across restarts; a missing file is a factory-fresh
// card. PORT is the vpcd slot port (35963 for "Virtual PCD 00 00" in Debian's default config).
import Foundation
import PIVEmulator

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("piv-emulator: \(message)\n".utf8))
    exit(64)
}

var args = Array(CommandLine.arguments.dropFirst())
var version: [UInt8] = [5, 4, 3]
var host = "127.0.0.1"
var logPath: String?
var dropOnSign = false
var dropOnINS: UInt8?
var dropOnP2: UInt8?
var dropAfter = false
var nfcATR = false
var positional: [String] = []
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--version":
        guard let v = args.first, case let parts = v.split(separator: ".").compactMap({ UInt8($0) }), parts.count == 3
        else { fail("--version needs X.Y.Z") }
        version = parts
        args.removeFirst()
    case "--host":
        guard let h = args.first else { fail("--host needs a value") }
        host = h
        args.removeFirst()
    case "--log":
        guard let l = args.first else { fail("--log needs a file") }
        logPath = l
        args.removeFirst()
    case "--nfc-atr":
        // Answer with a YubiKey 5 NFC's contactless ATR (ykman 5 then needs no USB product ID).
        nfcATR = true
    case "--drop-on-sign":
        dropOnSign = true
    case "--drop-on-ins", "--drop-after-ins":
        // HEX or HEX:P2HEX, e.g. 24:80 (CHANGE REFERENCE DATA for the PIN only).
        let parts = (args.first ?? "").split(separator: ":").map { UInt8($0, radix: 16) }
        guard (1...2).contains(parts.count), let ins = parts[0], parts.count == 1 || parts[1] != nil else {
            fail("\(a) needs a hex INS byte, optionally :P2")
        }
        dropOnINS = ins
        dropOnP2 = parts.count == 2 ? parts[1] : nil
        dropAfter = a == "--drop-after-ins"
        args.removeFirst()
    case "-h", "--help":
        print(
            "usage: piv-emulator STATE_FILE PORT SERIAL [--version X.Y.Z] [--host H] [--log FILE] [--nfc-atr] [--drop-on-sign] [--drop-on-ins HEX[:P2]] [--drop-after-ins HEX[:P2]]"
        )
        exit(0)
    default:
        positional.append(a)
    }
}
guard positional.count == 3, let port = UInt16(positional[1]), let serial = UInt32(positional[2]) else {
    fail(
        "usage: piv-emulator STATE_FILE PORT SERIAL [--version X.Y.Z] [--host H] [--log FILE] [--nfc-atr] [--drop-on-sign] [--drop-on-ins HEX[:P2]] [--drop-after-ins HEX[:P2]]"
    )
}
signal(SIGPIPE, SIG_IGN)
do {
    let card = try PIVCard(stateFile: positional[0], serial: serial, version: version)
    let connection = try VirtualCardConnection(card: card, host: host, port: port)
    connection.dropOnSign = dropOnSign
    connection.dropOnINS = dropOnINS
    connection.dropOnP2 = dropOnP2
    if nfcATR { connection.atr = PIVCard.nfcATR }
    connection.dropAfterProcessing = dropAfter
    if let logPath {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        if let handle = FileHandle(forWritingAtPath: logPath) {
            connection.log = { handle.write(Data(($0 + "\n").utf8)) }
        }
    }
    connection.run()
} catch {
    fail("\(error)")
}
