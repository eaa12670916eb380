#!/bin/sh
# Usage errors: exit status 2, a message naming the problem, nothing written.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/usage
mkdir -p "$out"
usage() {   # usage NAME EXPECTED-MESSAGE-PART ARGS...
    name=$1 want=$2; shift 2
    $NNC "$@" >"$out/stdout" 2>"$out/stderr"
    status=$?
    if [ $status -ne 2 ]; then
        fail "usage $name" "exit status $status, expected 2" "$(cat "$out/stderr")"
    elif ! grep -qF -- "$want" "$out/stderr"; then
        fail "usage $name" "expected '$want' in:" "$(cat "$out/stderr")"
    else
        ok "usage $name"
    fi
}
usage no-args "no input file"
usage unknown-option "unknown option '--frobnicate'" --frobnicate examples/xor.nn
usage no-output "give -o OUT.c" examples/xor.nn
usage o-without-name "option '-o' needs a file name" examples/xor.nn -o
usage o-not-c "must end in .c" examples/xor.nn -o "$out/xor.txt"
usage two-inputs "only one input file" examples/xor.nn examples/xor.nn -o "$out/x.c"
usage bad-emit "unknown --emit kind 'asm'" --emit=asm examples/xor.nn
usage bad-unroll "--unroll needs a whole number" --unroll=-3 examples/xor.nn -o "$out/x.c"
usage unroll-junk "--unroll needs a whole number" --unroll 12abc examples/xor.nn -o "$out/x.c"
usage emit-and-o "give one of them" --emit=ir -o "$out/x.c" examples/xor.nn
# --keep-activations is for float inference-only C (checked before any file is read)
usage keep-without-weights "--keep-activations is for inference-only C: it goes with --weights" \
    --keep-activations examples/xor.nn -o "$out/x.c"
usage keep-with-int8 "--keep-activations is for float inference C, not --quantize=int8" \
    --keep-activations --quantize=int8 --weights "$out/none.nnw" --calibrate "$out/none.csv" examples/xor.nn -o "$out/x.c"
[ -e "$out/x.c" ] && fail "usage wrote nothing" "$out/x.c exists" || ok "usage wrote nothing"

# nnc cache takes clear or nothing.
usage cache-action "nnc cache: unknown action 'frob'; expected 'clear'" cache frob
usage cache-option "nnc cache: unknown option '--frob'" cache --frob
usage cache-clear-twice "nnc cache: 'clear' is given twice" cache clear clear
usage cache-clear-then-action "nnc cache: unknown action 'all'" cache clear all

# nnc train's --jit names one of three backends.
usage train-jit "unknown JIT backend 'fast'; expected auto, tcc or cc" train examples/xor.nn --jit=fast
usage train-jit-empty "unknown JIT backend ''; expected auto, tcc or cc" train examples/xor.nn --jit=

# A misspelt command is named, with the one meant; a missing file that looks
# like one (repl.nn) is not taken for it.
usage command-typo "unknown command 'trian' (did you mean 'nnc train'?)" trian examples/xor.nn --data examples/xor.csv
usage command-typo-generate "did you mean 'nnc generate'?" genrate
file_error_early() { $NNC "$@" >"$out/stdout" 2>"$out/stderr"; echo $?; }
st=$(file_error_early repl.nn -o "$out/x.c")
if [ "$st" = 1 ] && grep -qF "cannot open 'repl.nn'" "$out/stderr"; then ok "usage a missing repl.nn is a missing file"
else fail "usage a missing repl.nn is a missing file" "exit $st" "$(cat "$out/stderr")"; fi

# --help and --version succeed and print to stdout.
check "help" sh -c "$NNC --help | grep -q 'usage: nnc'"
check "help names nnc cache" sh -c "$NNC --help | grep -q 'nnc cache \[clear\]'"
check "cache help" sh -c "$NNC cache --help | grep -q '^usage: nnc cache '"
check "version" sh -c "$NNC --version | grep -q '^nnc [0-9]'"

