// The KeyVault module; see docs/architecture.md.
