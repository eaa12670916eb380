#!/bin/sh
# The tiered JIT, `nnc train --jit=auto`: training starts on libtcc's build
# while a child process makes the optimized one (cc, into the cache), and
# the network moves to it between two batches.  Run from the repository
# root after `make nnc`; writes under build/test/jit/tier/ (its own cache,
# XDG_CACHE_HOME=build/test/jit/tier/cache).  About 12 s on 2 cores.
#
#   switch     NNC_TIER_TEST_AT=7 (tests only) makes the switch happen after
#              exactly 7 batches, waiting for the build: the run says so,
#              and its weights are those of a run on libtcc alone and of a
#              run on cc alone to within 1e-4 (the two compilers round
#              differently: cc contracts multiply-adds); a lost or repeated
#              batch would be far outside that: a libtcc run on one sample
#              fewer is, which shows the comparison can fail
#   cached     a second run finds the build in the cache and runs it from
#              the first batch: the same bits as --jit=cc
#   failed     with a compiler that fails (CC=false) the run goes on on
#              libtcc, a one-line note says so, exit 0, the same bits as
#              --jit=tcc
#   no wait    a run that ends before the compiler does (a compiler that
#              sleeps first) does not wait for it: it ends in well under
#              the sleep, and leaves no temporary file and no process
#   killed     a build killed (its compiler kills the process that runs it)
#              or without a compiler (CC names none) also leaves training on
#              libtcc with one note each, exit 0, the bits of --jit=tcc
#   ctrl-c     Ctrl-C while the compiler still works stops the run as it
#              does without a tier (exit 130, the message, the weights
#              saved), and stops the build: no process or file left
#   wait       a network whose one batch would take libtcc's code seconds
#              (by the estimate from its multiply-adds) waits for the
#              optimized build instead, with a note: --jit=cc's bits; the
#              REPL's `load` of it waits alike (the first `show` says cc runs)
#   default    without --jit and without NNC_JIT the run is tiered (auto);
#              NNC_JIT=tcc or cc picks that backend, --jit wins over it, and
#              another value of NNC_JIT is an error (exit 2) for nnc train
#              and nnc repl
#   gan        a gan block moves to cc after batch 5 as a network does: both
#              networks' weights are libtcc's and cc's to 1e-4 (a run on one
#              batch fewer is not: the comparison can fail)
#   repl       the REPL's `train` moves to cc after batch 7: the bits of
#              nnc train's switch after batch 7 (same seed, same order), and
#              `show` then says cc runs; between commands the session takes
#              the build once it is ready (a `show` some seconds later)
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/tier
rm -rf "$out"
mkdir -p "$out/cache" "$out/bin"
XDG_CACHE_HOME=$PWD/$out/cache
export XDG_CACHE_HOME
unset NNC_TIER_TEST_AT

if ! command -v cc >/dev/null; then
    fail "tier: cc" "no cc on PATH: the optimized build needs one (scripts/setup.sh test installs gcc)"
    exit 0
fi
awk 'BEGIN { s = 12345; print "x,y,class"
  for (c = 0; c < 3; c++) for (i = 0; i < 100; i++) {
    s = (s * 16807) % 2147483647; r = i / 100; a = 4 * c + 4 * r + 0.2 * (s / 2147483647 - 0.5)
    printf "%.6f,%.6f,%d\n", r * sin(a), r * cos(a), c } }' >"$out/spiral.csv"
if ! cc -std=c99 -O2 -Wall -Wextra -Werror -o "$out/nnw_cmp" tests/jit/nnw_cmp.c -lm 2>"$out/nnw_cmp.log"; then
    fail "tier: nnw_cmp" "$(cat "$out/nnw_cmp.log")"
    exit 0
fi
sp="examples/spiral.nn --data $out/spiral.csv --epochs 20 --unroll 224"

