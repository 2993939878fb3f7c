#!/usr/bin/env bash
# The scale benchmark of issue 21 (docs/benchmarks.md, "Scale: 100,000 tags and targets"):
# trustvault beside the tools users run today, on the same repositories, in the same run.
#
#   [KEEP=1] [N=100000] [NEW=10000] Scripts/bench-scale.sh
#
# It builds, on loopback, with the real peers:
#   * an https notary-server (a test CA made with openssl) with three repositories published by
#     the real notary client: N tags in targets (one staged changelist, one publish), N tags in
#     the delegation targets/releases (notary delegation add --all-paths, then a changelist whose
#     changes carry "role":"targets/releases"), and a tiny one (1 tag) from the same vault;
#   * a TUF 1.0 repository made by `trustvault tuf init` and one `trustvault tuf add-targets` of N
#     files (keys in the vault), and a tiny one (1 target).
# Then, alternately ours and theirs, best of three each (GNU time -v: wall and peak RSS):
#   verify vs a fresh `notary list`; inspect (--json) vs a fresh `docker trust inspect (--pretty)`
#   with a byte-for-byte check; `repo rotate GUN targets` vs `notary key rotate GUN targets` (and
#   the same on the tiny repository: the fixed Argon2id cost); `tuf verify` vs python-tuf's ngclient
#   (fresh refresh + get_targetinfo); `tuf add-targets` of NEW files vs python-tuf's Metadata API;
#   and floor-benchmark (read + one validating pass (notary exact form) or strict JSON parse (TUF) + SHA-256 + SHA-512 + one ECDSA P-256 verify) on
#   each large targets file; (--files) listing, opening, reading and hashing the TUF target files on every
#   core; (--copy) reading, hashing and durably writing the NEW files.
#   A benchmark, not a test: it refuses to run in CI.
set -euo pipefail
N="${N:-100000}"
NEW="${NEW:-10000}"
ROOT_DIR="$(cd "$(dirname "$0")/.." && pwd)"
PY="$ROOT_DIR/.venv-tools/bin/python3"
die() { echo "error: $*" >&2; exit 1; }
[ -z "${CI:-}" ] || die "bench-scale.sh is a benchmark, not a test; it does not run in CI"
for tool in notary notary-server docker openssl curl python3 swift /usr/bin/time; do
  command -v "$tool" >/dev/null || die "$tool is not installed (Debian: notary, docker.io CLI, openssl, curl, python3, time; swift)"
done
[ -x "$PY" ] && "$PY" -c 'import tuf.ngclient' 2>/dev/null || die "python-tuf is not in $ROOT_DIR/.venv-tools (see CONTRIBUTING.md)"

WORK="$(mktemp -d /tmp/tv-scale-XXXXXX)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
step() { echo "== $* ($(date -u +%H:%M:%S))"; }

step "building trustvault and floor-benchmark (release)"
(cd "$ROOT_DIR" && swift build -c release --product trustvault >"$WORK/build.log" 2>&1 \
  && swift build -c release --product floor-benchmark >>"$WORK/build.log" 2>&1) \
  || { tail -n 20 "$WORK/build.log" >&2; die "the release build failed (see above)"; }
TV="$ROOT_DIR/.build/release/trustvault"
FLOOR="$ROOT_DIR/.build/release/floor-benchmark"

# --- https notary-server with a test CA -------------------------------------------------------
step "test CA and https notary-server on loopback"
T="$WORK/tls"
mkdir -p "$T"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/server.ext"
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.crt" -days 2 \
    -subj "/CN=trustvault bench CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/server.key" -out "$T/server.csr" -subj "/CN=127.0.0.1"
  openssl x509 -req -in "$T/server.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -out "$T/server.crt" -days 2 \
    -extfile "$T/server.ext"
} >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log" >&2; die "openssl could not make the test CA"; }
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/server.json" <<JSON
{"server": {"http_addr": "127.0.0.1:$PORT", "tls_cert_file": "$T/server.crt", "tls_key_file": "$T/server.key"},
 "trust_service": {"type": "local", "hostname": "", "port": "", "key_algorithm": "ecdsa"},
 "logging": {"level": "error"}, "storage": {"backend": "memory"}}
