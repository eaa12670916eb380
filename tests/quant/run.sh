#!/bin/sh
# int8 quantization (nnc --quantize=int8: compiler/quantize.c, emit_int8.c).
# Run from the repository root after `make nnc`:  sh tests/quant/run.sh
#
#   accuracy   the Fashion MLP and CNN (weights trained here: 2,000 images,
#              one epoch, the cc JIT) quantized on the first 1,000 training
#              images: on 1,000 test images the int8 C's accuracy is at most
#              0.5 (MLP) and 1.0 (CNN) points below the float inference C's,
#              its class is the float one's for at least 97% of them, and its
#              10 probabilities are on average at most 0.01 from the float
#              ones (the largest difference per image);
#              RAM and flash: the CNN's at most 16 KB; the constants at most
#              26% of the float build's weights (int8 weights are a quarter;
#              each output channel adds an int32 bias and multiplier)
#   strict     the int8 C compiles with gcc, clang and tcc under $STRICT, and
#              gcc -O2 -fsanitize=address,undefined runs it to the same classes
#   determined the same inputs give the same bytes: twice, and with the
#              sanitizer build of nnc; --calibrate-count is heeded
#   errors     a layer int8 cannot run (named, located), calibration data of
#              another shape, and the options' misuses: each its message
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/quant
rm -rf "$out"
mkdir -p "$out"
NNC=${NNC:-./nnc}
FM=/usr/share/datasets/fashion-mnist
TRAIN=$FM/train-images-idx3-ubyte.gz
if [ ! -f "$TRAIN" ]; then
    fail "quant: Fashion-MNIST" "$TRAIN is missing (scripts/setup.sh installs dataset-fashion-mnist)"
    exit 0
fi
N=1000   # test images

# the first N test images as floats (scaled as nnc train scales them) and their labels
/usr/bin/python3 - "$FM" "$out" "$N" <<'EOF'
import array, gzip, sys
fm, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
px = gzip.open(fm + "/t10k-images-idx3-ubyte.gz").read()[16:16 + n * 784]
array.array("f", [v / 255.0 for v in px]).tofile(open(out + "/test.f32", "wb"))
open(out + "/test.u8", "wb").write(gzip.open(fm + "/t10k-labels-idx1-ubyte.gz").read()[8:8 + n])
EOF

# build NAME VARIANT: eval of $out/NAME_VARIANT.c (-DNET from its header)
build() {
    _net=$(sed -n 's/^#define \([A-Za-z0-9_]*\)_N_INPUTS .*/\1/p' "$out/$1_$2.h")
    gcc -std=c99 -O2 -DNET="$_net" -include "$out/$1_$2.h" -o "$out/$1_$2" tests/quant/eval.c "$out/$1_$2.c" -lm 2>&1
}

