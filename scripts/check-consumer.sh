#!/usr/bin/env bash
# Checks that another package can depend on Quill by URL and version: clones this repository's
# committed HEAD into a temporary folder, tags it with the version quill reports, builds
# Examples/QuillExample against that tag (`.package(url:, from:)`) in release mode, and runs it.
# Usage: scripts/check-consumer.sh            (exit status 0 when the example builds and generates text)
set -euo pipefail
export PATH="$PATH:/opt/swift/usr/bin"
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/^public let quillVersion = "\(.*\)"$/\1/p' "$root/Sources/QuillCommands/QuillCommand.swift")"
work="$(mktemp -d "${TMPDIR:-/tmp}/quill-consumer.XXXXXX")"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-local "$root" "$work/quill"
git -C "$work/quill" -c user.name=check -c user.email=check@localhost tag -a "$version" -m "Quill $version" -f >/dev/null
echo "== Quill $(git -C "$work/quill" rev-parse --short HEAD) tagged $version in $work/quill"

cp -R "$root/Examples/QuillExample" "$work/example"
rm -rf "$work/example/.build"
export QUILL_URL="file://$work/quill"
echo "== building the example against $QUILL_URL from: \"$version\""
start=$(date +%s)
swift build -c release --package-path "$work/example" 2>&1 | grep -E "error|warning: .*unsafe|Compiling|Build complete" | grep -v "^\[" | tail -5 || true
swift build -c release --package-path "$work/example" >/dev/null
echo "== built in $(( $(date +%s) - start ))s; dependency: $(swift package --package-path "$work/example" show-dependencies 2>/dev/null | grep -o 'quill<[^>]*>' | head -1)"
echo "== running the example"
"$work/example/.build/release/QuillExample" "$@" | tee "$work/output.txt"
grep -q "^generate: ." "$work/output.txt"
grep -q "^continue: the fox." "$work/output.txt"
echo "== consumer check passed"