JSON
notary-server -config "$WORK/server.json" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
S="https://127.0.0.1:$PORT"
for _ in $(seq 150); do curl -sf --cacert "$T/ca.crt" "$S/_notary_server/health" >/dev/null && break; sleep 0.1; done
curl -sf --cacert "$T/ca.crt" "$S/_notary_server/health" >/dev/null || die "notary-server did not start (see $WORK/server.log)"
export DOCKER_CONFIG="$WORK/docker"
mkdir -p "$DOCKER_CONFIG/tls/127.0.0.1:$PORT"
cp "$T/ca.crt" "$DOCKER_CONFIG/tls/127.0.0.1:$PORT/ca.crt"
export DOCKER_CONTENT_TRUST_SERVER="$S"
nt() { notary -s "$S" --tlscacert "$T/ca.crt" "$@"; }

export TRUSTVAULT_ROOT_PASSPHRASE=bench-root TRUSTVAULT_TARGETS_PASSPHRASE=bench-targets \
  TRUSTVAULT_SNAPSHOT_PASSPHRASE=bench-snapshot TRUSTVAULT_DELEGATION_PASSPHRASE=bench-delegation \
  TRUSTVAULT_EXPORT_PASSPHRASE=bench-export NOTARY_ROOT_PASSPHRASE=bench-root \
  NOTARY_TARGETS_PASSPHRASE=bench-export NOTARY_SNAPSHOT_PASSPHRASE=bench-export \
  NOTARY_DELEGATION_PASSPHRASE=bench-delegation
V="$WORK/vault"
"$TV" --vault "$V" init --kdf interactive >/dev/null

# --- Notary repositories ----------------------------------------------------------------------
# changelist DIR ROLE COUNT: COUNT staged target additions in notary's changelist format.
changelist() {
  python3 - "$1" "$2" "$3" <<'PY'
import base64, hashlib, json, os, sys, uuid
d, role, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(d, exist_ok=True)
for i in range(n):
    body = b"image-%d" % i
    meta = {"length": len(body), "hashes": {"sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
                                           "sha512": base64.b64encode(hashlib.sha512(body).digest()).decode()}}
    change = {"action": "create", "role": role, "type": "target", "path": "tag-%06d" % i,
              "data": base64.b64encode(json.dumps(meta).encode()).decode()}
    with open(os.path.join(d, "%020d_%s.change" % (i + 1, uuid.uuid4())), "w") as f:
        json.dump(change, f)
PY
}
declare -A ROOTKEY
# notary_repo NAME GUN ROLE COUNT: made offline by trustvault, COUNT tags published by notary.
notary_repo() {
  local name="$1" gun="$2" role="$3" count="$4" online="$WORK/online-$1"
  ROOTKEY[$name]="$("$TV" --vault "$V" key generate --role root | tail -1)"
  curl -sf --cacert "$T/ca.crt" -o "$WORK/$name-timestamp.key" "$S/v2/$gun/_trust/tuf/timestamp.key"
  curl -sf --cacert "$T/ca.crt" -o "$WORK/$name-snapshot.key" "$S/v2/$gun/_trust/tuf/snapshot.key"
  "$TV" --vault "$V" repo init "$gun" --root-key "${ROOTKEY[$name]}" --timestamp-key "$WORK/$name-timestamp.key" \
    --snapshot-key "$WORK/$name-snapshot.key" --out "$online" >/dev/null
  local roles=(root targets snapshot timestamp)
  if [ "$role" != targets ]; then
    nt -d "$online" publish "$gun" </dev/null >/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/$name-delegation.key" \
      -out "$WORK/$name-delegation.crt" -days 3650 -subj "/CN=releases" >/dev/null 2>&1
    nt -d "$online" delegation add "$gun" "$role" "$WORK/$name-delegation.crt" --all-paths -p </dev/null >/dev/null
    nt -d "$online" key import "$WORK/$name-delegation.key" --role "$role" </dev/null >/dev/null 2>&1
    roles+=("$role")
  fi
  changelist "$online/tuf/$gun/changelist" "$role" "$count"
  nt -d "$online" publish "$gun" </dev/null >/dev/null
  mkdir -p "$WORK/cur-$name/targets"
  for r in "${roles[@]}"; do curl -sf --cacert "$T/ca.crt" -o "$WORK/cur-$name/$r.json" "$S/v2/$gun/_trust/tuf/$r.json"; done
}
GUN_TOP=docker.io/bench/top GUN_REL=docker.io/bench/releases GUN_TINY=docker.io/bench/tiny
step "notary: $N tags in targets ($GUN_TOP)"
notary_repo top "$GUN_TOP" targets "$N"
step "notary: $N tags in targets/releases ($GUN_REL)"
notary_repo rel "$GUN_REL" targets/releases "$N"
step "notary: 1 tag ($GUN_TINY)"
notary_repo tiny "$GUN_TINY" targets 1

