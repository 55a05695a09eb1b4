#!/usr/bin/env bash
# Runs every libFuzzer target in Fuzz/ and reports, per target, executions per second,
# coverage (libFuzzer's final cov and ft), the corpus size and what went wrong, if anything.
#
# Each target starts from its committed seeds (Fuzz/<target>/seeds, read only, with the
# reproducers of fixed findings in Fuzz/<target>/regressions) and a working
# corpus kept between runs (.build-fuzz/corpus/<target>), with its dictionary and .options.
# Leak detection is on; an input slower than FUZZ_TIMEOUT seconds is a timeout; more than
# FUZZ_RSS_MB of memory is an out-of-memory. A crash, leak, timeout or out-of-memory stops
# that target, leaves its reproducer in .build-fuzz/crashes/<target>/ and fails the run.
#
# Settings (environment): FUZZ_SECONDS per target (default 600), FUZZ_JOBS targets at a time
# (default 2), FUZZ_TARGETS (default: all), FUZZ_TIMEOUT (default 10), FUZZ_RSS_MB (default
# 2048), FUZZ_NICE (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-600}
JOBS=${FUZZ_JOBS:-2}
TIMEOUT=${FUZZ_TIMEOUT:-10}
RSS_MB=${FUZZ_RSS_MB:-2048}
NICE=${FUZZ_NICE:-10}
OUT=.build-fuzz

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<< "$FUZZ_TARGETS"
else
    targets=()
    for dir in Fuzz/*/; do
        name=$(basename "$dir")
        [ "$name" = Support ] || targets+=("$name")
    done
fi

bash scripts/fuzz-build.sh "${targets[@]}"
mkdir -p "$OUT/logs" "$OUT/results"

# Runs one target; writes its log and a one-line result file.
run_target() {
    local target=$1
    local corpus="$OUT/corpus/$target" crashes="$OUT/crashes/$target" log="$OUT/logs/$target.log"
    mkdir -p "$corpus" "$crashes"
    local flags=()
    if [ -f "Fuzz/$target/$target.options" ]; then
        while IFS='=' read -r key value; do
            key=$(echo "$key" | tr -d ' '); value=$(echo "$value" | tr -d ' ')
            [ -n "$key" ] && [ -n "$value" ] && [[ $key != \#* ]] && flags+=("-$key=$value")
        done < <(grep '=' "Fuzz/$target/$target.options")
    fi
    [ -f "Fuzz/$target/$target.dict" ] && flags+=("-dict=Fuzz/$target/$target.dict")
    # Reproducers of fixed findings are read with the seeds, so a regression shows at once.
    local regressions=""
    [ -d "Fuzz/$target/regressions" ] && regressions="Fuzz/$target/regressions"
    local status=0
    # The Swift runtime's own backtracer is off: ASan and libFuzzer report the crash.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}" nice -n "$NICE" "$OUT/bin/fuzz-$target" \
        -max_total_time="$SECONDS_EACH" -timeout="$TIMEOUT" -rss_limit_mb="$RSS_MB" -malloc_limit_mb="$RSS_MB" \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$crashes/" "${flags[@]}" \
        "$corpus" "Fuzz/$target/seeds" $regressions > "$log" 2>&1 || status=$?

    local outcome=ok
    if grep -q 'ERROR: libFuzzer: timeout' "$log"; then outcome=timeout
    elif grep -q -e 'ERROR: libFuzzer: out-of-memory' -e 'ERROR: libFuzzer: malloc(' -e 'AddressSanitizer: out of memory' \
        -e 'AddressSanitizer: requested allocation size' "$log"; then outcome=out-of-memory
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then outcome=leak
    elif grep -q -e 'ERROR: AddressSanitizer' -e 'ERROR: libFuzzer' -e 'fuzz property failed' "$log"; then outcome=crash
    elif [ "$status" -ne 0 ]; then outcome="exit-$status"
    fi
    local artifact
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    local stats execs rate
    stats=$(grep -E '^#[0-9]+[[:space:]]+[A-Za-z]+[[:space:]]+cov: ' "$log" | tail -1 || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    local cov ft corp
    cov=$(echo "$stats" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$stats" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$stats" | sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p')
    echo "$target|${execs:-?}|${rate:-?}|${cov:-?}|${ft:-?}|${corp:-?}|$outcome|${artifact:-}" > "$OUT/results/$target"
}

echo "fuzz: ${#targets[@]} targets, ${SECONDS_EACH}s each, $JOBS at a time; logs in $OUT/logs/"
rm -f "$OUT"/results/*
for target in "${targets[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
    echo "fuzz: running $target"
    run_target "$target" &
done
wait

failed=0
printf '\n%-20s %12s %9s %7s %7s %14s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
    IFS='|' read -r name execs rate cov ft corp outcome artifact < "$OUT/results/$target"
    printf '%-20s %12s %9s %7s %7s %14s  %s\n' "$name" "$execs" "$rate" "$cov" "$ft" "$corp" "$outcome"
    if [ "$outcome" != ok ]; then
        failed=1
        echo "    reproducer: ${artifact:-none written}; log: $OUT/logs/$target.log"
        [ -n "$artifact" ] && echo "    replay: $OUT/bin/fuzz-$target $artifact"
    fi
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED (crashes, leaks, timeouts or out-of-memory above)" >&2
    exit 1
fi
echo "fuzz: no crashes, leaks, timeouts or out-of-memory"
