#!/usr/bin/env bash
# Writes corpora/data/small.txt, about 100 KB: the entries A to F of Ambrose
# Bierce's The Devil's Dictionary, one entry a document, entries separated by a
# line holding '%' (train with --doc-separator %).
# Why this text: it is one book by one author in one voice, prose with a little
# verse, so a small model can learn something coherent from it; and a cut at a
# letter is a cut between entries. A to F is 319 entries, about 104 KB.
# Source: Debian's dict-devil package (/usr/share/dictd/devil.dict.dz, a gzip file
# of plain text; devil.index gives each entry's place). Licence: public domain,
# its copyright expired (see /usr/share/doc/dict-devil/copyright).
# Cleaning as english.sh does it: the dictd head entries (00-database-*) and the
# {cross-reference} braces go, and trailing blanks. Same bytes on every run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data/small.txt"
dictd=/usr/share/dictd
[ -f "$dictd/devil.dict.dz" ] && [ -f "$dictd/devil.index" ] || { echo "error: $dictd/devil.dict.dz is missing; install Debian's dict-devil package (apt-get install dict-devil)" >&2; exit 1; }
mkdir -p "$here/data"
trap 'rm -f "$out.offsets"' EXIT
export LC_ALL=C
# Index lines are "headword<TAB>offset<TAB>length", numbers in base 64.
awk -F '\t' '
    function b64(s,   v, k) { v = 0; for (k = 1; k <= length(s); k++) v = v * 64 + index(B, substr(s, k, 1)) - 1; return v }
    BEGIN { B = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
    $1 !~ /^00-?database/ { print b64($2), b64($2) + b64($3) }
' "$dictd/devil.index" | sort -n -u > "$out.offsets"
gzip -dc "$dictd/devil.dict.dz" | awk -v offsets="$out.offsets" '
    function flush(   i, blank) {
        while (n && line[n] == "") n--
        if (n && line[1] ~ /^[A-F]/) { if (docs++) print "%"; for (i = 1; i <= n; i++) { if (line[i] == "") { blank = 1; continue } if (blank) print ""; blank = 0; print line[i] } }
        n = 0
    }
    BEGIN { while ((getline l < offsets) > 0) { split(l, f, " "); start[++count] = f[1]; end[count] = f[2] } e = 1 }
    {
        p = pos; pos += length($0) + 1
        while (e <= count && p >= end[e]) e++
        if (e > count || p < start[e]) next
        if (e != current) {
            if (p != start[e]) { print "error: an entry of devil.dict starts mid-line, which this recipe cannot read" > "/dev/stderr"; failed = 1; exit 1 }
            flush(); current = e
        }
        sub(/[ \t]+$/, ""); gsub(/[{}]/, "")
        if ($0 == "%" || (n == 0 && $0 == "")) next
        line[++n] = $0
    }
    END { if (failed) exit 1; flush() }
' > "$out.tmp"
iconv -f UTF-8 -t UTF-8 "$out.tmp" > /dev/null || { echo "error: $out.tmp is not valid UTF-8" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes, $(grep -c '^%$' "$out") entry breaks)"