# --- TUF 1.0 repositories ---------------------------------------------------------------------
# Made by trustvault itself: tuf init (keys in the vault), then one add-targets of all N files.
tuf_repo() { # NAME COUNT
  local dir="$WORK/tuf-$1" files="$WORK/files-$1"
  mkdir -p "$files"
  python3 -c "
import sys
for i in range(int(sys.argv[2])): open('%s/t%06d.bin' % (sys.argv[1], i), 'wb').write(b'target-%d' % i)" "$files" "$2"
  local root
  root="$("$TV" --vault "$V" key generate --role root | tail -1)"
  "$TV" --vault "$V" tuf init "$dir" --root-key "$root" --name "bench/$1" >"$WORK/tuf-init-$1.log" 2>&1
  local t0 t1
  t0=$(date +%s.%N)
  # One call with the list in a file (--files-from): the command line would be parsed argument by
  # argument, in time quadratic in their number.
  (cd "$files" && printf "$files/%s\n" t*.bin > "$WORK/files-$1.list")
  "$TV" --vault "$V" tuf add-targets "$dir" --files-from "$WORK/files-$1.list" --path-prefix pkg >/dev/null 2>&1 || die "tuf add-targets of $2 files failed"
  t1=$(date +%s.%N)
  printf '   tuf add-targets --files-from of %s files into an empty role: %.2f s\n' "$2" "$(echo "$t1 - $t0" | bc -l)"
}
step "TUF 1.0: $N targets made by trustvault tuf init + tuf add-targets"
tuf_repo big "$N"
step "TUF 1.0: 1 target"
tuf_repo tiny 1
mkdir -p "$WORK/new"
python3 -c "
import sys
for i in range(int(sys.argv[2])): open('%s/n%05d.bin' % (sys.argv[1], i), 'wb').write(b'new-target-%d' % i)" "$WORK/new" "$NEW"
NEWFILES=("$WORK"/new/n*.bin)
printf '%s\n' "${NEWFILES[@]}" > "$WORK/new.list"
# The signing keys python-tuf needs, exported from the vault (the keys tuf init recorded).
KEYS="$WORK/tuf-keys"
mkdir -p "$KEYS"
for role in targets snapshot timestamp; do
  label="$role"; [ "$role" = timestamp ] && label=tuf-timestamp
  id="$(sed -n "s/^note: new vault key \([0-9a-f]*\) ($label) for bench\/big.*/\1/p" "$WORK/tuf-init-big.log")"
  [ -n "$id" ] || die "tuf init named no $label key (see $WORK/tuf-init-big.log)"
  "$TV" --vault "$V" key export "$id" --out "$KEYS/$role.pem" --format pem --i-understand-this-is-unencrypted --yes >/dev/null 2>&1
done

