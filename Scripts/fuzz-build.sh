#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Fuzz/) with address sanitizer and libFuzzer's coverage
# instrumentation into .build-fuzz/. Prints the path of the harness binary on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
clang_rt="$(dirname "$(dirname "$(command -v swiftc)")")/lib/clang"
fuzzer_lib="$(ls "$clang_rt"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a 2>/dev/null | head -n 1 || true)"
if [[ -z "$fuzzer_lib" ]]; then
    echo "error: libFuzzer (libclang_rt.fuzzer_no_main) not found under $clang_rt" >&2
    exit 69
fi
TRUSTVAULT_FUZZ=1 swift build --scratch-path .build-fuzz -c debug --product trustvault-fuzz \
    -Xswiftc -sanitize=address \
    -Xswiftc -sanitize-coverage=edge,trace-cmp,indirect-calls,inline-8bit-counters,pc-table \
    -Xswiftc -parse-as-library \
    -Xlinker "$fuzzer_lib" -Xlinker -lstdc++ >&2
echo "$PWD/.build-fuzz/debug/trustvault-fuzz"
