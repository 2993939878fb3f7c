/// A JSON object kept as the exact Go-canonical bytes it was read as, inside the buffer of the
/// file it came from (shared, not copied).
///
/// Large metadata (a targets role with 100,000 tags) would cost a tree of millions of small
/// values to parse, and again to write back in canonical form. A reader that has checked a
/// file is already in canonical form (`NotaryExactForm` in Metadata) keeps such an object as
/// `JSONValue.verbatim`: writing canonical JSON copies its bytes, comparing two compares bytes,
/// and anything that looks inside gets it parsed on demand (``value``), so code that does not
/// know about it reads exactly what it would have read from the tree.
public struct VerbatimJSON: Sendable {
    /// The buffer holding the value (typically the whole file).
    public let buffer: [UInt8]
    /// Where the value's canonical bytes are in ``buffer``.
    public let range: Range<Int>
    /// Every byte is printable ASCII and none is a backslash, `<`, `>` or `&`: no string holds
    /// an escape or a character any writer escapes. The bytes are then also OLPC canonical JSON
    /// (TUF's signed form), and an indented writer can re-indent them without parsing, in either
    /// string style.
    public let isPlain: Bool

    /// `range` must hold one JSON object in Go-canonical form: no whitespace, keys in UTF-8 byte
    /// order without duplicates, strings escaped as Go's canonical encoder escapes them,
    /// integers only. The caller has checked this; nothing here re-checks it.
    /// `isPlain`: the caller has checked the bytes are plain (see ``isPlain``).
    public init(canonicalObjectIn buffer: [UInt8], range: Range<Int>, isPlain: Bool = false) {
        self.buffer = buffer
        self.range = range
        self.isPlain = isPlain
    }

    /// The bytes themselves.
    public var bytes: ArraySlice<UInt8> { buffer[range] }

    /// The parsed value. The bytes were checked to be canonical JSON, which the strict parser
    /// accepts; should it refuse them anyway, the result is JSON `null`, which no metadata
    /// reader accepts in place of an object, so the file is refused rather than misread.
    public var value: JSONValue {
        (try? JSONValue(parsing: buffer, range: range)) ?? .null
    }

    /// The members, parsed (nil if the bytes did not parse, see ``value``).
    public var members: [JSONValue.Member]? { value.objectValue }

    /// Two canonical encodings are equal exactly when the values are.
    public static func == (a: VerbatimJSON, b: VerbatimJSON) -> Bool { a.bytes.elementsEqual(b.bytes) }
}