# ---- switch ----
$NNC train $sp --jit=tcc --save "$out/tcc.nnw" >"$out/tcc.out" 2>&1
$NNC train $sp --jit=tcc --limit 299 --save "$out/tcc299.nnw" >"$out/tcc299.out" 2>&1
$NNC train $sp --jit=cc --save "$out/cc.nnw" >"$out/cc.out" 2>&1
rm -rf "$out/cache/nnc"   # the auto run builds its own
NNC_TIER_TEST_AT=7 $NNC train $sp --jit=auto --save "$out/auto.nnw" >"$out/auto.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q '^optimized code (cc) took over after 112 samples of the epoch' "$out/auto.out" &&
    "$out/nnw_cmp" "$out/auto.nnw" "$out/tcc.nnw" 1e-4 >"$out/cmp_tcc.out" 2>&1 &&
    "$out/nnw_cmp" "$out/auto.nnw" "$out/cc.nnw" 1e-4 >"$out/cmp_cc.out" 2>&1; then
    ok "switch: after batch 7 (112 samples) the run moves to cc; its weights are libtcc's and cc's to 1e-4"
else
    fail "switch: after batch 7 (112 samples) the run moves to cc; its weights are libtcc's and cc's to 1e-4" \
        "exit status $st" "$(cat "$out/auto.out")" "$(cat "$out/cmp_tcc.out" "$out/cmp_cc.out" 2>/dev/null)"
fi
if "$out/nnw_cmp" "$out/tcc299.nnw" "$out/tcc.nnw" 1e-4 >"$out/cmp_299.out" 2>&1; then
    fail "switch: the comparison sees one sample fewer" "$(cat "$out/cmp_299.out")"
else
    ok "switch: the comparison sees one sample fewer ($(head -1 "$out/cmp_299.out"))"
fi

# ---- cached ----
$NNC train $sp --jit=auto --save "$out/auto2.nnw" >"$out/auto2.out" 2>&1
st=$?
if [ $st -eq 0 ] && head -1 "$out/auto2.out" | grep -q 'compiled by cc (built before, from the cache)' &&
    ! grep -q 'took over' "$out/auto2.out" && cmp -s "$out/auto2.nnw" "$out/cc.nnw"; then
    ok "cached: the build in the cache runs from the first batch, the bits of --jit=cc"
else
    fail "cached: the build in the cache runs from the first batch, the bits of --jit=cc" \
        "exit status $st" "$(cat "$out/auto2.out")"
fi

# ---- failed ----
rm -rf "$out/cache/nnc"
CC=false $NNC train $sp --jit=auto --save "$out/fail.nnw" >"$out/fail.out" 2>"$out/fail.err"
st=$?
if [ $st -eq 0 ] && [ "$(grep -c 'note: the optimized build' "$out/fail.err")" = 1 ] &&
    grep -q "'false' failed; --jit=cc shows its messages); training stays on libtcc" "$out/fail.err" &&
    cmp -s "$out/fail.nnw" "$out/tcc.nnw"; then
    ok "failed: a compiler that fails leaves training on libtcc with one note, exit 0, the bits of --jit=tcc"
else
    fail "failed: a compiler that fails leaves training on libtcc with one note, exit 0, the bits of --jit=tcc" \
        "exit status $st" "$(cat "$out/fail.out" "$out/fail.err")"
fi

# ---- no wait ----
rm -rf "$out/cache/nnc"
cat >"$out/bin/slowcc" <<'EOF'
#!/bin/sh
echo $$ >>"$SLOWCC_PIDS"
sleep 8
exec cc "$@"
EOF
chmod +x "$out/bin/slowcc"
: >"$out/slowcc.pids"
t0=$(date +%s)
SLOWCC_PIDS=$PWD/$out/slowcc.pids CC=$PWD/$out/bin/slowcc $NNC train examples/spiral.nn --data "$out/spiral.csv" \
    --epochs 2 --jit=auto >"$out/nowait.out" 2>&1
st=$?
t1=$(date +%s)
sleep 0.2
left=
for p in $(cat "$out/slowcc.pids"); do   # (a killed compiler may stay a zombie until init reaps it)
    case $(ps -o stat= -p "$p" 2>/dev/null) in ''|Z*) ;; *) left="$left $p" ;; esac
done
tmps=$(ls "$out/cache/nnc" 2>/dev/null | grep '\.tmp\.' || true)
if [ $st -eq 0 ] && [ $((t1 - t0)) -lt 5 ] && [ -s "$out/slowcc.pids" ] && [ -z "$left" ] && [ -z "$tmps" ]; then
    ok "no wait: a run that ends first stops the build ($((t1 - t0)) s, the compiler sleeps 8), no process or file left"
