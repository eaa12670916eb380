#!/bin/sh
# tests/torch/run.sh — nnc's training against PyTorch.  Run from the repo root.
#
# For every tests/torch/NAME.nn, in each code variant (the default, all loops
# with --unroll 0, and for the widest network everything unrolled):
#   1. nnc NAME.nn -o build/test/torch/NAME/VARIANT/NAME.c, compiled with
#      tests/torch/driver.c into that directory's `driver`;
#   2. reference.py gen writes the deterministic batches (NAME/batches.bin);
#   3. the driver trains on them and records params, outputs, grads, losses;
#   4. reference.py check redoes it all in torch (models written by hand in
#      reference.py) and judges each check.
# Checks per unit (NAME, NAME/loops, ...):
#   build     nnc and the C compiler succeed (strict flags)
#   api       header sizes, the .nn's lr, backward keeps params, bad n refused
#   forward   NAME_forward of the first batch vs the torch model
#   grads     NAME_backward's mean loss and gradient on the first batch
#   losses    NAME_train_step's loss at every step vs torch.optim
#   params    the parameters after the last step
# and once: "torch mutants caught": the same comparisons with deliberately
# wrong conventions in the reference must each FAIL (tolerances not too loose).
# Torch runs under Debian's /usr/bin/python3 (override: TORCH_PYTHON).
. tests/lib.sh
PY=${TORCH_PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
src=tests/torch
out=${NNC_TEST_DIR:-build/test}/torch
rm -rf "$out"
mkdir -p "$out"

variants() {
    case $1 in
    wide_40_30_10) echo "default loops unrolled" ;;
    *) echo "default loops" ;;
    esac
}
nnc_flags() {
    case $1 in
    loops) echo "--unroll 0" ;;
    unrolled) echo "--unroll 100000" ;;
    esac
}
label() { if [ "$2" = default ]; then echo "$1"; else echo "$1/$2"; fi; }

names=
for nn in "$src"/*.nn; do
    names="$names $(basename "$nn" .nn)"
done

# 1. build every unit (two at a time: the suite has two cores)
build_unit() {   # NAME VARIANT
    d=$out/$1/$2
    mkdir -p "$d"
    # shellcheck disable=SC2046,SC2086  # the flags are meant to split
    if $NNC $(nnc_flags "$2") "$src/$1.nn" -o "$d/$1.c" >"$d/build.log" 2>&1 &&
        $CC $STRICT -O2 -DNET="$1" -include "$d/$1.h" -I"$d" -o "$d/driver" \
            "$src/driver.c" "$d/$1.c" -lm >>"$d/build.log" 2>&1; then
        : > "$d/built"
    fi
}
units=
jobs=0
for name in $names; do
    for v in $(variants "$name"); do
        units="$units $name/$v"
        build_unit "$name" "$v" &
        jobs=$((jobs + 1))
        [ $((jobs % 2)) -eq 0 ] && wait
    done
done
wait

# 2. the batches (numpy only)
# shellcheck disable=SC2086
$PY "$src/reference.py" gen "$out" $names >"$out/gen.log" 2>&1

# 3. the training runs
for unit in $units; do
    d=$out/$unit
    [ -f "$d/built" ] || continue
    "$d/driver" "$out/${unit%/*}/batches.bin" "$d" >"$d/driver.log" 2>&1 || : > "$d/driver.failed"
done

# 4. the torch side
if torch_err=$($PY -c 'import torch, numpy' 2>&1); then
    have_torch=1
    # shellcheck disable=SC2086
    $PY "$src/reference.py" check "$out" $units >"$out/check.log" 2>&1
else
    have_torch=0
    torch_err=$(printf '%s\n' "$torch_err" | tail -n 1)
fi

for unit in $units; do
    d=$out/$unit
    name=${unit%/*}
    l=$(label "$name" "${unit#*/}")
    if [ -f "$d/built" ]; then
        ok "torch $l build"
    else
        fail "torch $l build" "$(cat "$d/build.log")"
    fi
    for c in api forward grads losses params; do
        if [ $have_torch = 0 ]; then
            fail "torch $l $c" "$PY cannot import torch and numpy (Debian: apt-get install python3-torch):" "$torch_err"
        elif [ ! -f "$d/built" ]; then
            fail "torch $l $c" "not run: the build failed"
        elif [ -f "$d/driver.failed" ]; then
            fail "torch $l $c" "the driver failed:" "$(cat "$d/driver.log")" "$(cat "$out/gen.log")"
        elif [ -f "$d/$c.result" ]; then
            if [ "$(head -n 1 "$d/$c.result")" = ok ]; then
                ok "torch $l $c"
            else
                fail "torch $l $c" "$(tail -n +2 "$d/$c.result")"
            fi
        else
            fail "torch $l $c" "reference.py wrote no result:" "$(tail -n 20 "$out/check.log")"
        fi
    done
done

# 5. sensitivity: wrong conventions in the reference must be caught
if [ $have_torch = 0 ]; then
    fail "torch mutants caught" "$PY cannot import torch and numpy:" "$torch_err"
else
    mut_units=
    for name in $names; do
        [ -f "$out/$name/default/built" ] && [ ! -f "$out/$name/default/driver.failed" ] &&
            mut_units="$mut_units $name/default"
    done
    # shellcheck disable=SC2086
    $PY "$src/reference.py" mutants "$out" $mut_units >"$out/mutants.log" 2>&1
    if [ ! -f "$out/mutants.result" ]; then
        fail "torch mutants caught" "reference.py wrote no result:" "$(tail -n 20 "$out/mutants.log")"
    elif [ "$(head -n 1 "$out/mutants.result")" = ok ]; then
        ok "torch mutants caught"
    else
        fail "torch mutants caught" "$(tail -n +2 "$out/mutants.result")"
    fi
fi

# The composing API (NAME_forward_train, NAME_backward_from), loss bce and
# gan blocks' steps, against autograd: tests/torch/compose/.
sh tests/torch/compose/run.sh

# NAME_schedule's learning rates against torch.optim.lr_scheduler:
# tests/torch/schedules/.
sh tests/torch/schedules/run.sh