# --- measuring --------------------------------------------------------------------------------
declare -A BEST RSS
# measure KEY PREP CMD...: runs PREP (untimed), then CMD under GNU time -v; keeps the best wall
# time and the largest peak RSS of KEY's runs, and CMD's stdout in $WORK/out-KEY.
measure() {
  local key="$1" prep="$2"
  shift 2
  $prep
  /usr/bin/time -v "$@" >"$WORK/out-$key" 2>"$WORK/time-$key" </dev/null \
    || { tail -n 20 "$WORK/out-$key" "$WORK/time-$key" >&2; die "$key failed: $*"; }
  local wall rss
  wall="$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$WORK/time-$key" | awk -F: '{s=0; for (i=1;i<=NF;i++) s=s*60+$i; print s}')"
  rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/time-$key")"
  if [ -z "${BEST[$key]:-}" ] || [ "$(echo "$wall < ${BEST[$key]}" | bc -l)" = 1 ]; then BEST[$key]="$wall"; fi
  if [ -z "${RSS[$key]:-}" ] || [ "$rss" -gt "${RSS[$key]}" ]; then RSS[$key]="$rss"; fi
}
nothing() { :; }
fresh_notary() { rm -rf "$WORK/fresh"; }
fresh_docker() { rm -rf "$DOCKER_CONFIG/trust"; }
fresh_rotate() { rm -rf "$WORK/rotated"; }
fresh_ngclient() { rm -rf "$WORK/ngclient"; }
# The large TUF repository again; target files hard-linked (never written). The previous copy is
# moved aside, not deleted: on ext4 without a journal, inodes freed within the last minute are
# skipped one by one when new files are made (recently_deleted), which would add seconds to the
# next command's file creation, ours and python-tuf's alike, that no user's repository pays.
fresh_tuf_copy() {
  if [ -d "$WORK/tuf-work" ]; then mv "$WORK/tuf-work" "$(mktemp -d "$WORK/used-XXXXXX")/"; fi
  mkdir "$WORK/tuf-work"
  cp -a "$WORK/tuf-big/metadata" "$WORK/tuf-work/metadata"
  cp -al "$WORK/tuf-big/targets" "$WORK/tuf-work/targets"
}
fresh_tuf_tiny_copy() {
  if [ -d "$WORK/tuf-tiny-work" ]; then mv "$WORK/tuf-tiny-work" "$(mktemp -d "$WORK/used-XXXXXX")/"; fi
  cp -a "$WORK/tuf-tiny" "$WORK/tuf-tiny-work"
}

step "measuring: alternately ours and theirs, best of three"
for i in 1 2 3; do
  for r in top rel; do
    gun="$GUN_TOP"; [ "$r" = rel ] && gun="$GUN_REL"
    measure "verify-$r" nothing "$TV" verify "$WORK/cur-$r" --gun "$gun"
    measure "list-$r" fresh_notary notary -s "$S" --tlscacert "$T/ca.crt" -d "$WORK/fresh" list "$gun"
    measure "inspect-$r" nothing "$TV" inspect "$WORK/cur-$r" --gun "$gun"
    measure "dinspect-$r" fresh_docker docker trust inspect --pretty "$gun"
    measure "inspectjson-$r" nothing "$TV" inspect "$WORK/cur-$r" --gun "$gun" --json
    measure "dinspectjson-$r" fresh_docker docker trust inspect "$gun"
  done
  measure verify-tiny nothing "$TV" verify "$WORK/cur-tiny" --gun "$GUN_TINY"
  measure inspect-tiny nothing "$TV" inspect "$WORK/cur-tiny" --gun "$GUN_TINY"
  measure inspectjson-tiny nothing "$TV" inspect "$WORK/cur-tiny" --gun "$GUN_TINY" --json
  measure tufverify-big nothing "$TV" tuf verify "$WORK/tuf-big"
  measure ngclient-big fresh_ngclient "$PY" "$ROOT_DIR/Scripts/bench_scale_tuf.py" refresh "$WORK/tuf-big" "$WORK/ngclient" pkg/t000042.bin
  measure ngclientall-big fresh_ngclient "$PY" "$ROOT_DIR/Scripts/bench_scale_tuf.py" refresh-all "$WORK/tuf-big" "$WORK/ngclient"
  measure tufverify-tiny nothing "$TV" tuf verify "$WORK/tuf-tiny"
  measure tufadd-big fresh_tuf_copy "$TV" --vault "$V" tuf add-targets "$WORK/tuf-work" --files-from "$WORK/new.list" --path-prefix new
  "$TV" tuf verify "$WORK/tuf-work" >/dev/null 2>&1 || die "tuf verify refused what tuf add-targets wrote"
  measure pytufadd-big fresh_tuf_copy "$PY" "$ROOT_DIR/Scripts/bench_scale_tuf.py" add-targets "$WORK/tuf-work" "$KEYS" new "${NEWFILES[@]}"
  "$TV" tuf verify "$WORK/tuf-work" >/dev/null 2>&1 || die "tuf verify refused what python-tuf wrote"
  measure tufadd-tiny fresh_tuf_tiny_copy "$TV" --vault "$V" tuf add-targets "$WORK/tuf-tiny-work" "$WORK/new/n00000.bin" --path-prefix new
