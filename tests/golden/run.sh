#!/bin/sh
# Golden tests (cproc style): tests/golden/NAME.nn beside the exact expected
# NAME.c, NAME.h and NAME.ir (only NAME.ir for networks the C emitter does
# not support yet), where weights NAME.nnw are beside them the
# inference-only NAME_infer.c, .h and .ir, and where calibration data
# NAME.calib.csv is too, the int8 NAME_int8.c, .h and .ir.  Each check diffs nnc's output against them;
# unless NO_COMPILE is set, each expected .c is also compiled with gcc, clang
# and tcc under the strict flags.  `make golden` regenerates the expectations.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/golden
mkdir -p "$out"
# sizeof_matches NAME IR HEADER: the IR's "sizeof(NET) = N bytes" lines (the
# training IR's total, the inference IR's RAM) are the real sizeof of the
# structs HEADER declares.
sizeof_matches() {
    { echo "#include <stdio.h>"; echo "#include \"$3\""; echo "int main(void) {";
      sed -n 's/^  [totalRAM]* *sizeof(\([A-Za-z0-9_]*\)) = \([0-9]*\) bytes.*/    printf("%s %zu %s\\n", "\1", sizeof(\1), "\2");/p' "$2"
      echo "return 0; }"; } > "$out/${1}_sizeof.c"
    if cc -std=c99 -I tests/golden -o "$out/${1}_sizeof" "$out/${1}_sizeof.c" 2>"$out/$1.stderr" &&
        "$out/${1}_sizeof" > "$out/$1.sizes" && [ -s "$out/$1.sizes" ] &&
        awk '$2 != $3 { bad = 1 } END { exit bad }' "$out/$1.sizes"; then
        ok "sizeof matches the IR for $1"
    else
        fail "sizeof matches the IR for $1" "$(cat "$out/$1.stderr" "$out/$1.sizes" 2>/dev/null)"
    fi
}
for nn in tests/golden/*.nn; do
    name=$(basename "$nn" .nn)
    exp=tests/golden/$name
    if [ -f "$exp.c" ]; then
    if $NNC "$nn" -o "$out/$name.c" >"$out/$name.stderr" 2>&1 &&
        d1=$(diff -u "$exp.c" "$out/$name.c") && d2=$(diff -u "$exp.h" "$out/$name.h"); then
        ok "golden $name.c/.h"
    else
        fail "golden $name.c/.h" "$(cat "$out/$name.stderr")" "${d1:-}" "${d2:-}"
    fi
    fi
    if $NNC --emit=ir "$nn" >"$out/$name.ir" 2>"$out/$name.stderr" && d=$(diff -u "$exp.ir" "$out/$name.ir"); then
        ok "golden $name.ir"
    else
        fail "golden $name.ir" "$(cat "$out/$name.stderr")" "${d:-}"
    fi
    # NAME.nnw beside it: the inference-only emission with those weights,
    # and its IR (the RAM and flash it needs).
    if [ -f "$exp.nnw" ]; then
        if $NNC --emit=ir "$nn" --weights "$exp.nnw" >"$out/${name}_infer.ir" 2>"$out/$name.stderr" &&
            d=$(diff -u "${exp}_infer.ir" "$out/${name}_infer.ir"); then
            ok "golden ${name}_infer.ir"
        else
            fail "golden ${name}_infer.ir" "$(cat "$out/$name.stderr")" "${d:-}"
        fi
        if $NNC "$nn" --weights "$exp.nnw" -o "$out/${name}_infer.c" >"$out/$name.stderr" 2>&1 &&
            d1=$(diff -u "${exp}_infer.c" "$out/${name}_infer.c") && d2=$(diff -u "${exp}_infer.h" "$out/${name}_infer.h"); then
            ok "golden ${name}_infer.c/.h"
        else
            fail "golden ${name}_infer.c/.h" "$(cat "$out/$name.stderr")" "${d1:-}" "${d2:-}"
        fi
        if [ -z "${NO_COMPILE:-}" ]; then
            sizeof_matches "${name}_infer" "${exp}_infer.ir" "${name}_infer.h"
            for cc in gcc clang tcc; do
                check "compile ${name}_infer.c with $cc" $cc $STRICT -c "${exp}_infer.c" -o "$out/${name}_infer.$cc.o"
            done
            for cc in gcc clang; do   # the vector path (NNC_V8) too: it needs AVX
                check "compile ${name}_infer.c with $cc -mavx2 -mfma" $cc $STRICT -mavx2 -mfma -c "${exp}_infer.c" \
                    -o "$out/${name}_infer.$cc.avx.o"
                grep -q 'defined(NNC_V16)' "${exp}_infer.c" &&
                    check "compile ${name}_infer.c with $cc -mavx512f -mfma" $cc $STRICT -mavx512f -mfma \
                        -c "${exp}_infer.c" -o "$out/${name}_infer.$cc.avx512.o"
                grep -q 'defined(NNC_V8_WIDE)' "${exp}_infer.c" &&
                    check "compile ${name}_infer.c with $cc -mavx512vl -mfma -DNNC_NO_V16" $cc $STRICT -mavx512f \
                        -mavx512vl -mfma -DNNC_NO_V16 -c "${exp}_infer.c" -o "$out/${name}_infer.$cc.avx512vl.o"
            done
        fi
    fi
    # NAME.calib.csv too: the int8 emission (--quantize=int8), calibrated on it
    if [ -f "$exp.calib.csv" ]; then
        q="--weights $exp.nnw --quantize=int8 --calibrate $exp.calib.csv"
        # shellcheck disable=SC2086
        if $NNC --emit=ir "$nn" $q >"$out/${name}_int8.ir" 2>"$out/$name.stderr" &&
            d=$(diff -u "${exp}_int8.ir" "$out/${name}_int8.ir"); then
            ok "golden ${name}_int8.ir"
        else
            fail "golden ${name}_int8.ir" "$(cat "$out/$name.stderr")" "${d:-}"
        fi
        # shellcheck disable=SC2086
        if $NNC "$nn" $q -o "$out/${name}_int8.c" >"$out/$name.stderr" 2>&1 &&
            d1=$(diff -u "${exp}_int8.c" "$out/${name}_int8.c") && d2=$(diff -u "${exp}_int8.h" "$out/${name}_int8.h"); then
            ok "golden ${name}_int8.c/.h"
        else
            fail "golden ${name}_int8.c/.h" "$(cat "$out/$name.stderr")" "${d1:-}" "${d2:-}"
        fi
        if [ -z "${NO_COMPILE:-}" ]; then
            sizeof_matches "${name}_int8" "${exp}_int8.ir" "${name}_int8.h"
            for cc in gcc clang tcc; do
                check "compile ${name}_int8.c with $cc" $cc $STRICT -c "${exp}_int8.c" -o "$out/${name}_int8.$cc.o"
            done
        fi
    fi
    [ -n "${NO_COMPILE:-}" ] || [ ! -f "$exp.c" ] && continue
    sizeof_matches "$name" "$exp.ir" "$name.h"
    for cc in gcc clang tcc; do
        if command -v $cc >/dev/null; then
            check "compile $name.c with $cc" $cc $STRICT -c "$exp.c" -o "$out/$name.$cc.o"
        else
            fail "compile $name.c with $cc" "$cc is not installed (scripts/setup.sh test installs it)"
        fi
    done
    for cc in gcc clang; do   # the vector path (NNC_V8) of batched layers and convolutions: it needs AVX
        command -v $cc >/dev/null &&
            check "compile $name.c with $cc -mavx2 -mfma" $cc $STRICT -mavx2 -mfma -c "$exp.c" -o "$out/$name.$cc.avx.o"
        # and its 16-lane path (NNC_V16), where it has one: it needs AVX-512
        command -v $cc >/dev/null && grep -q 'defined(NNC_V16)' "$exp.c" &&
            check "compile $name.c with $cc -mavx512f -mfma" $cc $STRICT -mavx512f -mfma -c "$exp.c" \
                -o "$out/$name.$cc.avx512.o"
        # and its 8-lane path with AVX-512's 32 registers (NNC_V8_WIDE), as -DNNC_NO_V16 builds it
        command -v $cc >/dev/null && grep -q 'defined(NNC_V8_WIDE)' "$exp.c" &&
            check "compile $name.c with $cc -mavx512vl -mfma -DNNC_NO_V16" $cc $STRICT -mavx512f -mavx512vl -mfma \
                -DNNC_NO_V16 -c "$exp.c" -o "$out/$name.$cc.avx512vl.o"
    done
done
