#!/bin/sh
# Data that is not a regular file, and images of another shape; run by
# tests/jit/run.sh, or alone from the repository root after `make nnc`:
#   sh tests/jit/stream.sh        (NNC=build/asan/nnc for the sanitizer build)
# Writes under build/test/jit/stream/.  About 5 s on 2 cores.
#
#   pipes    every loader opens its file once and parses from the stream it
#            looked at, so `cat FILE | nnc train ... --data /dev/stdin`
#            trains on every row: a CSV of 200,000 rows (past every buffer),
#            examples/xor.csv, a gzip'ed CSV, Fashion-MNIST's t10k images
#            (gzip, and plain through a FIFO with the labels through another)
#            and --target input; the sample count nnc reports is the row
#            count.  What cannot work from a pipe is refused, never half
#            read: IDX images from a pipe without --labels (no name to find
#            them by), --data and --test both /dev/stdin.
#   repl     `data FIFO` loads all of it; `data /dev/stdin` (the session's
#            own commands) is refused with a message, the session goes on.
#   shapes   28x28 images into `input 1x14x56` (same size, another shape):
#            a warning naming both shapes, at the network's input, from
#            nnc train and the REPL; `input 1x28x28` and `input 784`: none.
# `cat FILE | nnc ...` is no useless cat: it makes /dev/stdin a pipe, where
# `<FILE` would make it the regular file.  ($NNC is unquoted, as in run.sh.)
# shellcheck disable=SC2002,SC2086
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/stream
FM=${NNC_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
IM=$FM/t10k-images-idx3-ubyte.gz
LB=$FM/t10k-labels-idx1-ubyte.gz
rm -rf "$out"
mkdir -p "$out"

# run_status OUT ERR CMD...: runs CMD with its output in OUT and ERR; prints its status.
run_status() {
    _o=$1 _e=$2; shift 2
    "$@" >"$_o" 2>"$_e"
    echo $?
}
# trained_on NAME WANT STATUS FILE: nnc train exited 0 and said "training on WANT samples".
trained_on() {
    _got=$(sed -n 's/^training on \([0-9]*\) samples.*/\1/p' "$4.out")
    if [ "$3" = 0 ] && [ "$_got" = "$2" ] && [ ! -s "$4.err" ]; then
        ok "$1: trained on all $2 samples"
    else
        fail "$1: trained on all $2 samples" "exit $3, trained on '${_got}'" "$(cat "$4.out" "$4.err")"
    fi
}
# A FIFO that nnc opens a second time blocks it (its writer is gone): the
# commands reading FIFOs run under a time limit, to fail rather than hang.
guard="timeout ${STREAM_TIMEOUT:-60}"
# writer FIFO FILE: writes FILE into FIFO in the background (its pid in $wpid).
writer() { cat "$2" >"$1" & wpid=$!; }
# reap: ends the writer if nnc never opened its FIFO (a failure), then waits.
reap() { kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; }

# ---- pipes: CSV ----
# 200,000 rows of XOR (a, b, a xor b), no header: about 1.2 MB, more than
# zlib's read buffer (128 KiB) and a pipe's (64 KiB).
awk 'BEGIN { for (i = 0; i < 200000; i++) { a = i % 2; b = int(i / 2) % 2; printf "%d,%d,%d\n", a, b, (a + b) % 2 } }' \
    >"$out/big.csv"
rows=$(wc -l <"$out/big.csv")
st=$(cat "$out/big.csv" | run_status "$out/big.out" "$out/big.err" $NNC train examples/xor.nn --data /dev/stdin \
     --epochs 1)
trained_on "pipes: a CSV of $rows rows through cat | --data /dev/stdin" "$rows" "$st" "$out/big"
st=$(cat examples/xor.csv | run_status "$out/xor.out" "$out/xor.err" $NNC train examples/xor.nn --data /dev/stdin)
trained_on "pipes: examples/xor.csv through cat | --data /dev/stdin" 4 "$st" "$out/xor"
if [ "$(tail -n 1 "$out/xor.out")" = "final training accuracy: 100.00%" ]; then
    ok "pipes: examples/xor.csv from a pipe trains as from the file (100%)"
else
    fail "pipes: examples/xor.csv from a pipe trains as from the file (100%)" "$(tail -n 3 "$out/xor.out")"
fi
gzip -c "$out/big.csv" >"$out/big.csv.gz"
st=$(cat "$out/big.csv.gz" | run_status "$out/bigz.out" "$out/bigz.err" $NNC train examples/xor.nn \
     --data /dev/stdin --epochs 1)
trained_on "pipes: the gzip'ed CSV through cat | --data /dev/stdin" "$rows" "$st" "$out/bigz"
rm -f "$out/csv.fifo"
mkfifo "$out/csv.fifo"
writer "$out/csv.fifo" "$out/big.csv.gz"
st=$(run_status "$out/fifo.out" "$out/fifo.err" $guard $NNC train examples/xor.nn --data "$out/csv.fifo" --epochs 1)
reap
trained_on "pipes: the gzip'ed CSV through a FIFO" "$rows" "$st" "$out/fifo"

# ---- pipes: IDX images ----
if [ ! -f "$IM" ] || [ ! -f "$LB" ]; then
    fail "pipes: IDX images (not run: $IM is missing; Debian package dataset-fashion-mnist)"
    have_fm=no
else
    have_fm=yes
fi
if [ $have_fm = yes ]; then
    st=$(cat "$IM" | run_status "$out/idx.out" "$out/idx.err" $NNC train examples/fashion_mlp.nn --data /dev/stdin \
         --labels "$LB" --limit 300 --epochs 1)
    trained_on "pipes: gzip'ed IDX images through cat | --data /dev/stdin --labels FILE --limit 300" 300 "$st" \
        "$out/idx"
    # Uncompressed, images and labels each through a FIFO; all 10,000 loaded
    # (no --limit: that would hide a short read), trained 1 epoch of a tiny net.
    printf 'network tiny {\n    input 784\n    dense 10 softmax\n    loss cross_entropy\n    batch 50\n}\n' \
        >"$out/tiny.nn"
    gzip -dc "$IM" >"$out/im.raw"
    gzip -dc "$LB" >"$out/lb.raw"
    rm -f "$out/im.fifo" "$out/lb.fifo"
    mkfifo "$out/im.fifo" "$out/lb.fifo"
    writer "$out/im.fifo" "$out/im.raw"
    w1=$wpid
    writer "$out/lb.fifo" "$out/lb.raw"
    st=$(run_status "$out/idxf.out" "$out/idxf.err" $guard $NNC train "$out/tiny.nn" --data "$out/im.fifo" \
         --labels "$out/lb.fifo" --epochs 1)
    reap
    wpid=$w1
    reap
    trained_on "pipes: plain IDX images and labels through two FIFOs" 10000 "$st" "$out/idxf"
    st=$(cat "$IM" | run_status "$out/ae.out" "$out/ae.err" $NNC train examples/autoencoder.nn --target input \
         --data /dev/stdin --limit 200 --epochs 1)
    trained_on "pipes: --target input, gzip'ed IDX images through cat | --data /dev/stdin" 200 "$st" "$out/ae"
    # No --labels: a pipe has no name to find them by.
    st=$(cat "$IM" | run_status "$out/nolb.out" "$out/nolb.err" $NNC train examples/fashion_mlp.nn --data /dev/stdin \
         --epochs 1)
    want="nnc: error: /dev/stdin: cannot tell where its labels are (IDX images from a pipe have no file name to find them by); give them with --labels"
    if [ "$st" = 1 ] && [ "$(cat "$out/nolb.err")" = "$want" ] && ! grep -q '^training on' "$out/nolb.out"; then
        ok "pipes: IDX images from a pipe without --labels are refused: give them with --labels"
    else
        fail "pipes: IDX images from a pipe without --labels are refused: give them with --labels" "exit $st" \
            "$(cat "$out/nolb.out" "$out/nolb.err")"
    fi
fi
st=$(cat "$out/big.csv" | run_status "$out/autocsv.out" "$out/autocsv.err" $NNC train examples/xor.nn \
     --target input --data /dev/stdin)
if [ "$st" = 1 ] && grep -q 'needs a network with as many outputs as inputs' "$out/autocsv.err"; then
    ok "pipes: --target input checks the network before reading the pipe"
else
    fail "pipes: --target input checks the network before reading the pipe" "exit $st" "$(cat "$out/autocsv.err")"
fi
printf 'network same {\n    input 2\n    dense 2 sigmoid\n    loss mse\n}\n' >"$out/same.nn"
printf '0,0,0,0\n1,1,1,1\n' >"$out/same.csv"
st=$(cat "$out/same.csv" | run_status "$out/tcsv.out" "$out/tcsv.err" $NNC train "$out/same.nn" --target input \
     --data /dev/stdin)
if [ "$st" = 1 ] && grep -q '^nnc: error: /dev/stdin: --target input reads IDX image files' "$out/tcsv.err"; then
    ok "pipes: --target input refuses a CSV from a pipe (looked at once)"
else
    fail "pipes: --target input refuses a CSV from a pipe (looked at once)" "exit $st" "$(cat "$out/tcsv.err")"
fi
st=$(cat examples/xor.csv | run_status "$out/twice.out" "$out/twice.err" $NNC train examples/xor.nn \
     --data /dev/stdin --test /dev/stdin)
if [ "$st" = 2 ] && grep -q "^nnc train: --data /dev/stdin and --test /dev/stdin are the same pipe, which can be read only once" \
    "$out/twice.err" && [ ! -s "$out/twice.out" ]; then
    ok "pipes: --data and --test both /dev/stdin: a usage error (exit 2)"
else
    fail "pipes: --data and --test both /dev/stdin: a usage error (exit 2)" "exit $st" \
        "$(cat "$out/twice.out" "$out/twice.err")"
fi

# ---- the REPL ----
# Its commands come from standard input, so the data comes through a FIFO.
rm -f "$out/repl.fifo"
mkfifo "$out/repl.fifo"
writer "$out/repl.fifo" "$out/big.csv"
printf 'load examples/xor.nn\ndata %s\ndata /dev/stdin\neval\n' "$out/repl.fifo" >"$out/fifo.repl"
st=$(run_status "$out/repl.out" "$out/repl.err" $guard $NNC repl --echo <"$out/fifo.repl")
reap
if [ "$st" = 1 ] && grep -qx "$out/repl.fifo: $rows samples with class labels" "$out/repl.out" &&
    [ "$(cat "$out/repl.err")" = "error: /dev/stdin: the session's commands are read from there; give the data as a file, or as a FIFO (mkfifo) that another program writes" ] &&
    grep -q "^training ($rows samples): loss" "$out/repl.out"; then
    ok "repl: data FIFO loads all $rows rows; data /dev/stdin is refused, the session goes on"
else
    fail "repl: data FIFO loads all $rows rows; data /dev/stdin is refused, the session goes on" "exit $st" \
        "$(cat "$out/repl.out" "$out/repl.err")"
fi

# ---- shapes: images of the input's size, not its shape ----
if [ $have_fm = yes ]; then
    for shape in 1x14x56 1x28x28 784; do
        printf 'network s {\n    input %s\n    dense 10 softmax\n    loss cross_entropy\n    batch 50\n}\n' \
            "$shape" >"$out/s$shape.nn"
        st=$(run_status "$out/s$shape.out" "$out/s$shape.err" $NNC train "$out/s$shape.nn" --data "$IM" \
             --limit 200 --epochs 1)
        case $shape in
        1x14x56)
            want="$out/s$shape.nn:2:5: warning: $IM: the images are 28x28, the network's input is 1x14x56 (same size, different shape)"
            if [ "$st" = 0 ] && [ "$(head -n 1 "$out/s$shape.err")" = "$want" ] &&
                [ "$(sed -n 2p "$out/s$shape.err")" = "    2 |     input 1x14x56" ] &&
                [ "$(wc -l <"$out/s$shape.err")" -eq 3 ] && grep -q '^training on 200 samples' "$out/s$shape.out"; then
                ok "shapes: 28x28 images into input 1x14x56: a warning naming both shapes, at the input; trains"
            else
                fail "shapes: 28x28 images into input 1x14x56: a warning naming both shapes, at the input; trains" \
                    "exit $st" "$(cat "$out/s$shape.out" "$out/s$shape.err")"
            fi ;;
        *)
            if [ "$st" = 0 ] && [ ! -s "$out/s$shape.err" ] && grep -q '^training on 200 samples' "$out/s$shape.out"; then
                ok "shapes: 28x28 images into input $shape: no warning"
            else
                fail "shapes: 28x28 images into input $shape: no warning" "exit $st" \
                    "$(cat "$out/s$shape.out" "$out/s$shape.err")"
            fi ;;
        esac
    done
    # The REPL: when the data is loaded, and when a network of another shape
    # takes over the data already loaded; none for 1x28x28 and 784.
    printf 'load %s\ndata %s\nload %s\nload %s\nload %s\n' "$out/s1x14x56.nn" "$IM" "$out/s1x28x28.nn" \
        "$out/s784.nn" "$out/s1x14x56.nn" >"$out/shapes.repl"
    st=$(run_status "$out/shapes.out" "$out/shapes.err" $NNC repl <"$out/shapes.repl")
    want="$out/s1x14x56.nn:2:5: warning: $IM: the images are 28x28, the network's input is 1x14x56 (same size, different shape)"
    if [ "$st" = 0 ] && [ "$(grep -c 'warning' "$out/shapes.err")" -eq 2 ] &&
        [ "$(grep -cxF "$want" "$out/shapes.err")" -eq 2 ] && [ "$(grep -c '^network s: ' "$out/shapes.out")" -eq 4 ]; then
        ok "shapes: the REPL warns for data of another shape (loaded, and kept for a new network)"
    else
        fail "shapes: the REPL warns for data of another shape (loaded, and kept for a new network)" "exit $st" \
            "$(cat "$out/shapes.out" "$out/shapes.err")"
    fi
fi
