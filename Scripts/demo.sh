#!/usr/bin/env bash
# trustvault's main job on a new machine: a full offline ceremony on a local demo vault.
# Installs what it needs, builds, then works in ./demo-vault and ./demo-out (recreated each run).
# Demo passphrases come from environment variables; a real ceremony types them at the prompt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
swift build --product trustvault
TV="$PWD/.build/debug/trustvault"
DEMO="$PWD/demo-vault"
OUT="$PWD/demo-out"
rm -rf "$DEMO" "$OUT"
mkdir -p "$OUT"
export TRUSTVAULT_ROOT_PASSPHRASE="demo root passphrase"
export TRUSTVAULT_TARGETS_PASSPHRASE="demo targets passphrase"
export TRUSTVAULT_SNAPSHOT_PASSPHRASE="demo snapshot passphrase"
export TRUSTVAULT_DELEGATION_PASSPHRASE="demo delegation passphrase"
GUN="docker.io/acme/app"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Create the vault (interactive KDF for the demo; root keys still use 'moderate')"
"$TV" --vault "$DEMO" init --kdf interactive

step "2. Generate the root key, a repository key and a CI delegation key"
ROOT=$("$TV" --vault "$DEMO" key generate --role root | tail -n 1)
TARGETS=$("$TV" --vault "$DEMO" key generate --role targets --gun "$GUN" | tail -n 1)
CI=$("$TV" --vault "$DEMO" key generate --role targets/releases | tail -n 1)
echo "root $ROOT"
echo "targets $TARGETS"
echo "delegation $CI"

step "3. List the keys (no passphrase needed)"
"$TV" --vault "$DEMO" key list

step "4. Export the delegation key's public half for the online side"
"$TV" --vault "$DEMO" key export "$CI" --format public --out "$OUT/releases.pub"
cat "$OUT/releases.pub"

step "Done: the demo vault is in $DEMO"
