#!/usr/bin/env bash
# Quality runs at a budget: `quill train` once per setting, one at a time, then a table of the steps
# each ran and its final validation loss (training's own, which is the sequential figure).
# Usage: scripts/quality-runs.sh CORPUS TIME OUT SETTINGS_FILE
#   each line of SETTINGS_FILE: NAME [TRAIN FLAGS...], such as
#     defaults
#     strong   --regularization strong
#     kjv-off  --doc-separator % --regularization off
#   Each run writes OUT/NAME (replaced) and OUT/NAME.log; the table goes to stdout and OUT/table.md.
# Run it with the machine to itself (the budget is wall-clock), after `make build`, with the
# OpenBLAS variables this project's benchmarks unset:
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE scripts/quality-runs.sh corpus.txt 10m runs list.txt
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 CORPUS TIME OUT SETTINGS_FILE" >&2; exit 2; }
corpus="$1"; time="$2"; out="$3"; list="$4"
root="$(cd "$(dirname "$0")/.." && pwd)"
quill="$root/.build/release/quill"
[ -x "$quill" ] || { echo "error: $quill is missing; run make build first" >&2; exit 1; }
[ -f "$corpus" ] || { echo "error: no corpus at $corpus" >&2; exit 1; }
[ -f "$list" ] || { echo "error: no settings file at $list" >&2; exit 1; }
mkdir -p "$out"
while read -r name flags; do
    [ -z "${name:-}" ] && continue
    case "$name" in \#*) continue ;; esac
    rm -rf "${out:?}/$name"
    echo "== $name: --time $time $flags ($(date -u +%H:%M:%S) UTC)" >&2
    # shellcheck disable=SC2086  # the flags are words
    "$quill" train "$corpus" --out "$out/$name" --time "$time" --sample-length 0 $flags < /dev/null > "$out/$name.log" 2>&1 \
        || echo "   (exit $?; see $out/$name.log)" >&2
done < "$list"
{
    echo "| run | flags | size | regularization | steps | validation nats/char |"
    echo "|---|---|---|---|---|---|"
    while read -r name flags; do
        [ -z "${name:-}" ] && continue
        case "$name" in \#*) continue ;; esac
        log="$out/$name.log"
        size=$(sed -n 's/^model: .*(embed [0-9]*, hidden \([0-9]*\), layers \([0-9]*\),.*/\2 x \1/p' "$log")
        reg=$(sed -n 's/^regularization: --regularization \([^:]*\).*/\1/p' "$log")
        # The recipe's parts given as flags replace its values; the flags column shows them.
        if grep -q '^regularization: .* given overrides* ' "$log"; then reg="$reg, parts overridden by the flags"; fi
        steps=$(sed -n 's/^stopped: .* after \([0-9]*\) steps.*/\1/p' "$log")
        val=$(sed -n 's/^validation: \([0-9.]*\) nats.*/\1/p' "$log")
        echo "| $name | ${flags:-(none)} | ${size:-?} | ${reg:-?} | ${steps:-?} | ${val:-?} |"
    done < "$list"
} | tee "$out/table.md"
