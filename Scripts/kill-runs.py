#!/usr/bin/env python3
"""kill -9 at random moments across every command that writes, checking the vault every round.

    python3 Scripts/kill-runs.py ROUNDS [--binary PATH] [--seed N] [--work DIR] [--only NAMES] [--from F]

Commands (picked at random each round): key generate, key import, key passwd, key remove,
backup restore (into a new vault and merged into the existing one), backup create --out,
repo init --out and repo rotate targets/root/snapshot --out (ceremonies that add a key to the
vault), repo refresh --out, delegation add --out, root sign --out, key export --out, and the TUF
ceremonies on one repository: tuf init, add-targets, remove-targets, delegate, delegate --remove,
refresh, rotate (a new vault key) and sign. Each is started, killed with SIGKILL
after a random delay between 0 and 1.2x (--window) its measured duration, and then:

* the vault opens (`key list --json`), every record parses, no stray file is visible in keys/;
* the key set is exactly the one before or the one after the command (nothing half-added);
* key passwd: exactly one of the old and new passphrases unlocks the key;
* a fresh restore target is either absent or a complete vault with every key of the backup;
* every --out is either absent or complete (metadata JSON parses, the backup verifies, the key
  file has its END line); an incomplete one is counted as a failure;
* the TUF repository is the one before or the one after: every metadata file parses, timestamp
  names the snapshot version present, snapshot names the version of each file present, and a
  new root version exists only with its new vault key.

Prints per-command counts (killed / completed before the kill) and exits 1 on any failure.
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("rounds", type=int)
ap.add_argument("--binary", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build", "debug", "trustvault"))
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--work", default=None)
ap.add_argument("--window", type=float, default=1.2, help="kill within this fraction of the command's measured duration")
ap.add_argument("--from", dest="start", type=float, default=0.0,
                help="kill no earlier than this fraction of the duration (e.g. 0.8 aims at the writing phase)")
ap.add_argument("--only", default=None, help="comma-separated command names (as in the table) to run")
args = ap.parse_args()
seed = args.seed if args.seed is not None else random.randrange(1 << 30)
rng = random.Random(seed)
BIN = args.binary
work = args.work or tempfile.mkdtemp(prefix="kill-runs-")
os.makedirs(work, exist_ok=True)
vault = os.path.join(work, "vault")
GUN = "example.com/kill/base"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TRUSTVAULT_", "NOTARY_", "DOCKER_"))}
ENV.update({
    "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase", "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
    "TRUSTVAULT_SNAPSHOT_PASSPHRASE": "snapshot-passphrase", "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase",
    "TRUSTVAULT_IMPORT_PASSPHRASE": "import-passphrase", "TRUSTVAULT_DELEGATION_PASSPHRASE": "delegation-passphrase",
})
failures = []

def tv(argv, env=None, check=True, vault_dir=None):
    e = dict(ENV); e.update(env or {})
    r = subprocess.run([BIN, "--vault", vault_dir or vault, *argv], env=e, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=300)
    if check and r.returncode != 0:
        sys.exit(f"setup failed: trustvault {' '.join(argv)}: {r.stderr}")
    return r

def key_ids(vault_dir=None):
    r = tv(["key", "list", "--json"], check=False, vault_dir=vault_dir)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return {k["id"] for k in json.loads(r.stdout)}, None

# ---------------------------------------------------------------- setup
tv(["init", "--kdf", "interactive"], vault_dir=vault)
root = tv(["key", "generate", "--role", "root"]).stdout.strip().splitlines()[-1]
pw_key = tv(["key", "generate", "--role", "targets/passwd"]).stdout.strip().splitlines()[-1]
pw_pass = "delegation-passphrase"
ts = os.path.join(work, "ts.key")
subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ts + ".pem"], check=True, capture_output=True)
pub = subprocess.run(["openssl", "pkey", "-in", ts + ".pem", "-pubout", "-outform", "DER"], check=True, capture_output=True).stdout
import base64
with open(ts, "w") as f:
    f.write(json.dumps({"keytype": "ecdsa", "keyval": {"public": base64.b64encode(pub).decode(), "private": None}}))
ci_pub = os.path.join(work, "ci.pub")
subprocess.run(["openssl", "pkey", "-in", ts + ".pem", "-pubout", "-out", ci_pub], check=True, capture_output=True)
base_repo = os.path.join(work, "base-repo")
tv(["repo", "init", GUN, "--root-key", root, "--timestamp-key", ts, "--snapshot-key", ts, "--out", base_repo])
shares_dir = os.path.join(work, "shares")
os.makedirs(shares_dir)
backup = os.path.join(work, "base.tvbackup")
tv(["backup", "create", "--out", backup, "--shares", "2/3", "--share-dir", shares_dir])
shares = [os.path.join(shares_dir, s) for s in sorted(os.listdir(shares_dir))][:2]
backup_ids, _ = key_ids()
key_pool = os.path.join(work, "pool")
os.makedirs(key_pool)
counter = [0]

def fresh_key_file():
    counter[0] += 1
    path = os.path.join(key_pool, f"k{counter[0]}.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path], check=True, capture_output=True)
    return path

def out_path(name):
    counter[0] += 1
    return os.path.join(work, "out", f"{name}-{counter[0]}")
os.makedirs(os.path.join(work, "out"))

def metadata_complete(out, gun, roles):
    # The metadata directory is renamed into place whole (its files are the ceremony's commit
    # point); OUT/private may already hold the new key files when it is absent.
    base = os.path.join(out, "tuf", gun, "metadata")
    if not os.path.exists(base):
        return "absent"
    for role in roles:
        try:
            json.load(open(os.path.join(base, role + ".json")))
        except Exception as e:
            return f"incomplete ({role}.json: {e.__class__.__name__})"
    return "complete"

# Each command: (name, build() -> (argv, env, vault_dir, check(after_ids, before_ids) -> error or None)).
def c_generate():
    n = counter[0] = counter[0] + 1
    return ["key", "generate", "--role", f"targets/kill{n}"], {}, None, adds_one
def c_import():
    return ["key", "import", fresh_key_file(), "--role", "targets/imported"], {}, None, adds_one
def removable():
    """Keys a round may remove: not the root and passwd keys, nor the TUF repository's keys
    (its timestamp key gone, a refresh rightly leaves timestamp.json behind snapshot.json)."""
    listed = json.loads(tv(["key", "list", "--json"]).stdout)
    return {k["id"] for k in listed if k["role"] != "tuf-timestamp" and not (k.get("gun") or "").startswith("tuf/")} - {root, pw_key}

def remove_args(victim):
    # A key a repository in the vault's records still lists is removed only with each one named.
    listed = json.loads(tv(["key", "list", "--json"]).stdout)
    named = []
    for k in listed:
        if k["id"] == victim:
            for gun in sorted(k.get("repositories", {})):
                named += ["--repository", gun]
    return ["key", "remove", victim, "--yes"] + named

def c_remove():
    candidates = sorted(removable())
    if not candidates:
        return c_generate()
    victim = rng.choice(candidates)
    def check(after, before):
        return None if after in (before, before - {victim}) else f"remove: key set {len(before)} -> {len(after)}"
    return remove_args(victim), {}, None, check
def c_passwd():
    global pw_pass
    new = f"passphrase-{counter[0]}-{rng.randrange(1 << 30)}"
    old = pw_pass
    def check(after, before):
        global pw_pass
        if after != before:
            return "passwd changed the key set"
        ok = [p for p in (old, new) if unlocks(pw_key, p)]
        if len(ok) != 1:
            return f"passwd: {len(ok)} of old/new passphrases unlock the key"
        pw_pass = ok[0]
        return None
    return ["key", "passwd", pw_key], {"TRUSTVAULT_DELEGATION_PASSPHRASE": old, "TRUSTVAULT_NEW_PASSPHRASE": new}, None, check
def c_restore_fresh():
    target = out_path("restored")
    def check(after, before):
        if after != before:
            return "restore into a new vault changed the vault"
        if not os.path.exists(target):
            return None
        ids, err = key_ids(target)
        if ids is None:
            return f"restore left a vault that does not open: {err}"
        return None if ids == backup_ids else f"restore left {len(ids)} of {len(backup_ids)} keys"
    return ["backup", "restore", backup, "--share", shares[0], "--share", shares[1]], {}, target, check
def c_restore_merge():
    def check(after, before):
        return None if after in (before, before | backup_ids) else f"merge: key set {len(before)} -> {len(after)}"
    return ["backup", "restore", backup, "--share", shares[0], "--share", shares[1]], {}, None, check
def c_backup_create():
    out = out_path("backup") + ".tvbackup"
    sd = out_path("shares")
    os.makedirs(sd)
    def check(after, before):
        if after != before:
            return "backup create changed the vault"
        if not os.path.exists(out):
            return None
        files = sorted(os.listdir(sd))
        if len(files) < 2:
            return f"backup {out} exists but only {len(files)} share files"
        r = subprocess.run([BIN, "backup", "verify", out, "--share", os.path.join(sd, files[0]), "--share", os.path.join(sd, files[1])],
                           capture_output=True, text=True, env=ENV, stdin=subprocess.DEVNULL)
        return None if r.returncode == 0 else f"backup {out} left incomplete: {r.stderr.strip()}"
    return ["backup", "create", "--out", out, "--shares", "2/3", "--share-dir", sd], {}, None, check
def c_repo_init():
    out = out_path("repo")
    gun = f"example.com/kill/r{counter[0]}"
    def check(after, before):
        if not (after == before or (before < after and len(after - before) == 1)):
            return f"repo init: key set {len(before)} -> {len(after)}"
        state = metadata_complete(out, gun, ["root", "targets"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"repo init --out {state}"
        if state == "complete" and (len(after - before) != 1 or not os.listdir(os.path.join(out, "private"))):
            return "repo init wrote its metadata but the new key is not in the vault and in OUT/private"
        return None
    return ["repo", "init", gun, "--root-key", root, "--timestamp-key", ts, "--snapshot-key", ts, "--out", out], {}, None, check
def c_rotate():
    out = out_path("rotate")
    def check(after, before):
        if not (after == before or (before < after and len(after - before) == 1)):
            return f"repo rotate: key set {len(before)} -> {len(after)}"
        state = metadata_complete(out, GUN, ["root", "targets"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"repo rotate --out {state}"
        if state == "complete" and (len(after - before) != 1 or not os.listdir(os.path.join(out, "private"))):
            return "repo rotate wrote its metadata but the new key is not in the vault and in OUT/private"
        return None
    return ["repo", "rotate", GUN, "targets", "--current", base_repo, "--out", out], {}, None, check
def c_delegation():
    out = out_path("deleg")
    def check(after, before):
        if after != before:
            return "delegation add changed the vault"
        state = metadata_complete(out, GUN, ["targets"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"delegation add --out {state}"
        return None
    return ["delegation", "add", GUN, "targets/releases", "--key-file", ci_pub, "--all-paths", "--current", base_repo, "--out", out], {}, None, check
def c_export():
    out = out_path("export") + ".key"
    def check(after, before):
        if after != before:
            return "key export changed the vault"
        if os.path.exists(out) and "-----END" not in open(out).read():
            return f"key export --out left an incomplete {out}"
        return None
    return ["key", "export", pw_key, "--out", out], {"TRUSTVAULT_DELEGATION_PASSPHRASE": pw_pass}, None, check
def c_root_cert():
    out = out_path("cert") + ".pem"
    def check(after, before):
        if after != before:
            return "root cert changed the vault"
        if os.path.exists(out) and "-----END CERTIFICATE-----" not in open(out).read():
            return f"root cert --out left an incomplete {out}"
        return None
    return ["root", "cert", GUN, "--key", root, "--out", out], {}, None, check

def c_rotate_root():
    out = out_path("rotate-root")
    def check(after, before):
        if not (after == before or (before < after and len(after - before) == 1)):
            return f"repo rotate root: key set {len(before)} -> {len(after)}"
        state = metadata_complete(out, GUN, ["root"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"repo rotate root --out {state}"
        if state == "complete" and (len(after - before) != 1 or not os.path.exists(os.path.join(out, "previous-root.json"))):
            return "repo rotate root wrote its metadata without the new root key in the vault or previous-root.json"
        return None
    return ["repo", "rotate", GUN, "root", "--current", base_repo, "--out", out], {}, None, check
def c_rotate_snapshot():
    out = out_path("rotate-snapshot")
    def check(after, before):
        if not (after == before or (before < after and len(after - before) == 1)):
            return f"repo rotate snapshot: key set {len(before)} -> {len(after)}"
        state = metadata_complete(out, GUN, ["root"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"repo rotate snapshot --out {state}"
        if state == "complete" and (len(after - before) != 1 or not os.listdir(os.path.join(out, "private"))):
            return "repo rotate snapshot wrote its metadata but the new key is not in the vault and in OUT/private"
        return None
    return ["repo", "rotate", GUN, "snapshot", "--current", base_repo, "--out", out], {}, None, check
def c_refresh():
    out = out_path("refresh")
    def check(after, before):
        if after != before:
            return "repo refresh changed the vault's keys"
        state = metadata_complete(out, GUN, ["targets"])
        if state.startswith("incomplete"):
            partial_outs.append(out)
            return f"repo refresh --out {state}"
        return None
    return ["repo", "refresh", GUN, "--roles", "targets", "--current", base_repo, "--out", out], {}, None, check
def c_root_sign():
    out = out_path("signed-root") + ".json"
    src = os.path.join(base_repo, "tuf", GUN, "metadata", "root.json")
    def check(after, before):
        if after != before:
            return "root sign changed the vault's keys"
        if os.path.exists(out):
            try:
                json.load(open(out))
            except Exception as e:
                return f"root sign --out left an incomplete {out}: {e.__class__.__name__}"
        return None
    return ["root", "sign", src, "--key", root, "--out", out], {}, None, check

# ---------------------------------------------------------------- TUF
tuf_repo = os.path.join(work, "tuf-repo")
tv(["tuf", "init", tuf_repo, "--root-key", root])
tuf_payload = os.path.join(work, "payload.txt")
with open(tuf_payload, "w") as f:
    f.write("payload\n")
tv(["tuf", "add-targets", tuf_repo, tuf_payload])

def tuf_state(d):
    """The repository's metadata, checked for consistency: (root version, error or None)."""
    m = os.path.join(d, "metadata")
    if not os.path.isdir(m):
        return 0, "absent"
    try:
        docs = {}
        for name in os.listdir(m):
            if name.endswith(".json"):
                docs[name] = json.load(open(os.path.join(m, name)))["signed"]
        roots = [int(n.split(".")[0]) for n in docs if n.endswith(".root.json") and n.split(".")[0].isdigit()]
        for role in ("targets", "snapshot", "timestamp"):
            if role + ".json" not in docs:
                return max(roots or [0]), f"no {role}.json"
        snap, ts = docs["snapshot.json"], docs["timestamp.json"]
        if ts["meta"]["snapshot.json"]["version"] != snap["version"]:
            return max(roots), f"timestamp names snapshot v{ts['meta']['snapshot.json']['version']}, snapshot.json is v{snap['version']}"
        for name, info in snap["meta"].items():
            if name in docs and docs[name]["version"] != info["version"]:
                return max(roots), f"snapshot names {name} v{info['version']}, the file is v{docs[name]['version']}"
        return max(roots), None
    except Exception as e:
        return 0, f"incomplete ({e.__class__.__name__}: {e})"

