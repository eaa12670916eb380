#!/bin/sh
# Regenerates tests/errors/NAME.err (all, or the names given) from ./nnc.
cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then set -- tests/errors/*.nn; fi
mkdir -p build/test/errors
for arg in "$@"; do
    name=$(basename "$arg" .nn)
    [ -f "tests/errors/$name.nn" ] || continue   # (make golden NAME=x runs both: x is one of the two)
    ./nnc "tests/errors/$name.nn" -o "build/test/errors/$name.c" 2> "tests/errors/$name.err"
    echo "regenerated tests/errors/$name.err (exit status $?)"
done
