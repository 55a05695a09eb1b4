#!/usr/bin/env bash
# Stops `quill train` with SIGINT, SIGTERM, SIGHUP and SIGKILL at random moments, some aimed at
# checkpoint writes, TRIALS times each (20 unless given), and checks that every run leaves a model
# that loads and a state that resumes bit-identically, and that the graceful signals exit 128 + n.
# The test suite runs the same trials 3 times each; this runs the full count. Exits non-zero if
# any trial fails; the whole log is left in .build/signal-trials.log.
#
#   scripts/signal-trials.sh        # 20 trials of each signal
#   scripts/signal-trials.sh 50     # 50 of each
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS="${1:-20}"
PATH="$PATH:/opt/swift/usr/bin"
swift build --build-tests >/dev/null
status=0
QUILL_SIGNAL_TRIALS="$TRIALS" swift test --skip-build --filter FaultMatrixSignalTests >.build/signal-trials.log 2>&1 || status=$?
grep -E "^signal |error:|Executed .* tests" .build/signal-trials.log || true
exit "$status"
