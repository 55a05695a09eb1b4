#!/usr/bin/env bash
# Writes the King James Bible to corpora/data/kjv.txt, one chapter a document,
# chapters separated by a line holding '%' (train with --doc-separator %).
# Source: Debian's bible-kjv package (its `bible` program). Licence: the text is
# in the public domain; the package is GPL-2 (see /usr/share/doc/bible-kjv/copyright).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data/kjv.txt"
command -v bible >/dev/null || { echo "error: the 'bible' program is missing; install Debian's bible-kjv package (scripts/setup-system.sh does)" >&2; exit 1; }
mkdir -p "$here/data"
# Pretty-printed output: a "Book N" line opens each chapter; verses are indented
# and numbered; -l10000 keeps each verse on one line.
bible -l10000 gen1:1-rev22:21 | awk '
    /^$/ { next }
    /^[^ ]/ { if (started) print "%"; started = 1; print; next }
    { sub(/^ +/, ""); print }
' > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes, $(grep -c '^%$' "$out") chapter breaks)"
