#!/usr/bin/env bash
# Writes the fortune-cookie collection to corpora/data/fortunes.txt: each fortune
# a document, separated by lines holding '%' (train with --doc-separator %).
# Source: Debian's fortunes package (/usr/share/games/fortunes). Licence: BSD
# and others (see /usr/share/doc/fortunes/copyright).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src=/usr/share/games/fortunes
out="$here/data/fortunes.txt"
[ -d "$src" ] || { echo "error: $src is missing; install Debian's fortunes package (apt-get install fortunes)" >&2; exit 1; }
mkdir -p "$here/data"
: > "$out.tmp"
for f in "$src"/*; do
    case "$f" in *.dat|*.u8) continue ;; esac
    [ -f "$f" ] || continue
    cat "$f" >> "$out.tmp"
    printf '%%\n' >> "$out.tmp"
done
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes)"
