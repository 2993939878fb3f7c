"""A tuf-on-ci signer repository and signing event made and judged by tuf-on-ci's own code.

The metadata is written by the `tuf-on-ci-sign` package's `SignerRepository` (its edit/close
write tuf-on-ci's JSON form with empty signature placeholders, bump versions once per event and
keep `root_history/`); python-tuf 7 judges signatures and thresholds.

  make OUT --owner @alice=PUB.pem   known-good OUT/known/metadata (root v1 2-of-3 @alice @bob
                                    @carol; targets 1 of @alice @bob; releases 1 of @alice @carol;
                                    online snapshot/timestamp), signed by @bob and @carol; and an
                                    event OUT/event/metadata that adds @dave to root, raises the
                                    targets threshold to 2, changes periods and adds a target to
                                    targets and to releases. Private keys of the others: OUT/keys/.
  status EVENT KNOWN USER           SignerRepository's view for USER: {"state", "unsigned"}
  sign EVENT KNOWN USER KEY.pem     USER signs every role tuf-on-ci says USER must sign
  judge EVENT KNOWN                 python-tuf: the new root followed from the known-good root,
                                    targets under the new root; owners signed/unsigned per role
"""

import json
import os
import shutil
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Root, TargetFile
from tuf_on_ci_sign._signer_repository import TAG_KEYOWNER, SignerRepository, _calculate_keyid, build_paths


class EventUser:
    """Stands in for tuf_on_ci_sign._user.User (which finds a YubiKey through PKCS#11): the same
    name, and a signer from a private key file."""

    def __init__(self, name: str, key_file: str | None = None):
        self.name = name
        self._key_file = key_file

    def get_signer(self, key):
        with open(self._key_file, "rb") as f:
            private = serialization.load_pem_private_key(f.read(), None)
        return CryptoSigner(private, key)

    def set_signer(self, key, signer):
        pass


def owner_key(public_key, owner: str) -> SSlibKey:
    key = SSlibKey.from_crypto(public_key, scheme="ecdsa-sha2-nistp256")
    key.unrecognized_fields[TAG_KEYOWNER] = owner
    key.keyid = _calculate_keyid(key)
    return key


