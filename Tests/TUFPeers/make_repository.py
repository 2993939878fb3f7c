"""A small TUF 1.0 repository written by python-tuf's Metadata API, for trustvault's verifier.

usage: make_repository.py DIR ROLE [--break-delegator] [--unreadable-root-key] [--target-path=P]
Writes DIR/metadata/ (1.root.json, timestamp.json, snapshot.json, targets.json and the delegated
role's file under the name python-tuf's ngclient fetches: urllib.parse.quote(ROLE, "")) and
DIR/targets/ (file.txt in targets, a/file.txt in ROLE, whose paths are "a/*"). No consistent
snapshots, so a role name used unencoded as a path would leave metadata/.
--break-delegator: targets.json's signature is spoiled after signing (ROLE's own file is valid).
--unreadable-root-key: root also lists a key of an unknown type with a signature by it, and the
root threshold is 2: a client cannot read that key, and nothing was tampered with.
--target-path=P: targets.json lists file.txt's bytes under the target path P (e.g. ../x.txt).
Prints "ok: ..." lines.
"""
import json
import os
import sys
from datetime import datetime, timedelta, timezone
from urllib import parse

from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, Signature
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer


def main() -> int:
    out, role = sys.argv[1], sys.argv[2]
    flags = set(a for a in sys.argv[3:] if not a.startswith("--target-path="))
    target_path = next((a.split("=", 1)[1] for a in sys.argv[3:] if a.startswith("--target-path=")), "file.txt")
    meta_dir, targets_dir = os.path.join(out, "metadata"), os.path.join(out, "targets")
    os.makedirs(os.path.join(targets_dir, "a"), exist_ok=True)
    os.makedirs(meta_dir, exist_ok=True)
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365)
    signers = {r: CryptoSigner.generate_ed25519() for r in ("root", "targets", "snapshot", "timestamp", "delegate")}

    root = Root(expires=expires, consistent_snapshot=False)
    for r in ("root", "targets", "snapshot", "timestamp"):
        root.add_key(signers[r].public_key, r)

    with open(os.path.join(targets_dir, "file.txt"), "wb") as f:
        f.write(b"top-level target\n")
    with open(os.path.join(targets_dir, "a", "file.txt"), "wb") as f:
        f.write(b"delegated target\n")

    targets = Targets(expires=expires)
    targets.targets[target_path] = TargetFile.from_file(target_path, os.path.join(targets_dir, "file.txt"))
    targets.delegations = Delegations(keys={}, roles={})
    targets.delegations.keys[signers["delegate"].public_key.keyid] = signers["delegate"].public_key
    targets.delegations.roles[role] = DelegatedRole(
        name=role, keyids=[signers["delegate"].public_key.keyid], threshold=1, terminating=True, paths=["a/*"])
    delegated = Targets(expires=expires)
    delegated.targets["a/file.txt"] = TargetFile.from_file("a/file.txt", os.path.join(targets_dir, "a", "file.txt"))

    snapshot = Snapshot(expires=expires)
    snapshot.meta["targets.json"] = MetaFile(version=1)
    snapshot.meta[f"{role}.json"] = MetaFile(version=1)
    timestamp = Timestamp(expires=expires)
    timestamp.snapshot_meta = MetaFile(version=1)

    ser = JSONSerializer(compact=False)
    files = {
        "1.root.json": (root, "root"),
        "targets.json": (targets, "targets"),
        f"{parse.quote(role, '')}.json": (delegated, "delegate"),
        "snapshot.json": (snapshot, "snapshot"),
        "timestamp.json": (timestamp, "timestamp"),
    }
    for name, (signed, signer) in files.items():
        md = Metadata(signed)
        if name == "1.root.json" and "--unreadable-root-key" in flags:
            # python-tuf cannot even hold such a key: the file is written from the dict form,
            # signed over its canonical JSON by the real root key.
            d = md.signed.to_dict()
            d["keys"]["f" * 64] = {"keytype": "x-unknown", "scheme": "x-unknown", "keyval": {"public": "00"}}
            d["roles"]["root"]["keyids"].append("f" * 64)
            d["roles"]["root"]["threshold"] = 2
            sig = signers["root"].sign(encode_canonical(d).encode())
            doc = {"signatures": [sig.to_dict(), {"keyid": "f" * 64, "sig": "00" * 64}], "signed": d}
            with open(os.path.join(meta_dir, name), "w") as f:
                json.dump(doc, f, indent=1, sort_keys=True)
            print(f"ok: wrote metadata/{name}")
            continue
        md.sign(signers[signer])
        if name == "targets.json" and "--break-delegator" in flags:
            sig = md.signatures[signers["targets"].public_key.keyid]
            spoiled = ("0" if sig.signature[0] != "0" else "1") + sig.signature[1:]
            md.signatures[sig.keyid] = Signature(sig.keyid, spoiled)
        md.to_file(os.path.join(meta_dir, name), ser)
        print(f"ok: wrote metadata/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
