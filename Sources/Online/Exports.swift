// Online is the library of the online hand-off: `trustvault-online` imports Online alone. The
// modules its public API speaks in (TrustCore's errors and JSON, Metadata's times) are re-exported
// here, in this one place (Scripts/check-imports.sh refuses an executable that imports them).
@_exported public import TrustCore
@_exported public import Metadata
@_exported public import MetadataStore