else
    fail "no wait: a run that ends first stops the build, no process or file left" \
        "exit status $st, $((t1 - t0)) s; compiler pids: $(cat "$out/slowcc.pids"); still running:$left;" \
        "temporary files: $tmps" "$(cat "$out/nowait.out")"
    for p in $left; do kill "$p" 2>/dev/null; done
fi

# ---- killed ----
rm -rf "$out/cache/nnc"
cat >"$out/bin/killcc" <<'EOF'
#!/bin/sh
kill -KILL $PPID
sleep 5
EOF
chmod +x "$out/bin/killcc"
CC=$PWD/$out/bin/killcc $NNC train $sp --jit=auto --save "$out/killed.nnw" >"$out/killed.out" 2>"$out/killed.err"
st1=$?
CC=$PWD/$out/no/such/cc $NNC train $sp --jit=auto --save "$out/nocc.nnw" >"$out/nocc.out" 2>"$out/nocc.err"
st2=$?
if [ $st1 -eq 0 ] && [ "$(grep -c 'note: the optimized build' "$out/killed.err")" = 1 ] &&
    grep -q '(it was killed (signal 9)); training stays on libtcc' "$out/killed.err" &&
    cmp -s "$out/killed.nnw" "$out/tcc.nnw" &&
    [ $st2 -eq 0 ] && [ "$(grep -c 'note: the optimized build' "$out/nocc.err")" = 1 ] &&
    grep -q "no/such/cc' failed; --jit=cc shows its messages); training stays on libtcc" "$out/nocc.err" &&
    cmp -s "$out/nocc.nnw" "$out/tcc.nnw"; then
    ok "killed: a killed build, and no compiler, leave training on libtcc with one note each, exit 0, --jit=tcc's bits"
else
    fail "killed: a killed build, and no compiler, leave training on libtcc with one note each, exit 0, --jit=tcc's bits" \
        "exit statuses $st1 $st2" "$(cat "$out/killed.err" "$out/nocc.err")"
fi

# ---- ctrl-c ----
rm -rf "$out/cache/nnc"
: >"$out/slowcc.pids"
SLOWCC_PIDS=$PWD/$out/slowcc.pids CC=$PWD/$out/bin/slowcc $NNC train examples/spiral.nn --data "$out/spiral.csv" \
    --epochs 100000 --jit=auto --save "$out/ctrlc.nnw" >"$out/ctrlc.out" 2>"$out/ctrlc.err" &
pid=$!
i=0
while ! [ -s "$out/slowcc.pids" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done   # (training is under way)
sleep 0.3
kill -INT $pid 2>/dev/null
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $pid 2>/dev/null && kill -KILL $pid
wait $pid
st=$?
sleep 0.2
left=
for p in $(cat "$out/slowcc.pids"); do
    case $(ps -o stat= -p "$p" 2>/dev/null) in ''|Z*) ;; *) left="$left $p" ;; esac
done
tmps=$(ls "$out/cache/nnc" 2>/dev/null | grep '\.tmp\.' || true)
if [ "$st" = 130 ] && grep -q '^nnc: stopped by Ctrl-C in epoch [0-9]*$' "$out/ctrlc.err" &&
    grep -q "^saved the weights to $out/ctrlc.nnw$" "$out/ctrlc.out" && [ -z "$left" ] && [ -z "$tmps" ]; then
    ok "ctrl-c: SIGINT during the build stops the run as without a tier (exit 130, weights saved) and the build"
else
    fail "ctrl-c: SIGINT during the build stops the run as without a tier (exit 130, weights saved) and the build" \
        "exit status $st; still running:$left; temporary files: $tmps" "$(tail -3 "$out/ctrlc.out")" \
        "$(cat "$out/ctrlc.err")"
    for p in $left; do kill "$p" 2>/dev/null; done
fi

# ---- wait ----
rm -rf "$out/cache/nnc"
printf 'network wide {\n    input 784\n    dense 4096 relu\n    dense 4096 relu\n    dense 10 softmax\n    loss cross_entropy\n    batch 256\n}\n' \
    >"$out/wide.nn"
