#!/bin/sh
# tests/checkpoint/resume.sh — checkpoints and exact resume of `nnc train`
# (runtime/resume.c), --save-best, --patience and the output-path checks.
# Run from the repository root (tests/checkpoint/run.sh calls it).
#
# Exactness: a run stopped (at an epoch boundary, or by SIGTERM/SIGINT
# inside an epoch) and resumed must end with the same weight file, byte for
# byte (cmp), as the same run never stopped: for SGD with momentum and for
# Adam, both with dropout, Adam with a step schedule, a GRU, and a gan block
# (both networks' weight files).
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/checkpoint/resume
rm -rf "$out"
mkdir -p "$out"
NNC=${NNC:-./nnc}

# Data: 3 classes of 4 features, 12,000 training rows (RESUME_ROWS: fewer
# for the slower sanitizer build) and 300 test rows.
ROWS=${RESUME_ROWS:-12000}
python3 - "$out" "$ROWS" <<'EOF'
import random, sys
out, rows_n = sys.argv[1], int(sys.argv[2])
random.seed(7)
def rows(n):
    for _ in range(n):
        x = [random.uniform(-1, 1) for _ in range(4)]
        c = 0 if x[0] + x[1] > 0.3 else (1 if x[2] > 0 else 2)
        if random.random() < 0.1:
            c = random.randrange(3)   # label noise: the test accuracy wanders
        yield ",".join("%.4f" % v for v in x) + ",%d" % c
open(out + "/train.csv", "w").write("\n".join(rows(rows_n)) + "\n")
open(out + "/test.csv", "w").write("\n".join(rows(300)) + "\n")
open(out + "/other.csv", "w").write("\n".join(rows(rows_n)) + "\n")
EOF

net() {   # net NAME OPTIMIZER [EXTRA LAYER]
    cat >"$out/$1.nn" <<EOF
network $1 {
    input 4
    dense 48 relu
    dropout 0.25
    ${3:-dense 24 tanh}
    dense 3 softmax
    loss cross_entropy
    optimizer $2
    batch 16
}
EOF
}
net momentum "sgd lr=0.05 momentum=0.9"
net adam "adam lr=0.003"
# a schedule (one that does not depend on the run's length, so that the
# 5-epoch run below is the 12-epoch run's beginning): each epoch's rate
# comes from NAME_schedule, also in a resumed epoch
sed 's/^network adam {/network stepped {/; s/^    batch 16$/    schedule step every=3 gamma=0.5 warmup=2\n    batch 16/' \
    "$out/adam.nn" >"$out/stepped.nn"
cat >"$out/gru.nn" <<'EOF'
network gru {
    input 1 steps=4
    gru 12
    dense 3 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 16
}
EOF
EPOCHS=12

# same A B SUFFIX...: whether every file A$SUFFIX equals B$SUFFIX (a gan saves two)
same() {
    _a=$1 _b=$2
    shift 2
    for _s in "$@"; do cmp -s "$_a$_s" "$_b$_s" || return 1; done
}

