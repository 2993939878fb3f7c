"""RSTUF's own payload types and python-tuf judge the payloads `trustvault tuf rstuf` writes,
and play RSTUF's API where the tests need its answers (no RSTUF server runs here).

usage:
  rstuf_payloads.py keys DIR NAME...               ECDSA P-256 keys of other holders / the online
                                                   signer: DIR/NAME.pem (public), DIR/NAME.key (private)
  rstuf_payloads.py check-ceremony PAYLOAD         the bootstrap payload, read as RSTUF's CLI builds it
  rstuf_payloads.py check-update PAYLOAD ROOT      the rotation payload against the current ROOT.json
  rstuf_payloads.py check-sign SIGN PENDING        the sign payload applied to the pending root
  rstuf_payloads.py pending-bootstrap OUT THRESHOLD ONLINE.pem ROOTKEY.pem... [--sign KEY.key]...
                                                   what GET /api/v1/metadata/sign answers during a
                                                   bootstrap whose root one holder signed elsewhere
  rstuf_payloads.py pending-update OUT CURRENT [--add PEM]... [--remove KEYID]... [--threshold N]
                                   [--sign KEY.key]... [--tamper]
                                                   the answer during a root rotation: version+1,
                                                   partially signed, beside trusted_root
  rstuf_payloads.py root-of PAYLOAD OUT            the root inside a payload, as N.root.json

check-* print one JSON object (the verdicts) and exit 0 when the payload loads; exit 1 with
"refused: ..." when RSTUF's types or python-tuf refuse it.
"""
import copy
import json
import sys
from dataclasses import asdict
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey
from tuf.api.metadata import Metadata, Root

from repository_service_tuf.cli.admin.helpers import (
    KEY_NAME_FIELD,
    KEY_URI_FIELD,
    ONLINE_ROLE_NAMES,
    BinsRole,
    CeremonyPayload,
    Metadatas,
    Role,
    Roles,
    Settings,
    SignPayload,
    UpdatePayload,
    _get_online_key,
    _parse_pending_data,
)


def refuse(msg):
    print(f"refused: {msg}")
    sys.exit(1)


def load(path):
    with open(path) as f:
        return json.load(f)


def verdict(result):
    return {
        "verified": result.verified,
        "signed": sorted(result.signed),
        "unsigned": sorted(result.unsigned),
        "threshold": result.threshold,
    }


def root_verdicts(md, previous):
    r = md.signed.get_root_verification_result(previous, md.signed_bytes, md.signatures)
    out = {"verified": r.verified, "new": verdict(r.second)}
    if previous is not None:
        out["previous"] = verdict(r.first)
    # python-tuf's client check, thresholds of the previous root and of the new one.
    for label, delegator in (("verify_delegate_previous", previous), ("verify_delegate_self", md.signed)):
        if delegator is None:
            continue
        try:
            delegator.verify_delegate("root", md.signed_bytes, md.signatures)
            out[label] = True
        except Exception as e:  # noqa: BLE001 - the verdict is the point
            out[label] = False
            out[label + "_error"] = str(e)
    return out


def describe_root(root):
    online = _get_online_key(root)
    return {
        "version": root.version,
        "expires": root.expires.isoformat(),
        "consistent_snapshot": root.consistent_snapshot,
        "root_keyids": root.roles["root"].keyids,
        "root_threshold": root.roles["root"].threshold,
        "root_key_names": [root.keys[k].unrecognized_fields.get(KEY_NAME_FIELD) for k in root.roles["root"].keyids],
        "online_keyid": online.keyid if online else None,
        "online_uri": online.unrecognized_fields.get(KEY_URI_FIELD) if online else None,
        "online_roles_share_key": all(root.roles[r].keyids == [online.keyid] for r in ONLINE_ROLE_NAMES) if online else False,
    }


def check_ceremony(path):
    data = load(path)
    try:
        roles_in = data["settings"]["roles"]
        bins = roles_in.get("bins")
        roles = Roles(
            Role(**roles_in["root"]),
            Role(**roles_in["timestamp"]),
            Role(**roles_in["snapshot"]),
            Role(**roles_in["targets"]),
            BinsRole(**bins) if bins is not None else None,
            roles_in.get("delegations"),
        )
        payload = CeremonyPayload(Settings(roles), Metadatas(**data["metadata"]), data.get("timeout", 300))
    except (KeyError, TypeError) as e:
        refuse(f"RSTUF's CeremonyPayload does not take it: {e!r}")
    as_written = asdict(payload)
    expected = copy.deepcopy(data)
    expected["settings"]["roles"].setdefault("delegations", None)
    if as_written != expected:
        refuse("RSTUF's CeremonyPayload does not reproduce the payload (unknown or missing fields)")
    md = Metadata[Root].from_dict(copy.deepcopy(payload.metadata.root))
    if md.signed.version != 1:
        refuse(f"bootstrap root has version {md.signed.version}")
    out = {"payload": "ceremony", "roles": {k: v for k, v in asdict(roles).items() if v is not None}}
    out.update(describe_root(md.signed))
    out.update(root_verdicts(md, None))
    print(json.dumps(out, indent=1, sort_keys=True))


def check_update(path, current_path):
    data = load(path)
    try:
        payload = UpdatePayload(Metadatas(**data["metadata"]))
    except (KeyError, TypeError) as e:
        refuse(f"RSTUF's UpdatePayload does not take it: {e!r}")
    if asdict(payload) != data:
        refuse("RSTUF's UpdatePayload does not reproduce the payload")
    current = Metadata[Root].from_file(current_path)
    md = Metadata[Root].from_dict(copy.deepcopy(payload.metadata.root))
    if md.signed.version != current.signed.version + 1:
        refuse(f"version {md.signed.version} does not follow {current.signed.version}")
    out = {"payload": "update"}
    out.update(describe_root(md.signed))
    out.update(root_verdicts(md, current.signed))
    print(json.dumps(out, indent=1, sort_keys=True))


