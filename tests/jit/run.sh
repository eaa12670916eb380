#!/bin/sh
# JIT training, `nnc train`, the REPL and inference-only emission.  Run from
# the repository root after `make nnc` (which also builds build/libnncrt.a);
# the sanitizer checks want `make build/asan/nnc` too.  Everything is built
# and written under build/test/jit/ (the cc backend's cache included:
# XDG_CACHE_HOME=build/test/jit/cache).  About 40 s on 2 cores.
#
#   1 emitted    the JIT runs exactly the emitted code: `nnc NET.nn -o` at
#                the same --unroll, compiled by gcc -O2 with
#                tests/jit/rt_driver.c and linked with build/libnncrt.a,
#                trained by rt_train as cmd_train does (same seed, shuffle
#                seed, report interval, CSV options), against
#                `nnc train --save` on examples/spiral.nn (tcc at unroll
#                4096, cc at 224) and examples/xor.nn (tcc).  With tcc the
#                epoch lines and the weight file are bit-identical (cmp), and
#                that is asserted.  The cc backend compiles with -O3
#                -march=native -fassociative-math, which reorders sums: its
#                per-epoch losses and weights are asserted within 1e-4 of
#                the gcc -O2 build's (max weight difference seen: 9e-7).
#                nnw_cmp prints how far apart two weight files are.
#   2 backends   tcc and cc print per-epoch losses within 1e-4 of each other
#                (spiral, 380 steps; at equal --unroll and at each backend's
#                default), and a second cc run takes the cached .so
#   3 train      XOR reaches 100% (the last line), sine ends with its loss
#   4 repl       tests/jit/xor_session.repl against xor_session.expected
#                (tests/jit/regen.sh regenerates it); the <stdin>:LINE:COL
#                of a typed block's error; save/init/load round trip;
#                recompiling settings keep the weights; exit status 0 / 1
#   5 inference  `emit OUT.c inference` and `nnc --weights` compile with
#                gcc, clang and tcc under $STRICT and give exactly (%a) the
#                outputs of the training code with the weights loaded, and
#                the REPL's `predict`
#   6 weights    --save/--load round trip, another network's file and a
#                damaged byte refused
#   7 usage      usage errors exit 2; a missing data file exits 1, named
#   8 ctrl-c     SIGINT stops a long run: exit 130, the message, a loadable
#                --save file
#   9 stream     tests/jit/stream.sh: data through pipes, FIFOs and
#                /dev/stdin (CSV and IDX, gzip or not) read whole; what a
#                pipe cannot do refused with a message; a warning for
#                images of the network's input size but another shape
#  10 recurrent  tests/jit/recurrent.sh: nnc train --text, nnc generate and
#                their errors, the REPL's text and generate, CSV rows of
#                sequences (a class per step, an mse sequence), embed ids
#                out of range, inference-only C of an LSTM (three compilers)
#  11 gan        tests/jit/gan.sh: nnc train on a gan block, its weights,
#                pictures and --judge score, and their errors
#  12 plan       tests/jit/plan.sh: inference-only C, its buffers sharing one
#                array (compiler/plan.c), gives the training code's outputs
#                for convolutions, pools, dropout, flatten, dense and LSTM
#                layers, built with gcc (each vector path), clang, tcc, ASan
#  13 cache      tests/jit/cache.sh: the cc backend's cache: what
#                -march=native means here is in every key (another target,
#                simulated, builds another object), concurrent builds leave
#                one object, a corrupt object is built again with a note,
#                `nnc cache` and `nnc cache clear`
#  14 tier       tests/jit/tier.sh: --jit=auto moves from libtcc's build to
#                cc's between two batches (weights within 1e-4 of either
#                alone), runs a cached build from the first batch (cc's
#                bits), stays on libtcc with a note when the compiler fails
#                or is killed or missing (tcc's bits), does not wait for a
#                build still running, and Ctrl-C stops run and build;
#                auto is the default (NNC_JIT picks another); gan blocks and
#                the REPL move alike (the REPL's switch: nnc train's bits)
#  15 ab_step    tests/jit/ab_step.sh: bench/ab_step.sh's verdict on the
#                bits fails both ways, on random rows and IDX images, and
#                bad images are refused (not again under the sanitizers:
#                the tool does not run nnc's code, only its emitted C)
#   asan         XOR training, the REPL transcript and Ctrl-C again under
#                build/asan/nnc (the JIT-compiled code itself is not
#                instrumented: libtcc and cc build it without sanitizers)
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit
ASAN_NNC=build/asan/nnc
XDG_CACHE_HOME=$out/cache   # the cc backend caches here, never in ~/.cache
export XDG_CACHE_HOME
CC=gcc
rm -rf "$out"
mkdir -p "$out/log" "$out/cache"

for tool in gcc clang tcc; do
    command -v $tool >/dev/null || fail "jit: $tool" "$tool is not installed (scripts/setup.sh test installs it)"
done
if [ ! -f build/libnncrt.a ]; then
    fail "jit: build/libnncrt.a" "build/libnncrt.a is missing: run 'make nnc' first"
    exit 0
fi

