public import TrustCore
internal import Metadata

extension TUFSignEvent {
    /// The text tuf-on-ci writes for a signing event's metadata: python-tuf's `JSONSerializer()`,
    /// which is Python's `json.dumps(obj, indent=1, separators=(",", ": "), sort_keys=True)` —
    /// one-space indent, object keys sorted by code point, every character outside printable ASCII
    /// written as a `\uXXXX` escape (lowercase hex, surrogate pairs above U+FFFF), and no newline at the
    /// end. Writing a file back in this form keeps its git diff to the lines that changed.
    public enum EventJSON {
        public static func bytes(_ value: JSONValue) -> [UInt8] { TUF1.Pretty.bytes(value, strings: .pythonASCII) }
    }
}
