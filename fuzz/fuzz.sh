#!/bin/sh
# fuzz.sh — runs libFuzzer targets for a bounded time (what `make fuzz` does).
#   sh fuzz/fuzz.sh SECONDS JOBS TARGET...      from the repository root,
#                                               after `make fuzz-build`
# Each target runs SECONDS seconds, JOBS targets at a time, starting from its
# committed seeds (fuzz/corpus/TARGET) and what earlier runs found
# (build/fuzz/corpus/TARGET, where new inputs go), with its dictionary
# (fuzz/TARGET.dict).  Findings (crash-*, leak-*, timeout-*, oom-*) are saved
# in build/fuzz/artifacts/TARGET/, logs in build/fuzz/logs/TARGET.log.
# FUZZ_FORK=1 keeps going after a finding (libFuzzer's fork mode), to
# collect several in one long run.  Exit status 1 when anything was found.
#
# An input that reproduces a finding: build/fuzz/fuzz_TARGET FILE.  Once the
# bug is fixed, copy the file into fuzz/corpus/TARGET/ (bug-NN-what) so the
# regression suite (tests/fuzz/run.sh) keeps replaying it.
seconds=${1:-60}
jobs=${2:-2}
shift 2 2>/dev/null
targets=${*:-"frontend repl csv idx weights checkpoint text"}
mkdir -p build/fuzz/logs build/fuzz/tmp
# the targets' private directories (a crashed run cannot remove its own)
TMPDIR=$(pwd)/build/fuzz/tmp
export TMPDIR

run_one() {
    t=$1
    mkdir -p "build/fuzz/corpus/$t" "build/fuzz/artifacts/$t"
    fork=""
    [ "${FUZZ_FORK:-0}" = 1 ] && fork="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    # shellcheck disable=SC2086
    "build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -dict="fuzz/$t.dict" -artifact_prefix="$(pwd)/build/fuzz/artifacts/$t/" -print_final_stats=1 $fork \
        "build/fuzz/corpus/$t" "fuzz/corpus/$t" >"build/fuzz/logs/$t.log" 2>&1
}

summary() {
    t=$1
    log=build/fuzz/logs/$t.log
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
    found=$(find "build/fuzz/artifacts/$t" -type f | wc -l)
    echo "fuzz $t: ${seconds}s, ${runs:-?} runs; $last; corpus $(find "build/fuzz/corpus/$t" -type f | wc -l) files; findings: $found"
    find "build/fuzz/artifacts/$t" -type f | sed 's/^/    /'
}

running=0
for t in $targets; do
    if [ ! -x "build/fuzz/fuzz_$t" ]; then echo "fuzz.sh: build/fuzz/fuzz_$t is not built (make fuzz-build)"; exit 2; fi
    echo "fuzzing $t for ${seconds}s (log: build/fuzz/logs/$t.log)"
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait; running=0; fi
done
wait

status=0
for t in $targets; do
    summary "$t"
    [ -n "$(find "build/fuzz/artifacts/$t" -type f)" ] && status=1
done
exit $status
