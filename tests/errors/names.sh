#!/bin/sh
# Network names against the C the name goes into.  A network's name becomes
# a C type and the prefix of every emitted name, in a file that includes
# <math.h>, <string.h>, <stdint.h> and <stddef.h> and may be compiled in any
# mode (gcc's default gnu17 declares more than -std=c99; tcc always does).
#   1. every identifier in those headers on this machine, in strict and
#      default modes, under gcc, clang and tcc, and every macro the
#      compilers predefine, is either refused as a network name, with an
#      error that says why (the lists in compiler/check.c), or compiles
#      under all of them (a parameter name such as `size` clashes with
#      nothing);
#   2. nnc's own prefix is refused in any case (NNC_V8, Nnc_x, ...);
#   3. names that are free compile under gcc in gnu17 and c99 mode with
#      -Werror, and train through the libtcc JIT, among them one spelled like
#      the header guard an older nnc emitted (XOR_H_INCLUDED, for xor.h).
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/names
mkdir -p "$out"
printf '#include <math.h>\n#include <string.h>\n#include <stdint.h>\n#include <stddef.h>\n' >"$out/hdr.c"
: >"$out/all"
for cc in gcc clang tcc; do
    command -v $cc >/dev/null || { fail "names: $cc is not installed (scripts/setup.sh test installs it)"; continue; }
    for std in c99 gnu17; do
        [ $cc = tcc ] && std=c99   # tcc ignores -std: it declares the default mode's names
        $cc -std=$std -E -P "$out/hdr.c" 2>/dev/null | grep -oE '\b[A-Za-z][A-Za-z0-9_]*\b' >>"$out/all"
        $cc -std=$std -E -dM "$out/hdr.c" 2>/dev/null | awk '{ sub(/\(.*/, "", $2); print $2 }' >>"$out/all"
    done
done
grep -E '^[A-Za-z][A-Za-z0-9_]*$' "$out/all" | sort -u >"$out/names"
total=$(wc -l <"$out/names")
# A name nnc accepts must compile everywhere (the sweep also picks up the
# parameter names of prototypes, such as `size`, which clash with nothing).
compiles_everywhere() {   # compiles_everywhere FILE.c
    for _std in gnu17 c99; do
        for _cc in gcc clang; do
            $_cc -std=$_std -Wall -Wextra -Werror -c "$1" -o "$out/n.o" 2>/dev/null || return 1
        done
    done
    tcc -Wall -Werror -c "$1" -o "$out/n.o" 2>/dev/null
}
missed="" refused=0
for name in $(cat "$out/names"); do
    printf 'network %s {\n    input 1\n    dense 1\n    loss mse\n}\n' "$name" >"$out/n.nn"
    $NNC "$out/n.nn" -o "$out/n.c" >/dev/null 2>"$out/n.err"
    st=$?
    if [ $st -eq 1 ] && grep -qE "cannot name a network|are reserved" "$out/n.err"; then
        refused=$((refused + 1))
    elif [ $st -ne 0 ] || ! compiles_everywhere "$out/n.c"; then
        missed="$missed $name"
    fi
done
if [ "$total" -gt 200 ] && [ -z "$missed" ]; then
    ok "names: the $total identifiers of the C headers and compilers are refused ($refused) or compile everywhere"
else
    fail "names: identifiers of the C headers and compilers are refused or compile everywhere" \
        "$total identifiers; these clash with the C library or a compiler macro, and nnc accepts them:$missed"
fi

for name in NNC_V8 NNC_V8_WIDE NNC_V16 NNC_NO_V16 NNC_PLAIN_C nnc_x Nnc_net nNc_; do
    printf 'network %s {\n    input 1\n    dense 1\n    loss mse\n}\n' "$name" >"$out/n.nn"
    $NNC --emit=ir "$out/n.nn" >/dev/null 2>"$out/n.err"
    st=$?
    if [ $st -eq 1 ] && grep -q "starting with 'nnc_' or 'NNC_' (in any case) are reserved" "$out/n.err"; then
        ok "names: $name is refused (nnc's own prefix)"
    else
        fail "names: $name is refused (nnc's own prefix)" "exit $st:" "$(cat "$out/n.err")"
    fi
done

for name in xor XOR_H_INCLUDED Index strdupx j2 m_pi net; do
    printf 'network %s {\n    input 2\n    dense 2 sigmoid\n    dense 1 sigmoid\n    loss mse\n}\n' "$name" >"$out/xor.nn"
    if ! $NNC "$out/xor.nn" -o "$out/xor.c" 2>"$out/n.err"; then
        fail "names: $name compiles" "$(cat "$out/n.err")"
        continue
    fi
    res=ok
    for std in gnu17 c99; do
        for cc in gcc clang; do
            if ! $cc -std=$std -Wall -Wextra -Werror -c "$out/xor.c" -o "$out/xor.o" 2>"$out/cc.err"; then
                res="$cc -std=$std: $(head -3 "$out/cc.err")"
            fi
        done
    done
    if ! $NNC train "$out/xor.nn" --data examples/xor.csv --epochs 1 >/dev/null 2>"$out/jit.err"; then
        res="the libtcc JIT: $(head -3 "$out/jit.err")"
    fi
    if [ "$res" = ok ]; then ok "names: $name compiles (gcc, clang: gnu17 and c99; libtcc)"
    else fail "names: $name compiles (gcc, clang: gnu17 and c99; libtcc)" "$res"; fi
done