# (the data: 256 rows of 784 inputs and a class)
awk 'BEGIN { s = 7; for (i = 0; i < 256; i++) { line = ""
    for (j = 0; j < 784; j++) { s = (s * 16807) % 2147483647; line = line sprintf("%.3f,", s / 2147483647) }
    print line (i % 10) } }' >"$out/wide.csv"
$NNC train "$out/wide.nn" --data "$out/wide.csv" --header no --epochs 1 --jit=cc --save "$out/wide_cc.nnw" \
    >"$out/wide_cc.out" 2>&1
rm -rf "$out/cache/nnc"
$NNC train "$out/wide.nn" --data "$out/wide.csv" --header no --epochs 1 --jit=auto --save "$out/wide_auto.nnw" \
    >"$out/wide_auto.out" 2>"$out/wide_auto.err"
st=$?
if [ $st -eq 0 ] && grep -q "note: one batch of 'wide' on libtcc's code would take about [0-9]* s: waiting for the optimized build" \
    "$out/wide_auto.err" && head -1 "$out/wide_auto.out" | grep -q 'compiled by cc (waited for) in' &&
    cmp -s "$out/wide_auto.nnw" "$out/wide_cc.nnw"; then
    ok "wait: a network whose libtcc batch would take seconds waits for cc's build, with a note: --jit=cc's bits"
else
    fail "wait: a network whose libtcc batch would take seconds waits for cc's build, with a note: --jit=cc's bits" \
        "exit status $st" "$(cat "$out/wide_auto.out" "$out/wide_auto.err")"
fi
rm -rf "$out/cache/nnc"
printf 'load %s\nshow\n' "$out/wide.nn" | NNC_JIT=auto $NNC repl >"$out/wide_repl.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "note: one batch of 'wide' on libtcc's code would take about [0-9]* s: waiting for the optimized build" \
    "$out/wide_repl.out" && grep -q '(compiled by cc)' "$out/wide_repl.out" &&
    grep -q 'backend auto, running cc;' "$out/wide_repl.out"; then
    ok "wait: the REPL's load of that network waits for cc's build too, with the note; show says cc runs"
else
    fail "wait: the REPL's load of that network waits for cc's build too, with the note; show says cc runs" \
        "exit status $st" "$(cat "$out/wide_repl.out")"
fi

# ---- default ----
rm -rf "$out/cache/nnc"
env -u NNC_JIT $NNC train $sp >"$out/default.out" 2>&1
st1=$?
NNC_JIT=tcc $NNC train $sp >"$out/env_tcc.out" 2>&1
st2=$?
NNC_JIT=auto $NNC train $sp --jit=tcc >"$out/flag_tcc.out" 2>&1
st3=$?
NNC_JIT=bogus $NNC train $sp >"$out/bogus.out" 2>&1
st4=$?
echo quit | NNC_JIT=bogus $NNC repl >"$out/bogus_repl.out" 2>&1
st5=$?
msg="the environment variable NNC_JIT is 'bogus'; expected auto, tcc or cc"
if [ $st1 -eq 0 ] && head -1 "$out/default.out" | grep -q 'compiled by libtcc in .* ms; the optimized build (cc) under way$' &&
    [ $st2 -eq 0 ] && head -1 "$out/env_tcc.out" | grep -q 'compiled by libtcc in [0-9.]* ms$' &&
    [ $st3 -eq 0 ] && head -1 "$out/flag_tcc.out" | grep -q 'compiled by libtcc in [0-9.]* ms$' &&
    [ $st4 -eq 2 ] && grep -q "$msg" "$out/bogus.out" && [ $st5 -eq 2 ] && grep -q "$msg" "$out/bogus_repl.out"; then
    ok "default: auto without --jit or NNC_JIT; NNC_JIT=tcc picks libtcc, --jit=tcc wins over NNC_JIT=auto, NNC_JIT=bogus exits 2"
else
    fail "default: auto without --jit or NNC_JIT; NNC_JIT=tcc picks libtcc, --jit=tcc wins over NNC_JIT=auto, NNC_JIT=bogus exits 2" \
        "exit statuses $st1 $st2 $st3 $st4 $st5" "$(head -1 "$out/default.out" "$out/env_tcc.out" "$out/flag_tcc.out")" \
        "$(cat "$out/bogus.out" "$out/bogus_repl.out")"
fi