for spec in "fashion_mlp 0.5" "fashion_cnn 1.0"; do
    set -- $spec
    n=$1 most=$2
    q="--weights $out/$n.nnw --quantize=int8 --calibrate $TRAIN"
    # shellcheck disable=SC2086
    if ! o=$("$NNC" train "examples/$n.nn" --jit=cc --data "$TRAIN" --limit 2000 --epochs 1 --save "$out/$n.nnw" 2>&1) ||
        ! o=$("$NNC" "examples/$n.nn" --weights "$out/$n.nnw" -o "$out/${n}_float.c" 2>&1) ||
        ! o=$("$NNC" "examples/$n.nn" $q -o "$out/${n}_int8.c" 2>&1) ||
        ! o=$(build "$n" float) || ! o=$(build "$n" int8); then
        fail "quant $n: trained, emitted (float and int8), built" "$o"
        continue
    fi
    "$out/${n}_float" "$out/test.f32" "$out/test.u8" $N >"$out/$n.float.out"
    "$out/${n}_int8" "$out/test.f32" "$out/test.u8" $N >"$out/$n.int8.out"
    fa=$(sed -n 's/^accuracy //p' "$out/$n.float.out")
    ia=$(sed -n 's/^accuracy //p' "$out/$n.int8.out")
    # per image: the same class?  and the largest difference of its 10 probabilities
    paste -d' ' "$out/$n.float.out" "$out/$n.int8.out" | grep -v accuracy | awk '
        { k = (NF - 2) / 2; same += $1 == $(k + 2); d = 0
          for (j = 2; j <= k + 1; j++) { e = $j - $(j + k + 1); e = e < 0 ? -e : e; d = e > d ? e : d }
          sum += d; top = d > top ? d : top }
        END { printf "%d %.4f %.4f\n", same, sum / NR, top }' >"$out/$n.cmp"
    read -r agree mean top <"$out/$n.cmp"
    if [ -n "$fa" ] && [ -n "$ia" ] && awk -v f="$fa" -v i="$ia" -v m="$most" -v a="$mean" \
        'BEGIN { exit !(i >= f - m && a <= 0.01) }' && [ "$agree" -ge $((N * 97 / 100)) ]; then
        ok "quant $n: int8 accuracy $ia% against float $fa% (at most $most points lower), the same class for $agree of $N, probabilities $mean apart on average (at most 0.01; the most $top)"
    else
        fail "quant $n: int8 accuracy at most $most points below float, the same class for 97%, probabilities at most 0.01 apart on average" \
            "float $fa%, int8 $ia%, the same class for $agree of $N, probabilities $mean apart on average, at most $top"
    fi
    # shellcheck disable=SC2086
    ir=$("$NNC" --emit=ir "examples/$n.nn" $q)
    ram=$(printf '%s\n' "$ir" | sed -n 's/^  RAM      sizeof([a-z_]*) = \([0-9]*\) bytes.*/\1/p')
    flash=$(printf '%s\n' "$ir" | sed -n 's/^  flash    [a-z_]*_q = \([0-9]*\) bytes.*(float weights: \([0-9]*\))$/\1 \2/p')
    # shellcheck disable=SC2086
    set -- $flash
    if [ $# = 2 ] && [ $(($1 * 100)) -le $(($2 * 26)) ] && { [ $n != fashion_cnn ] || [ "$ram" -le 16000 ]; }; then
        ok "quant $n: RAM $ram bytes$([ $n = fashion_cnn ] && echo ' (at most 16 KB)'), flash $1 bytes against the float build's $2"
    else
        fail "quant $n: RAM and flash" "RAM $ram, flash $flash" "$ir"
    fi

    # strict flags with three compilers; the sanitizers
    for cc in gcc clang tcc; do
        check "quant $n: the int8 C compiles with $cc $STRICT" $cc $STRICT -c "$out/${n}_int8.c" -o "$out/$n.$cc.o"
    done
    net=$(sed -n 's/^#define \([A-Za-z0-9_]*\)_N_INPUTS .*/\1/p' "$out/${n}_int8.h")
    if o=$(gcc -std=c99 -O2 -fsanitize=address,undefined -fno-sanitize-recover=all -DNET="$net" \
        -include "$out/${n}_int8.h" -o "$out/${n}_san" tests/quant/eval.c "$out/${n}_int8.c" -lm 2>&1) &&
        "$out/${n}_san" "$out/test.f32" "$out/test.u8" 100 >"$out/$n.san.out" 2>&1 &&
        head -n 100 "$out/$n.int8.out" >"$out/$n.int8.100" && head -n 100 "$out/$n.san.out" | cmp -s - "$out/$n.int8.100"; then
        ok "quant $n: under ASan and UBSan, the same classes on 100 images"
    else
        fail "quant $n: under ASan and UBSan, the same classes on 100 images" "$o" "$(head -5 "$out/$n.san.out")"
    fi

    # deterministic: again, and from the sanitizer build of nnc
    mkdir -p "$out/again" "$out/asan"
    # shellcheck disable=SC2086
    "$NNC" "examples/$n.nn" $q -o "$out/again/${n}_int8.c" 2>/dev/null
    same=yes
    cmp -s "$out/${n}_int8.c" "$out/again/${n}_int8.c" || same="no: a second run differs"
    if [ -x build/asan/nnc ]; then
        # shellcheck disable=SC2086
        build/asan/nnc "examples/$n.nn" $q -o "$out/asan/${n}_int8.c" 2>"$out/$n.asan.err"
        cmp -s "$out/${n}_int8.c" "$out/asan/${n}_int8.c" ||
            same="no: the sanitizer build's differs $(cat "$out/$n.asan.err")"
    fi
    if [ "$same" = yes ]; then
        ok "quant $n: calibration is deterministic (the same C twice$([ -x build/asan/nnc ] && echo ', and from the sanitizer build'))"
    else
        fail "quant $n: calibration is deterministic" "$same"
    fi
done

# --calibrate-count is heeded: 10 samples, other ranges than 1,000
q="--weights $out/fashion_mlp.nnw --quantize=int8 --calibrate $TRAIN"
# shellcheck disable=SC2086
"$NNC" --emit=ir examples/fashion_mlp.nn $q --calibrate-count 10 >"$out/c10.ir" 2>&1
# shellcheck disable=SC2086
"$NNC" --emit=ir examples/fashion_mlp.nn $q >"$out/c1000.ir" 2>&1
if grep -q "calibrated on 10 samples" "$out/c10.ir" && grep -q "calibrated on 1000 samples" "$out/c1000.ir" &&
    ! cmp -s "$out/c10.ir" "$out/c1000.ir"; then
    ok "quant: --calibrate-count 10 calibrates on 10 samples (other ranges than 1,000)"
else
    fail "quant: --calibrate-count 10 calibrates on 10 samples" "$(head -3 "$out/c10.ir")"
fi

# ---- errors ----
# expect NAME STATUS TEXT nnc-args...: nnc exits with STATUS and says TEXT, writing nothing
expect() {
    _n=$1 _st=$2 _want=$3
    shift 3
    rm -f "$out/err.c"
    _o=$("$NNC" "$@" 2>&1)
    _s=$?
    if [ $_s = "$_st" ] && printf '%s' "$_o" | grep -qF -- "$_want" && [ ! -e "$out/err.c" ]; then
        ok "quant error: $_n"
    else
        fail "quant error: $_n (status $_s, want $_st and '$_want')" "$_o"
    fi
}
cat >"$out/sig.nn" <<'EOF'
network sig {
    input 12
    dense 8 sigmoid
    dense 3 softmax
    loss cross_entropy
}
EOF
cat >"$out/rec.nn" <<'EOF'
network rec {
    input 3 steps=4
    lstm 5
    dense 3 softmax
    loss cross_entropy
}
EOF
/usr/bin/python3 -c "
import random; random.seed(3)
open('$out/d12.csv', 'w').write(''.join(','.join('%.2f' % random.uniform(-1, 1) for _ in range(12)) + ',%d\n' % (i % 3) for i in range(30)))
open('$out/d5.csv', 'w').write(''.join(','.join('%.2f' % random.uniform(-1, 1) for _ in range(5)) + ',1\n' for i in range(10)))
open('$out/d4x3.csv', 'w').write(''.join(','.join('%.2f' % random.uniform(-1, 1) for _ in range(12)) + ',%d\n' % (i % 3) for i in range(30)))"
"$NNC" train "$out/sig.nn" --data "$out/d12.csv" --epochs 1 --save "$out/sig.nnw" >/dev/null 2>&1
"$NNC" train "$out/rec.nn" --data "$out/d4x3.csv" --epochs 1 --save "$out/rec.nnw" >/dev/null 2>&1
expect "a sigmoid hidden layer" 1 \
    "sig.nn:3:5: error: layer 1 (dense 12 -> 8 sigmoid) cannot be quantized to int8: int8 hidden layers take relu" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int8 --calibrate "$out/d12.csv" -o "$out/err.c"
expect "an lstm layer" 1 "layer 1 (lstm" \
    "$out/rec.nn" --weights "$out/rec.nnw" --quantize=int8 --calibrate "$out/d4x3.csv" -o "$out/err.c"
expect "calibration rows of another width" 1 "--calibrate $out/d5.csv:1:" \
    examples/fashion_mlp.nn --weights "$out/fashion_mlp.nnw" --quantize=int8 --calibrate "$out/d5.csv" -o "$out/err.c"
expect "calibration images of another size" 1 "--calibrate" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int8 --calibrate "$TRAIN" -o "$out/err.c"
expect "a missing calibration file" 1 "$out/none.csv" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int8 --calibrate "$out/none.csv" -o "$out/err.c"
expect "--quantize without --weights" 2 "--quantize=int8 quantizes trained weights: give --weights W.nnw" \
    "$out/sig.nn" --quantize=int8 --calibrate "$out/d12.csv" -o "$out/err.c"
expect "--quantize without --calibrate" 2 "--quantize=int8 needs --calibrate DATA" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int8 -o "$out/err.c"
expect "--quantize=int4" 2 "--quantize takes int8 (--quantize=int8), not 'int4'" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int4 --calibrate "$out/d12.csv" -o "$out/err.c"
expect "--calibrate without --quantize" 2 "--calibrate goes with --quantize=int8" \
    "$out/sig.nn" --weights "$out/sig.nnw" --calibrate "$out/d12.csv" -o "$out/err.c"
expect "--calibrate-count 0" 2 "--calibrate-count needs a whole number of samples from 1, not '0'" \
    "$out/sig.nn" --weights "$out/sig.nnw" --quantize=int8 --calibrate "$out/d12.csv" --calibrate-count 0 -o "$out/err.c"
