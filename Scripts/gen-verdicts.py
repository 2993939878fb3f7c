#!/usr/bin/env python3
"""Generates the verdict corpus in Tests/Verdicts/ (in the spirit of age's testkit).

    python3 Scripts/gen-verdicts.py [path/to/trustvault]

Base material is made with the real binary (default .build/debug/trustvault): a vault with a root
key and a targets key (KDF "interactive"), a repository made by `repo init`, a notary key file made
by `key export`, a 2-of-3 share backup. Every case is one malformed input plus its verdict, written
to Tests/Verdicts/cases.json:

    name     kind/case
    setup    "none" | "vault-file:REL" (the input replaces REL in a copy of the base vault) |
             "vault-dir:REL" (REL becomes a directory) | "metadata:REL" (the input replaces REL
             in a copy of the base repository's metadata directory)
    input    inputs/… (committed), or "{fifo}" / "{devzero}" (made at test time)
    args     the command line; {input} {vault} {out} {repo} {backup} {share1} {share2} {root}
             {targets} are filled in by the runner (Tests/TrustVaultCLITests/VerdictCorpusTests.swift)
    env      extra environment (passphrases)
    status   the allowed exit codes (the class: 64 usage, 65 bad data, 66 missing/unreadable input,
             1 verification failed, 77 wrong passphrase)
    names    text the single error: line (plus hint) must contain — the file or argument at fault

Every case also checks: no crash, exactly one error: line, no raw control characters on stderr,
the vault byte-for-byte unchanged, no --out left behind, an answer within 10 seconds.
Rerun after a format change; review the diff of cases.json.
"""
import base64, hashlib, json, os, shutil, struct, subprocess, sys, tempfile, zipfile, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Verdicts")
BIN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "trustvault")
GUN = "example.com/verdict"
PASS = {
    "TRUSTVAULT_ROOT_PASSPHRASE": "root-passphrase",
    "TRUSTVAULT_TARGETS_PASSPHRASE": "targets-passphrase",
    "TRUSTVAULT_EXPORT_PASSPHRASE": "export-passphrase",
    "TRUSTVAULT_IMPORT_PASSPHRASE": "export-passphrase",
}

