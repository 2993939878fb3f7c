#!/usr/bin/env bash
# Runs every libFuzzer harness (Fuzz/Harness/Targets.swift) for SECONDS each, address sanitizer on.
#
#   Scripts/fuzz.sh SECONDS [TARGET...]
#
# Corpora live in .build-fuzz/corpus/<target>/ and grow from run to run. They are seeded from the
# harness's own generator (keys, certificates, metadata, a vault's backup and shares made with the
# library), from the PEM fixtures and real notary metadata in Tests/, and from the committed
# regression inputs in Tests/FuzzRegressions/. A crash, sanitizer report, timeout (-timeout=10 s)
# or memory blow-up (-rss_limit_mb=2048) fails the script; libFuzzer leaves the input in
# .build-fuzz/artifacts/<target>/ — copy it to Tests/FuzzRegressions/<target>/ and fix the parser.
# The summary (executions, executions/second, corpus size per target) is printed at the end and
# kept in .build-fuzz/fuzz-summary.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-}"
if [[ ! "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
    echo "error: give the number of seconds per harness, e.g. Scripts/fuzz.sh 5" >&2
    exit 64
fi
shift
build_start=$(date +%s)
bin="$(bash Scripts/fuzz-build.sh | tail -n 1)"
echo "fuzz build: $(( $(date +%s) - build_start )) s" >&2
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"
# Swift's own backtracer and ASan fight over a crashing process; libFuzzer prints the stack.
export SWIFT_BACKTRACE=enable=no
work=.build-fuzz
mapfile -t targets < <("$bin" --list)
if (( $# > 0 )); then targets=("$@"); fi

# Seeds.
rm -rf "$work/seeds"
"$bin" --seeds "$work/seeds" >/dev/null
python3 - "$work/seeds" <<'PY'
import glob, os, re, sys, zipfile
seeds = sys.argv[1]
def put(target, name, data):
    os.makedirs(os.path.join(seeds, target), exist_ok=True)
    with open(os.path.join(seeds, target, name), "wb") as f:
        f.write(data)
pem = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
n = 0
for path in sorted(glob.glob("Tests/**/*.swift", recursive=True)):
    text = open(path, encoding="utf-8").read()
    for m in pem.finditer(text):
        block = m.group(0)
        if "\\(" in block:
            continue  # interpolated, not a fixture
        block = block.replace("\\n", "\n")
        block = "\n".join(line.strip() for line in block.split("\n")) + "\n"
        n += 1
        kind = m.group(1)
        targets = ["pem", "keyfile"] if "PRIVATE KEY" in kind else ["pem", "certificate"] if "CERTIFICATE" in kind else ["pem"]
        for t in targets:
            put(t, f"test-{n}.pem", block.encode())
vectors = open("Tests/MetadataTests/NotaryVectors.swift", encoding="utf-8").read()
files = {m.group(1): m.group(2).encode() for m in re.finditer(r'static let (root|targets|snapshot|timestamp) = #"(.*)"#', vectors)}
if len(files) == 4:
    put("metadata", "notary-repo", b"\0".join(files[r] for r in ["root", "targets", "snapshot", "timestamp"]))
    for role, data in files.items():
        put("json", f"notary-{role}.json", data)
members = os.path.join(seeds, "bundle-members")
os.makedirs(os.path.join(seeds, "bundle"), exist_ok=True)
with zipfile.ZipFile(os.path.join(seeds, "bundle", "bundle.zip"), "w") as z:
    for name in ("cert.pem", "key.pem"):
        z.write(os.path.join(members, name), name)
PY

status=0
summary="$work/fuzz-summary.tsv"
printf 'target\texecutions\texec_per_s\tseconds\tcorpus\tresult\n' > "$summary"
for target in "${targets[@]}"; do
    corpus="$work/corpus/$target"
    artifacts="$work/artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    cp -f "$work/seeds/$target/"* "$corpus/" 2>/dev/null || true
    cp -f "Tests/FuzzRegressions/$target/"* "$corpus/" 2>/dev/null || true
    log="$work/fuzz-$target.log"
    start=$(date +%s)
    set +e
    TRUSTVAULT_FUZZ_TARGET="$target" "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts" "$corpus" \
        > "$log" 2>&1
    rc=$?
    set -e
    elapsed=$(( $(date +%s) - start ))
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n 1)
    size=$(ls "$corpus" | wc -l)
    result=ok
    if (( rc != 0 )); then
        result="FAILED (rc $rc, see $log and $artifacts)"
        status=1
        grep -m 3 -E 'ERROR|Fatal error|deadly signal|timeout' "$log" >&2 || true
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "${execs:-0}" "${rate:-0}" "$elapsed" "$size" "$result" >> "$summary"
done
awk -F'\t' '{ printf "%-16s %12s %10s %8s %8s  %s\n", $1, $2, $3, $4, $5, $6 }' "$summary"
exit $status