def check_sign(path, pending_path):
    data = load(path)
    try:
        payload = SignPayload(**data)
    except TypeError as e:
        refuse(f"RSTUF's SignPayload does not take it: {e!r}")
    if asdict(payload) != data:
        refuse("RSTUF's SignPayload does not reproduce the payload")
    # The CLI's own reader of the GET /api/v1/metadata/sign answer.
    roles = _parse_pending_data(load(pending_path))
    if payload.role not in roles:
        refuse(f"no pending role {payload.role}")
    md = Metadata[Root].from_dict(copy.deepcopy(roles[payload.role]))
    trusted = roles.get("trusted_root")
    previous = Metadata[Root].from_dict(copy.deepcopy(trusted)).signed if trusted else None
    sig = Signature.from_dict(copy.deepcopy(payload.signature))
    keys = dict(previous.keys) if previous else {}
    keys.update(md.signed.keys)
    if sig.keyid not in keys:
        refuse(f"signature by unknown key {sig.keyid}")
    keys[sig.keyid].verify_signature(sig, md.signed_bytes)  # raises when it does not verify
    before = root_verdicts(md, previous)
    md.signatures[sig.keyid] = sig  # what RSTUF's worker does with a sign payload
    out = {"payload": "sign", "role": payload.role, "keyid": sig.keyid, "signature_verifies": True, "before": before}
    out.update(root_verdicts(md, previous))
    print(json.dumps(out, indent=1, sort_keys=True))


def make_keys(directory, names):
    for name in names:
        signer = CryptoSigner.generate_ecdsa()
        priv = signer._private_key  # noqa: SLF001 - the test's own throwaway key
        with open(f"{directory}/{name}.key", "wb") as f:
            f.write(priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with open(f"{directory}/{name}.pem", "wb") as f:
            f.write(priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        print(f"ok: {name} {signer.public_key.keyid}")


def key_of(pem_path, name):
    with open(pem_path, "rb") as f:
        key = SSlibKey.from_crypto(load_pem_public_key(f.read()))
    key.unrecognized_fields[KEY_NAME_FIELD] = name
    return key


def signer_of(key_path, md, previous=None):
    with open(key_path, "rb") as f:
        priv = load_pem_private_key(f.read(), None)
    pub = SSlibKey.from_crypto(priv.public_key())
    for key in list(md.signed.keys.values()) + (list(previous.keys.values()) if previous else []):
        if key.keyval == pub.keyval:
            return CryptoSigner(priv, key)
    refuse(f"{key_path} is no key of the root")


def answer(out, pending, trusted):
    body = {
        "data": {"metadata": {"trusted_root": trusted, "trusted_targets": None, "root": pending}},
        "message": "Metadata role(s) pending signing",
    }
    with open(out, "w") as f:
        json.dump(body, f, indent=2)
    print(f"ok: wrote {out}")


def options(args, flag):
    return [args[i + 1] for i, a in enumerate(args) if a == flag]


def pending_bootstrap(out, threshold, online_pem, rest):
    pems = [a for i, a in enumerate(rest) if a.endswith(".pem") and (i == 0 or rest[i - 1] != "--sign")]
    root = Root(expires=datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365))
    for pem in pems:
        root.add_key(key_of(pem, pem.rsplit("/", 1)[-1].removesuffix(".pem")), "root")
    online = key_of(online_pem, "online")
    online.unrecognized_fields[KEY_URI_FIELD] = f"fn:{online.keyid}"
    for role in ONLINE_ROLE_NAMES:
        root.add_key(online, role)
    root.roles["root"].threshold = int(threshold)
    md = Metadata(root)
    for key_path in options(rest, "--sign"):
        md.sign(signer_of(key_path, md), append=True)
    answer(out, md.to_dict(), None)


def pending_update(out, current_path, rest):
    current = Metadata[Root].from_file(current_path)
    root = copy.deepcopy(current.signed)
    for pem in options(rest, "--add"):
        root.add_key(key_of(pem, pem.rsplit("/", 1)[-1].removesuffix(".pem")), "root")
    for keyid in options(rest, "--remove"):
        root.revoke_key(keyid, "root")
    for t in options(rest, "--threshold"):
        root.roles["root"].threshold = int(t)
    root.version += 1
    root.expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=365)
    md = Metadata(root)
    for key_path in options(rest, "--sign"):
        md.sign(signer_of(key_path, md, current.signed), append=True)
    pending = md.to_dict()
    if "--tamper" in rest:
        first = sorted(pending["signed"]["keys"])[0]
        pending["signed"]["keys"][first][KEY_NAME_FIELD] = "mallory"  # changed after signing
    answer(out, pending, current.to_dict())


def root_of(path, out):
    data = load(path)
    md = Metadata[Root].from_dict(copy.deepcopy(data["metadata"]["root"]))
    md.to_file(out)
    print(f"ok: wrote {out} (version {md.signed.version})")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 64
    cmd, args = argv[1], argv[2:]
    if cmd == "keys":
        make_keys(args[0], args[1:])
    elif cmd == "check-ceremony":
        check_ceremony(args[0])
    elif cmd == "check-update":
        check_update(args[0], args[1])
    elif cmd == "check-sign":
        check_sign(args[0], args[1])
    elif cmd == "pending-bootstrap":
        pending_bootstrap(args[0], args[1], args[2], args[3:])
    elif cmd == "pending-update":
        pending_update(args[0], args[1], args[2:])
    elif cmd == "root-of":
        root_of(args[0], args[1])
    else:
        print(__doc__)
        return 64
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
