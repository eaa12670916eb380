#!/bin/sh
# gan blocks from the command line: nnc train on a file with a gan block,
# its weights, pictures and quality score, and the errors around them.  Run
# by tests/jit/run.sh, or alone from the repository root after `make nnc`:
#   sh tests/jit/gan.sh     (NNC=build/asan/nnc for the sanitizer build)
# Writes under build/test/jit/gan/.  About 5 s on 2 cores.
#
#   train     tests/golden/gan_small.nn's networks on 256 Fashion-MNIST
#             images (a 784-float variant): two epochs, a line each with
#             both losses (finite), the weights of both networks saved
#   load      --epochs 0 --load of those files saves them back bit for bit
#             (the weights round trip through the gan's members)
#   pictures  --pictures writes a PGM of 64 images (8 by 8, 28x28 each); with
#             --epochs 0 a PNG of the same pixels (a .png name)
#   plot      --plot: an SVG of both losses per epoch
#   judge     a classifier (trained here on the same images) scores 10,000
#             generated and the real test images: scores within [1, 10],
#             the shares of the 10 classes add up to 100%
#   repl      load a file with a gan block, data, train, generate, save,
#             init, load (the weights back: the same generated picture),
#             set backend cc; a network's command refused (on the 10,000
#             test images: libtcc trains at about 4,000 samples/s)
#   errors    a picture that cannot be written (exit 1), two gan blocks
#             without --net, --net on the loss-none generator, --lr, --judge without its
#             weights, --test without --judge, --epochs 0 on a network, CSV
#             data for a gan: each refused with its message
# shellcheck disable=SC2086
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/gan
rm -rf "$out"
mkdir -p "$out"
DATA=/usr/share/datasets/fashion-mnist
TRAIN=$DATA/train-images-idx3-ubyte.gz
TEST=$DATA/t10k-images-idx3-ubyte.gz
if [ ! -f "$TRAIN" ]; then
    fail "gan: Fashion-MNIST" "$TRAIN is missing (scripts/setup.sh installs dataset-fashion-mnist)"
    exit 0
fi
cp tests/jit/tiny_gan.nn "$out/g.nn"
cat > "$out/judge.nn" <<'NN'
network judge {
    input 784
    dense 10 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 32
}
NN

# run_status OUT ERR CMD...: runs CMD with its output in OUT and ERR; prints its status.
run_status() {
    _o=$1 _e=$2
    shift 2
    "$@" >"$_o" 2>"$_e"
    echo $?
}

