#!/bin/sh
# Unit tests of the compiler's parts, with cmocka (Debian libcmocka-dev).
#   sh tests/unit/run.sh [PATTERN]     from the repository root, after `make nnc`
# Builds two test programs and runs both:
#   build/test/unit/unit       the tests linked with build/*.o (not main.o)
#   build/test/unit/unit-asan  the tests and compiler sources built with
#                              AddressSanitizer and UBSan; names get "asan "
# Prints "ok unit NAME" / "FAIL unit NAME" per test function (details of a
# failure follow, indented).  PATTERN (cmocka's filter, * and ?) runs a subset.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/unit
mkdir -p "$out"
CC=${CC:-cc}
# (Open MPI's header as the Makefile finds it: runtime/parallel.c includes it)
MPI_CFLAGS=$(mpicc --showme:compile 2>/dev/null || pkg-config --cflags ompi-c 2>/dev/null)
CPPFLAGS="-D_POSIX_C_SOURCE=200809L -Icompiler -Igrammar -Ibuild -Iruntime $MPI_CFLAGS"
WARN="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"
SAN="-std=c99 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
LIBS="-lcmocka -ltcc -ledit -ldl -lz -lm"
TESTS=$(ls tests/unit/*.c)
filter=${1:-}

if [ ! -f build/parser.o ] || [ ! -f build/parser.c ] || [ ! -f build/lexer.c ]; then
    fail "unit build" "build/parser.o (or build/parser.c, build/lexer.c) is missing: run 'make nnc' first"
    exit 1
fi
objs=
for o in build/*.o build/rt/*.o; do
    [ "$o" = build/main.o ] || objs="$objs $o"
done
srcs=
for c in compiler/*.c runtime/*.c; do
    [ "$c" = compiler/main.c ] || srcs="$srcs $c"
done

# Both builds at once; each leaves its compiler output in a log.
# shellcheck disable=SC2086
$CC $CPPFLAGS $WARN -O1 -g -o "$out/unit" $TESTS $objs $LIBS >"$out/build.log" 2>&1 &
plain=$!
# shellcheck disable=SC2086
$CC $CPPFLAGS $SAN -o "$out/unit-asan" $TESTS $srcs build/parser.c build/lexer.c $LIBS >"$out/build-asan.log" 2>&1 &
asan=$!
wait $plain; plain_status=$?
wait $asan; asan_status=$?

# The output of test NAME in LOG: from its "[ RUN      ]" line to the next test's.
details() {
    awk -v name="$2" '
        $0 == "[ RUN      ] " name { on = 1; next }
        on && /^\[ RUN      \] |^\[==========\] / { exit }
        on { print }
    ' "$1"
}

# run BINARY PREFIX BUILD_STATUS BUILD_LOG
run() {
    bin=$1 prefix=$2
    if [ "$3" -ne 0 ]; then
        fail "${prefix}unit build" "$(cat "$4")"
        return
    fi
    if ! names=$("$bin" --list 2>&1); then
        fail "${prefix}unit --list" "$names"
        return
    fi
    log=$bin.log
    # The sanitizers stop the program at the first error; the tests not
    # reported as OK after that are failures, with the report as details.
    CMOCKA_MESSAGE_OUTPUT=STDOUT ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" ${filter:+"$filter"} >"$log" 2>&1
    status=$?
    failed=0
    for name in $names; do
        if [ -n "$filter" ] && ! grep -Fqx "[ RUN      ] $name" "$log"; then
            continue   # filtered out
        fi
        if grep -Fqx "[       OK ] $name" "$log"; then
            ok "${prefix}unit $name"
        else
            failed=$((failed + 1))
            d=$(details "$log" "$name")
            fail "${prefix}unit $name" "${d:-did not run (the program stopped before it); see $log}"
        fi
    done
    # Failures outside any test: a leak report at exit, a crash in main.
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        fail "${prefix}unit exit status" "$bin exited with status $status" "$(tail -n 40 "$log")"
    fi
}

run "$out/unit" "" "$plain_status" "$out/build.log"
run "$out/unit-asan" "asan " "$asan_status" "$out/build-asan.log"
