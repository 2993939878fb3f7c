// KeyVault is the library product: a program (and the `trustvault` CLI) imports KeyVault alone.
// The modules whose types its public API speaks in (errors, secrets and JSON from TrustCore; keys,
// PEM and certificates from Formats; PIV slots and policies from SmartCard; the metadata model,
// verifier and views from Metadata, the repository layouts from MetadataStore) are re-exported here, in this one place, so that a client
// never imports them itself (Scripts/check-imports.sh refuses an executable that does).
@_exported public import TrustCore
@_exported public import Formats
@_exported public import SmartCard
@_exported public import Metadata
@_exported public import MetadataStore
