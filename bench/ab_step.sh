#!/bin/sh
# ab_step.sh A.c B.c [ROUNDS [IMAGES]]: the training step of two emitted C files of
# the same network (two versions of nnc, or an edit by hand), timed against
# each other in one process by bench/ab_step.c; prints B / A and whether
# the two trained to the same losses.  Builds with the cc JIT backend's
# flags as `nnc train --help` states them; where AVX-512 runs full width
# the JIT prefers 512-bit vectors: run with VW=512 to do the same.
#   ./nnc examples/fashion_cnn.nn -o /tmp/a.c   (then change nnc, or the C)
#   ./nnc examples/fashion_cnn.nn -o /tmp/b.c
#   sh bench/ab_step.sh /tmp/a.c /tmp/b.c
# The rows are random unless IMAGES names an IDX image file (its labels
# beside it by MNIST's naming), e.g. Fashion-MNIST's training images:
#   sh bench/ab_step.sh /tmp/a.c /tmp/b.c 20 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
set -e
if [ $# -lt 2 ] || [ $# -gt 4 ]; then echo "usage: sh bench/ab_step.sh A.c B.c [ROUNDS [IMAGES]]" >&2; exit 2; fi
for f in "$1" "${1%.c}.h" "$2"; do
    [ -f "$f" ] || { echo "ab_step.sh: $f: no such file (A.c and B.c are nnc's training C, A.h beside A.c)" >&2; exit 1; }
done
[ -z "$4" ] || [ -f "$4" ] || { echo "ab_step.sh: $4: no such file (IMAGES: an IDX image file, its labels beside it)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
flags=$("$root/nnc" train --help | sed -n 's/^The cc backend.s flags: \([^(]*\).*/\1/p')
[ -n "$flags" ] || { echo "ab_step.sh: cannot read the cc backend's flags from nnc train --help" >&2; exit 1; }
[ -n "$VW" ] && flags=$(echo "$flags" | sed "s/-mprefer-vector-width=[0-9]*/-mprefer-vector-width=$VW/")
name=$(sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\)_N_INPUTS .*/\1/p' "${1%.c}.h" | head -1)
[ -n "$name" ] || { echo "ab_step.sh: no network in ${1%.c}.h" >&2; exit 1; }
grep -q "^#define ${name}_BATCH " "${1%.c}.h" ||
    { echo "ab_step.sh: ${1%.c}.h is inference-only C (nnc --weights): give the training C (nnc NET.nn -o A.c)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2086
cc $flags -shared -fPIC -o "$out/A.so" "$1" -lm
# shellcheck disable=SC2086
cc $flags -shared -fPIC -o "$out/B.so" "$2" -lm
cc -std=c99 -Wall -Wextra -Wpedantic -O2 -D_POSIX_C_SOURCE=200809L -DNET="$name" -include "${1%.c}.h" -o "$out/ab_step" "$root/bench/ab_step.c" -ldl -lz
echo "$name, $flags:"
"$out/ab_step" "$out/A.so" "$out/B.so" ${3:+"$3"} ${4:+"$4"}