# exact NAME SUFFIX... (with $data the training data's options): NAME.nn
# trained for $EPOCHS epochs in one run, and in runs stopped at an epoch
# boundary and by signals inside epochs, each resumed: the same files
exact() {
    n=$1
    shift
    # shellcheck disable=SC2086
    "$NNC" train "$out/$n.nn" $data --epochs $EPOCHS --save "$out/$n.full.nnw" >"$out/$n.full.log" 2>&1

    # stopped at an epoch boundary: the first run's --epochs ends it
    # shellcheck disable=SC2086
    "$NNC" train "$out/$n.nn" $data --epochs 5 --checkpoint "$out/$n.b.nnck" >"$out/$n.b1.log" 2>&1
    # shellcheck disable=SC2086
    "$NNC" train "$out/$n.nn" $data --epochs $EPOCHS --resume "$out/$n.b.nnck" \
        --save "$out/$n.b.nnw" >"$out/$n.b2.log" 2>&1
    if same "$out/$n.full" "$out/$n.b" "$@" && grep -q "resuming from .*: 5 epochs done" "$out/$n.b2.log"; then
        ok "resume $n after epoch 5 of $EPOCHS: the same weights, byte for byte"
    else
        fail "resume $n after epoch 5 of $EPOCHS: the same weights, byte for byte" "$(cat "$out/$n.b2.log")"
    fi

    # stopped by a signal inside an epoch, twice in one run: SIGTERM, then SIGINT in the resumed run
    rm -f "$out/$n.s.nnck"
    status_ok=yes where=
    for sig in TERM INT; do
        resume=
        [ -f "$out/$n.s.nnck" ] && resume="--resume $out/$n.s.nnck"
        # shellcheck disable=SC2086
        "$NNC" train "$out/$n.nn" $data --epochs $EPOCHS --checkpoint "$out/$n.s.nnck" \
            $resume >"$out/$n.s.$sig.log" 2>&1 &
        pid=$!
        # the signal comes once the run has printed epoch 3's line (the first
        # run) or epoch 8's (the resumed one): inside the epoch after it
        at=3
        [ $sig = INT ] && at=8
        tries=0
        until grep -qs "^epoch $at/" "$out/$n.s.$sig.log" || [ $tries -gt 1500 ]; do
            sleep 0.02
            tries=$((tries + 1))
        done
        kill -$sig $pid 2>/dev/null
        wait $pid
        st=$?
        want=143
        [ $sig = INT ] && want=130
        # a run that finished before the signal came proves nothing: it counts as a failure
        [ $st = $want ] || status_ok="no: SIG$sig gave status $st, not $want"
        where="$where $(grep -o 'checkpoint written to .*samples)' "$out/$n.s.$sig.log")"
    done
    # shellcheck disable=SC2086
    "$NNC" train "$out/$n.nn" $data --epochs $EPOCHS --resume "$out/$n.s.nnck" \
        --save "$out/$n.s.nnw" >"$out/$n.s2.log" 2>&1
    if [ "$status_ok" = yes ] && same "$out/$n.full" "$out/$n.s" "$@"; then
        ok "resume $n after SIGTERM and SIGINT inside epochs ($where): the same weights, byte for byte"
    else
        fail "resume $n after SIGTERM and SIGINT inside epochs: the same weights, byte for byte" "$status_ok" \
            "$where" "$(cat "$out/$n.s2.log")"
    fi
}

data="--data $out/train.csv"
for n in momentum adam stepped gru; do
    exact $n .nnw
done

# The epoch lines of a resumed run are those of the uninterrupted run
# (the loss sums of a stopped epoch are in the checkpoint).
grep '^epoch 12/12' "$out/adam.full.log" | grep -o 'batch loss [0-9.]*' >"$out/want_line"
grep '^epoch 12/12' "$out/adam.s2.log" | grep -o 'batch loss [0-9.]*' >"$out/got_line"
if [ -s "$out/want_line" ] && cmp -s "$out/want_line" "$out/got_line"; then
    ok "a resumed run prints the uninterrupted run's last epoch loss"
else
    fail "a resumed run prints the uninterrupted run's last epoch loss" "$(cat "$out/want_line" "$out/got_line")"
fi

# ---- refusals: each message, and the checkpoint never crashes nnc ----
ck=$out/adam.b.nnck
refused() {   # refused NAME EXPECTED-TEXT WANT-STATUS nnc-train-args...
    _name=$1 _want=$2 _st=$3
    shift 3
    _o=$("$NNC" train "$@" 2>&1)
    _s=$?
    if [ $_s = "$_st" ] && printf '%s' "$_o" | grep -q -- "$_want"; then
        ok "refused: $_name"
    else
        fail "refused: $_name (status $_s, want $_st, and '$_want')" "$_o"
    fi
}
refused "another network" "a checkpoint of another network" 1 \
    "$out/gru.nn" --data "$out/train.csv" --epochs 3 --resume "$ck"
refused "another optimizer" "other training settings" 1 \
    "$out/momentum.nn" --data "$out/train.csv" --epochs 3 --resume "$ck"
sed 's/batch 16/batch 8/' "$out/adam.nn" >"$out/adam8.nn"
refused "another batch size" "written with batch 16, this network has batch 8" 1 \
    "$out/adam8.nn" --data "$out/train.csv" --epochs 3 --resume "$ck"
refused "other data" "other data (its first rows differ)" 1 \
    "$out/adam.nn" --data "$out/other.csv" --epochs 3 --resume "$ck"
refused "fewer samples" "written while training on $ROWS samples, this data has 500" 1 \
    "$out/adam.nn" --data "$out/train.csv" --limit 500 --epochs 3 --resume "$ck"
size=$(wc -c <"$ck")
head -c $((size - 9)) "$ck" >"$out/cut.nnck"
refused "a truncated checkpoint" "checksum mismatch" 1 \
    "$out/adam.nn" --data "$out/train.csv" --epochs 3 --resume "$out/cut.nnck"
