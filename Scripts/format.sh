#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's `swift format` and the repository's
# .swift-format (4 spaces, lines up to 160 columns; see CONTRIBUTING.md).
#
#   Scripts/format.sh                  rewrite the files in place
#   Scripts/format.sh --lint           report what the formatter would change (exit 0)
#   Scripts/format.sh --lint --strict  the same, but any finding fails (exit 1)
#
# Paths after the options narrow it down (default: Sources Tests Benchmarks Fuzz Plugins and
# Package.swift), e.g. `Scripts/format.sh Sources/SmartCard`.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=format
strict=()
while [ $# -gt 0 ]; do
    case "$1" in
        --lint) mode=lint ;;
        --strict) strict=(--strict) ;;
        -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
        --*) echo "error: unknown option $1 (use --lint, --strict or paths)" >&2; exit 64 ;;
        *) break ;;
    esac
    shift
done
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=(Sources Tests Benchmarks Fuzz Plugins Package.swift)
if [ "$mode" = lint ]; then
    swift format lint "${strict[@]}" --recursive --parallel "${paths[@]}"
else
    swift format format --in-place --recursive --parallel "${paths[@]}"
fi
