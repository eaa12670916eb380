#!/bin/sh
# run.sh — runs every test suite and ends with "N passed, N failed".
#   tests/run.sh [SUITE...]     suites: golden errors names usage unit numeric torch checkpoint data jit
#                               mpi report fashion mcu quant fuzz robust install docs asan
# Each suite prints "ok NAME" or "FAIL NAME" lines; this counts them.  A
# failure is shown with its details as it happens; passing checks are
# counted, on a terminal as a counter redrawn in place, elsewhere (a CI log)
# as a line every 100; each suite ends with its counts and its time.
cd "$(dirname "$0")/.."
NNC_JIT=${NNC_JIT:-tcc}   # as tests/lib.sh: a command without --jit runs on libtcc alone
export NNC_JIT
suites=${*:-"golden errors names usage unit numeric torch checkpoint data jit mpi report fashion mcu quant fuzz robust install docs asan"}
log=build/test/log.$$
mkdir -p build/test
: > "$log"
tty=0
[ -t 1 ] && tty=1
# progress SUITE: passes a suite's lines to the log, shows what is not "ok"
progress() {
    awk -v logf="$log" -v tty=$tty -v t0="$(date +%s)" '
        { print >> logf; fflush(logf) }
        /^ok / { n++; if (tty) printf "\r   %d ok", n; else if (n % 100 == 0) printf "   ... %d ok\n", n; fflush(); next }
        /^FAIL / { f++ }
        { if (tty && n) printf "\r\033[K"; print; fflush() }
        END { "date +%s" | getline t1; if (tty) printf "\r\033[K"
              printf "   %d ok, %d failed, %d s\n", n, f, t1 - t0 }'
}
for s in $suites; do
    echo "== $s" | tee -a "$log"
    case $s in
    asan) NNC=build/asan/nnc NO_COMPILE=1 sh tests/golden/run.sh
          NNC=build/asan/nnc sh tests/errors/run.sh
          NNC=build/asan/nnc sh tests/errors/usage.sh
          NNC=build/asan/nnc RESUME_ROWS=3000 sh tests/checkpoint/resume.sh | sed 's/^\(ok\|FAIL\) /\1 asan /'
          NNC=build/asan/nnc sh tests/jit/run.sh | sed 's/^\(ok\|FAIL\) /\1 asan /' ;;
    usage) sh tests/errors/usage.sh ;;
    names) sh tests/errors/names.sh ;;
    *) if [ -x "tests/$s/run.sh" ] || [ -f "tests/$s/run.sh" ]; then sh "tests/$s/run.sh"
       else echo "FAIL suite $s: tests/$s/run.sh is missing"; fi ;;
    esac 2>&1 | progress
done
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^FAIL ' "$log")
[ "$failed" -gt 0 ] && { echo; echo "failures:"; grep '^FAIL ' "$log"; }
echo
echo "$passed passed, $failed failed"
rm -f "$log"
[ "$failed" -eq 0 ]