python3 -c "
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); d[len(d) // 2] ^= 0x10
open(sys.argv[2], 'wb').write(d)" "$ck" "$out/flip.nnck"
refused "a flipped bit" "corrupt or truncated: checksum mismatch" 1 \
    "$out/adam.nn" --data "$out/train.csv" --epochs 3 --resume "$out/flip.nnck"
refused "a weight file as a checkpoint" "it is a weight file: start from it with --load" 1 \
    "$out/adam.nn" --data "$out/train.csv" --epochs 3 --resume "$out/adam.full.nnw"
refused "a checkpoint as weights (--load)" "it is a checkpoint, a whole training state: nnc train --resume" 1 \
    "$out/adam.nn" --data "$out/train.csv" --epochs 3 --load "$ck"
refused "an empty file" "not an nnc checkpoint" 1 \
    "$out/adam.nn" --data "$out/train.csv" --epochs 3 --resume /dev/null
refused "--resume with --load" "give one of them" 2 \
    "$out/adam.nn" --data "$out/train.csv" --resume "$ck" --load "$out/adam.full.nnw"
refused "--resume with --lr" "it goes without --lr" 2 \
    "$out/adam.nn" --data "$out/train.csv" --resume "$ck" --lr 0.1
refused "--patience without test data" "--patience judges each epoch on test data" 2 \
    "$out/adam.nn" --data "$out/train.csv" --patience 3
refused "--checkpoint-every without --checkpoint" "needs --checkpoint FILE" 2 \
    "$out/adam.nn" --data "$out/train.csv" --checkpoint-every 3

# ---- bad output paths: refused before the first epoch ----
for opt in --save --checkpoint --save-best --plot; do
    extra=
    [ $opt = --save-best ] && extra="--test $out/test.csv"
    # shellcheck disable=SC2086
    o=$("$NNC" train "$out/adam.nn" --data "$out/train.csv" --epochs 2 $extra $opt "$out/no/such/dir/f" 2>&1)
    s=$?
    if [ $s = 1 ] && printf '%s' "$o" | grep -q -- "$opt $out/no/such/dir/f: nothing trained: .*No such file or directory" &&
        ! printf '%s' "$o" | grep -q '^epoch'; then
        ok "$opt into a missing directory: an error before the first epoch"
    else
        fail "$opt into a missing directory: an error before the first epoch" "$o"
    fi
done

# ---- --save-best: the best epoch's weights are those of a run that stops there ----
"$NNC" train "$out/adam.nn" --data "$out/train.csv" --test "$out/test.csv" --epochs 10 \
    --save-best "$out/best.nnw" >"$out/best.log" 2>&1
best=$(sed -n 's/^best epoch \([0-9]*\): test accuracy .*, its weights saved to .*/\1/p' "$out/best.log")
if [ -n "$best" ] && [ "$best" -lt 10 ] 2>/dev/null; then
    "$NNC" train "$out/adam.nn" --data "$out/train.csv" --epochs "$best" --save "$out/upto.nnw" >/dev/null 2>&1
    if cmp -s "$out/best.nnw" "$out/upto.nnw" &&
        grep "^epoch $best/" "$out/best.log" | grep -q '(best)'; then
        ok "--save-best keeps epoch $best's weights (= a run of $best epochs)"
    else
        fail "--save-best keeps epoch $best's weights (= a run of $best epochs)" "$(cat "$out/best.log")"
    fi
else
    # epoch 10 as the best would not tell the best from the last: the data is made so it is not
    fail "--save-best: the best epoch is before the last" "$(cat "$out/best.log")"
fi
# the best test accuracy printed is the largest of the epoch lines'
maxacc=$(sed -n 's/.*test acc \([0-9.]*\)%.*/\1/p' "$out/best.log" | sort -n | tail -1)
if grep -q "^best epoch $best: test accuracy $maxacc%" "$out/best.log"; then
    ok "--save-best reports the highest test accuracy ($maxacc%)"
else
    fail "--save-best reports the highest test accuracy ($maxacc%)" "$(cat "$out/best.log")"
fi

# ---- --patience: stops K epochs after the best ----
"$NNC" train "$out/adam.nn" --data "$out/train.csv" --test "$out/test.csv" --epochs 40 --patience 2 \
    >"$out/patience.log" 2>&1
# stopped_after_best NAME LOG EPOCHS WHAT: LOG's run of EPOCHS epochs with
# --patience 2 stopped 2 epochs after its best, saying "no better WHAT"
stopped_after_best() {
    _best=$(sed -n 's/^best epoch \([0-9]*\):.*/\1/p' "$2")
    _last=$(grep '^epoch ' "$2" | tail -1 | sed 's|^epoch \([0-9]*\)/.*|\1|')
    if [ -n "$_best" ] && [ "$_last" = $((_best + 2)) ] && [ "$_last" -lt "$3" ] &&
        grep -q "^stopped early: no better $4 in 2 epochs" "$2"; then
        ok "$1 stops at epoch $_last, 2 after the best ($_best)"
    else
        fail "$1 stops 2 epochs after the best" "$(cat "$2")"
    fi
}
stopped_after_best "--patience 2" "$out/patience.log" 40 "test accuracy"

# ---- gan blocks: exact resume, --save-best and --patience on the judge's score ----
# A generator with a step schedule, a discriminator with dropout and SGD
# momentum: every array of both, the noise's RNG and the run's seed are in
# the checkpoint.  On 1,200 Fashion-MNIST images (tcc: about 8,000
# samples/s); the judge is a softmax regression trained here.
TRAIN=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
GAN_ROWS=1200   # (also under the sanitizers: the JIT-compiled steps run at full speed there)
cat >"$out/g.nn" <<'EOF'
network gen {
    input 8
    dense 16 relu
    dense 784 sigmoid
    optimizer adam lr=0.002 beta1=0.5
    schedule step every=4 gamma=0.5 warmup=1
    batch 16
}
network disc {
    input 784
    dense 16 leaky_relu(0.2)
    dropout 0.3
    dense 1 sigmoid
    loss bce
    optimizer sgd lr=0.02 momentum=0.9
    batch 16
}
gan g {
    generator gen
    discriminator disc
}
EOF
cat >"$out/judge.nn" <<'EOF'
network judge {
    input 784
    dense 10 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 32
}
EOF
if [ ! -f "$TRAIN" ]; then
    fail "gan checkpoints: Fashion-MNIST" "$TRAIN is missing (scripts/setup.sh installs dataset-fashion-mnist)"
else
    data="--data $TRAIN --limit $GAN_ROWS"
    exact g .gen.nnw .disc.nnw
    grep '^epoch 12/12' "$out/g.full.log" | sed 's/  [0-9]* samples.*//' >"$out/g_want"
    grep '^epoch 12/12' "$out/g.s2.log" | sed 's/  [0-9]* samples.*//' >"$out/g_got"
    if [ -s "$out/g_want" ] && cmp -s "$out/g_want" "$out/g_got"; then
        ok "a resumed gan prints the uninterrupted run's last epoch losses"
    else
        fail "a resumed gan prints the uninterrupted run's last epoch losses" "$(cat "$out/g_want" "$out/g_got")"
    fi

    # the generator's schedule, applied every epoch: lr 0.002 warmed up for one
    # epoch (0.002/2), then halved every 4; the discriminator's stays 0.02
    if awk '/^epoch / { split($2, e, "/"); k = e[1] + 0
            want = k == 1 ? 0.001 : k <= 5 ? 0.002 : k <= 9 ? 0.001 : 0.0005
            for (i = 1; i < NF; i++) if ($i == "lr") { split($(i + 1), r, "/"); n++
                if (r[1] + 0 != want || r[2] + 0 != 0.02) bad++ } }
        END { exit !(n == 12 && !bad) }' "$out/g.full.log"; then
        ok "a gan's generator follows its schedule (epoch lines' lr)"
    else
        fail "a gan's generator follows its schedule (epoch lines' lr)" "$(cat "$out/g.full.log")"
    fi

    "$NNC" train "$out/judge.nn" --data "$TRAIN" --limit 2000 --epochs 1 --save "$out/judge.nnw" >/dev/null 2>&1
    judge="--judge $out/judge.nn --judge-weights $out/judge.nnw"
    # shellcheck disable=SC2086
    "$NNC" train "$out/g.nn" $data $judge --epochs 5 --save-best "$out/gbest.nnw" >"$out/gbest.log" 2>&1
    gb=$(sed -n 's/^best epoch \([0-9]*\): score [0-9.]*, its weights saved to .*gbest.gen.nnw and .*/\1/p' \
        "$out/gbest.log")
    if [ -n "$gb" ] && [ "$gb" -lt 5 ] 2>/dev/null; then
        # shellcheck disable=SC2086
        "$NNC" train "$out/g.nn" $data --epochs "$gb" --save "$out/gupto.nnw" >/dev/null 2>&1
        top=$(sed -n 's/.* score \([0-9.]*\) .*/\1/p' "$out/gbest.log" | sort -n | tail -1)
        if same "$out/gbest" "$out/gupto" .gen.nnw .disc.nnw && grep "^epoch $gb/" "$out/gbest.log" | grep -q '(best)' &&
            grep -q "^best epoch $gb: score $top," "$out/gbest.log"; then
            ok "gan --save-best keeps epoch $gb's weights (= a run of $gb epochs), the highest score ($top)"
        else
            fail "gan --save-best keeps epoch $gb's weights (= a run of $gb epochs), the highest score" \
                "$(cat "$out/gbest.log")"
        fi
    else
        # epoch 5 as the best would not tell the best from the last: these settings make it not
        fail "gan --save-best: the best epoch is before the last" "$(cat "$out/gbest.log")"
    fi
    # shellcheck disable=SC2086
    "$NNC" train "$out/g.nn" $data $judge --epochs 30 --patience 2 >"$out/gpat.log" 2>&1
    stopped_after_best "gan --patience 2" "$out/gpat.log" 30 score
    # the REPL: save and load a gan's checkpoint (on 400 images in an IDX file of their own)
    python3 -c "