def tuf_check(name, keys_added=0):
    version_before, err = tuf_state(tuf_repo)
    def check(after, before):
        version, err = tuf_state(tuf_repo)
        if err:
            partial_outs.append(tuf_repo)
            return f"{name}: {err}"
        added = len(after - before)
        if not (after == before or (before < after and added == keys_added)):
            return f"{name}: key set {len(before)} -> {len(after)}"
        if version > version_before and added != keys_added:
            return f"{name}: root v{version} written without its new vault key"
        return None
    return check

def c_tuf_init():
    d = out_path("tuf-init")
    def check(after, before):
        # The three new keys are sealed one by one before any file is written: killed in
        # between, the vault may hold some of them unused (no metadata names them).
        if not (before <= after and len(after - before) <= 3):
            return f"tuf init: key set {len(before)} -> {len(after)}"
        problem = None
        if os.path.exists(os.path.join(d, "metadata")):
            version, err = tuf_state(d)
            if err or version != 1:
                partial_outs.append(d)
                problem = f"tuf init left {d}: {err or f'root v{version}'}"
            elif len(after - before) != 3:
                problem = "tuf init wrote its metadata without its three new vault keys"
        for k in sorted(after - before):  # keep the vault small (these keys serve no other round)
            tv(["key", "remove", k, "--yes"])
        return problem
    return ["tuf", "init", d, "--root-key", root], {}, None, check
