#!/bin/sh
# Subnormal numbers while training: `nnc train` flushes them to zero (x86's
# FTZ and DAZ, runtime/train.c); NNC_KEEP_SUBNORMALS=1 keeps them.  Run from
# the repository root after `make nnc`; writes under build/test/jit/subnormals/.
#
# The data: 3,000 rows whose first three inputs are 0 but in one row, so the
# momentum of their weights, after that row's step, decays by 0.9 a step
# into the subnormal range and stays there (batch 1, SGD with momentum 0.9,
# three epochs).
#   weights      the saved weights are the same bits either way
#   state        the checkpoints differ (the flush took effect), and every
#                byte that differs, the checksum aside, is 0 in the flushed
#                run's: its momenta are 0 where the other run's are subnormal
#   steady       two flushed runs write the same checkpoint
# shellcheck disable=SC2086
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/subnormals
rm -rf "$out"
mkdir -p "$out"
awk 'BEGIN { srand(7)
    for (i = 0; i < 3000; i++) {
        a = rand(); b = rand(); c = rand(); d = rand(); e = rand()
        printf "%s,%.4f,%.4f,%.4f,%.4f,%.4f,%d\n", (i == 0 ? "0.5,0.5,0.5" : "0,0,0"), a, b, c, d, e, (a + b > 1)
    } }' >"$out/d.csv"
cat >"$out/n.nn" <<'NN'
network sub {
    input 8
    dense 16 relu
    dense 2 softmax
    loss cross_entropy
    optimizer sgd lr=0.01 momentum=0.9
    batch 1
    epochs 3
    seed 3
}
NN
# run TAG [ENV...]: trains, saving TAG.nnw and TAG.nnck
run() {
    _t=$1; shift
    env "$@" $NNC train "$out/n.nn" --data "$out/d.csv" --save "$out/$_t.nnw" --checkpoint "$out/$_t.nnck" \
        >"$out/$_t.log" 2>&1 || { echo "$_t: exit $? $(tail -n 3 "$out/$_t.log")"; return 1; }
}
if { run flush && run flush2 && run keep NNC_KEEP_SUBNORMALS=1; } >"$out/runs.err"; then
    if cmp -s "$out/flush.nnw" "$out/keep.nnw"; then
        ok "subnormals: flushed or kept, the trained weights are the same bits"
    else
        fail "subnormals: flushed or kept, the trained weights are the same bits" "$(cmp "$out/flush.nnw" "$out/keep.nnw")"
    fi
    size=$(wc -c <"$out/flush.nnck")
    # cmp -l: 1-based position, then the two bytes in octal
    cmp -l "$out/flush.nnck" "$out/keep.nnck" >"$out/diff" 2>&1
    n=$(awk -v s="$size" '$1 <= s - 4' "$out/diff" | wc -l)
    bad=$(awk -v s="$size" '$1 <= s - 4 && $2 != 0' "$out/diff" | wc -l)
    if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
        ok "subnormals: the flushed run's momenta are 0 where the kept run's are subnormal ($n bytes)"
    else
        fail "subnormals: the flushed run's momenta are 0 where the kept run's are subnormal" \
            "$n bytes differ before the checksum, $bad of them not 0 in the flushed run's checkpoint" "$(head -5 "$out/diff")"
    fi
    check "subnormals: two flushed runs write the same checkpoint" cmp "$out/flush.nnck" "$out/flush2.nnck"
else
    fail "subnormals: the training runs" "$(cat "$out/runs.err")"
fi
