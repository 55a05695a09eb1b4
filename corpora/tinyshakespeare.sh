#!/usr/bin/env bash
# Downloads tiny-shakespeare to corpora/data/tinyshakespeare.txt and checks its md5.
# Source: the data folder of karpathy/char-rnn (1,115,394 characters of
# Shakespeare's plays). Licence: the plays are in the public domain.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data/tinyshakespeare.txt"
url="https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
md5="6fb458f1232090904fb40fe944165e91"
mkdir -p "$here/data"
if ! curl -fsSL --max-time 60 -o "$out.tmp" "$url"; then
    rm -f "$out.tmp"
    echo "error: could not download $url; fetch it by hand into $out" >&2
    exit 1
fi
echo "$md5  $out.tmp" | md5sum -c --quiet - || { rm -f "$out.tmp"; echo "error: $url changed (md5 mismatch)" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "wrote $out"