# ---- train, load, pictures ----
st=$(run_status "$out/train.out" "$out/train.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 256 --epochs 2 \
     --save "$out/w.nnw" --pictures "$out/p.pgm")
lines=$(grep -c '^epoch [12]/2  discriminator loss [0-9.]*  generator loss [0-9.]*  [0-9]* samples/s$' "$out/train.out")
if [ "$st" = 0 ] && [ "$lines" = 2 ] && [ ! -s "$out/train.err" ] && grep -q "^training gan g (generator gen" "$out/train.out" &&
    grep -q "saved the weights to $out/w.gen.nnw and $out/w.disc.nnw" "$out/train.out"; then
    ok "gan: train two epochs, both losses a line, both networks saved"
else
    fail "gan: train two epochs, both losses a line, both networks saved" "exit $st, $lines epoch lines" \
        "$(cat "$out/train.out" "$out/train.err")"
fi
st=$(run_status "$out/load.out" "$out/load.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 \
     --load "$out/w.nnw" --save "$out/again.nnw")
if [ "$st" = 0 ] && cmp -s "$out/w.gen.nnw" "$out/again.gen.nnw" && cmp -s "$out/w.disc.nnw" "$out/again.disc.nnw"; then
    ok "gan: --epochs 0 --load then --save gives the same files"
else
    fail "gan: --epochs 0 --load then --save gives the same files" "exit $st" "$(cat "$out/load.out" "$out/load.err")"
fi
# a P5 header "P5\n231 231\n255\n": 8 images of 28 and 7 gaps of 1
if [ -f "$out/p.pgm" ] && [ "$(head -c 2 "$out/p.pgm")" = P5 ] &&
    [ "$(sed -n 2p "$out/p.pgm")" = "$((8 * 28 + 7)) $((8 * 28 + 7))" ]; then
    ok "gan: --pictures writes an 8x8 grid of 28x28 images"
else
    fail "gan: --pictures writes an 8x8 grid of 28x28 images" "$(head -c 20 "$out/p.pgm" 2>&1 | od -c | head -3)"
fi

# a PNG of the same grid: its chunks' CRCs, and its pixels are the PGM's
st=$(run_status "$out/png.out" "$out/png.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 \
     --load "$out/w.nnw" --pictures "$out/q.png")
st2=$(run_status "$out/pgm.out" "$out/pgm.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 \
      --load "$out/w.nnw" --pictures "$out/q.pgm")
if [ "$st" = 0 ] && [ "$st2" = 0 ] && /usr/bin/python3 - "$out/q.png" "$out/q.pgm" <<'PY'
import struct, sys, zlib
png, pgm = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
at, idat, size = 8, b"", None
while at < len(png):
    n, kind = struct.unpack(">I4s", png[at:at + 8])
    data = png[at + 8:at + 8 + n]
    assert struct.unpack(">I", png[at + 8 + n:at + 12 + n])[0] == zlib.crc32(kind + data), kind
    if kind == b"IHDR":
        size = struct.unpack(">II", data[:8])
        assert data[8:] == b"\x08\x00\x00\x00\x00"
    elif kind == b"IDAT":
        idat += data
    at += 12 + n
w, h = size
raw = zlib.decompress(idat)
rows = b"".join(raw[y * (w + 1) + 1:(y + 1) * (w + 1)] for y in range(h))
assert all(raw[y * (w + 1)] == 0 for y in range(h))
head = pgm.split(b"\n", 3)
assert head[1] == b"%d %d" % (w, h) and head[3] == rows
PY
then
    ok "gan: --epochs 0 --pictures q.png: a valid PNG with the PGM's pixels"
else
    fail "gan: --epochs 0 --pictures q.png: a valid PNG with the PGM's pixels" "exit $st/$st2" \
        "$(cat "$out/png.out" "$out/png.err" "$out/pgm.err")"
fi

# ---- the chart ----
st=$(run_status "$out/plot.out" "$out/plot.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 64 --epochs 3 \
     --plot "$out/losses.svg")
if [ "$st" = 0 ] && grep -q "wrote $out/losses.svg (both losses per epoch)" "$out/plot.out" &&
    grep -q "discriminator" "$out/losses.svg" && grep -q "generator" "$out/losses.svg" &&
    [ "$(grep -c "<circle" "$out/losses.svg")" -ge 9 ] &&
    /usr/bin/python3 -c "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])" "$out/losses.svg"; then
    ok "gan: --plot draws both losses (and the speed) of 3 epochs as valid SVG"
else
    fail "gan: --plot draws both losses (and the speed) of 3 epochs as valid SVG" "exit $st" \
        "$(cat "$out/plot.out" "$out/plot.err")"
fi

# ---- the judge ----
st=$(run_status "$out/judge_train.out" "$out/judge_train.err" $NNC train "$out/judge.nn" --data "$TRAIN" --limit 2000 \
     --epochs 2 --save "$out/judge.nnw")
st2=$(run_status "$out/judge.out" "$out/judge.err" $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 \
      --load "$out/w.nnw" --judge "$out/judge.nn" --judge-weights "$out/judge.nnw" --test "$TEST")
if [ "$st" = 0 ] && [ "$st2" = 0 ] && awk '
    /^quality, judged by judge / { for (i = 1; i <= NF; i++) if ($i == "for" && $(i - 1) + 0 >= 1 && $(i - 1) + 0 <= 10) n++ }
    /^generated images per class:/ { for (i = 5; i <= NF; i++) { split($i, a, ":"); sum += a[2]; k++ } }
    END { exit !(n == 2 && k == 10 && sum > 99.5 && sum < 100.5) }' "$out/judge.out"; then
    ok "gan: --judge scores generated and real images (in [1, 10]), class shares add to 100%"
else
    fail "gan: --judge scores generated and real images (in [1, 10]), class shares add to 100%" "exit $st/$st2" \
        "$(cat "$out/judge_train.err" "$out/judge.out" "$out/judge.err")"
fi

# ---- the REPL ----
cat > "$out/session.repl" <<REPL
load $out/g.nn
train 1
data $TEST
eval
train 1
generate $out/r1.pgm 16
save $out/r.nnw
init 5
load $out/r.nnw
generate $out/r2.pgm 16
set backend cc
generate $out/r3.pgm 16
REPL
st=0
$NNC repl < "$out/session.repl" > "$out/repl.out" 2> "$out/repl.err" || st=$?
if [ "$st" = 1 ] && grep -q "^gan g: generator gen (26416 parameters) and discriminator disc (25153)" "$out/repl.out" &&
    grep -q "^error: no real samples: 'data IMAGES' first" "$out/repl.err" &&
    grep -q "^error: 'eval' is for a network; gan g has" "$out/repl.err" &&
    [ "$(grep -c '^error' "$out/repl.err")" = 2 ] &&
    grep -q '^epoch 1/1  discriminator loss [0-9.]*  generator loss [0-9.]*' "$out/repl.out" &&
    grep -q "^saved the weights to $out/r.gen.nnw and $out/r.disc.nnw" "$out/repl.out" &&
    cmp -s "$out/r1.pgm" "$out/r2.pgm" && [ "$(wc -c < "$out/r3.pgm")" = "$(wc -c < "$out/r1.pgm")" ]; then
    ok "gan: a REPL session (data, train, generate, save, init, load: the same picture; set backend cc)"
else
    fail "gan: a REPL session (data, train, generate, save, init, load: the same picture; set backend cc)" \
        "exit $st" "$(cat "$out/repl.out" "$out/repl.err")"
fi

# ---- errors ----
# expect NAME STATUS MESSAGE CMD...: CMD exits STATUS and its stderr holds MESSAGE.
expect() {
    _n=$1 _s=$2 _m=$3
    shift 3
    _st=$(run_status "$out/$_n.out" "$out/$_n.err" "$@")
    if [ "$_st" = "$_s" ] && grep -qF -- "$_m" "$out/$_n.err"; then
        ok "gan: $_n"
    else
        fail "gan: $_n" "exit $_st (expected $_s), expected the message: $_m" "$(cat "$out/$_n.err")"
    fi
}
expect net_generator 1 "network 'gen' has no loss of its own (loss none): it trains only from a gradient given at its outputs, as a gan's generator; train the gan (nnc train without --net" \
    $NNC train "$out/g.nn" --net gen --data "$TRAIN" --limit 16
expect lr 2 "--lr is not for a gan block" $NNC train "$out/g.nn" --data "$TRAIN" --lr 0.1
expect judge_alone 2 "--judge NET.nn and --judge-weights W.nnw go together" \
    $NNC train "$out/g.nn" --data "$TRAIN" --judge "$out/judge.nn"
expect test_alone 2 "--test gives a gan block the real images its --judge scores" \
    $NNC train "$out/g.nn" --data "$TRAIN" --test "$TEST"
expect epochs0_net 2 "--epochs 0 is for gan blocks" $NNC train examples/xor.nn --data examples/xor.csv --epochs 0
expect load_missing 1 "$out/none.gen.nnw: cannot open" \
    $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --load "$out/none.nnw" --judge "$out/judge.nn" --judge-weights "$out/judge.nnw"
expect pictures_unwritable 1 "/nonexistent/x.png" \
    $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 1 --pictures /nonexistent/x.png
{ cat "$out/g.nn"; printf 'gan h {\n    generator gen\n    discriminator disc\n}\n'; } > "$out/two.nn"
expect two_gans 1 "has 2 gan blocks (g, h); choose one with --net NAME" $NNC train "$out/two.nn" --data "$TRAIN" --limit 16
expect csv 1 "examples/xor.csv: a gan's real samples are IDX image files (MNIST's format)" $NNC train "$out/g.nn" --data examples/xor.csv
expect judge_size 1 "the judge 'spiral' takes 2 floats a sample, but gan 'g' makes 784" \
    $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 --judge examples/spiral.nn --judge-weights "$out/judge.nnw"
expect judge_not_classifier 1 "--judge needs a classifier (a softmax output over the classes); 'xor'" \
    $NNC train "$out/g.nn" --data "$TRAIN" --limit 16 --epochs 0 --judge examples/xor.nn --judge-weights "$out/judge.nnw"
