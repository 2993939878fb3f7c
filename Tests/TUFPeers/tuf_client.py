"""python-tuf ngclient as the reference TUF 1.0 client for trustvault's tests.

usage: tuf_client.py BASE_URL TRUSTED_ROOT CACHE_DIR [TARGET OUT_DIR]
Bootstraps CACHE_DIR with TRUSTED_ROOT (only when the cache is empty), runs Updater.refresh(),
then (with TARGET) download_target. Prints "ok: ..." lines; on failure prints
"refused: <exception class>: <message>" and exits 1.
"""
import os
import sys

from tuf.api.metadata import Metadata
from tuf.ngclient import Updater


def main() -> int:
    base, trusted_root, cache = sys.argv[1], sys.argv[2], sys.argv[3]
    target = sys.argv[4] if len(sys.argv) > 4 else None
    out_dir = sys.argv[5] if len(sys.argv) > 5 else None
    os.makedirs(cache, exist_ok=True)
    with open(trusted_root, "rb") as f:
        root_bytes = f.read()
    try:
        updater = Updater(
            metadata_dir=cache,
            metadata_base_url=base + "/metadata/",
            target_base_url=base + "/targets/",
            target_dir=out_dir,
            bootstrap=root_bytes if not os.path.exists(os.path.join(cache, "root.json")) else None,
        )
        updater.refresh()
        versions = {
            role: Metadata.from_file(os.path.join(cache, f"{role}.json")).signed.version
            for role in ("root", "timestamp", "snapshot", "targets")
        }
        print("ok: refresh: " + ", ".join(f"{r} version {v}" for r, v in versions.items()))
        if target:
            info = updater.get_targetinfo(target)
            if info is None:
                print(f"refused: no target {target}")
                return 1
            os.makedirs(out_dir, exist_ok=True)
            path = updater.download_target(info, os.path.join(out_dir, os.path.basename(target)))
            print(f"ok: downloaded {target} to {path} ({info.length} bytes)")
    except Exception as e:  # the test reads the class and message
        print(f"refused: {type(e).__name__}: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
