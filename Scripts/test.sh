#!/usr/bin/env bash
# Installs what the tests need, builds, and runs every test (unit, CLI end-to-end, and the
# interop tests against the real notary, notary-server, docker CLI, pcscd and yubico-piv-tool),
# then a short fuzzing smoke: every libFuzzer harness for 5 seconds (Scripts/fuzz.sh; about a
# minute of fuzzing plus the instrumented build in .build-fuzz/). Between the two, a check that the
# committed manual pages (docs/man/) are current.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
swift build --build-tests
swift test
bash Scripts/gen-man.sh --check  # docs/man/*.1 match the commands' definitions
bash Scripts/fuzz.sh "${TRUSTVAULT_FUZZ_SECONDS:-5}"
