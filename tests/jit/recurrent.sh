#!/bin/sh
# Sequences from the command line: nnc train --text, nnc generate, the
# REPL's text and generate, CSV rows of sequences, embed ids out of range,
# and inference-only C of a recurrent network.  Run by tests/jit/run.sh, or
# alone from the repository root after `make nnc`:
#   sh tests/jit/recurrent.sh     (NNC=build/asan/nnc for the sanitizer build)
# Writes under build/test/jit/recurrent/.  About 15 s on 2 cores.
#
#   text      a GRU character model learns a short rhyme repeated 120 times
#             (5.6 KB; 10% held out): the run names the windows and the
#             held-out part, every epoch line has the held-out loss, which
#             falls, and the final line says it in nats per character,
#             below 1.0 (from ln 128 = 4.85 untrained)
#   generate  the same seed prints the same text; --prime is printed first,
#             then exactly --length bytes; near-greedy sampling (temperature
#             0.05) continues the rhyme (16 bytes of context cannot tell a
#             mat from a log); a hotter one with another seed
#             differs; the usage and data errors say what is wrong
#   repl      text, train and generate in a session; a prime of 7 KB is
#             printed whole; text refuses a model without cross_entropy;
#             data with an embed id out of range is refused
#   csv       a class per step (6 inputs then 3 labels a row) is learned by
#             an rnn returning every step; an mse sequence (4 inputs, 4
#             targets) trains; an embed id out of range is refused with the
#             sample and step
#   inference `nnc --weights` of a trained LSTM compiles with gcc, clang and
#             tcc under $STRICT, and its NAME_forward gives the REPL's
#             predict outputs (to float rounding)
# shellcheck disable=SC2086
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/recurrent
rm -rf "$out"
mkdir -p "$out"

# run_status OUT ERR CMD...: runs CMD with its output in OUT and ERR; prints its status.
run_status() {
    _o=$1 _e=$2
    shift 2
    "$@" >"$_o" 2>"$_e"
    echo $?
}

# ---- text ----
awk 'BEGIN { for (i = 0; i < 120; i++) printf "the cat sat on the mat. the dog sat on the log.\n" }' >"$out/rhyme.txt"
cat >"$out/tiny.nn" <<'EOF'
network tiny {
    input steps=16
    embed 128 8
    gru 32 return=all
    dense 128 softmax
    loss cross_entropy
    optimizer adam lr=0.01 clip=5
    batch 8
    epochs 12
    seed 3
}
EOF
st=$(run_status "$out/train.out" "$out/train.err" $NNC train "$out/tiny.nn" --text "$out/rhyme.txt" --save "$out/tiny.nnw")
if [ "$st" = 0 ] && grep -q '^training on 323 windows of text, validating on 35 (the last 10% of the text)$' "$out/train.out"; then
    ok "text: nnc train --text cuts 5760 bytes into 323 windows of 16 and holds out the last 10% (35 windows)"
else
    fail "text: nnc train --text cuts 5760 bytes into 323 windows of 16 and holds out the last 10% (35 windows)" \
        "status $st" "$(cat "$out/train.out" "$out/train.err")"
fi
if /usr/bin/awk '
    /^epoch / { n++; if (!match($0, /valid loss [0-9.]+  valid acc [0-9.]+%/)) bad = 1
                split(substr($0, RSTART + 11), f, " "); v[n] = f[1] }
    /^final validation loss: [0-9.]+ nats per character \(perplexity [0-9.]+\), accuracy of the next byte [0-9.]+%$/ {
                final = $4 }
    END { exit !(n == 12 && !bad && v[n] < v[1] && final != "" && final + 0 < 1.0 && final == v[n]) }' "$out/train.out"
then
    ok "text: every epoch line has the held-out loss, falling; the final one is below 1.0 nats per character"
else
    fail "text: every epoch line has the held-out loss, falling; the final one is below 1.0 nats per character" \
        "$(cat "$out/train.out")"
fi

# ---- generate ----
gen() { $NNC generate "$out/tiny.nn" --load "$out/tiny.nnw" "$@"; }
gen --length 60 --seed 5 --prime "the " >"$out/g1" 2>"$out/g1.err"
gen --length 60 --seed 5 --prime "the " >"$out/g2" 2>&1
if [ -s "$out/g1" ] && cmp -s "$out/g1" "$out/g2"; then
    ok "generate: the same seed prints the same text"
else
    fail "generate: the same seed prints the same text" "$(cat "$out/g1" "$out/g1.err")" "----" "$(cat "$out/g2")"
fi
# the prime, then 60 bytes, then the newline generate ends with
if [ "$(head -c 4 "$out/g1")" = "the " ] && [ "$(wc -c <"$out/g1")" -eq 65 ]; then
    ok "generate: --prime is printed first, then --length bytes"
