// The PIVEmulator module; see docs/architecture.md.
