#!/usr/bin/env bash
# trustvault's main job on a new machine: a full offline ceremony on a local demo vault.
#
# The "online side" is played by a real notary-server on a loopback port (memory storage, https,
# Docker token authentication with a small loopback token service) with trustvault-online and the
# real notary client; everything that needs a private key happens in trustvault, offline, and only
# files cross between the two sides. Works in ./demo-vault and ./demo-out (recreated each run).
# Demo passphrases come from environment variables; in a real ceremony you type them at prompts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/install-deps.sh
swift build --product trustvault
swift build --product trustvault-online
TV="$PWD/.build/debug/trustvault"
TVO="$PWD/.build/debug/trustvault-online"
DEMO="$PWD/demo-vault"
OUT="$PWD/demo-out"
rm -rf "$DEMO" "$OUT"
mkdir -p "$OUT"
export TRUSTVAULT_ROOT_PASSPHRASE="demo root passphrase"
export TRUSTVAULT_TARGETS_PASSPHRASE="demo targets passphrase"
export TRUSTVAULT_DELEGATION_PASSPHRASE="demo delegation passphrase"
export TRUSTVAULT_EXPORT_PASSPHRASE="demo export passphrase"
GUN="docker.io/acme/app"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
online() { printf '\033[2m[online]\033[0m %s\n' "$*"; }

# --- the online side: a token service and a notary-server (https, auth: token) on loopback -----
# The token service (Tests/TestSupport/token_issuer.py) makes a test CA, the server's TLS
# certificate and a token-signing certificate, and grants the account "officer" push and pull.
mkdir -p "$OUT/auth"
echo '{"officer": {"password": "demo officer password", "actions": ["pull", "push", "*"]}}' > "$OUT/auth/users.json"
.venv-tools/bin/python3 Tests/TestSupport/token_issuer.py "$OUT/auth" > "$OUT/auth/issuer.log" 2>&1 &
ISSUER_PID=$!
trap 'kill $ISSUER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$OUT/auth/port" ] && break; sleep 0.1; done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVER="https://127.0.0.1:$PORT"
cat > "$OUT/notary-server.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$PORT", "tls_cert_file": "$OUT/auth/tls.pem", "tls_key_file": "$OUT/auth/tls-key.pem"},
 "auth": {"type": "token", "options": {"realm": "http://127.0.0.1:$(cat "$OUT/auth/port")/token",
   "service": "demo-notary", "issuer": "trustvault-test-issuer", "rootcertbundle": "$OUT/auth/ca.pem"}},
 "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
 "logging": {"level": "error"}, "storage": {"backend": "memory"}}
JSON
notary-server -config "$OUT/notary-server.json" > "$OUT/notary-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID $ISSUER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sS --cacert "$OUT/auth/ca.pem" "$SERVER/_notary_server/health" >/dev/null 2>&1 && break; sleep 0.1; done
# The online operator's account, as the notary client reads it; --tlscacert trusts the test CA.
export NOTARY_AUTH=$(printf '%s' 'officer:demo officer password' | base64)
TLS=(--tlscacert "$OUT/auth/ca.pem")

step "1. Create the vault (interactive KDF for the demo; root keys still use 'moderate')"
"$TV" --vault "$DEMO" init --kdf interactive

step "2. Generate the root key in the vault"
ROOT=$("$TV" --vault "$DEMO" key generate --role root | tail -n 1)
echo "root key: $ROOT"

step "3. Turn a CI client bundle (cert.pem + key.pem, made here with OpenSSL) into a delegation key"
mkdir -p "$OUT/bundle"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 -subj "/CN=ci" \
  -keyout "$OUT/bundle/key.pem" -out "$OUT/bundle/cert.pem" 2>/dev/null
chmod 600 "$OUT/bundle/key.pem"
CI=$("$TV" --vault "$DEMO" key import "$OUT/bundle" --role targets/releases | tail -n 1)
echo "CI delegation key: $CI"
"$TV" --vault "$DEMO" key list

step "4. Online: fetch the server's timestamp and snapshot keys (files carried to the vault)"
online "trustvault-online fetch $GUN --server $SERVER --out keys --keys-only"
"$TVO" fetch "$GUN" --server "$SERVER" "${TLS[@]}" --out "$OUT/keys" --keys-only

step "5. Offline: create the repository's trust data with the offline root key"
"$TV" --vault "$DEMO" repo init "$GUN" --root-key "$ROOT" --timestamp-key "$OUT/keys/timestamp.key" \
  --snapshot-key "$OUT/keys/snapshot.key" --out "$OUT/init" --server "$SERVER"

step "6. Offline: verify what leaves the machine"
"$TV" verify "$OUT/init" --gun "$GUN"

step "7. Online: publish (token auth, no key on that side) and list from a fresh notary client"
online "trustvault-online publish init --server $SERVER"
"$TVO" publish "$OUT/init" --server "$SERVER" "${TLS[@]}"
notary -s "$SERVER" "${TLS[@]}" -d "$OUT/fresh-client" list "$GUN"

step "8. Offline: delegate to CI (targets/releases) with the bundle's key; online: fetch before, publish after"
"$TVO" fetch "$GUN" --server "$SERVER" "${TLS[@]}" --out "$OUT/current"
"$TV" --vault "$DEMO" delegation add "$GUN" targets/releases --key "$CI" --all-paths \
  --current "$OUT/current" --out "$OUT/delegation" --server "$SERVER"
"$TVO" publish "$OUT/delegation" --server "$SERVER" "${TLS[@]}"
notary -s "$SERVER" "${TLS[@]}" -d "$OUT/fresh-client-2" delegation list "$GUN"

step "9. CI: receive its key as a notary key file and sign a tag into targets/releases"
"$TV" --vault "$DEMO" key export "$CI" --out "$OUT/ci-trust/"
echo "demo image manifest" > "$OUT/manifest.json"
online "notary -d ci-trust add $GUN v1.0 manifest.json --roles targets/releases && notary publish"
export NOTARY_DELEGATION_PASSPHRASE="$TRUSTVAULT_EXPORT_PASSPHRASE"
notary -s "$SERVER" "${TLS[@]}" -d "$OUT/ci-trust" add "$GUN" v1.0 "$OUT/manifest.json" --roles targets/releases
notary -s "$SERVER" "${TLS[@]}" -d "$OUT/ci-trust" publish "$GUN"
notary -s "$SERVER" "${TLS[@]}" -d "$OUT/fresh-client-3" list "$GUN"

step "10. Offline: verify and inspect the repository as the server now serves it"
online "trustvault-online fetch $GUN --server $SERVER --out served   (every delegation, the root chain; verified)"
"$TVO" fetch "$GUN" --server "$SERVER" "${TLS[@]}" --out "$OUT/served"
"$TV" verify "$OUT/served" --gun "$GUN"
"$TV" inspect "$OUT/served" --gun "$GUN"

step "11. Back up the vault, split 2-of-3 among custodians, and run a restore drill"
"$TV" --vault "$DEMO" backup create --out "$OUT/vault.tvbackup" --shares 2/3 --share-dir "$OUT/shares"
"$TV" backup verify "$OUT/vault.tvbackup" --share "$OUT/shares/vault.tvbackup.share-1-of-3.txt" \
  --share "$OUT/shares/vault.tvbackup.share-3-of-3.txt"

step "Done: vault in $DEMO, everything that crossed to the online side in $OUT"
