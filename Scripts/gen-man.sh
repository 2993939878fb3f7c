#!/usr/bin/env bash
# Generates the manual pages of trustvault and trustvault-online into docs/man/ from their
# ArgumentParser definitions (the same ones --help prints), with swift-argument-parser's
# generate-manual plugin, in a debug build.
#   Scripts/gen-man.sh          regenerate docs/man/*.1 (dated today when they change)
#   Scripts/gen-man.sh --check  exit 1 if docs/man/*.1 differ from what the definitions give
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = --check ] && check=true
pages=(trustvault trustvault-online)
mkdir -p docs/man

# The date a page carries (.Dd "Month D, YYYY") as YYYY-MM-DD, so an unchanged page stays unchanged.
committed_date() {
  local d
  d=$(sed -n 's/^\.Dd //p' "docs/man/$1.1" 2>/dev/null | head -n 1)
  [ -n "$d" ] && date -u -d "$d" +%Y-%m-%d 2>/dev/null || date -u +%Y-%m-%d
}

generate() {  # $1: date → prints the directory holding the generated pages
  local stamp
  stamp=$(mktemp)
  swift package plugin generate-manual --configuration debug --date "$1" >&2
  for page in "${pages[@]}"; do
    local found
    found=$(find .build/plugins -path "*GenerateManual*" -name "$page.1" -newer "$stamp" | head -n 1)
    [ -n "$found" ] || { echo "error: generate-manual wrote no $page.1" >&2; rm -f "$stamp"; exit 1; }
    echo "$found"
  done
  rm -f "$stamp"
}

date=$(committed_date trustvault)
mapfile -t generated < <(generate "$date")
stale=()
for i in "${!pages[@]}"; do
  cmp -s "${generated[$i]}" "docs/man/${pages[$i]}.1" || stale+=("${pages[$i]}")
done
if $check; then
  if [ ${#stale[@]} -gt 0 ]; then
    echo "error: docs/man/ is out of date for: ${stale[*]}" >&2
    echo "hint: run Scripts/gen-man.sh and commit docs/man/" >&2
    exit 1
  fi
  echo "gen-man: docs/man/ is current"
  exit 0
fi
if [ ${#stale[@]} -gt 0 ] && [ "$date" != "$(date -u +%Y-%m-%d)" ]; then
  mapfile -t generated < <(generate "$(date -u +%Y-%m-%d)")
fi
for i in "${!pages[@]}"; do
  install -m 0644 "${generated[$i]}" "docs/man/${pages[$i]}.1"
done
echo "gen-man: wrote docs/man/${pages[0]}.1 and docs/man/${pages[1]}.1${stale[*]:+ (changed: ${stale[*]})}"
