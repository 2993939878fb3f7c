"""python-tuf's Metadata API on metadata trustvault signs or verifies.

usage:
  tuf_metadata_api.py make-root OUT PUBKEY.pem...   a v1 root.json naming these public keys
                                                    (root threshold = number of keys), unsigned
  tuf_metadata_api.py verify-root FILE [PREVIOUS]   verify_delegate("root", …) with FILE's own
                                                    root role (and PREVIOUS's, when given)
  tuf_metadata_api.py verify-delegate DELEGATOR FILE ROLE
                                                    DELEGATOR (targets metadata) verify_delegate(ROLE, FILE)
Prints "ok: ..." or "refused: ..." (exit 1).
"""
import sys
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import load_pem_public_key
from securesystemslib.signer import SSlibKey
from tuf.api.metadata import Metadata, Root, Targets


def make_root(out, pems):
    root = Root(expires=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365))
    for pem in pems:
        with open(pem, "rb") as f:
            key = SSlibKey.from_crypto(load_pem_public_key(f.read()))
        # Fields other tools add (tuf-on-ci names each key's owner), non-ASCII included: they are
        # signed, so tuf sign must keep them byte for byte in the canonical form.
        key.unrecognized_fields["x-tuf-on-ci-keyowner"] = "@jürgen \"quoted\" \\ owner"
        root.add_key(key, "root")
        print(f"ok: key {key.keyid} {key.scheme}")
    for role in ("targets", "snapshot", "timestamp"):
        with open(pems[0], "rb") as f:
            root.add_key(SSlibKey.from_crypto(load_pem_public_key(f.read())), role)
    root.roles["root"].threshold = len(pems)
    root.roles["root"].unrecognized_fields["x-tuf-on-ci-expiry-period"] = 365
    root.roles["root"].unrecognized_fields["x-tuf-on-ci-signing-period"] = 60
    Metadata(root).to_file(out)
    print(f"ok: wrote {out}")


def verify_root(path, previous=None):
    md = Metadata[Root].from_file(path)
    try:
        md.verify_delegate(Root.type, md)
        print(f"ok: {path} meets its own root threshold ({md.signed.roles['root'].threshold})")
        if previous:
            prev = Metadata[Root].from_file(previous)
            prev.verify_delegate(Root.type, md)
            print(f"ok: {path} meets the root threshold of {previous}")
    except Exception as e:
        print(f"refused: {type(e).__name__}: {e}")
        return 1
    return 0


def verify_delegate(delegator, path, role):
    try:
        parent = Metadata[Targets].from_file(delegator)
        parent.verify_delegate(role, Metadata[Targets].from_file(path))
        print(f"ok: {path} meets the threshold {delegator} sets for {role}")
    except Exception as e:
        print(f"refused: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "verify-delegate":
        sys.exit(verify_delegate(sys.argv[2], sys.argv[3], sys.argv[4]))
    if sys.argv[1] == "make-root":
        make_root(sys.argv[2], sys.argv[3:])
        sys.exit(0)
    sys.exit(verify_root(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
