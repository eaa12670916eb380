#!/bin/sh
# Error tests: tests/errors/NAME.nn beside NAME.err, the exact expected
# standard error.  nnc must exit with status 1 and write no output file.
# Usage errors (exit status 2) are checked in usage.sh.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/errors
mkdir -p "$out"
for nn in tests/errors/*.nn; do
    name=$(basename "$nn" .nn)
    rm -f "$out/$name.c" "$out/$name.h"
    $NNC "$nn" -o "$out/$name.c" >"$out/$name.stdout" 2>"$out/$name.stderr"
    status=$?
    if [ $status -ne 1 ]; then
        fail "error $name" "exit status $status, expected 1" "$(cat "$out/$name.stderr")"
    elif [ -e "$out/$name.c" ] || [ -e "$out/$name.h" ]; then
        fail "error $name" "an output file was written despite the error"
    elif ! d=$(diff -u "tests/errors/$name.err" "$out/$name.stderr"); then
        fail "error $name" "$d"
    else
        ok "error $name"
    fi
done
