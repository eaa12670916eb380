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
tool=ab_step.sh
. "$root/bench/step_lib.sh"
flags=$(step_flags)
name=$(step_net "${1%.c}.h" "${1%.c}.h")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# shellcheck disable=SC2086
cc $flags -shared -fPIC -o "$out/A.so" "$1" -lm
# shellcheck disable=SC2086
cc $flags -shared -fPIC -o "$out/B.so" "$2" -lm
step_driver "${1%.c}.h" "$name" "$out/ab_step"
echo "$name, $flags:"
"$out/ab_step" "$out/A.so" "$out/B.so" ${3:+"$3"} ${4:+"$4"}
