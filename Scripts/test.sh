#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test (unit, CLI end-to-end, and the
# interop tests against the real notary, notary-server, docker CLI, pcscd and yubico-piv-tool).
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
swift build --build-tests
swift test
