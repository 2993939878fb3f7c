// The SmartCard module; see docs/architecture.md.