def new_private(path: str):
    private = ec.generate_private_key(ec.SECP256R1())
    with open(path, "wb") as f:
        f.write(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    return private


def make(out: str, owner_spec: str) -> None:
    owner, pub_path = owner_spec.split("=", 1)
    with open(pub_path, "rb") as f:
        vault_public = serialization.load_pem_public_key(f.read())
    keys_dir = os.path.join(out, "keys")
    os.makedirs(keys_dir)
    private = {name: new_private(os.path.join(keys_dir, f"{name}.pem")) for name in ["bob", "carol", "dave", "online"]}
    keys = {name: owner_key(p.public_key(), f"@{name}") for name, p in private.items() if name != "online"}
    keys[owner.lstrip("@")] = owner_key(vault_public, owner)
    online = SSlibKey.from_crypto(private["online"].public_key(), scheme="ecdsa-sha2-nistp256")
    online.unrecognized_fields["x-tuf-on-ci-online-uri"] = "envvar:ONLINE_KEY"
    online.keyid = _calculate_keyid(online)

    empty = os.path.join(out, "empty")
    known = os.path.join(out, "known", "metadata")
    os.makedirs(empty)
    os.makedirs(known)
    repo = SignerRepository(known, empty, EventUser("@bob"))
    with repo.edit_root() as root:
        root.unrecognized_fields["x-tuf-on-ci-expiry-period"] = 365
        root.unrecognized_fields["x-tuf-on-ci-signing-period"] = 60
        for name in [owner.lstrip("@"), "bob", "carol"]:
            root.add_key(keys[name], "root")
        root.roles["root"].threshold = 2
        for name in [owner.lstrip("@"), "bob"]:
            root.add_key(keys[name], "targets")
        for role, (expiry, signing) in {"timestamp": (2, 1), "snapshot": (365, 60)}.items():
            root.add_key(online, role)
            root.roles[role].unrecognized_fields["x-tuf-on-ci-expiry-period"] = expiry
            root.roles[role].unrecognized_fields["x-tuf-on-ci-signing-period"] = signing
    with repo.edit_targets() as targets:
        targets.unrecognized_fields["x-tuf-on-ci-expiry-period"] = 365
        targets.unrecognized_fields["x-tuf-on-ci-signing-period"] = 60
        # A field no tool knows, with text JSON writers escape differently: kept byte for byte.
        targets.unrecognized_fields["x-acme-note"] = 'Zo\u00eb \u2713 \U0001F600 <&> "q" \\ \x7f\t'
        # A delegated role, as tuf-on-ci delegates one: releases/* for @alice and @carol, 1 of 2.
        targets.delegations = Delegations({}, roles={"releases": DelegatedRole("releases", [], 1, True, build_paths("releases", SignerRepository.MAX_DEPTH))})
        for name in [owner.lstrip("@"), "carol"]:
            targets.add_key(keys[name], "releases")
    with repo.edit("releases") as releases:
        releases.unrecognized_fields["x-tuf-on-ci-expiry-period"] = 180
        releases.unrecognized_fields["x-tuf-on-ci-signing-period"] = 30
    for name in ["bob", "carol"]:
        r = SignerRepository(known, empty, EventUser(f"@{name}", os.path.join(keys_dir, f"{name}.pem")))
        for role in sorted(r.unsigned):
            r.sign(role)
    # The known-good state must be complete before an event starts from it.
    md = Metadata.from_file(os.path.join(known, "root.json"))
    md.signed.verify_delegate("root", md.signed_bytes, md.signatures)

    event = os.path.join(out, "event", "metadata")
    shutil.copytree(known, event)
    author = SignerRepository(event, known, EventUser("@bob"))
    with author.edit_root() as root:
        root.add_key(keys["dave"], "root")
        root.roles["targets"].threshold = 2
        root.unrecognized_fields["x-tuf-on-ci-expiry-period"] = 400
    with author.edit_targets() as targets:
        targets.unrecognized_fields["x-tuf-on-ci-signing-period"] = 30
        data = b"hello from the signing event\n"
        targets.targets["files/hello.txt"] = TargetFile.from_data("files/hello.txt", data, ["sha256"])
    with author.edit("releases") as releases:
        releases.targets["releases/app-1.0.tar.gz"] = TargetFile.from_data("releases/app-1.0.tar.gz", b"app 1.0\n", ["sha256", "sha512"])
    print(json.dumps({o: k.keyid for o, k in keys.items()}, sort_keys=True))


def status(event: str, known: str, user: str) -> None:
    repo = SignerRepository(event, known, EventUser(user))
    print(json.dumps({"state": repo.state.name, "unsigned": sorted(repo.unsigned)}))


def sign(event: str, known: str, user: str, key_file: str) -> None:
    repo = SignerRepository(event, known, EventUser(user, key_file))
    roles = sorted(repo.unsigned)
    for role in roles:
        repo.sign(role)
    print(json.dumps({"signed": roles}))


def owners(result) -> dict:
    def names(keys):
        return sorted(k.unrecognized_fields.get(TAG_KEYOWNER, k.keyid[:12]) for k in keys.values())
    return {"verified": result.verified, "threshold": result.threshold,
            "signed": names(result.signed), "unsigned": names(result.unsigned)}


def judge(event: str, known: str) -> None:
    old = Metadata[Root].from_file(os.path.join(known, "root.json"))
    new = Metadata[Root].from_file(os.path.join(event, "root.json"))
    targets = Metadata.from_file(os.path.join(event, "targets.json"))
    root_result = new.signed.get_root_verification_result(old.signed, new.signed_bytes, new.signatures)
    out = {
        "root_previous": owners(root_result.first),
        "root_new": owners(root_result.second),
        "targets": owners(new.signed.get_verification_result("targets", targets.signed_bytes, targets.signatures)),
    }
    releases = os.path.join(event, "releases.json")
    if os.path.exists(releases):
        md = Metadata.from_file(releases)
        out["releases"] = owners(targets.signed.get_verification_result("releases", md.signed_bytes, md.signatures))
    # A client that trusts the known-good root follows the event's root (python-tuf's own path).
    from tuf.ngclient._internal.trusted_metadata_set import TrustedMetadataSet
    from tuf.ngclient.config import EnvelopeType
    with open(os.path.join(known, "root.json"), "rb") as f:
        trusted = TrustedMetadataSet(f.read(), EnvelopeType.METADATA)
    try:
        with open(os.path.join(event, "root.json"), "rb") as f:
            trusted.update_root(f.read())
        out["client_follows_new_root"] = "yes"
    except Exception as e:  # the verdict is the output
        out["client_follows_new_root"] = f"{type(e).__name__}: {e}"
    history = os.path.join(event, "root_history", f"{new.signed.version}.root.json")
    with open(history, "rb") as f, open(os.path.join(event, "root.json"), "rb") as g:
        out["root_history_equal"] = f.read() == g.read()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make(args[0], args[2] if args[1] == "--owner" else args[1])
    elif cmd == "status":
        status(*args)
    elif cmd == "sign":
        sign(*args)
    elif cmd == "judge":
        judge(*args)
    else:
        sys.exit(f"unknown command {cmd}")