else
    fail "generate: --prime is printed first, then --length bytes" "$(wc -c <"$out/g1") bytes:" "$(cat "$out/g1")"
fi
gen --length 40 --temperature 0.05 --prime "the cat " >"$out/g3" 2>&1
if head -n 1 "$out/g3" | grep -Eq "^the cat sat on the (mat|log)\.( the (cat|dog) sat on the (mat|log)\.)?$"; then
    ok "generate: near-greedy sampling continues the rhyme"
else
    fail "generate: near-greedy sampling continues the rhyme" "$(cat "$out/g3")"
fi
gen --length 60 --seed 6 --temperature 3 --prime "the " >"$out/g4" 2>&1
if ! cmp -s "$out/g1" "$out/g4"; then
    ok "generate: another seed, hotter, prints other text"
else
    fail "generate: another seed, hotter, prints other text" "$(cat "$out/g4")"
fi
# error NAME STATUS PATTERN CMD...: exits STATUS with PATTERN in its stderr
error() {
    _n=$1 _s=$2 _p=$3
    shift 3
    _st=$(run_status "$out/e.out" "$out/e.err" "$@")
    if [ "$_st" = "$_s" ] && grep -q -- "$_p" "$out/e.err"; then
        ok "$_n"
    else
        fail "$_n" "status $_st (wanted $_s), wanted '$_p' in:" "$(cat "$out/e.out" "$out/e.err")"
    fi
}
error "generate: without --load, a usage error" 2 "no weights: give --load W.nnw" \
    $NNC generate "$out/tiny.nn"
error "generate: --jit=auto, training's tiered JIT, is a usage error" 2 "nnc generate runs one of them: tcc or cc" \
    $NNC generate "$out/tiny.nn" --jit=auto
error "generate: a network that is no language model is refused" 1 "nnc generate needs a language model" \
    $NNC generate examples/xor.nn --load "$out/tiny.nnw"
error "generate: a --seed beyond 64 bits is a usage error, not clamped" 2 "--seed needs a whole number from 0 to" \
    $NNC generate "$out/tiny.nn" --load "$out/tiny.nnw" --seed 99999999999999999999
error "generate: a --length with trailing junk is a usage error" 2 "--length needs a whole number" \
    $NNC generate "$out/tiny.nn" --load "$out/tiny.nnw" --length 12x
error "generate: a bad --temperature is a usage error" 2 "--temperature needs a number" \
    $NNC generate "$out/tiny.nn" --load "$out/tiny.nnw" --temperature 0
error "generate: a --prime byte beyond the ids is refused" 1 "--prime: byte 1 (0xc3) is not one of the network's 128 ids" \
    $NNC generate "$out/tiny.nn" --load "$out/tiny.nnw" --prime "é"
cp "$out/tiny.nn" "$out/other.nn"
sed -i 's/gru 32/gru 24/' "$out/other.nn"
error "generate: another network's weights are refused" 1 "tiny.nnw" \
    $NNC generate "$out/other.nn" --load "$out/tiny.nnw"

# ---- --text errors ----
printf 'caf\303\251 au lait\n' >"$out/utf8.txt"
for i in 1 2 3 4 5 6; do cat "$out/utf8.txt" "$out/utf8.txt" >"$out/u2" && mv "$out/u2" "$out/utf8.txt"; done
error "text: a byte beyond the network's ids is refused at its line and column" 1 \
    "utf8.txt:1:4: byte 0xc3 (195) is not one of the network's 128 ids" \
    $NNC train "$out/tiny.nn" --text "$out/utf8.txt"
error "text: a network that does not start with embed is refused" 1 "--text trains a language model" \
    $NNC train examples/xor.nn --text "$out/rhyme.txt"
error "text: --text and --data together are a usage error" 2 "--text is the whole data set" \
    $NNC train "$out/tiny.nn" --text "$out/rhyme.txt" --data examples/xor.csv
error "text: --text and --test-labels together are a usage error" 2 "goes without .*--test-labels" \
    $NNC train "$out/tiny.nn" --text "$out/rhyme.txt" --test-labels examples/xor.csv
printf 'the cat\n' >"$out/short.txt"
error "text: a text too short for one window is refused" 1 "too short for windows of 16 steps" \
    $NNC train "$out/tiny.nn" --text "$out/short.txt"
# 16 steps: each part needs 17 bytes; the last 10% of 170 bytes is 17
yes 'the cat sat on the mat' | head -c 169 >"$out/t169.txt"
yes 'the cat sat on the mat' | head -c 170 >"$out/t170.txt"
error "text: the error says how long a text must be" 1 "169 bytes: too short .* the text needs at least 170)" \
    $NNC train "$out/tiny.nn" --text "$out/t169.txt"
