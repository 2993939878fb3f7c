#!/usr/bin/env bash
# trustvault's main job on a new machine: a full offline ceremony on a local demo vault.
#
# The "online side" is played by a real notary-server on a loopback port (memory storage) and the
# real notary client; everything that needs a private key happens in trustvault, offline, and only
# files cross between the two sides. Works in ./demo-vault and ./demo-out (recreated each run).
# Demo passphrases come from environment variables; in a real ceremony you type them at prompts.
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
export TRUSTVAULT_DELEGATION_PASSPHRASE="demo delegation passphrase"
export TRUSTVAULT_EXPORT_PASSPHRASE="demo export passphrase"
GUN="docker.io/acme/app"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
online() { printf '\033[2m[online]\033[0m %s\n' "$*"; }

# --- the online side: a local notary-server on a free loopback port --------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SERVER="http://127.0.0.1:$PORT"
cat > "$OUT/notary-server.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$PORT"},
 "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
 "logging": {"level": "error"}, "storage": {"backend": "memory"}}
JSON
notary-server -config "$OUT/notary-server.json" > "$OUT/notary-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -fsS "$SERVER/_notary_server/health" >/dev/null 2>&1 && break; sleep 0.1; done

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
online "curl $SERVER/v2/$GUN/_trust/tuf/timestamp.key"
curl -fsS -o "$OUT/timestamp.key" "$SERVER/v2/$GUN/_trust/tuf/timestamp.key"
curl -fsS -o "$OUT/snapshot.key" "$SERVER/v2/$GUN/_trust/tuf/snapshot.key"

step "5. Offline: create the repository's trust data with the offline root key"
"$TV" --vault "$DEMO" repo init "$GUN" --root-key "$ROOT" --timestamp-key "$OUT/timestamp.key" \
  --snapshot-key "$OUT/snapshot.key" --out "$OUT/init" --server "$SERVER"

step "6. Offline: verify what leaves the machine"
"$TV" verify "$OUT/init" --gun "$GUN"

step "7. Online: publish with the real notary client (no root key on that side) and list from a fresh client"
online "notary -s $SERVER -d $OUT/init publish $GUN"
NOTARY_TARGETS_PASSPHRASE="$TRUSTVAULT_EXPORT_PASSPHRASE" notary -s "$SERVER" -d "$OUT/init" publish "$GUN"
notary -s "$SERVER" -d "$OUT/fresh-client" list "$GUN"

step "8. Offline: delegate to CI (targets/releases) with the bundle's certificate; online: upload"
mkdir -p "$OUT/current"
for role in root targets snapshot; do curl -fsS -o "$OUT/current/$role.json" "$SERVER/v2/$GUN/_trust/tuf/$role.json"; done
"$TV" --vault "$DEMO" delegation add "$GUN" targets/releases --key "$CI" --all-paths \
  --current "$OUT/current" --out "$OUT/delegation" --server "$SERVER"
online "curl -X POST -F files=@…/targets.json;filename=targets $SERVER/v2/$GUN/_trust/tuf/"
curl -fsS -X POST -F "files=@$OUT/delegation/tuf/$GUN/metadata/targets.json;filename=targets" "$SERVER/v2/$GUN/_trust/tuf/"
notary -s "$SERVER" -d "$OUT/fresh-client-2" delegation list "$GUN"

step "9. CI: receive its key as a notary key file and sign a tag into targets/releases"
"$TV" --vault "$DEMO" key export "$CI" --out "$OUT/ci-trust/"
echo "demo image manifest" > "$OUT/manifest.json"
online "notary -d ci-trust add $GUN v1.0 manifest.json --roles targets/releases && notary publish"
export NOTARY_DELEGATION_PASSPHRASE="$TRUSTVAULT_EXPORT_PASSPHRASE"
notary -s "$SERVER" -d "$OUT/ci-trust" add "$GUN" v1.0 "$OUT/manifest.json" --roles targets/releases
notary -s "$SERVER" -d "$OUT/ci-trust" publish "$GUN"
notary -s "$SERVER" -d "$OUT/fresh-client-3" list "$GUN"

step "10. Offline: verify and inspect the repository as the server now serves it"
mkdir -p "$OUT/served"
for role in root targets snapshot timestamp; do curl -fsS -o "$OUT/served/$role.json" "$SERVER/v2/$GUN/_trust/tuf/$role.json"; done
mkdir -p "$OUT/served/targets"
curl -fsS -o "$OUT/served/targets/releases.json" "$SERVER/v2/$GUN/_trust/tuf/targets/releases.json"
"$TV" verify "$OUT/served" --gun "$GUN"
"$TV" inspect "$OUT/served" --gun "$GUN"

step "11. Back up the vault, split 2-of-3 among custodians, and run a restore drill"
"$TV" --vault "$DEMO" backup create --out "$OUT/vault.tvbackup" --shares 2/3 --share-dir "$OUT/shares"
"$TV" backup verify "$OUT/vault.tvbackup" --share "$OUT/shares/vault.tvbackup.share-1-of-3.txt" \
  --share "$OUT/shares/vault.tvbackup.share-3-of-3.txt"

step "Done: vault in $DEMO, everything that crossed to the online side in $OUT"
