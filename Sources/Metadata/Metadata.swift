// The Metadata module; see docs/architecture.md.