done
# Rotations last: notary key rotate changes the served repositories.
for r in top tiny; do
  gun="$GUN_TOP"; [ "$r" = tiny ] && gun="$GUN_TINY"
  "$TV" --vault "$V" key export "${ROOTKEY[$r]}" --out "$WORK/root-$r.pem" --format pem --i-understand-this-is-unencrypted --yes >/dev/null
  nt -d "$WORK/notary-$r" key import "$WORK/root-$r.pem" --role root </dev/null >/dev/null 2>&1
  nt -d "$WORK/notary-$r" list "$gun" >/dev/null
done
for i in 1 2 3; do
  for r in top tiny; do
    gun="$GUN_TOP"; [ "$r" = tiny ] && gun="$GUN_TINY"
    measure "rotate-$r" fresh_rotate "$TV" --vault "$V" repo rotate "$gun" targets --current "$WORK/cur-$r" --out "$WORK/rotated"
    measure "nrotate-$r" nothing notary -s "$S" --tlscacert "$T/ca.crt" -d "$WORK/notary-$r" key rotate "$gun" targets
  done
done

step "floor: read + one validating pass or strict JSON parse + SHA-256 + SHA-512 + one ECDSA P-256 verify"
"$FLOOR" "$WORK/cur-top/targets.json" "$WORK/cur-rel/targets/releases.json" "$WORK/tuf-big/metadata/targets.json" | tee "$WORK/floor.txt"
step "floor: list, open, read and SHA-256 every target file on every core; copy the new files durably"
"$FLOOR" --files "$WORK/tuf-big/targets" | tee -a "$WORK/floor.txt"
mkdir -p "$WORK/floor-copies"
"$FLOOR" --copy "$WORK/new" "$WORK/floor-copies" | tee -a "$WORK/floor.txt"
floors=($(sed -n 's/^  total *\([0-9.]*\) s/\1/p' "$WORK/floor.txt"))
# tuf verify: targets.json's floor plus reading its target files; tuf add-targets: plus copying the new files durably.
declare -A FLOOR_OF=([top]="${floors[0]}" [rel]="${floors[1]}" [tuf]="${floors[2]}"
  [tufverify]="$(echo "${floors[2]} + ${floors[3]}" | bc -l)" [tufadd]="$(echo "${floors[2]} + ${floors[4]}" | bc -l)")

# --- the table --------------------------------------------------------------------------------
same() { if cmp -s "$WORK/out-$1" "$WORK/out-$2"; then echo "byte-identical"; else echo "DIFFERENT"; fi; }
mib() { echo "scale=0; $1 / 1024" | bc; }
largest() { stat -c %s "$@" | sort -n | tail -1; }
echo
echo "== results: best of 3 wall time (s), peak RSS (MiB) of the 3 runs; N=$N, NEW=$NEW"
printf '%-44s %8s %8s %8s %6s %5s %7s %7s %7s %8s\n' command ours theirs ratio goal met "RSS us" "RSS th" floor "÷floor"
row() { # LABEL OURS THEIRS GOAL FLOORKEY
  local o="${BEST[$2]}" t="${BEST[$3]}" ratio met
  ratio="$(echo "scale=1; $t / ($o + 0.0001)" | bc -l)"
  met=-
  if [ "$4" != - ]; then met="$(echo "$ratio >= $4" | bc -l)"; [ "$met" = 1 ] && met=yes || met=NO; fi
  printf '%-44s %8.2f %8.2f %7.1fx %6s %5s %7s %7s %7.3f %7.1fx\n' "$1" "$o" "$t" "$ratio" "$([ "$4" = - ] && echo - || echo "$4x")" "$met" \
    "$(mib "${RSS[$2]}")" "$(mib "${RSS[$3]}")" "${FLOOR_OF[$5]}" "$(echo "$o / ${FLOOR_OF[$5]}" | bc -l)"
}
row "verify vs notary list (targets)" verify-top list-top 20 top
row "verify vs notary list (targets/releases)" verify-rel list-rel 20 rel
row "inspect vs docker --pretty (targets)" inspect-top dinspect-top 20 top
row "inspect --json vs docker (targets)" inspectjson-top dinspectjson-top 20 top
row "inspect vs docker --pretty (releases)" inspect-rel dinspect-rel 20 rel
row "inspect --json vs docker (releases)" inspectjson-rel dinspectjson-rel 20 rel
row "tuf verify vs ngclient refresh+targetinfo" tufverify-big ngclient-big 10 tufverify
row "tuf verify vs ngclient + every target file" tufverify-big ngclientall-big 10 tufverify
row "tuf add-targets $NEW vs Metadata API" tufadd-big pytufadd-big 10 tufadd
row "repo rotate targets vs notary key rotate" rotate-top nrotate-top - top
echo "floor: the targets file's (read, one validating pass or strict parse, SHA-256, SHA-512, one ECDSA verify);"
echo "  tuf verify adds listing, opening, reading and hashing its $N target files on every core;"
echo "  tuf add-targets adds reading, hashing and writing its $NEW new files (temporaries, one syncfs, renames)"
# A goal missed: the time it needs beside the floor of the same work.
for pair in "tuf verify + every target file:tufverify-big:ngclientall-big:tufverify" "tuf add-targets:tufadd-big:pytufadd-big:tufadd"; do
  IFS=: read -r label ours theirs fkey <<<"$pair"
  need="$(echo "${BEST[$theirs]} / 10" | bc -l)"
  printf '%s: 10x needs <= %.2f s; ours %.2f s; the floor of the same work %.2f s (%s)\n' "$label" "$need" "${BEST[$ours]}" "${FLOOR_OF[$fkey]}" \
    "$([ "$(echo "$need < ${FLOOR_OF[$fkey]}" | bc -l)" = 1 ] && echo "the goal is below the floor" || echo "the goal is above the floor")"
