#!/usr/bin/env bash
# The README's test command and what CI runs (.ci/run).
#
#   Scripts/test.sh         everything: installs what the tests need, checks the style
#                           (`swift format lint`), builds, runs every test (unit, CLI end-to-end
#                           and the interop tier against the real notary, notary-server, docker
#                           CLI, pcscd, yubico-piv-tool, python-tuf and faketime), checks that the
#                           committed manual pages (docs/man/) are current, then a short fuzzing
#                           smoke: every libFuzzer harness for 5 seconds (Scripts/fuzz.sh).
#   Scripts/test.sh --fast [swift test options]
#                           the fast tier only: builds and runs every test not marked
#                           interop or durability (Tests/TestSupport/TestTier.swift), with no
#                           peer started. Installs nothing; options go to `swift test`
#                           (e.g. `--filter VaultTests`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --fast ]; then
    shift
    start=$SECONDS
    swift build --build-tests
    # Every peer on PATH is replaced by a program that records that it was started and fails;
    # the harnesses refuse to start one themselves (TRUSTVAULT_TEST_TIER=fast). Either way a
    # test that needs a peer but is not marked interop fails, and so does this run.
    shims=$(mktemp -d /tmp/trustvault-fast-tier.XXXXXX)
    trap 'rm -rf "$shims"' EXIT
    for peer in notary-server notary docker faketime pcscd yubico-piv-tool ykman pkcs11-tool curl; do
        cat > "$shims/$peer" <<SHIM
#!/bin/sh
echo "$peer \$*" >> "$shims/started"
echo "error: the fast tier started $peer, a peer; mark the test .tags(.interop), .interop" >&2
exit 127
SHIM
        chmod +x "$shims/$peer"
    done
    status=0
    TRUSTVAULT_TEST_TIER=fast PATH="$shims:$PATH" swift test --skip-build "$@" || status=$?
    if [ -s "$shims/started" ]; then
        echo "error: the fast tier started peers:" >&2
        sed 's/^/  /' "$shims/started" >&2
        status=1
    fi
    echo "fast tier: exit $status after $((SECONDS - start)) s (build included)"
    exit $status
fi

bash Scripts/install-deps.sh
# Style: the tree is formatted with .swift-format (Scripts/format.sh); any finding fails.
bash Scripts/format.sh --lint --strict
swift build --build-tests
swift test
bash Scripts/gen-man.sh --check  # docs/man/*.1 match the commands' definitions
bash Scripts/fuzz.sh "${TRUSTVAULT_FUZZ_SECONDS:-5}"