# Errors about files are located or name the file, with exit status 1.
file_error() {   # file_error NAME EXPECTED ARGS...
    name=$1 want=$2; shift 2
    $NNC "$@" >"$out/stdout" 2>"$out/stderr"
    status=$?
    if [ $status -eq 1 ] && grep -qF -- "$want" "$out/stderr"; then ok "file $name"
    else fail "file $name" "exit status $status, expected 1 and '$want' in:" "$(cat "$out/stderr")"; fi
}
file_error missing "cannot open 'no/such.nn'" no/such.nn -o "$out/x.c"
file_error directory "is a directory" tests -o "$out/x.c"
printf 'network a {\n  input 2\000\n}\n' > "$out/nul.nn"
file_error binary "nul.nn:2:10: error: file contains a NUL byte" "$out/nul.nn" -o "$out/x.c"
# (one line: a binary file's line is not quoted, nor an empty one in its place)
check "file binary: the message alone" sh -c "[ \"\$($NNC $out/nul.nn -o $out/x.c 2>&1 | wc -l)\" = 1 ]"
file_error unwritable "cannot create 'no/such/dir/x.c'" examples/xor.nn -o no/such/dir/x.c

# An existing output is left untouched when compilation fails.
echo "keep me" > "$out/keep.c"; echo "keep me" > "$out/keep.h"
$NNC tests/errors/missing_loss.nn -o "$out/keep.c" 2>/dev/null
if [ "$(cat "$out/keep.c" "$out/keep.h")" = "keep me
keep me" ] && [ -z "$(ls "$out" | grep tmp)" ]; then ok "failed compile keeps old output"
else fail "failed compile keeps old output" "$(ls -la "$out")"; fi

# nnc train: an IDX file whose labels cannot be found by MNIST's naming, and
# --target input on a network with fewer outputs than inputs.
printf '\000\000\010\003\000\000\000\001\000\000\000\001\000\000\000\002\377\000' > "$out/pixels.idx"
file_error train-labels-not-found "pixels.idx: cannot tell where its labels are" \
    train examples/xor.nn --data "$out/pixels.idx" --epochs 1
file_error train-target-input-shape "--target input needs a network with as many outputs as inputs" \
    train examples/xor.nn --data "$out/pixels.idx" --target input --epochs 1
file_error train-confusion-one-output "--confusion needs an output per class (two or more); network 'xor' has one output" \
    train examples/xor.nn --data examples/xor.csv --confusion
# ...and on a classifier of 3 classes, a 3x3 matrix whose counts add up to the 600 samples
$NNC train examples/spiral.nn --data examples/spiral.csv --epochs 1 --confusion >"$out/cm.out" 2>&1
if [ "$(grep -A4 '^confusion matrix' "$out/cm.out" | awk 'NR > 2 { s += $2 + $3 + $4 } END { print s }')" = 600 ]; then
    ok "file train-confusion-matrix"
else
    fail "file train-confusion-matrix" "$(cat "$out/cm.out")"
fi
# --label-col and --header said where they cannot apply, not ignored
file_error train-label-col-targets "xor.csv:2: --label-col 5 is for rows of inputs and one class label; these rows hold the network's 2 inputs and its 1 target value" \
    train examples/xor.nn --data examples/xor.csv --label-col 5
file_error train-label-col-idx "pixels.idx: an IDX file: --label-col is for CSV files" \
    train examples/xor.nn --data "$out/pixels.idx" --label-col 0
file_error train-header-idx "pixels.idx: an IDX file: --header is for CSV files" \
    train examples/xor.nn --data "$out/pixels.idx" --header yes
# a binary file given as data: neither CSV nor IDX, said at its first NUL byte
printf '1,2,3\n4,\000,5\n' >"$out/binary.csv"
file_error train-binary-data "binary.csv:2:3: a NUL byte: this is no CSV text (a binary file?), nor an IDX file" \
    train examples/xor.nn --data "$out/binary.csv"
file_error train-labels-with-csv "xor.csv: a CSV file, whose rows hold their labels: a labels file (no/such/labels) is for IDX images" \
    train examples/xor.nn --data examples/xor.csv --labels no/such/labels
