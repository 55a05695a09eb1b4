#!/usr/bin/env bash
# Installs the Debian packages Quill builds and runs with, if any is missing.
#   libutf8proc-dev  Unicode normalization (utf8proc)
#   libopenblas-dev  matrix products (OpenBLAS's CBLAS)
#   libopenmpi-dev, openmpi-bin  Open MPI, for training across machines (mpirun)
#   pkg-config       finds the libraries for the Swift package manager
#   unicode-data     the Unicode conformance file the tests read
#   bible-kjv        the King James Bible, the default corpus
#   bzip2, make      used by the tests and the top-level commands
set -euo pipefail
packages=(libutf8proc-dev libopenblas-dev libopenmpi-dev openmpi-bin pkg-config unicode-data bible-kjv bzip2 make)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "Installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
if ! command -v swift >/dev/null; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "note: add /opt/swift/usr/bin to PATH" >&2
    else
        echo "error: Swift 6.1 or later is needed (https://swift.org/install)" >&2
        exit 1
    fi
fi
