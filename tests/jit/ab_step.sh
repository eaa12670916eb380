#!/bin/sh
# bench/ab_step.sh, the A/B timing of two builds of one training step (the
# tool behind most speed figures in bench/README.md): its verdict on the
# bits can fail both ways, on random rows and on IDX images, and bad input
# gets a message.  Run by tests/jit/run.sh, or alone from the repository
# root after `make nnc`:  sh tests/jit/ab_step.sh
#
#   same       a network's C against itself: "losses the same"
#   changed    against a copy with its learning rate changed in the C:
#              "losses DIFFERENT"
#   images     the same two with rows from an IDX image file (gzip) and its
#              labels beside it
#   errors     an image file of the wrong size, one without a labels file,
#              and a missing one: exit 1 and a message naming the file
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/ab_step
rm -rf "$out"
mkdir -p "$out"
NNC=${NNC:-./nnc}

cat >"$out/tiny.nn" <<'EOF'
network tiny {
    input 1x4x4
    dense 8 relu
    dense 3 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 4
    seed 3
}
EOF
if ! "$NNC" "$out/tiny.nn" -o "$out/a.c" >"$out/emit.log" 2>&1; then
    fail "ab_step: emit" "$(cat "$out/emit.log")"
    exit 0
fi
cp "$out/a.h" "$out/b.h"
# the same network with another learning rate: other losses from the first step
sed 's/0\.01f/0.02f/g' "$out/a.c" >"$out/b.c"
if cmp -s "$out/a.c" "$out/b.c"; then
    fail "ab_step: changed" "the test's sed changed nothing in the emitted C: no learning rate 0.01f in it"
fi

# IDX files of 4x4 images (50 of them: fewer than ab_step's 19,200 rows, so
# it wraps around) and 3 classes, gzipped as Fashion-MNIST's are
/usr/bin/python3 - "$out" <<'EOF' || fail "ab_step: data" "python3 could not write the IDX files"
import gzip, struct, sys
d = sys.argv[1]
n = 50
with gzip.open(d + "/toy-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 4, 4) + bytes((i * 37 + j * 11) % 256 for i in range(n) for j in range(16)))
with gzip.open(d + "/toy-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(i % 3 for i in range(n)))
with gzip.open(d + "/wide-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 5, 5) + bytes(25 * n))
with gzip.open(d + "/wide-labels-idx1-ubyte.gz", "wb") as f:
    f.write(struct.pack(">II", 0x801, n) + bytes(n))
with gzip.open(d + "/alone-images-idx3-ubyte.gz", "wb") as f:
    f.write(struct.pack(">IIII", 0x803, n, 4, 4) + bytes(16 * n))
EOF

# verdict NAME WANT A.c B.c [IMAGES]: ab_step.sh's last line says WANT
verdict() {
    _n=$1 _w=$2
    shift 2
    if ! _o=$(sh bench/ab_step.sh "$1" "$2" 1 ${3:+"$3"} 2>&1); then
        fail "$_n" "bench/ab_step.sh failed:" "$_o"
    elif printf '%s\n' "$_o" | tail -n 1 | grep -q "losses $_w\$"; then
        ok "$_n"
    else
        fail "$_n" "want \"losses $_w\", got:" "$_o"
    fi
}
verdict "ab_step: same" "the same" "$out/a.c" "$out/a.c"
verdict "ab_step: changed" "DIFFERENT" "$out/a.c" "$out/b.c"
verdict "ab_step: images, same" "the same" "$out/a.c" "$out/a.c" "$out/toy-images-idx3-ubyte.gz"
verdict "ab_step: images, changed" "DIFFERENT" "$out/a.c" "$out/b.c" "$out/toy-images-idx3-ubyte.gz"

# refused NAME IMAGES WANT: exit 1 and a message with WANT in it
refused() {
    _o=$(sh bench/ab_step.sh "$out/a.c" "$out/a.c" 1 "$2" 2>&1)
    _st=$?
    if [ $_st -eq 1 ] && printf '%s\n' "$_o" | grep -qF "$3"; then
        ok "$1"
    else
        fail "$1" "want exit 1 and \"$3\", got exit $_st:" "$_o"
    fi
}
refused "ab_step: images of another size" "$out/wide-images-idx3-ubyte.gz" "the images are 5x5 (25 values), but the network has 16 inputs"
refused "ab_step: no labels file" "$out/alone-images-idx3-ubyte.gz" "$out/alone-labels-idx1-ubyte.gz: cannot open"
refused "ab_step: no such file" "$out/none-images-idx3-ubyte.gz" "ab_step.sh: $out/none-images-idx3-ubyte.gz: no such file"