# epochs FILE: the epoch lines of nnc train's (or rt_driver's) output, filtered.
epochs() { grep '^epoch ' "$1" | sed -f tests/jit/filter.sed; }
# losses FILE: "EPOCH LOSS" of each epoch line.
losses() { awk '$1 == "epoch" && $3 == "batch" { split($2, e, "/"); print e[1], $5 }' "$1"; }
# close_losses A B N: A and B (outputs of nnc train or rt_driver) have the
# same N epoch lines, with losses within 1e-4.
close_losses() {
    losses "$1" >"$1.losses"
    losses "$2" >"$2.losses"
    [ "$(wc -l <"$1.losses")" -eq "$3" ] && [ "$(wc -l <"$2.losses")" -eq "$3" ] &&
        paste "$1.losses" "$2.losses" |
        awk '{ d = $2 - $4; if (d < 0) d = -d; if ($1 != $3 || d > 1e-4) bad = 1 } END { exit bad }'
}
# run_status OUT ERR CMD...: runs CMD with its output in OUT and ERR; prints its status.
run_status() {
    _o=$1 _e=$2; shift 2
    "$@" >"$_o" 2>"$_e"
    echo $?
}

# ---- data, made here deterministically (awk, no randomness from outside) ----
# Three spirals of 100 points each (x, y, class; a header row), with a
# Park-Miller generator for the jitter; sin(x) at 200 points of [-pi, pi].
awk 'BEGIN { s = 12345; print "x,y,class"
  for (c = 0; c < 3; c++) for (i = 0; i < 100; i++) {
    s = (s * 16807) % 2147483647; r = i / 100; a = 4 * c + 4 * r + 0.2 * (s / 2147483647 - 0.5)
    printf "%.6f,%.6f,%d\n", r * sin(a), r * cos(a), c } }' >"$out/spiral.csv"
awk 'BEGIN { pi = atan2(0, -1); print "x,y"
  for (i = 0; i < 200; i++) { x = -pi + 2 * pi * i / 199; printf "%.6f,%.6f\n", x, sin(x) } }' >"$out/sine.csv"

# ---- the programs, built in the background while the JIT checks run ----
# bg LOG CMD...: CMD in the background, its output in LOG, "failed" appended on failure.
bg() { _l=$1; shift; { "$@" >"$_l" 2>&1 || echo "failed: $*" >>"$_l"; } & }
# built NAME FILE LOG: FILE was built (else a FAIL naming NAME with LOG).
built() {
    if [ -f "$2" ] && ! grep -q '^failed: ' "$3"; then return 0; fi
    fail "$1" "$2 was not built:" "$(cat "$3")"
    return 1
}
check "emit spiral.c at --unroll 4096" $NNC examples/spiral.nn --unroll 4096 -o "$out/spiral_u4096.c"
check "emit spiral.c at --unroll 224" $NNC examples/spiral.nn --unroll 224 -o "$out/spiral_u224.c"
check "emit xor.c at --unroll 4096" $NNC examples/xor.nn --unroll 4096 -o "$out/xor_u4096.c"
DRV="$CC -std=c99 -O2 -Wall -Wextra -Werror -Iruntime"
for v in spiral_u4096 spiral_u224 xor_u4096; do
    net=${v%_u*}
    # shellcheck disable=SC2086
    bg "$out/log/drv_$v.log" $DRV -DNET=$net -include "$out/$v.h" -o "$out/drv_$v" \
        tests/jit/rt_driver.c "$out/$v.c" build/libnncrt.a -lz -lm
done
bg "$out/log/nnw_cmp.log" $CC -std=c99 -O2 -Wall -Wextra -Werror -o "$out/nnw_cmp" tests/jit/nnw_cmp.c -lm

# ---- 3: training through the JIT ----
st=$(run_status "$out/xor.out" "$out/xor.err" $NNC train examples/xor.nn --data examples/xor.csv \
     --save "$out/xor.nnw")
last=$(tail -n 1 "$out/xor.out")
if [ "$st" = 0 ] && [ "$last" = "final training accuracy: 100.00%" ] && [ ! -s "$out/xor.err" ]; then
    ok "train: xor reaches 100% (nnc train examples/xor.nn --data examples/xor.csv)"
else
    fail "train: xor reaches 100% (nnc train examples/xor.nn --data examples/xor.csv)" "exit $st" \
        "$(cat "$out/xor.out" "$out/xor.err")"
fi
if [ "$(sed -n 's/^epoch \([0-9]*\)\/2000 .*/\1/p' "$out/xor.out" | tr '\n' ' ')" = \
     "1 100 200 300 400 500 600 700 800 900 1000 1100 1200 1300 1400 1500 1600 1700 1800 1900 2000 " ]; then
    ok "train: xor runs the file's 'epochs 2000', printing every 100th"
else
    fail "train: xor runs the file's 'epochs 2000', printing every 100th" "$(cat "$out/xor.out")"
fi
st=$(run_status "$out/sine.out" "$out/sine.err" $NNC train examples/sine.nn --data "$out/sine.csv" --epochs 200)
if [ "$st" = 0 ] && tail -n 1 "$out/sine.out" | grep -q '^final training loss: [0-9.e+-]* (mean per sample)$' &&
    tail -n 1 "$out/sine.out" | awk '{ exit !($4 < 0.001) }' && ! grep -q 'acc' "$out/sine.out"; then
    ok "train: sine (regression) ends with 'final training loss:' below 0.001"
else
    fail "train: sine (regression) ends with 'final training loss:' below 0.001" "exit $st" \
        "$(cat "$out/sine.out" "$out/sine.err")"
fi