import gzip, struct, sys
d = gzip.open(sys.argv[1]).read(); n = 400
open(sys.argv[2], 'wb').write(d[:4] + struct.pack('>I', n) + d[8:16] + d[16:16 + n * 784])" "$TRAIN" "$out/few-idx3"
    printf 'load %s\ndata %s\ntrain 1\nsave %s\ntrain 1\nsave %s\nload %s\ntrain 1\nsave %s\n' \
        "$out/g.nn" "$out/few-idx3" "$out/rg.nnck" "$out/rga.nnw" "$out/rg.nnck" "$out/rgb.nnw" |
        "$NNC" repl >"$out/rg.log" 2>&1
    if same "$out/rga" "$out/rgb" .gen.nnw .disc.nnw &&
        grep -q "loaded the training state (1 epoch done) from" "$out/rg.log"; then
        ok "repl: a gan's save C.nnck, train, load C.nnck, train: the same weights"
    else
        fail "repl: a gan's save C.nnck, train, load C.nnck, train: the same weights" "$(cat "$out/rg.log")"
    fi
    # shellcheck disable=SC2086
    refused "gan --save-best without --judge" "--save-best keeps a gan's epoch with the best score of its --judge" 2 \
        "$out/g.nn" $data --save-best "$out/x.nnw"
    # shellcheck disable=SC2086
    refused "a network's checkpoint for a gan" "a checkpoint of another gan" 1 \
        "$out/g.nn" $data --resume "$ck"
    refused "a gan's checkpoint for a network" "a checkpoint of another network" 1 \
        "$out/adam.nn" --data "$out/train.csv" --resume "$out/g.b.nnck"
    # shellcheck disable=SC2086
    o=$("$NNC" train "$out/g.nn" $data $judge --epochs 2 --save-best "$out/no/such/dir/w.nnw" 2>&1)
    s=$?
    if [ $s = 1 ] && printf '%s' "$o" | grep -q -- "--save-best $out/no/such/dir/w.nnw: nothing trained: .*No such file" &&
        ! printf '%s' "$o" | grep -q '^epoch'; then
        ok "gan --save-best into a missing directory: an error before the first epoch"
    else
        fail "gan --save-best into a missing directory: an error before the first epoch" "$o"
    fi
fi

# ---- the REPL: save and load a checkpoint, and train on as if never interrupted ----
printf 'load %s\ndata %s\ntrain 2\nsave %s\ntrain 2\nsave %s\nload %s\ntrain 2\nsave %s\n' \
    "$out/adam.nn" "$out/train.csv" "$out/repl.nnck" "$out/repl.a.nnw" "$out/repl.nnck" "$out/repl.b.nnw" |
    "$NNC" repl >"$out/repl.log" 2>&1
if cmp -s "$out/repl.a.nnw" "$out/repl.b.nnw" &&
    grep -q "loaded the training state (2 epochs done) from" "$out/repl.log"; then
    ok "repl: save C.nnck, train, load C.nnck, train: the same weights"
else
    fail "repl: save C.nnck, train, load C.nnck, train: the same weights" "$(cat "$out/repl.log")"
fi
printf 'load %s\nsave %s\n' "$out/adam.nn" "$out/repl2.nnck" | "$NNC" repl >"$out/repl2.log" 2>&1
if grep -q "a checkpoint belongs to its training data: 'data FILE' first" "$out/repl2.log"; then
    ok "repl: a checkpoint without data is refused"
else
    fail "repl: a checkpoint without data is refused" "$(cat "$out/repl2.log")"
fi