def c_tuf_add_targets():
    # Several files: the target files are written as one batch (one flush, then the renames).
    paths = [out_path("t") + f"-{i}.txt" for i in range(3)]
    for path in paths:
        with open(path, "w") as f:
            f.write(path + "\n")
    return ["tuf", "add-targets", tuf_repo, *paths], {}, None, tuf_check("tuf add-targets")
def c_tuf_remove_targets():
    m = os.path.join(tuf_repo, "metadata", "targets.json")
    names = sorted(json.load(open(m))["signed"]["targets"])
    if len(names) < 2:
        return c_tuf_add_targets()
    return ["tuf", "remove-targets", tuf_repo, names[-1]], {}, None, tuf_check("tuf remove-targets")
def c_tuf_delegate():
    return ["tuf", "delegate", tuf_repo, f"team-{counter[0] % 3}", "--key", ci_pub, "--paths", "team/*"], {}, None, tuf_check("tuf delegate")
def c_tuf_undelegate():
    m = os.path.join(tuf_repo, "metadata", "targets.json")
    roles = [r["name"] for r in json.load(open(m))["signed"].get("delegations", {}).get("roles", [])]
    if not roles:
        return c_tuf_delegate()
    return ["tuf", "delegate", tuf_repo, roles[0], "--remove"], {}, None, tuf_check("tuf delegate --remove")
