#!/bin/sh
# run.sh — runs every test suite and ends with "N passed, N failed".
#   tests/run.sh [SUITE...]     suites: golden errors usage unit numeric torch checkpoint data jit report fashion install asan
# Each suite prints "ok NAME" or "FAIL NAME" lines; this counts them.
cd "$(dirname "$0")/.."
suites=${*:-"golden errors usage unit numeric torch checkpoint data jit report fashion fuzz robust install asan"}
log=build/test/log.$$
mkdir -p build/test
: > "$log"
for s in $suites; do
    echo "== $s" | tee -a "$log"
    case $s in
    asan) NNC=build/asan/nnc NO_COMPILE=1 sh tests/golden/run.sh
          NNC=build/asan/nnc sh tests/errors/run.sh
          NNC=build/asan/nnc sh tests/errors/usage.sh
          NNC=build/asan/nnc sh tests/jit/run.sh | sed 's/^\(ok\|FAIL\) /\1 asan /' ;;
    usage) sh tests/errors/usage.sh ;;
    *) if [ -x "tests/$s/run.sh" ] || [ -f "tests/$s/run.sh" ]; then sh "tests/$s/run.sh"
       else echo "FAIL suite $s: tests/$s/run.sh is missing"; fi ;;
    esac 2>&1 | tee -a "$log" | grep -v '^ok ' || true
done
passed=$(grep -c '^ok ' "$log")
failed=$(grep -c '^FAIL ' "$log")
[ "$failed" -gt 0 ] && { echo; echo "failures:"; grep '^FAIL ' "$log"; }
echo
echo "$passed passed, $failed failed"
rm -f "$log"
[ "$failed" -eq 0 ]
