"""python-tuf's side of Scripts/bench-scale.sh (run with .venv-tools/bin/python3).

usage:
  bench_scale_tuf.py refresh REPO CACHE TARGET
      ngclient from an empty CACHE (bootstrapped with REPO/metadata/1.root.json): a full
      refresh, then get_targetinfo(TARGET). Files are read from REPO by a fetcher, no server.
  bench_scale_tuf.py refresh-all REPO CACHE
      The same refresh, then what `trustvault tuf verify` also does: every target file in
      REPO/targets/ checked against its length and hashes (TargetFile.verify_length_and_hashes).
  bench_scale_tuf.py add-targets REPO KEYDIR PREFIX FILE...
      The Metadata API doing what `trustvault tuf add-targets` does: TargetFile.from_file for
      each FILE (sha256, as trustvault lists), copy it into REPO/targets/PREFIX/, add it to
      targets.json, version + 1, sign, write; then snapshot and timestamp likewise. KEYDIR holds
      targets.pem, snapshot.pem and timestamp.pem (unencrypted PKCS#8 exported from the vault).
Prints one "ok: ..." line.
"""
import os
import shutil
import sys
from datetime import datetime, timedelta, timezone
from typing import Iterator
from urllib import parse

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, TargetFile
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import FetcherInterface, Updater, UpdaterConfig
from tuf.api.exceptions import DownloadHTTPError


class DirectoryFetcher(FetcherInterface):
    """Serves bench://repo/<path> from a local directory."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _fetch(self, url: str) -> Iterator[bytes]:
        path = os.path.join(self.root, parse.unquote(parse.urlparse(url).path).lstrip("/"))
        if not os.path.isfile(path):
            raise DownloadHTTPError(f"{url} not found", 404)
        with open(path, "rb") as f:
            return iter([f.read()])


def updater(repo: str, cache: str) -> Updater:
    """ngclient from an empty CACHE, bootstrapped with REPO/metadata/1.root.json."""
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(repo, "metadata", "1.root.json"), "rb") as f:
        root = f.read()
    return Updater(
        metadata_dir=cache,
        metadata_base_url="bench://repo/metadata/",
        target_base_url="bench://repo/targets/",
        fetcher=DirectoryFetcher(repo),
        bootstrap=root,
        # ngclient's default limit for targets.json is 5 MB; 100,000 targets are about 15 MB.
        config=UpdaterConfig(targets_max_length=200_000_000),
    )


def refresh(repo: str, cache: str, target: str) -> int:
    u = updater(repo, cache)
    u.refresh()
    info = u.get_targetinfo(target)
    if info is None:
        print(f"error: no target {target}", file=sys.stderr)
        return 1
    print(f"ok: refresh, {target} is {info.length} bytes")
    return 0


def refresh_all(repo: str, cache: str) -> int:
    """The refresh, then every target file of the top-level targets checked."""
    u = updater(repo, cache)
    u.refresh()
    # The verified top-level targets (ngclient keeps them in its trusted set; no public list).
    targets = u._trusted_set.targets.targets
    for name, info in targets.items():
        with open(os.path.join(repo, "targets", name), "rb") as f:
            info.verify_length_and_hashes(f.read())
    print(f"ok: refresh, {len(targets)} target files verified")
    return 0


def add_targets(repo: str, keydir: str, prefix: str, files: list) -> int:
    meta = os.path.join(repo, "metadata")
    root = Metadata.from_file(os.path.join(meta, sorted(
        (n for n in os.listdir(meta) if n.endswith(".root.json")), key=lambda n: int(n.split(".")[0]))[-1]))

    def signer(role: str) -> CryptoSigner:
        keyid = root.signed.roles[role].keyids[0]
        with open(os.path.join(keydir, role + ".pem"), "rb") as f:
            private = load_pem_private_key(f.read(), password=None)
        return CryptoSigner(private, root.signed.keys[keyid])

    serializer = JSONSerializer(compact=False)
    expiry = datetime.now(timezone.utc).replace(microsecond=0)

    targets = Metadata.from_file(os.path.join(meta, "targets.json"))
    out_dir = os.path.join(repo, "targets", prefix)
    os.makedirs(out_dir, exist_ok=True)
    for path in files:
        name = prefix + "/" + os.path.basename(path)
        targets.signed.targets[name] = TargetFile.from_file(name, path, ["sha256"])
        shutil.copyfile(path, os.path.join(out_dir, os.path.basename(path)))
    def resign(md: Metadata, role: str, days: int) -> None:
        """Version + 1, a fresh expiry, signed by the role's key alone, written back."""
        md.signed.version += 1
        md.signed.expires = expiry + timedelta(days=days)
        md.signatures.clear()
        md.sign(signer(role))
        md.to_file(os.path.join(meta, role + ".json"), serializer)

    resign(targets, "targets", 90)
    snapshot = Metadata.from_file(os.path.join(meta, "snapshot.json"))
    snapshot.signed.meta["targets.json"].version = targets.signed.version
    resign(snapshot, "snapshot", 30)
    timestamp = Metadata.from_file(os.path.join(meta, "timestamp.json"))
    timestamp.signed.snapshot_meta.version = snapshot.signed.version
    resign(timestamp, "timestamp", 1)
    print(f"ok: {len(files)} targets added, targets.json version {targets.signed.version}")
    return 0


def main() -> int:
    if len(sys.argv) >= 5 and sys.argv[1] == "refresh":
        return refresh(sys.argv[2], sys.argv[3], sys.argv[4])
    if len(sys.argv) >= 4 and sys.argv[1] == "refresh-all":
        return refresh_all(sys.argv[2], sys.argv[3])
    if len(sys.argv) >= 6 and sys.argv[1] == "add-targets":
        return add_targets(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
