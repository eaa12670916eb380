#!/bin/sh
# Tests of the runtime's data loaders (runtime/data.c), with cmocka (Debian
# libcmocka-dev) and zlib (zlib1g-dev).
#   sh tests/data/run.sh [PATTERN]     from the repository root
# Builds two test programs and runs both:
#   build/test/data/data       the tests with runtime/data.c and runtime/rng.c
#   build/test/data/data-asan  the same with AddressSanitizer and UBSan; names
#                              get "asan "
# Prints "ok data NAME" / "FAIL data NAME" per test function (details of a
# failure follow, indented); a test that cannot run here (Fashion-MNIST not
# installed) is "FAIL data NAME (not run: WHY)": a check not made is no pass
# (scripts/setup.sh installs what every check needs).  PATTERN (cmocka's filter, *
# and ?) runs a subset.  The tests work in a temporary directory of their own.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/data
mkdir -p "$out"
CC=${CC:-cc}
CPPFLAGS="-D_POSIX_C_SOURCE=200809L -Iruntime"
WARN="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"
SAN="-std=c99 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
LIBS="-lcmocka -lz -lm"
SRCS="tests/data/main.c tests/data/helpers.c tests/data/test_csv.c tests/data/test_idx.c tests/data/test_fuzz.c
      tests/data/test_stream.c runtime/data.c runtime/rng.c"
filter=${1:-}

# Both builds at once; each leaves its compiler output in a log.
# shellcheck disable=SC2086
$CC $CPPFLAGS $WARN -O1 -g -o "$out/data" $SRCS $LIBS >"$out/build.log" 2>&1 &
plain=$!
# shellcheck disable=SC2086
$CC $CPPFLAGS $WARN $SAN -o "$out/data-asan" $SRCS $LIBS >"$out/build-asan.log" 2>&1 &
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
        fail "${prefix}data build" "$(cat "$4")"
        return
    fi
    if ! names=$("$bin" --list 2>&1); then
        fail "${prefix}data --list" "$names"
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
            ok "${prefix}data $name"
        elif grep -Fqx "[  SKIPPED ] $name" "$log"; then
            why=$(details "$log" "$name" | sed -n 's/^.*\(skipped: .*\)$/\1/p' | head -n 1)
            fail "${prefix}data $name (not run: ${why:-skipped})"   # a skip is no pass
        else
            failed=$((failed + 1))
            d=$(details "$log" "$name")
            fail "${prefix}data $name" "${d:-did not run (the program stopped before it); see $log}"
        fi
    done
    # Failures outside any test: a leak report at exit, a crash in main.
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        fail "${prefix}data exit status" "$bin exited with status $status" "$(tail -n 40 "$log")"
    fi
}

run "$out/data" "" "$plain_status" "$out/build.log"
run "$out/data-asan" "asan " "$asan_status" "$out/build-asan.log"
