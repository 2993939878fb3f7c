#!/usr/bin/env bash
# Benchmark: re-sign a targets.json with N targets (a targets-key rotation) and verify it with
# trustvault (targets-benchmark: the metadata work alone; and the whole CLI ceremony, which adds
# unsealing the root key with Argon2id and sealing the new key), beside `notary key rotate GUN targets` on the same repository against a local
# notary-server. Prints wall time and peak RSS (GNU time -v) of each.
#
#   [KEEP=1] Scripts/bench-targets.sh [N]   (default N=100000; needs notary, notary-server, curl,
#                                        python3, /usr/bin/time; builds trustvault in release mode)
set -euo pipefail
N="${1:-100000}"
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/tv-bench-XXXXXX)"
GUN="example.com/bench/app"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for tool in notary notary-server curl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (Debian: notary, curl, python3, time)" >&2; exit 69; }
done

echo "== building trustvault (release)"
(cd "$ROOT_DIR" && swift build -c release --product trustvault >/dev/null 2>&1 && swift build -c release --product targets-benchmark >/dev/null 2>&1) \
  || { echo "error: the release build failed (run swift build -c release)" >&2; exit 1; }
TV="$ROOT_DIR/.build/release/trustvault"
BENCH="$ROOT_DIR/.build/release/targets-benchmark"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat > "$WORK/server.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$PORT"},
 "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
 "logging": {"level": "error"}, "storage": {"backend": "memory"}}
JSON
notary-server -config "$WORK/server.json" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
S="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$S/_notary_server/health" >/dev/null && break; sleep 0.1; done

export TRUSTVAULT_ROOT_PASSPHRASE=bench-root TRUSTVAULT_TARGETS_PASSPHRASE=bench-targets \
  TRUSTVAULT_EXPORT_PASSPHRASE=bench-export NOTARY_ROOT_PASSPHRASE=bench-root \
  NOTARY_TARGETS_PASSPHRASE=bench-export NOTARY_SNAPSHOT_PASSPHRASE=bench-export

echo "== offline repository with $N targets"
"$TV" --vault "$WORK/vault" init --kdf interactive >/dev/null
ROOT_KEY="$("$TV" --vault "$WORK/vault" key generate --role root | tail -1)"
curl -sf -o "$WORK/timestamp.key" "$S/v2/$GUN/_trust/tuf/timestamp.key"
curl -sf -o "$WORK/snapshot.key" "$S/v2/$GUN/_trust/tuf/snapshot.key"
"$TV" --vault "$WORK/vault" repo init "$GUN" --root-key "$ROOT_KEY" --timestamp-key "$WORK/timestamp.key" \
  --snapshot-key "$WORK/snapshot.key" --out "$WORK/online" >/dev/null
# N staged target additions in notary's changelist format (reference §6.1), then one publish.
python3 - "$WORK/online/tuf/$GUN/changelist" "$N" <<'PY'
import base64, hashlib, json, os, sys, uuid
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    body = b"image-%d" % i
    meta = {"length": len(body), "hashes": {"sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
                                           "sha512": base64.b64encode(hashlib.sha512(body).digest()).decode()}}
    change = {"action": "create", "role": "targets", "type": "target", "path": "tag-%06d" % i,
              "data": base64.b64encode(json.dumps(meta).encode()).decode()}
    with open(os.path.join(d, "%020d_%s.change" % (i + 1, uuid.uuid4())), "w") as f:
        json.dump(change, f)
PY
notary -s "$S" -d "$WORK/online" publish "$GUN" </dev/null >/dev/null
mkdir -p "$WORK/current"
for r in root targets snapshot timestamp; do curl -sf -o "$WORK/current/$r.json" "$S/v2/$GUN/_trust/tuf/$r.json"; done
echo "targets.json: $(stat -c %s "$WORK/current/targets.json") bytes, $N targets"

measure() { # label, command...
  local label="$1"; shift
  /usr/bin/time -v "$@" >"$WORK/out.txt" 2>"$WORK/time.txt" </dev/null || { cat "$WORK/out.txt" "$WORK/time.txt"; exit 1; }
  local wall rss
  wall="$(grep 'Elapsed (wall clock)' "$WORK/time.txt" | awk '{print $NF}')"
  rss="$(grep 'Maximum resident set size' "$WORK/time.txt" | awk '{print $NF}')"
  printf '%-48s wall %10s   peak RSS %8.1f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}

echo "== results"
"$TV" --vault "$WORK/vault" key export "$ROOT_KEY" --out "$WORK/root.pem" --format pem --i-understand-this-is-unencrypted --yes >/dev/null
measure "trustvault metadata work (targets-benchmark)" "$BENCH" --current "$WORK/current" --gun "$GUN" --root-key "$WORK/root.pem"
sed 's/^/    /' "$WORK/out.txt"
measure "trustvault repo rotate targets (verify+re-sign)" \
  "$TV" --vault "$WORK/vault" repo rotate "$GUN" targets --current "$WORK/current" --out "$WORK/rotated"
measure "trustvault verify (re-signed root+targets)" "$TV" verify "$WORK/rotated" --gun "$GUN"
measure "trustvault inspect (docker view, N tags)" "$TV" inspect "$WORK/current" --gun "$GUN"
measure "trustvault inspect --json (N tags)" "$TV" inspect "$WORK/current" --gun "$GUN" --json
# notary needs the root key for a targets rotation: hand it over with notary's own key import.
notary -s "$S" -d "$WORK/notary" key import "$WORK/root.pem" --role root </dev/null >/dev/null 2>&1
notary -s "$S" -d "$WORK/notary" list "$GUN" >/dev/null
measure "notary key rotate targets (verify+re-sign+publish)" notary -s "$S" -d "$WORK/notary" key rotate "$GUN" targets
measure "notary list (fresh client: download+verify)" notary -s "$S" -d "$WORK/fresh" list "$GUN"
