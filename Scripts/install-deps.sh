#!/usr/bin/env bash
# Installs the Debian packages trustvault's build, demo and tests need.
set -euo pipefail
packages=(
  libsodium-dev libpcsclite-dev libssl-dev libqrencode-dev pkg-config  # build
  notary curl openssl zip unzip time bc                                 # notary interop tests, benchmarks
  zbar-tools                                                            # backup share QR codes are scanned back
  pcscd vsmartcard-vpcd yubico-piv-tool opensc                          # PIV card tests
  faketime python3-venv                                                 # metadata made in the past; python-tuf/ykman venv
  binutils                                                              # nm: the offline binary imports no socket calls
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-deps: ${#packages[@]} packages present"
bash Scripts/install-python-tools.sh
