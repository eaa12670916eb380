#!/bin/sh
# Tests of the weight files (runtime/checkpoint.c), with cmocka (Debian
# libcmocka-dev) and zlib (zlib1g-dev).
#   sh tests/checkpoint/run.sh [PATTERN]     from the repository root
# Builds two test programs and runs both:
#   build/test/checkpoint/checkpoint       tests/checkpoint/*.c with runtime/checkpoint.c and rng.c
#   build/test/checkpoint/checkpoint-asan  the same with AddressSanitizer and UBSan; names get "asan "
# Prints "ok checkpoint NAME" / "FAIL checkpoint NAME" per test function
# (details of a failure follow, indented), then checks the Python snippet of
# docs/weights-format.md against a file the tests wrote.  PATTERN (cmocka's
# filter, * and ?) runs a subset.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/checkpoint
mkdir -p "$out"
CC=${CC:-cc}
CPPFLAGS="-D_POSIX_C_SOURCE=200809L -Iruntime"
WARN="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"
SAN="-std=c99 -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
LIBS="-lcmocka -lz"
SRCS="$(ls tests/checkpoint/*.c) runtime/checkpoint.c runtime/atomic.c runtime/rng.c"
filter=${1:-}
sample=$out/sample.nnw

# Both builds at once; each leaves its compiler output in a log.
# shellcheck disable=SC2086
$CC $CPPFLAGS $WARN -O1 -g -o "$out/checkpoint" $SRCS $LIBS >"$out/build.log" 2>&1 &
plain=$!
# shellcheck disable=SC2086
$CC $CPPFLAGS $SAN -o "$out/checkpoint-asan" $SRCS $LIBS >"$out/build-asan.log" 2>&1 &
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
        fail "${prefix}checkpoint build" "$(cat "$4")"
        return
    fi
    if ! names=$("$bin" --list 2>&1); then
        fail "${prefix}checkpoint --list" "$names"
        return
    fi
    log=$bin.log
    # The sanitizers stop the program at the first error; the tests not
    # reported as OK after that are failures, with the report as details.
    rm -f "$sample"
    CMOCKA_MESSAGE_OUTPUT=STDOUT NNC_CHECKPOINT_SAMPLE=$sample \
        ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" ${filter:+"$filter"} >"$log" 2>&1
    status=$?
    failed=0
    for name in $names; do
        if [ -n "$filter" ] && ! grep -Fqx "[ RUN      ] $name" "$log"; then
            continue   # filtered out
        fi
        if grep -Fqx "[       OK ] $name" "$log"; then
            ok "${prefix}checkpoint $name"
        elif grep -Fqx "[  SKIPPED ] $name" "$log"; then
            fail "${prefix}checkpoint $name (not run: skipped: $(details "$log" "$name" | tr '\n' ' '))"   # a skip is no pass
        else
            failed=$((failed + 1))
            d=$(details "$log" "$name")
            fail "${prefix}checkpoint $name" "${d:-did not run (the program stopped before it); see $log}"
        fi
    done
    # Failures outside any test: a leak report at exit, a crash in main.
    if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
        fail "${prefix}checkpoint exit status" "$bin exited with status $status" "$(tail -n 40 "$log")"
    fi
}

run "$out/checkpoint" "" "$plain_status" "$out/build.log"
run "$out/checkpoint-asan" "asan " "$asan_status" "$out/build-asan.log"

# The Python snippet of the docs (the python block after the read_nnw marker)
# reads the file python_sample wrote, bit for bit, writes the same bytes
# back, and refuses a damaged copy.
[ -f "$sample" ] || exit 0          # filtered out, or the test failed (reported above)
PY=${PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import numpy' >/dev/null 2>&1; then
    fail "checkpoint python snippet (not run: no numpy for $PY; scripts/setup.sh test installs python3-torch, which brings it)"
    exit 0
fi
awk '/<!-- read_nnw:/ { want = 1; next }
     want && /^```python( file=[^ ]*)?$/ { on = 1; next }
     on && /^```$/ { exit }
     on { print }' docs/weights-format.md >"$out/read_nnw.py"
cat >"$out/check_snippet.py" <<'EOF'
import sys
exec(open(sys.argv[1]).read())
path, out = sys.argv[2], sys.argv[3]
fp, p = read_nnw(path, 0x0123456789ABCDEF)
bits = [int(b) for b in p.view(np.uint32)]
want = [0x3F800000, 0xC0200000, 0x80000000, 0x7F800000, 0x00000001, 0x3DCCCCCD]
assert fp == 0x0123456789ABCDEF, hex(fp)
assert p.dtype == np.float32 and bits == want, [hex(b) for b in bits]
write_nnw(out, fp, p)
assert open(out, "rb").read() == open(path, "rb").read(), "write_nnw wrote other bytes"
data = bytearray(open(path, "rb").read())
data[30] ^= 1
open(out, "wb").write(bytes(data))
try:
    read_nnw(out)
except ValueError as e:
    assert "checksum mismatch" in str(e), e
else:
    raise AssertionError("a damaged file was read")
try:
    read_nnw(path, 42)
except ValueError as e:
    assert "different network" in str(e), e
else:
    raise AssertionError("another network's file was read")
EOF
check "checkpoint python snippet" "$PY" "$out/check_snippet.py" "$out/read_nnw.py" "$sample" "$out/python.nnw"
sh tests/checkpoint/resume.sh
