#!/usr/bin/env python3
"""kill -9 at random moments across every command that writes, checking the vault every round.

    python3 Scripts/kill-runs.py ROUNDS [--binary PATH] [--seed N] [--work DIR]

Commands (picked at random each round): key generate, key import, key passwd, key remove,
backup restore (into a new vault and merged into the existing one), backup create --out,
repo init --out and repo rotate targets --out (ceremonies that add a key to the vault),
delegation add --out, key export --out, root cert --out. Each is started, killed with SIGKILL
after a random delay between 0 and 1.2x (--window) its measured duration, and then:

* the vault opens (`key list --json`), every record parses, no stray file is visible in keys/;
* the key set is exactly the one before or the one after the command (nothing half-added);
* key passwd: exactly one of the old and new passphrases unlocks the key;
* a fresh restore target is either absent or a complete vault with every key of the backup;
* every --out is either absent or complete (metadata JSON parses, the backup verifies, the key
  file has its END line); an incomplete one is counted as a failure.

Prints per-command counts (killed / completed before the kill) and exits 1 on any failure.
"""
import argparse, json, os, random, shutil, signal, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("rounds", type=int)
ap.add_argument("--binary", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".build", "debug", "trustvault"))
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--work", default=None)
ap.add_argument("--window", type=float, default=1.2, help="kill within this fraction of the command's measured duration")
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
def c_remove():
    ids, _ = key_ids()
    candidates = sorted(ids - {root, pw_key})
    if not candidates:
        return c_generate()
    victim = rng.choice(candidates)
    # A key a repository in the vault's records still lists is removed only with each one named.
    listed = json.loads(tv(["key", "list", "--json"]).stdout)
    named = []
    for k in listed:
        if k["id"] == victim:
            for gun in sorted(k.get("repositories", {})):
                named += ["--repository", gun]
    def check(after, before):
        return None if after in (before, before - {victim}) else f"remove: key set {len(before)} -> {len(after)}"
    return ["key", "remove", victim, "--yes"] + named, {}, None, check
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
}
partial_outs = []

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
    time.sleep(rng.uniform(0, duration[name] * args.window))
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
        for k in sorted(after - {root, pw_key})[:20]:
            tv(["key", "remove", k, "--yes"])
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