def c_tuf_refresh():
    return ["tuf", "refresh", tuf_repo], {}, None, tuf_check("tuf refresh")
def c_tuf_rotate():
    return ["tuf", "rotate", tuf_repo, "timestamp"], {}, None, tuf_check("tuf rotate", keys_added=1)
def c_tuf_sign():
    version, _ = tuf_state(tuf_repo)
    path = os.path.join(tuf_repo, "metadata", f"{version}.root.json")
    return ["tuf", "sign", path, "--key", root], {}, None, tuf_check("tuf sign")

def adds_one(after, before):
    if after == before or (before < after and len(after - before) == 1):
        return None
    return f"key set {len(before)} -> {len(after)} (not the one before or after)"

def unlocks(key, passphrase):
    out = out_path("probe") + ".pem"
    r = tv(["key", "export", key, "--format", "pem", "--i-understand-this-is-unencrypted", "--yes", "--out", out],
           env={"TRUSTVAULT_DELEGATION_PASSPHRASE": passphrase}, check=False)
    if os.path.exists(out):
        os.remove(out)
    return r.returncode == 0

COMMANDS = {
    "key generate": c_generate, "key import": c_import, "key remove": c_remove, "key passwd": c_passwd,
    "backup restore (new vault)": c_restore_fresh, "backup restore (merge)": c_restore_merge,
    "backup create --out": c_backup_create, "repo init --out": c_repo_init, "repo rotate targets --out": c_rotate,
    "delegation add --out": c_delegation, "key export --out": c_export,
    "repo rotate root --out": c_rotate_root, "repo rotate snapshot --out": c_rotate_snapshot,
    "repo refresh --out": c_refresh, "root sign --out": c_root_sign,
    "tuf init": c_tuf_init, "tuf add-targets": c_tuf_add_targets, "tuf remove-targets": c_tuf_remove_targets,
    "tuf delegate": c_tuf_delegate, "tuf delegate --remove": c_tuf_undelegate, "tuf refresh": c_tuf_refresh,
    "tuf rotate": c_tuf_rotate, "tuf sign": c_tuf_sign,
}
partial_outs = []
if args.only:
    wanted = [n.strip() for n in args.only.split(",")]
    unknown = [n for n in wanted if n not in COMMANDS]
    if unknown:
        sys.exit(f"--only: unknown command(s) {unknown}; commands: {', '.join(COMMANDS)}")
    COMMANDS = {n: COMMANDS[n] for n in wanted}