def tv(*args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUSTVAULT_", "NOTARY_", "DOCKER_"))}
    env.update(PASS)
    r = subprocess.run([BIN, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        sys.exit(f"trustvault {' '.join(args)} failed: {r.stderr}")
    return r

cases = []
def put(rel, data):
    path = os.path.join(OUT, "inputs", rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return "inputs/" + rel

def case(name, args, status, names="{input}", input=None, setup="none", env=None):
    cases.append({"name": name, "setup": setup, "input": input, "args": args, "env": env or {},
                  "status": sorted(status), "names": names})

# ---------------------------------------------------------------- base material
shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
work = tempfile.mkdtemp(prefix="verdicts-")
vault = os.path.join(work, "vault")
tv("--vault", vault, "init", "--kdf", "interactive")
root_id = tv("--vault", vault, "key", "generate", "--role", "root").stdout.strip().splitlines()[-1]
targets_id = tv("--vault", vault, "key", "generate", "--role", "targets", "--gun", GUN).stdout.strip().splitlines()[-1]
ts = os.path.join(work, "ts.key")
with open(ts, "w") as f:
    f.write(json.dumps({"keytype": "ed25519", "keyval": {"public": base64.b64encode(bytes(range(32))).decode(), "private": None}}))
tv("--vault", vault, "repo", "init", GUN, "--root-key", root_id, "--timestamp-key", ts, "--snapshot-key", ts,
   "--out", os.path.join(work, "repo"))
tv("--vault", vault, "key", "export", targets_id, "--out", os.path.join(work, "targets.key"))
os.makedirs(os.path.join(work, "shares"))
tv("--vault", vault, "backup", "create", "--out", os.path.join(work, "base.tvbackup"), "--shares", "2/3",
   "--share-dir", os.path.join(work, "shares"))
for sub in ["vault", "repo"]:
    shutil.copytree(os.path.join(work, sub), os.path.join(OUT, "base", sub), ignore=shutil.ignore_patterns(".lock"))
shutil.copy(os.path.join(work, "base.tvbackup"), os.path.join(OUT, "base", "backup.tvbackup"))
shares = sorted(os.listdir(os.path.join(work, "shares")))
for i, s in enumerate(shares[:2]):
    shutil.copy(os.path.join(work, "shares", s), os.path.join(OUT, "base", f"share{i + 1}.txt"))
shutil.copy(ts, os.path.join(OUT, "base", "timestamp.key"))
with open(os.path.join(OUT, "base", "ids.json"), "w") as f:
    json.dump({"root": root_id, "targets": targets_id, "gun": GUN}, f, indent=1)
key_text = open(os.path.join(work, "targets.key")).read()
meta_rel = f"tuf/{GUN}/metadata"
root_json = json.load(open(os.path.join(work, "repo", meta_rel, "root.json")))
targets_json = json.load(open(os.path.join(work, "repo", meta_rel, "targets.json")))
record = json.load(open(os.path.join(vault, "keys", targets_id + ".json")))
vault_json = json.load(open(os.path.join(vault, "vault.json")))
backup = open(os.path.join(work, "base.tvbackup"), "rb").read()
share1 = open(os.path.join(work, "shares", shares[0])).read()

# ---------------------------------------------------------------- key files (key import FILE)
IMPORT = ["key", "import", "{input}"]
def keyfile(name, data, status=(65,)):
    case("keyfile/" + name, IMPORT, status, input=put(f"keyfile/{name}.key", data))

lines = key_text.splitlines()
def with_headers(extra):
    return "\n".join([lines[0]] + extra + lines[1:]) + "\n"
keyfile("empty", b"")
keyfile("garbage", os.urandom(300))
keyfile("der-not-pem", b"\x30\x82\x01\x00" + os.urandom(256))
keyfile("truncated", key_text[: len(key_text) // 2])
keyfile("bad-base64", key_text.replace(lines[5][:10], "!!!!@@@@##"))
keyfile("no-end-line", "\n".join(lines[:-1]) + "\n")
keyfile("duplicate-role-header", with_headers(["role: root"]))
# A bad role or GUN in a file is refused like a bad --role/--gun (64) or as bad data (65).
keyfile("role-10000-chars", key_text.replace("role: targets", "role: targets/" + "r" * 10000), (64, 65))
keyfile("role-control-characters", key_text.replace("role: targets", "role: targets/\x1b[31mred\x07"), (64, 65))
keyfile("role-double-slash", key_text.replace("role: targets", "role: targets//x"), (64, 65))
keyfile("gun-traversal", key_text.replace("gun: " + GUN, "gun: ../../etc"), (64, 65))
keyfile("gun-control-characters", key_text.replace("gun: " + GUN, "gun: example.com/\x1b]0;owned\x07"), (64, 65))
keyfile("unknown-block-type", "-----BEGIN FANCY KEY-----\nAAAA\n-----END FANCY KEY-----\n")
keyfile("nul-bytes", key_text.encode()[:200] + b"\0" * 64 + key_text.encode()[200:])

def der(tag, body):
    n = len(body)
    if n < 0x80: length = bytes([n])
    elif n < 0x100: length = bytes([0x81, n])
    else: length = bytes([0x82, n >> 8, n & 0xFF])
    return bytes([tag]) + length + body
def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8 or 1, "big")
    return der(0x02, b)
def der_oid(dotted):
    parts = [int(p) for p in dotted.split(".")]
    out = bytes([parts[0] * 40 + parts[1]])
    for p in parts[2:]:
        enc = [p & 0x7F]
        p >>= 7
        while p:
            enc.append(0x80 | (p & 0x7F)); p >>= 7
        out += bytes(reversed(enc))
    return der(0x06, out)
def seq(*items): return der(0x30, b"".join(items))
def pbes2_pbkdf2(iterations):
    kdf = seq(der_oid("1.2.840.113549.1.5.12"), seq(der(0x04, b"s" * 8), der_int(iterations),
              seq(der_oid("1.2.840.113549.2.9"), b"\x05\x00")))
    enc = seq(der_oid("2.16.840.1.101.3.4.1.42"), der(0x04, b"i" * 16))
    return seq(seq(der_oid("1.2.840.113549.1.5.13"), seq(kdf, enc)), der(0x04, os.urandom(144)))
def pbes2_scrypt(n, r, p):
    kdf = seq(der_oid("1.3.6.1.4.1.11591.4.11"), seq(der(0x04, b"s" * 8), der_int(n), der_int(r), der_int(p)))
    enc = seq(der_oid("2.16.840.1.101.3.4.1.42"), der(0x04, b"i" * 16))
    return seq(seq(der_oid("1.2.840.113549.1.5.13"), seq(kdf, enc)), der(0x04, os.urandom(144)))
def pem(kind, body):
    b64 = base64.b64encode(body).decode()
    return f"-----BEGIN {kind}-----\n" + "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64)) + f"\n-----END {kind}-----\n"
keyfile("pbkdf2-1e9-iterations", pem("ENCRYPTED PRIVATE KEY", pbes2_pbkdf2(10**9)))
keyfile("pbkdf2-0-iterations", pem("ENCRYPTED PRIVATE KEY", pbes2_pbkdf2(0)))
keyfile("pbkdf2-2^63-iterations", pem("ENCRYPTED PRIVATE KEY", pbes2_pbkdf2(2**63 - 1)))
keyfile("scrypt-n-2^40", pem("ENCRYPTED PRIVATE KEY", pbes2_scrypt(2**40, 8, 1)))
keyfile("scrypt-p-2^30", pem("ENCRYPTED PRIVATE KEY", pbes2_scrypt(2**14, 8, 2**30)))
# A legacy OpenSSL-encrypted block whose DEK-Info IV is not hex; the body is random bytes (no key).
legacy = "EC PRIVATE KEY"
keyfile("legacy-bad-dek-info", f"-----BEGIN {legacy}-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,ZZZZ\n\n"
        + base64.b64encode(os.urandom(64)).decode() + f"\n-----END {legacy}-----\n")
case("keyfile/dev-zero", IMPORT, [66], input="{devzero}")
case("keyfile/fifo", IMPORT, [66], input="{fifo}")

# ---------------------------------------------------------------- client bundles (key import ZIP|DIR)
def zipped(name, members, status=(65,)):
    path = put(f"bundle/{name}.zip", b"")
    with zipfile.ZipFile(os.path.join(OUT, path), "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members:
            z.writestr(member, data)
    case("bundle/" + name, IMPORT, status, input=path)
cert = "-----BEGIN CERTIFICATE-----\n" + base64.b64encode(os.urandom(200)).decode() + "\n-----END CERTIFICATE-----\n"
zipped("missing-key", [("cert.pem", cert)], (65, 66))
zipped("junk-certificate", [("cert.pem", cert), ("key.pem", key_text)])
zipped("traversal-names", [("../cert.pem", cert), ("../../key.pem", key_text)])
zipped("deflate-bomb", [("cert.pem", b"\0" * (64 << 20)), ("key.pem", key_text)])
zipped("control-characters-in-names", [("cert\x1b[2J.pem", cert), ("key.pem", key_text)], (65, 66))
trunc = put("bundle/truncated.zip", b"")
with zipfile.ZipFile(os.path.join(OUT, trunc), "w") as z:
    z.writestr("cert.pem", cert); z.writestr("key.pem", key_text)
data = open(os.path.join(OUT, trunc), "rb").read()
put("bundle/truncated.zip", data[: len(data) // 2])
case("bundle/truncated", IMPORT, [65], input=trunc)

# ---------------------------------------------------------------- trust directories (key import DIR)
d = "inputs/trustdir/garbage-key"
put("trustdir/garbage-key/private/" + "ab" * 32 + ".key", os.urandom(100))
case("trustdir/garbage-key", IMPORT, [65], input=d, names="{input}/private/")
put("trustdir/key-is-directory/private/" + "cd" * 32 + ".key/x", b"x")
case("trustdir/key-is-directory", IMPORT, [64, 65, 66], input="inputs/trustdir/key-is-directory", names="{input}/private")

# ---------------------------------------------------------------- metadata directories (verify, root sign)
VERIFY = ["verify", "{repo}", "--gun", GUN]
def meta(name, role, doc, status=(1, 65), raw=None, args=None):
    data = raw if raw is not None else json.dumps(doc, separators=(",", ":")).encode()
    path = put(f"metadata/{name}.json", data)
    case("metadata/" + name, args or VERIFY, status, input=path, setup=f"metadata:{role}.json",
         names=f"{role}.json" if args is None else "{input}")
def root_with(**changes):
    doc = json.loads(json.dumps(root_json))
    doc["signed"].update(changes)
    return doc
def targets_with(**changes):
    doc = json.loads(json.dumps(targets_json))
    doc["signed"].update(changes)
    return doc
meta("root-version-2^63-1", "root", root_with(version=2**63 - 1))
meta("root-version-negative", "root", root_with(version=-1))
meta("root-version-2^53", "root", root_with(version=2**53))
meta("root-expires-feb-31", "root", root_with(expires="2031-02-31T00:00:00Z"))
meta("root-expires-offset-25-99", "root", root_with(expires="2031-01-01T00:00:00+25:99"))
meta("root-expires-not-a-date", "root", root_with(expires="next tuesday"))
meta("root-threshold-0", "root", root_with(roles={**root_json["signed"]["roles"], "root": {**root_json["signed"]["roles"]["root"], "threshold": 0}}))
meta("root-threshold-2^62", "root", root_with(roles={**root_json["signed"]["roles"], "root": {**root_json["signed"]["roles"]["root"], "threshold": 2**62}}))
meta("root-duplicate-key", "root", None, raw=b'{"signed":{"_type":"Root","_type":"Root"},"signatures":[]}')
meta("root-deep-nesting", "root", None, raw=b"[" * 100000)
meta("root-trailing-garbage", "root", None, raw=json.dumps(root_json).encode() + b"xx")
meta("root-empty", "root", None, raw=b"")
meta("root-huge-number", "root", None, raw=b'{"signed":{"version":1' + b"0" * 5000 + b'},"signatures":[]}')
meta("targets-version-2^63-1", "targets", targets_with(version=2**63 - 1))
deleg = {"keys": {}, "roles": [{"name": "targets/" + "r" * 10000, "keyids": [], "threshold": 1, "paths": [""]}]}
meta("targets-role-10000-chars", "targets", targets_with(delegations=deleg))
deleg = {"keys": {}, "roles": [{"name": "targets/\x1b[31mx\x07", "keyids": [], "threshold": 1, "paths": [""]}]}
meta("targets-role-control-characters", "targets", targets_with(delegations=deleg))
deleg = {"keys": {}, "roles": [{"name": "targets//x", "keyids": [], "threshold": 1, "paths": [""]}]}
meta("targets-role-double-slash", "targets", targets_with(delegations=deleg))
meta("targets-target-length-negative", "targets", targets_with(targets={"t": {"hashes": {"sha256": "AAAA"}, "length": -5}}))
ROOT_SIGN = ["root", "sign", "{input}", "--key", "{root}", "--out", "{out}"]
for name, doc in [("root-sign-version-2^63-1", root_with(version=2**63 - 1)),
                  ("root-sign-expires-feb-31", root_with(expires="2031-02-31T00:00:00Z"))]:
    case("metadata/" + name, ROOT_SIGN, [1, 65], input=put(f"metadata/{name}.json", json.dumps(doc)))
case("metadata/root-sign-fifo", ROOT_SIGN, [66], input="{fifo}")
case("metadata/verify-root-dev-zero", VERIFY + ["--root", "{input}"], [66], input="{devzero}")

# ---------------------------------------------------------------- server key files (repo init --timestamp-key)
REPO_INIT = ["repo", "init", "example.com/verdict2", "--root-key", "{root}", "--timestamp-key", "{input}", "--out", "{out}"]
def server_key(name, data, status=(65,)):
    case("server-key/" + name, REPO_INIT, status, input=put(f"server-key/{name}.json", data))
server_key("garbage", os.urandom(64))
server_key("empty", b"")
server_key("unknown-keytype", json.dumps({"keytype": "dsa", "keyval": {"public": "AAAA", "private": None}}))
server_key("empty-public", json.dumps({"keytype": "ed25519", "keyval": {"public": "", "private": None}}))
server_key("huge-public", json.dumps({"keytype": "ecdsa", "keyval": {"public": "A" * 200000, "private": None}}))
server_key("control-characters", json.dumps({"keytype": "ed\x1b[2Jx", "keyval": {"public": "AAAA", "private": None}}))
server_key("private-part-present", json.dumps({"keytype": "ed25519", "keyval": {"public": base64.b64encode(bytes(32)).decode(), "private": "AAAA"}}))
case("server-key/dev-zero", REPO_INIT, [66], input="{devzero}")
case("server-key/fifo", REPO_INIT, [66], input="{fifo}")

# ---------------------------------------------------------------- backups (backup verify FILE --share …)
BVERIFY = ["backup", "verify", "{input}", "--share", "{share1}", "--share", "{share2}"]
def backup_case(name, data, status=(65,)):
    case("backup/" + name, BVERIFY, status, input=put(f"backup/{name}.tvbackup", data))
hlen = struct.unpack(">I", backup[10:14])[0]
header = json.loads(backup[14:14 + hlen])
rest = backup[14 + hlen + 32:]
def with_header(doc):
    body = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    head = backup[:10] + struct.pack(">I", len(body)) + body
    return head + hashlib.blake2b(head, digest_size=32).digest() + rest
backup_case("empty", b"")
backup_case("magic-only", b"TVBACKUP")
backup_case("truncated-header", backup[:40])
backup_case("truncated-payload", backup[: len(backup) - 40])
backup_case("flipped-payload-byte", backup[:-20] + bytes([backup[-20] ^ 1]) + backup[-19:])
backup_case("version-99", backup[:8] + b"\x00\x63" + backup[10:])
backup_case("header-length-2^32-1", backup[:10] + b"\xff\xff\xff\xff" + backup[14:])
backup_case("header-digest-wrong", backup[:14 + hlen] + bytes(32) + rest)
passphrase_mode = dict(header, key={"mode": "passphrase", "kdf": "argon2id13", "opslimit": 64, "memlimit": 4 << 30, "salt": "00" * 16})
backup_case("argon2-at-bound-digest-recomputed", with_header(passphrase_mode))
backup_case("argon2-opslimit-2^63", with_header(dict(header, key={**passphrase_mode["key"], "opslimit": 2**63 - 1})))
backup_case("threshold-0", with_header(dict(header, key={**header["key"], "threshold": 0})))
backup_case("shares-1000", with_header(dict(header, key={**header["key"], "shares": 1000})))
backup_case("chunk-size-0", with_header(dict(header, chunk_size=0)))
backup_case("chunk-size-2^40", with_header(dict(header, chunk_size=2**40)))
backup_case("unknown-cipher", with_header(dict(header, cipher="rot13")))
backup_case("created-control-characters", with_header(dict(header, created="2026-01-01T00:00:00Z\x1b[2J")))
case("backup/dev-zero", BVERIFY, [66], input="{devzero}")
case("backup/fifo", BVERIFY, [66], input="{fifo}")

# ---------------------------------------------------------------- share files (backup verify BACKUP --share FILE)
SVERIFY = ["backup", "verify", "{backup}", "--share", "{input}", "--share", "{share2}"]
def share_case(name, text, status=(65,)):
    case("share/" + name, SVERIFY, status, input=put(f"share/{name}.txt", text))
share_lines = share1.splitlines()
share_case("empty", "")
share_case("garbage", os.urandom(200))
numbered = [i for i, l in enumerate(share_lines) if l.strip()[:1].isdigit()]
share_case("truncated", "\n".join(share_lines[: numbered[2]]) + "\n")
share_case("numbered-line-missing", "\n".join(l for i, l in enumerate(share_lines) if i != numbered[1]) + "\n")
share_case("qr-garbage", "TVSHARE1:ZZZZ\n")
share_case("qr-index-0", "TVSHARE1:" + "00" * 80 + "\n")
share_case("control-characters", share1.replace(share_lines[numbered[0]], share_lines[numbered[0]][:-4] + "\x1b[2J\x07"))
share_case("only-line-0", "\n".join(l for l in share_lines if not l.strip()[:2].isdigit()) + "\n00: 0000 0000 0000 0000\n")
share_case("lines-out-of-range", share1.replace(share_lines[numbered[-1]], share_lines[numbered[-1]] + "\n99999999999999999999: 0000 0000 0000 0000  0000"))
share_case("line-number-0", share1.replace(share_lines[numbered[0]], " 0:" + share_lines[numbered[0]][3:]))
share_case("long-line", share1 + "\n" + "A" * 200000 + "\n")
case("share/dev-zero", SVERIFY, [66], input="{devzero}")
case("share/fifo", SVERIFY, [66], input="{fifo}")

# ---------------------------------------------------------------- key records (a copy of the base vault)
REC = f"keys/{targets_id}.json"
def record_case(name, doc, args, status=(65,), raw=None):
    data = raw if raw is not None else json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    case("record/" + name, args, status, input=put(f"record/{name}.json", data), setup="vault-file:" + REC,
         names=REC)
def record_with(path, value):
    doc = json.loads(json.dumps(record))
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return doc
EXPORT = ["key", "export", targets_id, "--out", "{out}"]
LIST = ["key", "list"]
BCREATE = ["backup", "create", "--out", "{out}", "--shares", "2/3", "--share-dir", "{vault}/../shares"]
sealed = record.get("sealed", {})
kdf_path = None
for k in sealed:
    if isinstance(sealed[k], dict) and "opslimit" in sealed[k]:
        kdf_path = ["sealed", k]
if kdf_path:
    kdf = dict(sealed[kdf_path[1]])
    record_case("argon2-at-bound", record_with(kdf_path, {**kdf, "opslimit": 64, "memlimit": 4 << 30}), EXPORT)
    record_case("argon2-unknown-profile", record_with(kdf_path, {**kdf, "opslimit": 3, "memlimit": 100 << 20}), EXPORT)
record_case("gun-traversal", record_with(["public", "gun"], "../../etc"), LIST)
record_case("role-empty", record_with(["public", "role"], ""), LIST)
record_case("role-control-characters", record_with(["public", "role"], "targets\x1b[2J"), LIST)
record_case("junk-certificate", record_with(["public", "certificate"], cert), LIST)
record_case("unknown-algorithm", record_with(["public", "algorithm"], "dsa"), LIST)
record_case("truncated", None, LIST, raw=json.dumps(record).encode()[:100])
record_case("empty", None, LIST, raw=b"")
record_case("backup-of-damaged-record", record_with(["public", "role"], ""), BCREATE)
case("record/directory-as-record-backup", BCREATE, [65, 66, 74], setup="vault-dir:" + REC, names=REC)
case("record/directory-as-record-list", LIST, [65, 66, 74], setup="vault-dir:" + REC, names=REC)

# ---------------------------------------------------------------- vault.json (a copy of the base vault)
def vault_json_case(name, doc, raw=None, status=(65,)):
    data = raw if raw is not None else json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    case("vault-json/" + name, LIST, status, input=put(f"vault-json/{name}.json", data), setup="vault-file:vault.json",
         names="{vault}/vault.json")
def vj_with(**changes):
    doc = json.loads(json.dumps(vault_json)); doc.update(changes); return doc
kdf = vault_json["kdf"]
vault_json_case("unknown-kdf-profile", vj_with(kdf={**kdf, "profile": "ludicrous"}))
vault_json_case("unknown-kdf-algorithm", vj_with(kdf={**kdf, "algorithm": "scrypt"}))
vault_json_case("argon2-at-bound", vj_with(kdf={**kdf, "opslimit": 64, "memlimit": 4 << 30}))
vault_json_case("argon2-opslimit-2^63", vj_with(kdf={**kdf, "opslimit": 2**63 - 1}))
vault_json_case("version-99", vj_with(version=99))
vault_json_case("garbage", None, raw=os.urandom(50))
vault_json_case("empty", None, raw=b"")
vault_json_case("control-characters", vj_with(created="2026\x1b[2J"))
case("vault-json/directory", LIST, [65, 66], setup="vault-dir:vault.json", names="{vault}/vault.json")

with open(os.path.join(OUT, "cases.json"), "w") as f:
    json.dump(cases, f, indent=1, ensure_ascii=True)
shutil.rmtree(work)
print(f"{len(cases)} cases in {os.path.relpath(OUT, ROOT)}/cases.json")