# ---- 2: the tcc and cc backends ----
sp="examples/spiral.nn --data $out/spiral.csv --epochs 20"
# shellcheck disable=SC2086
{
    tcc224=$(run_status "$out/tcc224.out" "$out/tcc224.err" $NNC train $sp --every 1 --jit=tcc --unroll 224)
    tcc4096=$(run_status "$out/tcc4096.out" "$out/tcc4096.err" $NNC train $sp --every 1 --unroll 4096 \
              --save "$out/tcc4096.nnw")
    cc1=$(run_status "$out/cc1.out" "$out/cc1.err" $NNC train $sp --every 1 --jit=cc --unroll 224 \
          --save "$out/cc1.nnw")
}
so=$(ls "$out/cache/nnc/"*.so 2>/dev/null)
if [ "$tcc224" = 0 ] && [ "$cc1" = 0 ] && close_losses "$out/tcc224.out" "$out/cc1.out" 20 &&
    grep -q '; compiled by libtcc in' "$out/tcc224.out" && grep -q '; compiled by cc in' "$out/cc1.out"; then
    ok "backends: tcc and cc epoch losses within 1e-4 (spiral, 380 steps, --unroll 224 both)"
else
    fail "backends: tcc and cc epoch losses within 1e-4 (spiral, 380 steps, --unroll 224 both)" \
        "exit $tcc224 and $cc1" "$(paste "$out/tcc224.out" "$out/cc1.out")" "$(cat "$out/tcc224.err" "$out/cc1.err")"
fi
# The note that --jit=cc trains big networks much faster: printed (on
# stderr, before training) when parameters x samples x epochs pass 1e9, not
# for the small spiral run above.  The big run is stopped after the note.
awk 'BEGIN { srand(7); for (i = 0; i < 20; i++) { for (j = 0; j < 2000; j++) printf "%.2f,", rand(); print i % 2 } }' \
    >"$out/wide.csv"
printf 'network wide {\n  input 2000\n  dense 500 relu\n  dense 2 softmax\n  loss cross_entropy\n}\n' >"$out/wide.nn"
timeout 3 $NNC train "$out/wide.nn" --data "$out/wide.csv" --epochs 200 >/dev/null 2>"$out/wide.err"
if grep -q '^nnc: note: --jit=tcc does not optimize; --jit=cc trains' "$out/wide.err" &&
    ! grep -q 'note:' "$out/tcc224.err" "$out/tcc4096.err"; then
    ok "nnc train --jit=tcc notes that --jit=cc is faster, for a big run only"
else
    fail "nnc train --jit=tcc notes that --jit=cc is faster, for a big run only" "$(cat "$out/wide.err")" \
        "$(cat "$out/tcc224.err")"
fi
if [ "$tcc4096" = 0 ] && close_losses "$out/tcc4096.out" "$out/cc1.out" 20; then
    ok "backends: tcc at its default unroll (4096) and cc at its (224): epoch losses within 1e-4"
else
    fail "backends: tcc at its default unroll (4096) and cc at its (224): epoch losses within 1e-4" \
        "$(paste "$out/tcc4096.out" "$out/cc1.out")" "$(cat "$out/tcc4096.err")"
fi
if [ -n "$so" ] && [ "$(echo "$so" | wc -l)" -eq 1 ] && grep -q 'compiled by cc in' "$out/cc1.out"; then
    touch -t 200001010000 "$so"
    ls -l "$out/cache/nnc" >"$out/cache.before"
    # shellcheck disable=SC2086
    cc2=$(run_status "$out/cc2.out" "$out/cc2.err" $NNC train $sp --every 1 --jit=cc --unroll 224)
    ls -l "$out/cache/nnc" >"$out/cache.after"
    if [ "$cc2" = 0 ] && [ "$(epochs "$out/cc1.out")" = "$(epochs "$out/cc2.out")" ] &&
        cmp -s "$out/cache.before" "$out/cache.after"; then
        ok "backends: a second cc run takes the cached .so (the cache folder is unchanged)"
    else
        fail "backends: a second cc run takes the cached .so (the cache folder is unchanged)" "exit $cc2" \
            "before:" "$(cat "$out/cache.before")" "after:" "$(cat "$out/cache.after")" "$(cat "$out/cc2.err")"
    fi
else
    fail "backends: the first cc run leaves one .so in \$XDG_CACHE_HOME/nnc" "$(ls -l "$out/cache/nnc" 2>&1)" \
        "$(cat "$out/cc1.out" "$out/cc1.err")"
fi

# ---- 4: the REPL ----
st=0
sh tests/jit/session.sh "$NNC" "$out/session" || st=$?
if d=$(diff -u tests/jit/xor_session.expected "$out/session/transcript"); then
    ok "repl: the xor session's transcript is xor_session.expected"
else
    fail "repl: the xor session's transcript is xor_session.expected" "(tests/jit/regen.sh regenerates it)" "$d"
fi
# (docs/repl.md shows the same session: the doc tests, tests/docs, compare it.)
if [ "$st" = 1 ]; then
    ok "repl: a script with failing commands exits 1"
else
    fail "repl: a script with failing commands exits 1" "exit $st"
fi
# The typed block's error is located in the session's input: the line of
# "sigmod" in the script, the column of the word.
line=$(grep -n 'sigmod' tests/jit/xor_session.repl | cut -d: -f1)
if grep -qx "<stdin>:$line:13: error: unknown activation 'sigmod' (did you mean 'sigmoid'?)" \
    "$out/session/transcript"; then
    ok "repl: a typed block's error is at <stdin>:$line:13"