# Calibrate: one complete run of each command gives its duration.
duration = {}
for name, make in COMMANDS.items():
    before, _ = key_ids()
    argv, env, vdir, check = make()
    t = time.time()
    r = tv(argv, env=env, check=False, vault_dir=vdir)
    duration[name] = time.time() - t
    if r.returncode != 0:
        sys.exit(f"calibration: {name} failed: {r.stderr}")
    after, _ = key_ids()
    err = check(after, before)
    if err:
        sys.exit(f"calibration: {name}: {err}")

stats = {name: [0, 0] for name in COMMANDS}  # killed, completed before the kill
names = list(COMMANDS)
start = time.time()
for round_no in range(args.rounds):
    name = rng.choice(names)
    before, err = key_ids()
    if before is None:
        failures.append(f"round {round_no}: the vault does not open before the round: {err}")
        break
    argv, env, vdir, check = COMMANDS[name]()
    e = dict(ENV); e.update(env)
    p = subprocess.Popen([BIN, "--vault", vdir or vault, *argv], env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(duration[name] * args.start, duration[name] * args.window))
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
        stats[name][0] += 1
    else:
        stats[name][1] += 1
    p.wait()
    after, err = key_ids()
    if after is None:
        failures.append(f"round {round_no} ({name}): the vault does not open: {err}")
        break
    stray = [f for f in os.listdir(os.path.join(vault, "keys")) if not f.startswith(".") and not f.endswith(".json")]
    if stray:
        failures.append(f"round {round_no} ({name}): stray files in keys/: {stray}")
    problem = check(after, before)
    if problem:
        failures.append(f"round {round_no} ({name}): {problem}")
        print("FAILURE:", failures[-1], flush=True)
    # Keep the vault small: past 40 keys, remove the extra ones (a normal, unkilled remove).
    if len(after) > 40:
        for k in sorted(removable())[:20]:
            tv(remove_args(k))
    if (round_no + 1) % 100 == 0:
        print(f"{round_no + 1} rounds, {len(failures)} failures, {time.time() - start:.0f} s", flush=True)

elapsed = time.time() - start
print(f"kill -9 runs: {args.rounds} rounds in {elapsed:.0f} s (seed {seed}, binary {BIN})")
print(f"{'command':32} {'killed':>7} {'finished first':>15} {'calibrated s':>13}")
for name in names:
    print(f"{name:32} {stats[name][0]:7} {stats[name][1]:15} {duration[name]:13.2f}")
print(f"total killed: {sum(s[0] for s in stats.values())}, finished before the kill: {sum(s[1] for s in stats.values())}")
for f in failures[:30]:
    print("FAILURE:", f)
print(f"{len(failures)} failures")
if not args.work:
    shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if failures else 0)
