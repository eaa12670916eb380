#!/bin/sh
# tests/torch/schedules/run.sh — NAME_schedule's learning rates against
# torch.optim.lr_scheduler.  Run from the repo root:
#   sh tests/torch/schedules/run.sh
#
# Every tests/torch/schedules/NAME.nn is one network NAME (each kind of
# schedule, with and without a warm-up, a warm-up as long as the run or
# longer, none at all):
#   1. nnc NAME.nn -o build/test/torch_schedules/NAME/NAME.c, compiled with
#      driver.c (strict flags), whose run prints NAME_schedule's rate for
#      every epoch of a run of 20 epochs and of one of 7 (NAME/lr.txt);
#   2. reference.py check gives the rates of torch's schedulers (LinearLR,
#      SequentialLR, StepLR, ExponentialLR, CosineAnnealingLR) for the same
#      runs and judges each check.
# Checks per network: build; api (NAME_init's lr, a negative epoch, no
# dependence on net->lr); run20 and run7 (every rate to 1e-6 relative);
# and once "schedules mutants caught": deliberately wrong references
# (reference.py's MUTANTS) must each FAIL somewhere.
# Torch runs under Debian's /usr/bin/python3 (override: TORCH_PYTHON).
. tests/lib.sh
PY=${TORCH_PYTHON:-/usr/bin/python3}
CC=${CC:-cc}
src=tests/torch/schedules
out=${NNC_TEST_DIR:-build/test}/torch_schedules
rm -rf "$out"
mkdir -p "$out"
names=
for nn in "$src"/*.nn; do
    names="$names $(basename "$nn" .nn)"
done

# 1. build and run every network's driver
run=
for name in $names; do
    d=$out/$name
    mkdir -p "$d"
    # shellcheck disable=SC2086  # the flags are meant to split
    if $NNC "$src/$name.nn" -o "$d/$name.c" >"$d/build.log" 2>&1 &&
        $CC $STRICT -O2 -DNET="$name" -include "$d/$name.h" -I"$d" -o "$d/driver" "$src/driver.c" "$d/$name.c" \
            -lm >>"$d/build.log" 2>&1; then
        : > "$d/built"
        if "$d/driver" >"$d/lr.txt" 2>"$d/driver.log"; then
            run="$run $name"
        else
            : > "$d/driver.failed"
        fi
    fi
done

# 2. the torch side, and the mutants
# shellcheck disable=SC2086
check_log=$out/check.log
$PY "$src/reference.py" check "$out" $run >"$check_log" 2>&1
torch_err=
[ -f "$out/torch.missing" ] && torch_err=$(tail -n 1 "$out/torch.missing")

for name in $names; do
    d=$out/$name
    if [ -f "$d/built" ]; then
        ok "schedule $name build"
    else
        failr "schedule $name build" "nnc or the C compiler failed" "$(cat "$d/build.log")"
    fi
    for c in api run20 run7; do
        judge "schedule $name $c" "$d/$c.result" "$d"
    done
done
judge "schedules mutants caught" "$out/mutants.result"
exit 0