done
echo
echo "docker's output: targets pretty $(same inspect-top dinspect-top), json $(same inspectjson-top dinspectjson-top);" \
  "releases pretty $(same inspect-rel dinspect-rel), json $(same inspectjson-rel dinspectjson-rel)"
extra="$(echo "${BEST[rotate-top]} - ${BEST[rotate-tiny]}" | bc -l)"
printf 'repo rotate: %.2f s at %s tags, %.2f s at 1 tag (the fixed Argon2id unseal + seal): %.2f s above it (goal <= 0.3 s: %s)\n' \
  "${BEST[rotate-top]}" "$N" "${BEST[rotate-tiny]}" "$extra" "$([ "$(echo "$extra <= 0.3" | bc -l)" = 1 ] && echo met || echo NOT met)"
printf 'notary key rotate at 1 tag: %.2f s\n' "${BEST[nrotate-tiny]}"
echo
echo "peak memory: goal peak <= 3 x largest metadata file + fixed (fixed = the same command on the tiny repository)"
LTOP="$(largest "$WORK"/cur-top/*.json)" LREL="$(largest "$WORK"/cur-rel/*.json "$WORK"/cur-rel/targets/*.json)"
LTUF="$(largest "$WORK"/tuf-big/metadata/*.json)"
memrow() { # LABEL KEY TINYKEY LARGEST
  local peak=$(( ${RSS[$2]} * 1024 )) fixed=$(( ${RSS[$3]} * 1024 )) limit
  limit=$(( 3 * $4 + fixed ))
  printf '  %-36s peak %6.1f MiB, largest file %5.1f MB, fixed %6.1f MiB, limit %6.1f MiB: %s\n' "$1" \
    "$(echo "$peak / 1048576" | bc -l)" "$(echo "$4 / 1000000" | bc -l)" "$(echo "$fixed / 1048576" | bc -l)" \
    "$(echo "$limit / 1048576" | bc -l)" "$([ "$peak" -le "$limit" ] && echo met || echo NOT met)"
}
memrow "verify (targets)" verify-top verify-tiny "$LTOP"
memrow "verify (targets/releases)" verify-rel verify-tiny "$LREL"
memrow "inspect (targets)" inspect-top inspect-tiny "$LTOP"
memrow "inspect --json (targets)" inspectjson-top inspectjson-tiny "$LTOP"
memrow "inspect (targets/releases)" inspect-rel inspect-tiny "$LREL"
memrow "repo rotate targets" rotate-top rotate-tiny "$LTOP"
memrow "tuf verify" tufverify-big tufverify-tiny "$LTUF"
memrow "tuf add-targets" tufadd-big tufadd-tiny "$LTUF"
