#!/usr/bin/env bash
# Installs the Python peers the tests use into a project-local venv (.venv-tools/):
# python-tuf (the TUF 1.0 reference client), yubikey-manager (ykman, checks PIV cards),
# cryptography (the loopback test token issuer), repository-service-tuf (RSTUF's CLI: its payload
# types and parsers judge `tuf rstuf` payloads), tuf-on-ci-sign (tuf-on-ci signing events). Tests
# find them through
# TestSupport's `Peers.python` / `Peers.ykman` (the venv's bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-tools
if [ ! -x "$venv/bin/python3" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python3" -m pip install -q --disable-pip-version-check \
  'tuf>=7,<8' 'yubikey-manager>=5.5,<6' 'cryptography>=42' >/dev/null
"$venv/bin/python3" -m pip install -q --disable-pip-version-check 'repository-service-tuf>=1.0.0b1,<2' >/dev/null
# tuf-on-ci's signer package: its SignerRepository writes and judges the signing events in
# TUFOnCISignEventTests (through the venv's own python: a copied venv's pip script may name another).
"$venv/bin/python3" -m pip install -q --disable-pip-version-check 'tuf-on-ci-sign>=0.21,<1' >/dev/null
echo "install-python-tools: $("$venv/bin/python3" -c 'import tuf; print("python-tuf", tuf.__version__)'), $("$venv/bin/ykman" --version)"