st=$(run_status "$out/t170.out" "$out/t170.err" $NNC train "$out/tiny.nn" --text "$out/t170.txt" --epochs 1)
if [ "$st" = 0 ] && grep -q "training on 9 windows of text, validating on 1 " "$out/t170.out"; then
    ok "text: a text of exactly that length trains (9 windows, 1 held out)"
else
    fail "text: a text of exactly that length trains (9 windows, 1 held out)" "status $st" \
        "$(cat "$out/t170.out" "$out/t170.err")"
fi

# ---- repl ----
printf 'load %s\ntext %s\ntrain 3\ngenerate 30 the\n' "$out/tiny.nn" "$out/rhyme.txt" >"$out/session.repl"
st=$(run_status "$out/session.out" "$out/session.err" $NNC repl <"$out/session.repl")
if [ "$st" = 0 ] && grep -q "^epoch 3/3 .*valid loss" "$out/session.out" && grep -q "^the" "$out/session.out"; then
    ok "repl: text, train and generate"
else
    fail "repl: text, train and generate" "status $st" "$(cat "$out/session.out" "$out/session.err")"
fi

# a prime longer than any fixed line buffer: printed whole, then the 5 bytes
prime=$(yes 'the dog sat on the log.' | head -n 300 | tr '\n' ' ')
printf 'load %s\nload %s\ngenerate 5 %s\n' "$out/tiny.nn" "$out/tiny.nnw" "$prime" >"$out/longprime.repl"
st=$(run_status "$out/longprime.out" "$out/longprime.err" $NNC repl <"$out/longprime.repl")
want=$(printf '%s' "$prime" | sed 's/ *$//')
sed 1,2d "$out/longprime.out" >"$out/longprime.text"   # past the "network" and "loaded" lines
got=$(head -c ${#want} "$out/longprime.text")
if [ "$st" = 0 ] && [ "$got" = "$want" ] && [ "$(wc -c <"$out/longprime.text")" -eq $((${#want} + 6)) ]; then
    ok "repl: generate after a ${#want}-byte prime prints all of it, then 5 bytes"
else
    fail "repl: generate after a ${#want}-byte prime prints all of it, then 5 bytes" "status $st" \
        "$(wc -c <"$out/longprime.text") bytes after the prime's start" "$(cat "$out/longprime.err")"
fi
# a network that ends in a softmax over its ids but trains with mse is no language model for `text`
sed 's/loss cross_entropy/loss mse/' "$out/tiny.nn" >"$out/tiny_mse.nn"
printf 'load %s\ntext %s\n' "$out/tiny_mse.nn" "$out/rhyme.txt" >"$out/mse.repl"
st=$(run_status "$out/mse.out" "$out/mse.err" $NNC repl <"$out/mse.repl")
if [ "$st" != 0 ] && grep -q "text trains a language model: .*'loss cross_entropy'" "$out/mse.err" &&
    ! grep -q "windows of text" "$out/mse.out"; then
    ok "repl: text refuses a network whose loss is not cross_entropy, as nnc train --text does"
else
    fail "repl: text refuses a network whose loss is not cross_entropy" "status $st" \
        "$(cat "$out/mse.out" "$out/mse.err")"
fi

# ---- csv ----
# a class per step: at step t, is the first input above the second?  Six
# inputs (3 steps of 2), three labels; Park-Miller numbers, no outside randomness.
awk 'BEGIN { s = 7
    for (r = 0; r < 120; r++) { line = ""; lab = ""
        for (t = 0; t < 3; t++) {
            s = (s * 16807) % 2147483647; a = s / 2147483647
            s = (s * 16807) % 2147483647; b = s / 2147483647
            line = line sprintf("%.4f,%.4f,", a, b); lab = lab (t ? "," : "") (a > b ? 1 : 0) }
        print line lab } }' >"$out/steps.csv"
cat >"$out/steps.nn" <<'EOF'
network steps {
    input 2 steps=3
    rnn 16 return=all
    dense 2 softmax
    loss cross_entropy
    optimizer adam lr=0.02
    batch 8
    epochs 60
}
EOF
st=$(run_status "$out/steps.out" "$out/steps.err" $NNC train "$out/steps.nn" --data "$out/steps.csv" --every 60)
acc=$(sed -n 's/^final training accuracy: \([0-9.]*\)%$/\1/p' "$out/steps.out")
if [ "$st" = 0 ] && [ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 90) }'; then
    ok "csv: a class per step (6 inputs, 3 labels a row) learned to $acc%"
else
    fail "csv: a class per step (6 inputs, 3 labels a row) learned to 90%" "status $st" \
        "$(cat "$out/steps.out" "$out/steps.err")"
fi
# an mse sequence: the running sum of the inputs, step by step
awk 'BEGIN { s = 11
    for (r = 0; r < 64; r++) { x = ""; y = ""; c = 0
        for (t = 0; t < 4; t++) { s = (s * 16807) % 2147483647; v = s / 2147483647 - 0.5; c += v
            x = x sprintf("%.4f,", v); y = y sprintf("%s%.4f", t ? "," : "", c) }
        print x y } }' >"$out/sum.csv"
cat >"$out/sum.nn" <<'EOF'
network runsum {
    input 1 steps=4
    lstm 8 return=all
    dense 1
    loss mse
    optimizer adam lr=0.02
    batch 8
    epochs 40
}
EOF
st=$(run_status "$out/sum.out" "$out/sum.err" $NNC train "$out/sum.nn" --data "$out/sum.csv" --every 40 --save "$out/sum.nnw")
if [ "$st" = 0 ] && awk '/^epoch 40\/40/ { l = $5 } /^final training loss: / { f = $4 }
        END { exit !(f != "" && f + 0 < 0.01) }' "$out/sum.out"; then
    ok "csv: an mse sequence (4 inputs, 4 targets) trains, its loss below 0.01"
else
    fail "csv: an mse sequence (4 inputs, 4 targets) trains, its loss below 0.01" "status $st" \
        "$(cat "$out/sum.out" "$out/sum.err")"
fi
printf '1,2,3,4,0\n1,2,12,4,1\n' >"$out/ids.csv"
cat >"$out/ids.nn" <<'EOF'
network ids {
    input steps=4
    embed 10 4
    lstm 4
    dense 2 softmax
    loss cross_entropy
}
EOF
error "csv: an embed id out of range is refused with its sample and step" 1 \
    "sample 2, step 3: 12 is not an id of the network's embed layer (a whole number from 0 to 9)" \
    $NNC train "$out/ids.nn" --data "$out/ids.csv"
printf 'load %s\ndata %s\ntrain 1\n' "$out/ids.nn" "$out/ids.csv" >"$out/ids.repl"
st=$(run_status "$out/ids_repl.out" "$out/ids_repl.err" $NNC repl <"$out/ids.repl")
if [ "$st" != 0 ] && grep -q "sample 2, step 3: 12 is not an id of the network's embed layer" "$out/ids_repl.err" &&
    ! grep -q "^epoch" "$out/ids_repl.out"; then
    ok "repl: data with an embed id out of range is refused, and nothing trains on it"
else
    fail "repl: data with an embed id out of range is refused" "status $st" \
        "$(cat "$out/ids_repl.out" "$out/ids_repl.err")"
fi

# ---- inference ----
samples="0.1 0.2 -0.3 0.4 , 0.5 0.5 0.5 0.5 , -0.4 0.1 0.2 -0.1"
check "inference: nnc --weights of an LSTM" $NNC "$out/sum.nn" --weights "$out/sum.nnw" -o "$out/sum_infer.c"
{ echo "load $out/sum.nn"; echo "load $out/sum.nnw"
  echo "$samples" | tr ',' '\n' | sed 's/^ *\(.*[^ ]\) *$/predict \1/'; } >"$out/predict.repl"
$NNC repl --echo <"$out/predict.repl" 2>&1 | awk '/^nnc> predict/ { getline; print }' >"$out/predict.out"
for cc in gcc clang tcc; do
    if ! o=$($cc $STRICT -DNET=runsum -include "$out/sum_infer.h" -o "$out/infer.$cc" tests/jit/infer_main.c \
        "$out/sum_infer.c" -lm 2>&1); then
        fail "inference: the LSTM's C compiles with $cc $STRICT" "$o"
        continue
    fi
    ok "inference: the LSTM's C compiles with $cc $STRICT"
    "$out/infer.$cc" $samples | sed 's/ |.*//' >"$out/infer.$cc.out" 2>&1
    if [ "$(wc -l <"$out/predict.out")" -eq 3 ] && awk 'NR == FNR { a[FNR] = $0; next }
            { n = split(a[FNR], x, " "); m = split($0, y, " "); if (n != m || n != 4) bad = 1
              for (i = 1; i <= n; i++) { d = x[i] - y[i]; if (d < 0) d = -d
                  s = x[i] < 0 ? -x[i] : x[i]; if (d > 1e-5 * s + 1e-6) bad = 1 } }
            END { exit bad || FNR != 3 }' "$out/predict.out" "$out/infer.$cc.out"; then
        ok "inference: the LSTM's NAME_forward ($cc) gives the REPL's predict outputs"
    else
        fail "inference: the LSTM's NAME_forward ($cc) gives the REPL's predict outputs" \
            "REPL:" "$(cat "$out/predict.out")" "$cc:" "$(cat "$out/infer.$cc.out")"
    fi
done