else
    fail "repl: a typed block's error is at <stdin>:$line:13" "$(grep -i error "$out/session/transcript")"
fi
# predict 0 1: trained, after init (different), after loading the saved file (as trained).
p=$(awk '$0 == "nnc> predict 0 1" { getline; print }' "$out/session/transcript" | tr '\n' ' ')
set -- $p
if [ $# -eq 4 ] && [ "$1" = "$3" ] && [ "$1" != "$2" ] && [ "$1" = "$4" ]; then
    ok "repl: save, init, load W.nnw gives back the trained outputs ($1, $2 after init)"
else
    fail "repl: save, init, load W.nnw gives back the trained outputs" "predict 0 1 printed: $p"
fi
if [ "$(tail -n 1 "$out/session/transcript")" = "nnc> quit" ]; then
    ok "repl: nothing runs after quit"
else
    fail "repl: nothing runs after quit" "$(tail -n 3 "$out/session/transcript")"
fi
# Settings that recompile keep the weights (and the learning rate); the
# recompiled code trains.  No command fails: exit 0.
cat >"$out/keep.repl" <<'EOF'
load examples/xor.nn
data examples/xor.csv
set lr 0.75
train 100
predict 0 1
set momentum 0.9
predict 0 1
set batch 2
predict 0 1
set weight_decay 0.001
predict 0 1
set unroll 0
predict 0 1
set backend cc
predict 0 1
show
train 50
eval
quit
EOF
st=$(run_status "$out/keep.out" "$out/keep.err" $NNC repl --echo <"$out/keep.repl")
# (Within 1e-5, not exactly: unroll 0 and cc's -fassociative-math may sum in
# another order.  Weights not kept would be far off.)
p=$(awk '$0 == "nnc> predict 0 1" { getline; if (n++ == 0) first = $1; d = $1 - first; if (d < 0) d = -d
         if (d <= 1e-5) same++ } END { print same + 0 }' "$out/keep.out")
if [ "$st" = 0 ] && [ ! -s "$out/keep.err" ] && [ "$p" -eq 6 ] && grep -q '^  lr now   0.75; backend cc' "$out/keep.out" &&
    [ "$(grep -c 'recompiled by .*, weights kept$' "$out/keep.out")" -eq 5 ] && grep -q '^epoch 50/50 ' "$out/keep.out"; then
    ok "repl: momentum, batch, weight_decay, unroll, backend recompile keeping weights and lr; exit 0"
else
    fail "repl: momentum, batch, weight_decay, unroll, backend recompile keeping weights and lr; exit 0" \
        "exit $st" "$(cat "$out/keep.out" "$out/keep.err")"
fi
# A failing command does not end a script; the status is 1 at the end.
printf 'load examples/xor.nn\ndata %s/missing.csv\npredict 1 0\n' "$out" >"$out/fails.repl"
st=$(run_status "$out/fails.out" "$out/fails.err" $NNC repl <"$out/fails.repl")
if [ "$st" = 1 ] && grep -q "missing.csv" "$out/fails.err" && [ "$(wc -l <"$out/fails.out")" -eq 2 ]; then
    ok "repl: after a failing command the script goes on, and exits 1"
else
    fail "repl: after a failing command the script goes on, and exits 1" "exit $st" \
        "$(cat "$out/fails.out" "$out/fails.err")"
fi
# Loading another network reads the data again by the rule `data` uses:
# xor.csv's 0/1 labels become one-hot rows for a two-class softmax network
# (an older REPL compared the stored shapes and dropped them), and a file
# that does not fit the new network is dropped with the loader's reason.
printf 'network two { input 2; dense 4 tanh; dense 2 softmax; loss cross_entropy }\n' >"$out/two.nn"
printf 'network three { input 3; dense 1; loss mse }\n' >"$out/three.nn"
printf 'load examples/xor.nn\ndata examples/xor.csv\nload %s\neval\nload %s\n' "$out/two.nn" "$out/three.nn" \
    >"$out/refit.repl"
st=$(run_status "$out/refit.out" "$out/refit.err" $NNC repl <"$out/refit.repl")
if [ "$st" = 0 ] && grep -q "examples/xor.csv: 4 samples with class labels, read again for this network" \
        "$out/refit.out" && grep -q "^training (4 samples)" "$out/refit.out" &&
        grep -q "the training data does not fit this network, dropped it: examples/xor.csv" "$out/refit.out"; then
    ok "repl: load of another network reads the data again by data's rule (kept for two, dropped for three)"
else
    fail "repl: load of another network reads the data again by data's rule" "exit $st" \
        "$(cat "$out/refit.out" "$out/refit.err")"
fi
# Seeds go to 2^64 - 1 in the REPL as in a .nn file and nnc train; -1 and
# 2^64 are errors (strtoull would take "-1" as 2^64 - 1).
printf 'load examples/xor.nn\nset seed 18446744073709551615\ninit 18446744073709551615\ninit -1\ninit 18446744073709551616\n' \
    >"$out/seed.repl"
st=$(run_status "$out/seed.out" "$out/seed.err" $NNC repl <"$out/seed.repl")
if [ "$st" = 1 ] && grep -q "^seed = 18446744073709551615 " "$out/seed.out" &&
        grep -q "initialized from seed 18446744073709551615$" "$out/seed.out" &&
        [ "$(grep -c "the seed must be a whole number from 0 to 18446744073709551615, not '" "$out/seed.err")" = 2 ]; then
    ok "repl: seeds up to 2^64 - 1, and -1 and 2^64 refused"
else
    fail "repl: seeds up to 2^64 - 1, and -1 and 2^64 refused" "exit $st" "$(cat "$out/seed.out" "$out/seed.err")"
fi
st=$(run_status "$out/repl_usage.out" "$out/repl_usage.err" $NNC repl --bogus)
if [ "$st" = 2 ] && grep -q -- "--bogus" "$out/repl_usage.err"; then
    ok "repl: an unknown option exits 2"
else
    fail "repl: an unknown option exits 2" "exit $st" "$(cat "$out/repl_usage.err")"
fi

# ---- 6: weight files through the CLI ----
# Trained xor weights loaded, one epoch at a learning rate too small to move
# a float, saved again: the same bytes (a fresh initialization would differ).
st=$(run_status "$out/reload.out" "$out/reload.err" $NNC train examples/xor.nn --data examples/xor.csv \
     --load "$out/xor.nnw" --epochs 1 --lr 1e-30 --save "$out/xor2.nnw")
if [ "$st" = 0 ] && cmp "$out/xor.nnw" "$out/xor2.nnw" >"$out/reload.cmp" 2>&1 &&
    grep -q '^epoch 1/1 .* train acc 100.00%' "$out/reload.out"; then
    ok "weights: --save then --load (1 epoch at lr 1e-30, --save) gives the same file"
else
    fail "weights: --save then --load (1 epoch at lr 1e-30, --save) gives the same file" "exit $st" \
        "$(cat "$out/reload.out" "$out/reload.err" "$out/reload.cmp")"
fi
st=$(run_status "$out/other.out" "$out/other.err" $NNC train examples/spiral.nn --data "$out/spiral.csv" \
     --load "$out/xor.nnw" --save "$out/other.nnw")
if [ "$st" = 1 ] && grep -q "^nnc: error: $out/xor.nnw: weights for a different network" "$out/other.err" &&
    [ ! -e "$out/other.nnw" ] && ! grep -q '^epoch' "$out/other.out"; then
    ok "weights: nnc train --load refuses another network's file"
else
    fail "weights: nnc train --load refuses another network's file" "exit $st" \
        "$(cat "$out/other.out" "$out/other.err")"
fi
st=$(run_status "$out/other2.out" "$out/other2.err" $NNC examples/spiral.nn --weights "$out/xor.nnw" \
     -o "$out/other_infer.c")
if [ "$st" = 1 ] && grep -q "weights for a different network" "$out/other2.err" && [ ! -e "$out/other_infer.c" ]; then
    ok "weights: nnc --weights refuses another network's file, writes nothing"
else
    fail "weights: nnc --weights refuses another network's file, writes nothing" "exit $st" "$(cat "$out/other2.err")"
fi
# One byte of a parameter changed (offset 30: the third float).
cp "$out/xor.nnw" "$out/bad.nnw"
b=$(od -An -tu1 -j30 -N1 "$out/bad.nnw" | tr -d ' ')
printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$out/bad.nnw" bs=1 seek=30 conv=notrunc 2>/dev/null
st=$(run_status "$out/bad.out" "$out/bad.err" $NNC train examples/xor.nn --data examples/xor.csv --load "$out/bad.nnw")
if ! cmp -s "$out/xor.nnw" "$out/bad.nnw" && [ "$st" = 1 ] &&
    grep -q "^nnc: error: $out/bad.nnw: corrupt: checksum mismatch" "$out/bad.err"; then
    ok "weights: a changed byte is refused (checksum mismatch)"
else
    fail "weights: a changed byte is refused (checksum mismatch)" "exit $st" "$(cat "$out/bad.out" "$out/bad.err")"
fi
printf 'load examples/spiral.nn\nload %s\nload %s\n' "$out/xor.nnw" "$out/bad.nnw" >"$out/other.repl"
st=$(run_status "$out/other_repl.out" "$out/other_repl.err" $NNC repl <"$out/other.repl")
if [ "$st" = 1 ] && grep -q "^error: $out/xor.nnw: weights for a different network" "$out/other_repl.err" &&
    grep -q "^error: $out/bad.nnw: corrupt: checksum mismatch" "$out/other_repl.err"; then
    ok "weights: the REPL's load refuses another network's file and a damaged one"
else
    fail "weights: the REPL's load refuses another network's file and a damaged one" "exit $st" \
        "$(cat "$out/other_repl.out" "$out/other_repl.err")"
fi

# ---- 7: usage errors ----
# usage_case NAME STATUS PATTERN ARGS...: nnc ARGS exits STATUS with PATTERN on stderr, nothing on stdout.
usage_case() {
    _n=$1 _want=$2 _pat=$3; shift 3
    _st=$(run_status "$out/usage.out" "$out/usage.err" $NNC "$@")
    if [ "$_st" = "$_want" ] && grep -q -- "$_pat" "$out/usage.err" && [ ! -s "$out/usage.out" ]; then
        ok "usage: $_n exits $_want"
    else
        fail "usage: $_n exits $_want" "nnc $* exited $_st" "$(cat "$out/usage.out" "$out/usage.err")"
    fi
}
usage_case "nnc train without --data" 2 "no training data" train examples/xor.nn
usage_case "nnc train --jit=gcc" 2 "unknown JIT backend 'gcc'" train examples/xor.nn --data examples/xor.csv --jit=gcc
usage_case "nnc train --bogus" 2 "unknown option '--bogus'" train examples/xor.nn --data examples/xor.csv --bogus
usage_case "nnc train --epochs 0" 2 "--epochs 0 is for gan blocks" train examples/xor.nn --data examples/xor.csv --epochs 0
usage_case "nnc train --lr -1" 2 "--lr needs" train examples/xor.nn --data examples/xor.csv --lr -1
usage_case "nnc train --data without a value" 2 "'--data' needs a value" train examples/xor.nn --data
usage_case "nnc train without a network" 2 "no network file" train --data examples/xor.csv
usage_case "nnc train with a missing data file" 1 "$out/nope.csv" train examples/xor.nn --data "$out/nope.csv"
usage_case "nnc train with a missing network file" 1 "$out/nope.nn" train "$out/nope.nn" --data examples/xor.csv
st=$(run_status "$out/help.out" "$out/help.err" $NNC train --help)
if [ "$st" = 0 ] && grep -q '^usage: nnc train NET.nn --data TRAIN' "$out/help.out" && [ ! -s "$out/help.err" ]; then
    ok "usage: nnc train --help exits 0"
else
    fail "usage: nnc train --help exits 0" "exit $st" "$(cat "$out/help.out" "$out/help.err")"
fi

# ---- 8: Ctrl-C ----
# ctrl_c NNC TAG: a long spiral run in the background gets SIGINT 0.5 s after
# it starts training.  (A background job of a script starts with SIGINT
# ignored; nnc train installs its handler when training starts, after the
# "training on" line, so the signal waits for that line.)
ctrl_c() {
    _nnc=$1 _tag=$2 _p=$out/ctrlc$3
    rm -f "$_p.nnw"
    $_nnc train examples/spiral.nn --data "$out/spiral.csv" --epochs 100000 --save "$_p.nnw" >"$_p.out" 2>"$_p.err" &
    _pid=$!
    _i=0
    while ! grep -q '^training on' "$_p.out" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    sleep 0.5
    kill -INT $_pid 2>/dev/null
    _i=0
    while kill -0 $_pid 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    kill -0 $_pid 2>/dev/null && kill -KILL $_pid
    wait $_pid
    _st=$?
    printf 'load examples/spiral.nn\nload %s\n' "$_p.nnw" >"$_p.repl"
    if [ "$_st" = 130 ] && grep -q '^nnc: stopped by Ctrl-C in epoch [0-9]*$' "$_p.err" &&
        grep -q '^epoch [0-9]*/100000 .*(stopped)$' "$_p.out" && grep -q "^saved the weights to $_p.nnw$" "$_p.out" &&
        ! grep -q 'acc.*(stopped)$' "$_p.out" && ! grep -q '^final ' "$_p.out" &&
        $_nnc repl <"$_p.repl" >"$_p.load" 2>&1 && grep -q "^loaded 1251 weights from $_p.nnw$" "$_p.load"; then
        ok "${_tag}ctrl-c: SIGINT stops nnc train: exit 130, the message, no evaluation after, a loadable --save file"
    else
        fail "${_tag}ctrl-c: SIGINT stops nnc train: exit 130, the message, a loadable --save file" "exit $_st" \
            "$(tail -n 5 "$_p.out")" "$(cat "$_p.err" "$_p.load" 2>/dev/null)"
    fi
}
ctrl_c "$NNC" "" ""

# The REPL: Ctrl-C stops `train` at the next batch; the session goes on
# with the weights as they are (and the stop is no failure: exit 0).
repl_ctrl_c() {
    _nnc=$1 _tag=$2 _p=$out/repl_ctrlc$3
    rm -f "$_p.in"
    mkfifo "$_p.in"
    $_nnc repl --echo <"$_p.in" >"$_p.out" 2>&1 &
    _pid=$!
    exec 4>"$_p.in"
    # (In subshells: should nnc be gone, SIGPIPE ends them, not this script.)
    (printf 'load examples/spiral.nn\ndata %s\ntrain 100000\n' "$out/spiral.csv" >&4) 2>/dev/null
    _i=0
    while ! grep -q '^epoch 1/100000 ' "$_p.out" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    sleep 0.3
    kill -INT $_pid 2>/dev/null
    (printf 'eval\nquit\n' >&4) 2>/dev/null
    exec 4>&-
    _i=0
    while kill -0 $_pid 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
    kill -0 $_pid 2>/dev/null && kill -KILL $_pid
    wait $_pid
    _st=$?
    if [ "$_st" = 0 ] && grep -q '^epoch [0-9]*/100000 .*(stopped)$' "$_p.out" && ! grep -q 'acc.*(stopped)$' "$_p.out" &&
        grep -q '^stopped in epoch [0-9]*; the weights are kept$' "$_p.out" &&
        grep -q '^training (300 samples): loss [0-9.e-]*, accuracy [0-9.]*%$' "$_p.out" &&
        [ "$(tail -n 1 "$_p.out")" = "nnc> quit" ]; then
        ok "${_tag}ctrl-c: SIGINT stops the REPL's train; the session goes on (eval, quit), exit 0"
    else
        fail "${_tag}ctrl-c: SIGINT stops the REPL's train; the session goes on (eval, quit), exit 0" "exit $_st" \
            "$(tail -n 8 "$_p.out")"
    fi
}
repl_ctrl_c "$NNC" "" ""

# ---- 9: data through pipes; images of another shape ----
NNC=$NNC sh tests/jit/stream.sh
NNC=$NNC sh tests/jit/recurrent.sh
NNC=$NNC sh tests/jit/gan.sh
NNC=$NNC sh tests/jit/plan.sh
NNC=$NNC sh tests/jit/cache.sh
NNC=$NNC sh tests/jit/tier.sh
NNC=$NNC sh tests/jit/subnormals.sh
case $NNC in */asan/*) ;; *) NNC=$NNC sh tests/jit/ab_step.sh ;; esac

# ---- the built programs ----
wait

# ---- 1: the JIT runs exactly the emitted code ----
# (nnw_cmp must also see the damaged file of check 6 as different.)
if built "emitted: nnw_cmp" "$out/nnw_cmp" "$out/log/nnw_cmp.log" &&
    "$out/nnw_cmp" "$out/tcc4096.nnw" "$out/cc1.nnw" 1e-4 >"$out/nnw_cmp.out" 2>&1 &&
    ! "$out/nnw_cmp" "$out/xor.nnw" "$out/bad.nnw" 0 >/dev/null 2>&1; then
    ok "backends: spiral weights of tcc (unroll 4096) and cc (unroll 224) within 1e-4 ($(cat "$out/nnw_cmp.out"))"
else
    fail "backends: spiral weights of tcc (unroll 4096) and cc (unroll 224) within 1e-4" "$(cat "$out/nnw_cmp.out")"
fi

# same_as_jit NAME EXACT DRIVER JIT EXE_ARGS...: the driver's epoch lines and
# weights against nnc train's (JIT.out and JIT.nnw): EXACT=exact, the same
# epoch lines (rates aside) and the same bytes; EXACT=close, losses and
# parameters within 1e-4.
same_as_jit() {
    _n=$1 _exact=$2 _drv=$3 _jit=$4; shift 4
    built "$_n" "$out/$_drv" "$out/log/$_drv.log" || return
    _d=$out/$_drv.train
    if ! "$out/$_drv" train "$@" "$_d.nnw" >"$_d.out" 2>"$_d.err"; then
        fail "$_n" "$_drv failed:" "$(cat "$_d.err")"
        return
    fi
    _w=$("$out/nnw_cmp" "$_d.nnw" "$_jit.nnw" 1e-4 2>&1)
    _ws=$?
    _e=$(epochs "$_d.out")
    if [ "$_exact" = exact ] && [ -n "$_e" ] && [ "$_e" = "$(epochs "$_jit.out")" ] && cmp -s "$_d.nnw" "$_jit.nnw"; then
        ok "$_n"
    elif [ "$_exact" = close ] && [ "$_ws" = 0 ] && close_losses "$_d.out" "$_jit.out" "$(echo "$_e" | wc -l)"; then
        ok "$_n ($_w)"
    else
        fail "$_n" "epoch lines (rt_driver | nnc train):" "$(epochs "$_d.out" | paste -d'|' - "$_jit.out")" \
            "weights: $_w"
    fi
}
same_as_jit "emitted: spiral, gcc -O2 + libnncrt = nnc train --jit=tcc --unroll 4096 (bit-identical)" exact \
    drv_spiral_u4096 "$out/tcc4096" "$out/spiral.csv" 20 softmax cross_entropy
same_as_jit "emitted: xor, gcc -O2 + libnncrt = nnc train (tcc, default unroll) (bit-identical)" exact \
    drv_xor_u4096 "$out/xor" examples/xor.csv 2000 sigmoid mse
same_as_jit "emitted: spiral, gcc -O2 + libnncrt ~ nnc train --jit=cc --unroll 224 (within 1e-4)" close \
    drv_spiral_u224 "$out/cc1" "$out/spiral.csv" 20 softmax cross_entropy

# ---- 5: inference-only emission ----
# infer NAME C_FILE NET DRIVER WEIGHTS SAMPLES: C_FILE compiles with the
# three compilers under $STRICT; each program prints exactly what the
# training code (DRIVER) with the weights loaded prints (%.6g and %a), and
# its %.6g columns are what the REPL's predict prints.  The inference code,
# the driver and the REPL all use --unroll 224 (the default of -o and of
# `emit`; the REPL's tcc JIT defaults to 4096): the loop form of a layer sums
# in 8 partial sums, the unrolled form in order, so the last bits differ.
# same_outputs A B: the hex floats after "|" on each line of A and B agree to
# float rounding (relative 1e-5, or 1e-30 absolute), line for line.  The
# inference-only code sums a dense layer's products in 16 partial sums, the
# batched training code in order, so the last bits may differ.
same_outputs() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
def rows(p):
    return [[float.fromhex(v) for v in line.split("|")[1].split()] for line in open(p) if "|" in line]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
ok = len(a) == len(b) > 0 and all(len(x) == len(y) and all(abs(u - v) <= 1e-5 * max(abs(u), abs(v)) + 1e-30
                                                          for u, v in zip(x, y)) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
PY
}
infer() {
    _n=$1 _c=$2 _net=$3 _drv=$4 _w=$5 _samples=$6
    _h=${_c%.c}.h
    # shellcheck disable=SC2086
    "$out/$_drv" predict "$_w" $_samples >"$out/$_n.drv" 2>&1
    # The REPL: every sample through predict.
    { echo "load examples/$_net.nn"; echo "set unroll 224"; echo "load $_w"
      echo "$_samples" | tr ',' '\n' | sed 's/^ *\(.*[^ ]\) *$/predict \1/'; } >"$out/$_n.repl"
    $NNC repl --echo <"$out/$_n.repl" 2>&1 | awk '/^nnc> predict/ { getline; sub(/   \(class [0-9]+\)$/, ""); print }' \
        >"$out/$_n.repl.out"
    for _cc in gcc clang tcc; do
        _exe=$out/$_n.$_cc
        # shellcheck disable=SC2086
        if ! _o=$($_cc $STRICT -c "$_c" -o "$_exe.o" 2>&1); then
            fail "inference: $_n compiles with $_cc $STRICT" "$_o"
            continue
        fi
        ok "inference: $_n compiles with $_cc $STRICT"
        # shellcheck disable=SC2086
        if ! _o=$($_cc $STRICT -DNET=$_net -include "$_h" -o "$_exe" tests/jit/infer_main.c "$_exe.o" -lm 2>&1) ||
            ! "$_exe" $_samples >"$_exe.out" 2>&1; then
            fail "inference: $_n with $_cc gives the training code's outputs" "$_o" "$(cat "$_exe.out" 2>/dev/null)"
        elif [ -s "$_exe.out" ] && same_outputs "$_exe.out" "$out/$_n.drv" &&
            [ "$(sed 's/ |.*//' "$out/$_n.drv")" = "$(cat "$out/$_n.repl.out")" ]; then
            ok "inference: $_n with $_cc gives the training code's outputs (to float rounding), and the REPL's predict exactly"
        else
            fail "inference: $_n with $_cc gives the training code's outputs (to float rounding), and the REPL's predict exactly" \
                "inference only:" "$(cat "$_exe.out")" "training code, weights loaded:" "$(cat "$out/$_n.drv")" \
                "REPL predict:" "$(cat "$out/$_n.repl.out")"
        fi
    done
}
xs="0 0 , 0 1 , 1 0 , 1 1 , 0.5 0.5 , -1 2 , 3.25 -0.125"
ss="0 0 , 0.5 0.5 , -0.3 0.7 , 0.9 -0.2 , 0.1 -0.8 , 2 2"
if built "inference: rt_driver for xor" "$out/drv_xor_u4096" "$out/log/drv_xor_u4096.log"; then
    infer repl_xor_infer "$out/session/xor_infer.c" xor drv_xor_u4096 "$out/session/xor.nnw" "$xs"
    mkdir -p "$out/cli"
    check "inference: nnc --weights (xor)" $NNC examples/xor.nn --weights "$out/session/xor.nnw" -o "$out/cli/xor_infer.c"
    if cmp "$out/session/xor_infer.c" "$out/cli/xor_infer.c" >"$out/cli/cmp" 2>&1 &&
        cmp "$out/session/xor_infer.h" "$out/cli/xor_infer.h" >>"$out/cli/cmp" 2>&1; then
        ok "inference: the REPL's 'emit xor_infer.c inference' writes what nnc --weights writes"
    else
        fail "inference: the REPL's 'emit xor_infer.c inference' writes what nnc --weights writes" "$(cat "$out/cli/cmp")"
    fi
    infer cli_xor_infer "$out/cli/xor_infer.c" xor drv_xor_u4096 "$out/session/xor.nnw" "$xs"
fi
if built "inference: rt_driver for spiral" "$out/drv_spiral_u224" "$out/log/drv_spiral_u224.log"; then
    check "inference: nnc --weights (spiral)" $NNC examples/spiral.nn --weights "$out/tcc4096.nnw" \
        -o "$out/cli_spiral_infer.c"
    infer cli_spiral_infer "$out/cli_spiral_infer.c" spiral drv_spiral_u224 "$out/tcc4096.nnw" "$ss"
fi

# ---- under the sanitizers ----
if [ "$NNC" = "$ASAN_NNC" ] || [ "$NNC" = "./$ASAN_NNC" ]; then
    exit 0   # all of the above ran under them
fi
if [ ! -x "$ASAN_NNC" ]; then
    fail "asan: $ASAN_NNC" "$ASAN_NNC is missing: run 'make build/asan/nnc'"
    exit 0
fi
st=$(run_status "$out/asan_xor.out" "$out/asan_xor.err" $ASAN_NNC train examples/xor.nn --data examples/xor.csv \
     --save "$out/asan_xor.nnw")
if [ "$st" = 0 ] && [ ! -s "$out/asan_xor.err" ] && [ "$(epochs "$out/asan_xor.out")" = "$(epochs "$out/xor.out")" ] &&
    cmp -s "$out/asan_xor.nnw" "$out/xor.nnw"; then
    ok "asan: nnc train xor (the same lines and weights as ./nnc)"
else
    fail "asan: nnc train xor (the same lines and weights as ./nnc)" "exit $st" \
        "$(cat "$out/asan_xor.out" "$out/asan_xor.err")"
fi
st=0
sh tests/jit/session.sh "$ASAN_NNC" "$out/asan_session" || st=$?
if [ "$st" = 1 ] && d=$(diff -u tests/jit/xor_session.expected "$out/asan_session/transcript"); then
    ok "asan: the xor REPL session's transcript, exit 1"
else
    fail "asan: the xor REPL session's transcript, exit 1" "exit $st" "${d:-}"
fi
ctrl_c "$ASAN_NNC" "asan: " _asan
repl_ctrl_c "$ASAN_NNC" "asan: " _asan