# ---- gan ----
TRAIN=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ -f "$TRAIN" ]; then
    cp tests/jit/tiny_gan.nn "$out/g.nn"
    g="$out/g.nn --data $TRAIN --epochs 2 --unroll 224"
    $NNC train $g --limit 256 --jit=tcc --save "$out/g_tcc.nnw" >"$out/g_tcc.out" 2>&1
    $NNC train $g --limit 240 --jit=tcc --save "$out/g_less.nnw" >"$out/g_less.out" 2>&1
    $NNC train $g --limit 256 --jit=cc --save "$out/g_cc.nnw" >"$out/g_cc.out" 2>&1
    rm -rf "$out/cache/nnc"
    NNC_TIER_TEST_AT=5 $NNC train $g --limit 256 --jit=auto --save "$out/g_auto.nnw" >"$out/g_auto.out" 2>&1
    st=$?
    : >"$out/g_cmp.out"
    same=1
    for n in gen disc; do
        "$out/nnw_cmp" "$out/g_auto.$n.nnw" "$out/g_tcc.$n.nnw" 1e-4 >>"$out/g_cmp.out" 2>&1 || same=0
        "$out/nnw_cmp" "$out/g_auto.$n.nnw" "$out/g_cc.$n.nnw" 1e-4 >>"$out/g_cmp.out" 2>&1 || same=0
    done
    less=0
    "$out/nnw_cmp" "$out/g_less.gen.nnw" "$out/g_tcc.gen.nnw" 1e-4 >>"$out/g_cmp.out" 2>&1 || less=1
    if [ $st -eq 0 ] && [ $same = 1 ] && [ $less = 1 ] &&
        grep -q '^optimized code (cc) took over after 80 samples of the epoch' "$out/g_auto.out"; then
        ok "gan: after batch 5 (80 samples) the gan moves to cc; both networks are libtcc's and cc's to 1e-4 (one batch fewer is not)"
    else
        fail "gan: after batch 5 (80 samples) the gan moves to cc; both networks are libtcc's and cc's to 1e-4 (one batch fewer is not)" \
            "exit status $st" "$(cat "$out/g_auto.out" "$out/g_cmp.out")"
    fi
else
    fail "gan: Fashion-MNIST" "$TRAIN is missing (scripts/setup.sh installs dataset-fashion-mnist)"
fi

# ---- repl ----
rm -rf "$out/cache/nnc"
printf 'load examples/spiral.nn\nset unroll 224\ndata %s\ntrain 20\nshow\nsave %s\n' "$out/spiral.csv" \
    "$out/repl.nnw" | NNC_JIT=auto NNC_TIER_TEST_AT=7 $NNC repl >"$out/repl.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q '^optimized code (cc) took over after 112 samples of the epoch' "$out/repl.out" &&
    grep -q 'backend auto, running cc;' "$out/repl.out" && cmp -s "$out/repl.nnw" "$out/auto.nnw"; then
    ok "repl: train moves to cc after batch 7: the bits of nnc train's switch there; show says cc runs"
else
    fail "repl: train moves to cc after batch 7: the bits of nnc train's switch there; show says cc runs" \
        "exit status $st" "$(grep -v '^  \|^layer\|^network spiral {' "$out/repl.out")"
fi
rm -rf "$out/cache/nnc"
(
    echo 'load examples/spiral.nn'
    i=0
    while [ $i -lt 60 ] && ! grep -q 'running cc;' "$out/repl_wait.out" 2>/dev/null; do   # up to 30 s for the build
        sleep 0.5
        echo show
        i=$((i + 1))
    done
) | NNC_JIT=auto $NNC repl >"$out/repl_wait.out" 2>&1
st=$?
if [ $st -eq 0 ] && head -1 "$out/repl_wait.out" | grep -q '(compiled by libtcc); the optimized build (cc) under way$' &&
    grep -q 'backend auto, running cc;' "$out/repl_wait.out"; then
    ok "repl: between commands the session takes the optimized build once it is ready ($(grep -c 'running libtcc' "$out/repl_wait.out") shows before)"
else
    fail "repl: between commands the session takes the optimized build once it is ready" \
        "exit status $st" "$(grep 'network spiral:\|lr now' "$out/repl_wait.out")"
fi
