#!/bin/sh
# tests/torch/compose/run.sh — nnc's composing API, `loss bce` and gan blocks
# against PyTorch.  Run from the repo root: sh tests/torch/compose/run.sh
#
# Every tests/torch/compose/NAME.nn is a unit; each is built in two code
# variants (the default, and all loops with --unroll 0):
#   1. reference.py gen writes the deterministic inputs (NAME/cases.bin or
#      NAME/runs.bin);
#   2. nnc NAME.nn -o build/test/torch_compose/NAME/VARIANT/NAME.c, compiled
#      (strict flags) with driver.c (a network) or gan_driver.c (a gan),
#      whose run records outputs, gradients, dx, parameters;
#   3. reference.py check redoes it all in torch autograd / torch.optim
#      (float64, from nnc's initial parameters) and judges each check.
# Checks of a network (NAME, NAME/loops):
#   build          nnc and the C compiler succeed
#   api            sizes; bad n or dy NULL refused, changing nothing;
#                  backward_from keeps the parameters
#   forward_train  the outputs y vs the torch model
#   backward_from  every parameter's gradient and dx for a random dy (also
#                  with dx NULL), after forward_train of a decoy and then x,
#                  with grad[] spoiled beforehand; full and partial batches
#   bce_loss       (loss bce) NAME_backward's loss and gradient vs nn.BCELoss
#   bce_saturated  (loss bce) the same for logits |z| > 30 (one near -100):
#                  finite, and as nn.BCEWithLogitsLoss
# Checks of a gan:
#   build, api     as above (GAN_step_z and GAN_step refuse n = 0, BATCH+1)
#   step1, step3   GAN_step_z's losses and both networks' parameters after 1
#                  and after 3 steps vs the DCGAN tutorial's step in torch
#   partial        a run with steps of n < BATCH
#   generate       GAN_generate after the run vs the torch generator
# and once "compose mutants caught": the same comparisons against
# deliberately wrong references (reference.py's MUTANTS) must each FAIL.
# Torch runs under Debian's /usr/bin/python3 (override: TORCH_PYTHON).
. tests/lib.sh
PY=${TORCH_PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
src=tests/torch/compose
out=${NNC_TEST_DIR:-build/test}/torch_compose
rm -rf "$out"
mkdir -p "$out"

# A gan unit's file holds `gan NAME { generator G; discriminator D ... }`.
gan_of() { sed -n 's/^gan \([A-Za-z_0-9]*\).*/\1/p' "$1" | head -n 1; }
gan_member() { sed -n "s/^ *$2 \\([A-Za-z_0-9]*\\).*/\\1/p" "$1" | head -n 1; }
nnc_flags() { [ "$1" = loops ] && echo "--unroll 0"; }
label() { if [ "$2" = default ]; then echo "$1"; else echo "$1/$2"; fi; }

names=
for nn in "$src"/*.nn; do
    names="$names $(basename "$nn" .nn)"
done

# 1. the inputs (numpy only)
# shellcheck disable=SC2086
$PY "$src/reference.py" gen "$out" $names >"$out/gen.log" 2>&1

# 2. build every unit and run its driver, $JOBS workers taking every
#    JOBS-th unit (the suite has two cores)
build_unit() {   # NAME VARIANT
    d=$out/$1/$2
    f=$src/$1.nn
    mkdir -p "$d"
    gan=$(gan_of "$f")
    if [ -n "$gan" ]; then
        defs="-DGAN=$gan -DGEN=$(gan_member "$f" generator) -DDISC=$(gan_member "$f" discriminator)"
        drv=$src/gan_driver.c
        in=$out/$1/runs.bin
    else
        defs="-DNET=$1"
        grep -q '^ *loss none' "$f" || defs="$defs -DHAS_LOSS"
        drv=$src/driver.c
        in=$out/$1/cases.bin
    fi
    # shellcheck disable=SC2046,SC2086  # the flags are meant to split
    if $NNC $(nnc_flags "$2") "$f" -o "$d/$1.c" >"$d/build.log" 2>&1 &&
        $CC $STRICT -O2 $defs -include "$d/$1.h" -I"$d" -o "$d/driver" "$drv" "$d/$1.c" -lm \
            >>"$d/build.log" 2>&1; then
        : > "$d/built"
        if ! "$d/driver" "$in" "$d" >"$d/driver.log" 2>&1; then
            cat "$out/gen.log" >>"$d/driver.log"   # the inputs' side, if that is where it broke
            : > "$d/driver.failed"
        fi
    fi
}
units=
for name in $names; do
    units="$units $name/default $name/loops"
done
JOBS=${JOBS:-2}
w=0
while [ "$w" -lt "$JOBS" ]; do
    (
        i=0
        for unit in $units; do
            [ $((i % JOBS)) -eq "$w" ] && build_unit "${unit%/*}" "${unit#*/}"
            i=$((i + 1))
        done
    ) &
    w=$((w + 1))
done
wait

# 3. the torch side, and the mutants (reference.py writes torch.missing
#    when it cannot import torch)
run_units=
for unit in $units; do
    [ -f "$out/$unit/built" ] && [ ! -f "$out/$unit/driver.failed" ] && run_units="$run_units $unit"
done
# shellcheck disable=SC2086
check_log=$out/check.log
$PY "$src/reference.py" check "$out" $run_units >"$check_log" 2>&1
torch_err=
[ -f "$out/torch.missing" ] && torch_err=$(tail -n 1 "$out/torch.missing")

checks_of() {
    if [ -n "$(gan_of "$src/$1.nn")" ]; then
        echo "api step1 step3 partial generate"
    elif grep -q '^ *loss bce' "$src/$1.nn"; then
        echo "api forward_train backward_from bce_loss bce_saturated"
    else
        echo "api forward_train backward_from"
    fi
}
for unit in $units; do
    d=$out/$unit
    name=${unit%/*}
    l=$(label "$name" "${unit#*/}")
    if [ -f "$d/built" ]; then
        ok "compose $l build"
    else
        failr "compose $l build" "nnc or the C compiler failed" "$(cat "$d/build.log")"
    fi
    for c in $(checks_of "$name"); do
        judge "compose $l $c" "$d/$c.result" "$d"
    done
done
judge "compose mutants caught" "$out/mutants.result"
exit 0
