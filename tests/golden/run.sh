#!/bin/sh
# Golden tests (cproc style): tests/golden/NAME.nn beside the exact expected
# NAME.c, NAME.h and NAME.ir (only NAME.ir for networks the C emitter does
# not support yet).  Each check diffs nnc's output against them;
# unless NO_COMPILE is set, each expected .c is also compiled with gcc, clang
# and tcc under the strict flags.  `make golden` regenerates the expectations.
. tests/lib.sh
out=build/test/golden
mkdir -p "$out"
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
    # NAME.nnw beside it: the inference-only emission with those weights.
    if [ -f "$exp.nnw" ]; then
        if $NNC "$nn" --weights "$exp.nnw" -o "$out/${name}_infer.c" >"$out/$name.stderr" 2>&1 &&
            d1=$(diff -u "${exp}_infer.c" "$out/${name}_infer.c") && d2=$(diff -u "${exp}_infer.h" "$out/${name}_infer.h"); then
            ok "golden ${name}_infer.c/.h"
        else
            fail "golden ${name}_infer.c/.h" "$(cat "$out/$name.stderr")" "${d1:-}" "${d2:-}"
        fi
        if [ -z "${NO_COMPILE:-}" ]; then
            for cc in gcc clang tcc; do
                check "compile ${name}_infer.c with $cc" $cc $STRICT -c "${exp}_infer.c" -o "$out/${name}_infer.$cc.o"
            done
            for cc in gcc clang; do   # the vector path (NNC_V8) too: it needs AVX
                check "compile ${name}_infer.c with $cc -mavx2 -mfma" $cc $STRICT -mavx2 -mfma -c "${exp}_infer.c" \
                    -o "$out/${name}_infer.$cc.avx.o"
                grep -q 'defined(NNC_V16)' "${exp}_infer.c" &&
                    check "compile ${name}_infer.c with $cc -mavx512f -mfma" $cc $STRICT -mavx512f -mfma \
                        -c "${exp}_infer.c" -o "$out/${name}_infer.$cc.avx512.o"
            done
        fi
    fi
    [ -n "${NO_COMPILE:-}" ] || [ ! -f "$exp.c" ] && continue
    # The IR's "sizeof(NAME) = N bytes" is the real sizeof of the struct.
    { echo "#include <stdio.h>"; echo "#include \"$name.h\""; echo "int main(void) {";
      sed -n 's/^  total *sizeof(\([A-Za-z0-9_]*\)) = \([0-9]*\) bytes.*/    printf("%s %zu %s\\n", "\1", sizeof(\1), "\2");/p' "$exp.ir"
      echo "return 0; }"; } > "$out/${name}_sizeof.c"
    if cc -std=c99 -I tests/golden -o "$out/${name}_sizeof" "$out/${name}_sizeof.c" 2>"$out/$name.stderr" &&
        "$out/${name}_sizeof" > "$out/$name.sizes" && [ -s "$out/$name.sizes" ] &&
        awk '$2 != $3 { bad = 1 } END { exit bad }' "$out/$name.sizes"; then
        ok "sizeof matches the IR for $name"
    else
        fail "sizeof matches the IR for $name" "$(cat "$out/$name.stderr" "$out/$name.sizes" 2>/dev/null)"
    fi
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
    done
done
