#!/bin/sh
# Regenerates the golden expectations (all, or the names given) with ./nnc.
# Review the diff of generated code (git diff tests/golden) and commit it.
set -e
cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then set -- tests/golden/*.nn; fi
for arg in "$@"; do
    name=$(basename "$arg" .nn)
    [ -f "tests/golden/$name.nn" ] || continue   # (make golden NAME=x runs both: x is one of the two)
    ./nnc --emit=ir "tests/golden/$name.nn" > "tests/golden/$name.ir"
    if ./nnc "tests/golden/$name.nn" -o "tests/golden/$name.c" 2>/dev/null; then
        echo "regenerated tests/golden/$name.{c,h,ir}"
    else
        rm -f "tests/golden/$name.c" "tests/golden/$name.h"
        echo "regenerated tests/golden/$name.ir (no C: the emitter does not support it yet)"
    fi
    if [ -f "tests/golden/$name.nnw" ]; then
        ./nnc "tests/golden/$name.nn" --weights "tests/golden/$name.nnw" -o "tests/golden/${name}_infer.c"
        ./nnc --emit=ir "tests/golden/$name.nn" --weights "tests/golden/$name.nnw" > "tests/golden/${name}_infer.ir"
        echo "regenerated tests/golden/${name}_infer.{c,h,ir} (inference only, weights from $name.nnw)"
    fi
    if [ -f "tests/golden/$name.calib.csv" ]; then   # and calibration data: the int8 emission
        q="--weights tests/golden/$name.nnw --quantize=int8 --calibrate tests/golden/$name.calib.csv"
        # shellcheck disable=SC2086
        ./nnc "tests/golden/$name.nn" $q -o "tests/golden/${name}_int8.c"
        # shellcheck disable=SC2086
        ./nnc --emit=ir "tests/golden/$name.nn" $q > "tests/golden/${name}_int8.ir"
        echo "regenerated tests/golden/${name}_int8.{c,h,ir} (int8, calibrated on $name.calib.csv)"
    fi
done
