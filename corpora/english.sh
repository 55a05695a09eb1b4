#!/usr/bin/env bash
# Writes corpora/data/english.txt, about 14 MB of English from Debian packages'
# plain text, one document per natural unit, documents separated by a line holding
# '%' (train with --doc-separator %):
#   the King James Bible, one chapter a document (bible-kjv, its `bible` program);
#     text in the public domain, package GPL-2 or later;
#   the fortune cookies of fortunes, fortunes-min and fortune-anarchism, one
#     fortune a document (ascii-art left out); fortunes and fortunes-min are BSD,
#     fortune-anarchism is public domain (not fortunes-off: none of the offensive ones);
#   The Devil's Dictionary by Ambrose Bierce (dict-devil), public domain;
#   the Jargon File 4.4.7 (dict-jargon), public domain;
#   FOLDOC, the Free On-line Dictionary of Computing (dict-foldoc), GNU FDL 1.1
#     or later;
# each dictionary one entry a document (see /usr/share/doc/<package>/copyright).
# Left out: dict-gcide (Webster 1913), 40 MB of headwords, pronunciations and
# etymologies, which would swamp the prose and pass the size this corpus aims at.
# Cleaning, all cheap and deterministic: fortune files lose their backspace
# overstrikes and control characters; dictionaries lose their dictd head entries
# (00-database-*), {cross-reference} braces, FOLDOC's "(YYYY-MM-DD)" date lines and
# the Jargon File's empty "//" pronunciations; every line loses trailing blanks,
# every document its leading and trailing blank lines.
# The sources are interleaved by position: a document that starts a fraction f of
# the way into its source sorts at f, so every stretch of the file, its last tenth
# (the validation split) included, mixes all five. Same bytes on every run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data/english.txt"
fortunes=/usr/share/games/fortunes
dictd=/usr/share/dictd
packages=(bible-kjv fortunes fortunes-min fortune-anarchism dict-devil dict-jargon dict-foldoc)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || { echo "error: Debian packages ${missing[*]} are missing; install them (apt-get install ${missing[*]})" >&2; exit 1; }
mkdir -p "$here/data"
work="$(mktemp -d "$here/data/english.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export LC_ALL=C

# Each source is first written as %-separated documents, one file a source.

# The King James Bible, as kjv.sh makes it: a "Book N" line opens each chapter.
bible -l10000 gen1:1-rev22:21 | awk '
    /^$/ { next }
    /^[^ ]/ { if (started) print "%"; started = 1; print; next }
    { sub(/^ +/, ""); print }
' > "$work/1"

# Fortune files: '%' lines part the fortunes, and each file starts a new one.
dpkg-query -L fortunes fortunes-min fortune-anarchism | grep "^$fortunes/[^/]*\$" |
    grep -v -e '\.dat$' -e '\.u8$' -e '/ascii-art$' | sort > "$work/fortune-files"
mapfile -t files < "$work/fortune-files"
awk '
    function flush(   i) {
        while (n && line[n] == "") n--
        if (n) { if (docs++) print "%"; for (i = 1; i <= n; i++) print line[i] }
        n = 0
    }
    FNR == 1 || $0 == "%" { flush() }
    $0 == "%" { next }
    {
        gsub(/_+\010+/, ""); gsub(/[ -~]\010/, "")      # underline and accent overstrikes
        gsub(/[\001-\010\013-\037\177]/, ""); sub(/[ \t]+$/, "")
        if (n == 0 && $0 == "") next
        line[++n] = $0
    }
    END { flush() }
' "${files[@]}" > "$work/2"

# A dictd database: the index gives each entry's offset and length (base-64
# numbers) in the uncompressed .dict; entries are taken in file order, once each.
dict() { # name, indent to remove from body lines
    awk -F '\t' '
        function b64(s,   v, k) { v = 0; for (k = 1; k <= length(s); k++) v = v * 64 + index(B, substr(s, k, 1)) - 1; return v }
        BEGIN { B = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" }
        $1 !~ /^00-?database/ { print b64($2), b64($2) + b64($3) }
    ' "$dictd/$1.index" | sort -n -u > "$work/$1.offsets"
    gzip -dc "$dictd/$1.dict.dz" | awk -v name="$1" -v indent="$2" -v offsets="$work/$1.offsets" '
        function flush(   i, blank) {
            while (n && line[n] == "") n--
            if (n) { if (docs++) print "%"; for (i = 1; i <= n; i++) { if (line[i] == "") { blank = 1; continue } if (blank) print ""; blank = 0; print line[i] } }
            n = 0
        }
        BEGIN {
            while ((getline l < offsets) > 0) { split(l, f, " "); start[++count] = f[1]; end[count] = f[2] }
            e = 1
        }
        {
            p = pos; pos += length($0) + 1
            while (e <= count && p >= end[e]) e++
            if (e > count || p < start[e]) next
            if (e != current) {
                if (p != start[e]) { print "error: an entry of " name ".dict starts mid-line, which this recipe cannot read" > "/dev/stderr"; failed = 1; exit 1 }
                flush(); current = e
            }
            sub(/[ \t]+$/, "")
            if (substr($0, 1, indent) == sprintf("%" indent "s", "")) $0 = substr($0, indent + 1)
            else sub(/^ /, "")
            gsub(/[{}]/, "")
            if ($0 == "%" || $0 == "//" || $0 ~ /^\([0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\)$/) next
            if (n == 0 && $0 == "") next
            line[++n] = $0
        }
        END { if (failed) exit 1; flush() }
    '
}
dict devil 0 > "$work/3"
dict jargon 4 > "$work/4"
dict foldoc 3 > "$work/5"

# Interleave: each document becomes one line "fraction<TAB>source<TAB>text" with
# its newlines as \001 (any \001 of its own dropped first); sort; undo.
for s in 1 2 3 4 5; do
    awk -v src="$s" -v total="$(wc -c < "$work/$s")" '
        function flush() { if (n) printf "%.12f\t%d\t%s\n", start / total, src, doc; n = 0; doc = "" }
        $0 == "%" { flush(); pos += 2; start = pos; next }
        { pos += length($0) + 1; gsub(/\001/, ""); doc = n++ ? doc "\001" $0 : $0 }
        END { flush() }
    ' "$work/$s"
done | sort -s -t "$(printf '\t')" -k1,1 -k2,2n | awk '
    { sub(/^[^\t]*\t[^\t]*\t/, ""); gsub(/\001/, "\n"); if (NR > 1) print "%"; print }
' > "$out.tmp"
iconv -f UTF-8 -t UTF-8 "$out.tmp" > /dev/null || { echo "error: $out.tmp is not valid UTF-8" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c < "$out") bytes, $(grep -c '^%$' "$out") document breaks)"
