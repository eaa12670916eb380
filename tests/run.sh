#!/bin/sh
# run.sh — runs every test suite and ends with "N passed, N failed".
#   tests/run.sh [SUITE...]     suites: golden errors names usage unit numeric torch checkpoint data jit
#                               mpi report fashion mcu quant fuzz robust install docs asan
# Each suite prints "ok NAME" or "FAIL NAME" lines; this counts them.
#
# NNC_TEST_JOBS (default 2) suites run at a time, the longest first, each in
# its own scratch folder under build/test (the asan suite's under
# build/test/asan: NNC_TEST_DIR); a suite is shown whole when it ends: its
# failures with their details, then its counts and its time.  With
# NNC_TEST_JOBS=1 they run one after another, a failure shown as it happens
# and the passing checks counted (on a terminal a counter redrawn in place,
# elsewhere, as in a CI log, a line every 100).
cd "$(dirname "$0")/.."
NNC_JIT=${NNC_JIT:-tcc}   # as tests/lib.sh: a command without --jit runs on libtcc alone
export NNC_JIT
# the longest first (seconds on a 2-core Zen 5, one suite at a time: numeric
# 262, asan 195, jit 88, checkpoint 85, robust 73, mpi 55, docs 47, torch 44,
# quant 34, golden 30, unit 28, mcu 26, fuzz 15, data 13, names 8, fashion 6,
# report 3, errors 3, install 1, usage 0)
suites=${*:-"numeric asan jit checkpoint robust mpi docs torch quant golden unit mcu fuzz data names fashion report errors install usage"}
jobs=${NNC_TEST_JOBS:-2}
case $jobs in [1-9]) ;; *) echo "tests/run.sh: NNC_TEST_JOBS must be 1 to 9, not '$jobs'" >&2; exit 2 ;; esac
dir=build/test/run.$$
rm -rf "$dir"
mkdir -p "$dir"
log=$dir/log
: > "$log"
tty=0 every=100   # passing checks: a counter redrawn in place, or a line every 100 (0: none)
[ -t 1 ] && [ "$jobs" = 1 ] && tty=1
[ "$jobs" = 1 ] || every=0   # (a suite shown whole at its end: its counts say it)

# suite NAME: runs one suite, its lines on stdout
suite() (   # (a subshell: asan's NNC_TEST_DIR stays in it)
    case $1 in
    asan) export NNC_TEST_DIR=build/test/asan
          NNC=build/asan/nnc NO_COMPILE=1 sh tests/golden/run.sh
          NNC=build/asan/nnc sh tests/errors/run.sh
          NNC=build/asan/nnc sh tests/errors/usage.sh
          NNC=build/asan/nnc RESUME_ROWS=3000 sh tests/checkpoint/resume.sh | sed 's/^\(ok\|FAIL\) /\1 asan /'
          NNC=build/asan/nnc sh tests/jit/run.sh | sed 's/^\(ok\|FAIL\) /\1 asan /' ;;
    usage) sh tests/errors/usage.sh ;;
    names) sh tests/errors/names.sh ;;
    *) if [ -f "tests/$1/run.sh" ]; then sh "tests/$1/run.sh"
       else echo "FAIL suite $1: tests/$1/run.sh is missing"; fi ;;
    esac 2>&1
)
# progress LOG: passes a suite's lines to LOG, shows what is not "ok", then the counts
progress() {
    awk -v logf="$1" -v tty=$tty -v every=$every -v t0="$(date +%s)" '
        { print >> logf; fflush(logf) }
        /^ok / { n++; if (tty) printf "\r   %d ok", n; else if (every && n % every == 0) printf "   ... %d ok\n", n; fflush(); next }
        /^FAIL / { f++ }
        { if (tty && n) printf "\r\033[K"; print; fflush() }
        END { "date +%s" | getline t1; if (tty) printf "\r\033[K"
              printf "   %d ok, %d failed, %d s\n", n, f, t1 - t0 }'
}
# locked CMD...: runs CMD while holding $dir/lock (the queue's and the screen's)
locked() {
    until mkdir "$dir/lock" 2>/dev/null; do sleep 0.05; done
    "$@"
    rmdir "$dir/lock"
}
pop() {   # prints the queue's first suite and takes it off
    head -n 1 "$dir/queue"
    sed -i 1d "$dir/queue"
}
show() {   # a finished suite's block
    echo "== $1"
    cat "$dir/$1.shown"
}
worker() {
    while s=$(locked pop) && [ -n "$s" ]; do
        suite "$s" | progress "$dir/$s.log" >"$dir/$s.shown"
        locked show "$s"
    done
}

if [ "$jobs" = 1 ]; then
    for s in $suites; do
        echo "== $s"
        suite "$s" | progress "$dir/$s.log"
    done
else
    for s in $suites; do echo "$s"; done >"$dir/queue"
    w=0
    while [ $w -lt "$jobs" ]; do
        worker &
        w=$((w + 1))
    done
    wait
fi
for s in $suites; do cat "$dir/$s.log" 2>/dev/null; done >"$log"
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^FAIL ' "$log")
[ "$failed" -gt 0 ] && { echo; echo "failures:"; grep '^FAIL ' "$log"; }
echo
echo "$passed passed, $failed failed"
rm -rf "$dir"
[ "$failed" -eq 0 ]
