#!/bin/sh
# Card signing benchmark: APDUs per signature after the PIN is verified (must be 1: one GENERAL
# AUTHENTICATE exchange) and time per signature, through the real pcscd and the PIV emulator
# behind vpcd. Needs pcscd, vsmartcard-vpcd and libpcsclite-dev (root, or a running pcscd with a
# vpcd reader).
set -eu
cd "$(dirname "$0")/.."
swift build --build-tests
TRUSTVAULT_BENCH=1 swift test --skip-build --filter CardSigningBenchmark 2>&1 | grep -E "card signing:|passed|failed"
