#!/bin/sh
# Robustness checks of ./nnc (docs/robustness.md), one "ok NAME" / "FAIL NAME"
# line each:
#   kill during save   `nnc train --save W.nnw` killed (SIGKILL) at random
#                      moments, and right when its temporary file appears
#                      (during the save): W.nnw is always the previous file or
#                      a complete new one, and always loads
#   full disk          `ulimit -f` below the file's size: a clear error, exit
#                      1, the previous file intact, no temporary file left
#                      (for --save, and for `nnc -o`)
#   divergence         a linear regression with lr 10: exit 1, a message
#                      naming the epoch and the batch, --save not overwritten
#   limits             hostile inputs (a huge network, too many layers, a
#                      17 MB .nn file, an IDX header promising 2^21 images, a
#                      weight file claiming 2^62 parameters) are refused
#                      within 20 s and 2 GiB of address space
#   outputs            an output onto an input (the network, the data) or
#                      onto another output is refused before training, the
#                      file unchanged; weights over --load and a checkpoint
#                      over --resume's are allowed; a FIFO stays a FIFO, a
#                      symbolic link a link (its file written);
#                      SIGTERM during nnc -o leaves no temporary file
#   emitted C          tests/golden/*.c under clang --analyze and cppcheck:
#                      no findings
#   sh tests/robust/run.sh             from the repository root
# ROBUST_RUNS=N changes the number of kills (default 40); ROBUST_SEED=S
# repeats a run's kill times (it is printed).
# shellcheck disable=SC2086   # $SPIRAL, $NNC and file lists split on purpose
. tests/lib.sh
T=${NNC_TEST_DIR:-build/test}/robust
rm -rf "$T"
mkdir -p "$T"
runs=${ROBUST_RUNS:-40}
SPIRAL="examples/spiral.nn --data examples/spiral.csv"

loads() {   # loads W.nnw: the weights are read and checked before any C is emitted
    $NNC examples/spiral.nn --weights "$1" --emit=c >/dev/null 2>"$T/load.err"
}
temps() {   # the temporary files a save of $1 left behind
    for f in "$1".tmp.*; do [ -e "$f" ] && echo "$f"; done
}

# ---- kill during save ----
W=$T/W.nnw
if ! $NNC train $SPIRAL --epochs 1 --save "$W" >/dev/null 2>"$T/first.err" || ! loads "$W"; then
    fail "robust kill during save" "cannot make the first weight file:" "$(cat "$T/first.err" "$T/load.err")"
else
    # How long a whole run takes here, so the kills spread over all of it.
    t0=$(date +%s%N)
    $NNC train $SPIRAL --epochs 50 --seed 99 --save "$W" >/dev/null 2>&1
    t1=$(date +%s%N)
    full_ms=$(( (t1 - t0) / 1000000 ))
    seed=${ROBUST_SEED:-$(date +%s)}
    delays=$(awk -v n="$runs" -v ms="$full_ms" -v seed="$seed" \
        'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.3f\n", rand() * 1.3 * ms / 1000 }')
    i=0 old=0 new=0 in_save=0 done_runs=0 bad=""
    for d in $delays; do
        i=$((i + 1))
        cp "$W" "$T/prev.nnw"
        # a seed per run, so that a finished run writes other weights
        $NNC train $SPIRAL --epochs 50 --seed "$i" --save "$W" >/dev/null 2>&1 &
        pid=$!
        if [ $((i % 4)) -eq 0 ]; then
            # every 4th run: kill as soon as the temporary file appears
            n=0
            while [ $n -lt 500000 ]; do
                [ -n "$(temps "$W")" ] && break
                kill -0 $pid 2>/dev/null || break
                n=$((n + 1))
            done
        else
            sleep "$d"
        fi
        kill -9 $pid 2>/dev/null
        wait $pid 2>/dev/null
        st=$?
        [ "$st" -eq 0 ] && done_runs=$((done_runs + 1))
        left=$(temps "$W")
        [ -n "$left" ] && in_save=$((in_save + 1))
        rm -f $left
        if [ ! -f "$W" ]; then
            bad="$bad
run $i (kill after ${d}s): $W is gone"
        elif cmp -s "$W" "$T/prev.nnw"; then
            old=$((old + 1))
            loads "$W" || bad="$bad
run $i: the previous file does not load: $(cat "$T/load.err")"
        elif loads "$W"; then
            new=$((new + 1))
        else
            cp "$W" "$T/bad-$i.nnw"
            bad="$bad
run $i (exit $st): $W is neither the previous file nor a complete one: $(cat "$T/load.err") (kept as $T/bad-$i.nnw)"
            cp "$T/prev.nnw" "$W"
        fi
    done
    what="$runs runs of ${full_ms} ms, seed $seed: $((runs - done_runs)) killed ($in_save of them during the save), $done_runs finished; afterwards the previous file $old times, a complete new one $new times"
    if [ -z "$bad" ]; then ok "robust kill during save ($what)"
    else fail "robust kill during save" "$what" "$bad"; fi
fi

# ---- full disk (ulimit -f) ----
# The limit is in 512-byte blocks (dash; bash counts 1024): 2048 bytes, or
# 4096, below a spiral weight file's 5032.
cp "$W" "$T/prev.nnw"
# (sh -c, so the shell that reports a signal's death writes to /dev/null)
sh -c 'ulimit -f 4; "$@" 2>"$0"' "$T/full.err" $NNC train $SPIRAL --epochs 1 --seed 5 --save "$W" >/dev/null 2>&1
st=$?
left=$(temps "$W")
if [ "$st" -eq 1 ] && grep -q "not saved" "$T/full.err" && cmp -s "$W" "$T/prev.nnw" && [ -z "$left" ]; then
    ok "robust full disk: --save ($(grep 'not saved' "$T/full.err" | head -1))"
else
    fail "robust full disk: --save" "exit $st (expected 1 with a 'not saved' error)" "stderr: $(cat "$T/full.err")" \
        "$(cmp -s "$W" "$T/prev.nnw" && echo "the previous file is intact" || echo "THE PREVIOUS FILE CHANGED")" \
        "${left:+temporary file left behind: $left}"
fi
rm -f $left

$NNC examples/xor.nn -o "$T/out.c" 2>"$T/emit.err"
cp "$T/out.c" "$T/prev.c"
cp "$T/out.h" "$T/prev.h"
sh -c 'ulimit -f 2; "$@" 2>"$0"' "$T/full-c.err" $NNC examples/spiral.nn -o "$T/out.c" >/dev/null 2>&1
st=$?
left="$(temps "$T/out.c")$(temps "$T/out.h")"
if [ "$st" -eq 1 ] && grep -q "error" "$T/full-c.err" && cmp -s "$T/out.c" "$T/prev.c" && cmp -s "$T/out.h" "$T/prev.h" \
    && [ -z "$left" ]; then
    ok "robust full disk: -o ($(grep error "$T/full-c.err" | head -1))"
else
    fail "robust full disk: -o" "exit $st (expected 1 with an error)" "stderr: $(cat "$T/full-c.err")" \
        "$(cmp -s "$T/out.c" "$T/prev.c" && cmp -s "$T/out.h" "$T/prev.h" && echo "the previous files are intact" \
           || echo "THE PREVIOUS FILES CHANGED")" "${left:+temporary files left behind: $left}"
fi

# ---- divergence ----
cat >"$T/lin.nn" <<'EOF'
network lin {
    input 1
    dense 1
    loss mse
    optimizer sgd lr=0.01
    batch 4
}
EOF
awk 'BEGIN { print "x,y"; for (i = 0; i < 64; i++) { x = -6 + 12 * i / 63; printf "%.4f,%.4f\n", x, sin(x) } }' \
    >"$T/sine.csv"
L=$T/L.nnw
if ! $NNC train "$T/lin.nn" --data "$T/sine.csv" --epochs 5 --save "$L" >/dev/null 2>"$T/lin.err"; then
    fail "robust divergence" "the stable run failed: $(cat "$T/lin.err")"
else
    cp "$L" "$T/L.prev"
    $NNC train "$T/lin.nn" --data "$T/sine.csv" --epochs 50 --lr 10 --save "$L" >"$T/div.out" 2>"$T/div.err"
    st=$?
    # (the epoch and batch are in the training transcript, stdout, or stderr)
    msg=$(cat "$T/div.out" "$T/div.err" | grep -E 'diverged at epoch [0-9]+, batch [0-9]+' | sed 's/^.*nnc: //')
    if [ "$st" -eq 1 ] && [ -n "$msg" ] && cmp -s "$L" "$T/L.prev" && [ -z "$(temps "$L")" ]; then
        ok "robust divergence ($msg)"
    else
        fail "robust divergence" "exit $st (expected 1), output:" "$(tail -3 "$T/div.out")" "$(cat "$T/div.err")" \
            "$(cmp -s "$L" "$T/L.prev" && echo "--save file intact" || echo "THE --save FILE CHANGED")"
    fi
fi

# ---- non-finite weights are not baked into inference C ----
# A weight file of `lin` (one weight, one bias) holding NaN or infinity, as a
# diverged run could leave: `nnc --weights` and the REPL's `emit ...
# inference` refuse it, naming the parameter (tcc cannot compile NaN as a
# constant initializer).
fp=$($NNC --emit=h "$T/lin.nn" | sed -n 's/^#define lin_FINGERPRINT UINT64_C(\(0x[0-9a-f]*\)).*/\1/p')
for v in nan inf; do
    /usr/bin/python3 -c 'import struct, sys, zlib
fp, v = int(sys.argv[1], 16), float(sys.argv[2])
body = b"NNCW" + struct.pack("<IQQ", 1, fp, 2) + struct.pack("<ff", 0.5, v)
sys.stdout.buffer.write(body + struct.pack("<I", zlib.crc32(body)))' "$fp" "$v" >"$T/$v.nnw"
    want=$([ $v = nan ] && echo "is NaN" || echo "is infinite")
    $NNC "$T/lin.nn" --weights "$T/$v.nnw" -o "$T/$v.c" >/dev/null 2>"$T/$v.err"
    st=$?
    if [ $st -eq 1 ] && grep -q "layer 1's bias \[0\] (parameter 1 of 2) $want" "$T/$v.err" && [ ! -e "$T/$v.c" ]; then
        ok "robust weights: $v is not baked ($(grep -o 'error: .*' "$T/$v.err" | cut -c1-80)...)"
    else
        fail "robust weights: $v is not baked" "exit $st (expected 1, '$want', no $v.c):" "$(cat "$T/$v.err")"
    fi
    printf 'load %s\nload %s\nemit %s inference\n' "$T/lin.nn" "$T/$v.nnw" "$T/repl_$v.c" |
        $NNC repl >"$T/repl_$v.out" 2>&1
    st=$?
    if [ $st -eq 1 ] && grep -q "$want" "$T/repl_$v.out" && [ ! -e "$T/repl_$v.c" ]; then
        ok "robust weights: the REPL does not emit $v weights"
    else
        fail "robust weights: the REPL does not emit $v weights" "exit $st:" "$(cat "$T/repl_$v.out")"
    fi
done

# ---- limits: hostile inputs are refused quickly, in bounded memory ----
# bounded NAME EXPECTED-TEXT COMMAND...: exit 1 within 20 s and 2 GiB, with EXPECTED-TEXT in stderr
bounded() {
    _name=$1 _want=$2
    shift 2
    _t0=$(date +%s%N)
    # shellcheck disable=SC3045   # ulimit -v: dash and bash have it
    (ulimit -v 2097152; exec timeout 20 "$@") >/dev/null 2>"$T/limit.err"
    _st=$?
    _ms=$(( ($(date +%s%N) - _t0) / 1000000 ))
    if [ "$_st" -eq 1 ] && grep -q -- "$_want" "$T/limit.err"; then
        ok "robust limits: $_name ($_ms ms: $(head -1 "$T/limit.err" | cut -c1-110))"
    else
        fail "robust limits: $_name" "exit $_st after $_ms ms (expected 1 with '$_want'); stderr:" \
            "$(head -5 "$T/limit.err")"
    fi
}
printf 'network h {\n    input 1048576\n    dense 1048576\n    dense 1048576\n    loss mse\n}\n' >"$T/huge.nn"
bounded "a network of 2^41 parameters" "error" $NNC --emit=ir "$T/huge.nn"
{ echo "network deep {"; echo "    input 1"; i=0; while [ $i -lt 1100 ]; do echo "    dense 1"; i=$((i + 1)); done
  echo "    loss mse"; echo "}"; } >"$T/deep.nn"
bounded "1100 layers" "error" $NNC --emit=ir "$T/deep.nn"
head -c 17000000 /dev/zero | tr '\0' '#' >"$T/big.nn"
bounded "a 17 MB .nn file" "larger than" $NNC --emit=ir "$T/big.nn"
# The limit is "up to 16 MiB": exactly 16 MiB is read, one byte more is not.
{ printf 'network m {\n    input 1\n    dense 1\n    loss mse\n}\n'; head -c 16777164 /dev/zero | tr '\0' '#'
  printf '\n'; } >"$T/max.nn"
size=$(wc -c <"$T/max.nn")
if [ "$size" -eq 16777216 ] && $NNC --emit=ir "$T/max.nn" >/dev/null 2>"$T/max.err"; then
    ok "robust limits: a .nn file of exactly 16 MiB is read"
else
    fail "robust limits: a .nn file of exactly 16 MiB is read" "size $size; stderr:" "$(head -3 "$T/max.err")"
fi
printf '#' >>"$T/max.nn"
bounded "a .nn file of 16 MiB and one byte" "larger than 16 MiB" $NNC --emit=ir "$T/max.nn"
# 2^21 images of 28x28 promised (within the 2^31-value limit), 4 delivered
printf '\000\000\010\003\000\040\000\000\000\000\000\034\000\000\000\034' >"$T/x-images-idx3-ubyte"
head -c 3136 /dev/zero >>"$T/x-images-idx3-ubyte"
printf '\000\000\010\001\000\040\000\000\000\000\000\000' >"$T/x-labels-idx1-ubyte"
bounded "an IDX header promising 2^21 images" "x-images-idx3-ubyte" \
    $NNC train examples/fashion_mlp.nn --data "$T/x-images-idx3-ubyte" --epochs 1
printf 'NNCW\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\100' >"$T/huge.nnw"
head -c 64 /dev/zero >>"$T/huge.nnw"
bounded "a weight file claiming 2^62 parameters" "huge.nnw" $NNC examples/spiral.nn --weights "$T/huge.nnw" --emit=c

# ---- outputs that would replace an input or each other ----
O=$T/outputs
mkdir -p "$O"
cp examples/xor.nn examples/xor.csv "$O/"
XOR="$O/xor.nn --data $O/xor.csv --epochs 2"
refused() {   # refused NAME STATUS PATTERN FILE CMD...: exit STATUS, PATTERN said, nothing trained, FILE unchanged
    _n=$1 _s=$2 _p=$3 _f=$4
    shift 4
    cp "$_f" "$O/before"
    "$@" >"$O/r.out" 2>"$O/r.err"
    _st=$?
    if [ $_st = "$_s" ] && grep -q -- "$_p" "$O/r.err" && ! grep -q epoch "$O/r.out" && cmp -s "$_f" "$O/before"; then
        ok "robust outputs: $_n"
    else
        fail "robust outputs: $_n" "status $_st (wanted $_s), wanted '$_p' and no epoch; $_f $(cmp -s "$_f" "$O/before" && echo unchanged || echo CHANGED)" "$(cat "$O/r.out" "$O/r.err")"
    fi
}
refused "--save onto the network file" 1 "--save $O/xor.nn: nothing trained: it is the network file" "$O/xor.nn" \
    $NNC train $XOR --save "$O/xor.nn"
refused "--save-best onto --data, named another way" 1 "it is the file of --data" "$O/xor.csv" \
    $NNC train $XOR --test "$O/xor.csv" --save-best "$O/../outputs/xor.csv"
refused "--plot onto --test" 1 "it is the file of --test" "$O/xor.csv" \
    $NNC train "$O/xor.nn" --data examples/xor.csv --test "$O/xor.csv" --epochs 2 --plot "$O/xor.csv"
$NNC train $XOR --save "$O/w.nnw" >/dev/null 2>&1
refused "--save and --checkpoint one file" 1 "--save and --checkpoint both write" "$O/w.nnw" \
    $NNC train $XOR --save "$O/w.nnw" --checkpoint "$O/./w.nnw"
refused "--pictures of a vector input, before training" 1 "--pictures needs an image input" "$O/xor.nn" \
    $NNC train $XOR --pictures "$O/p.pgm"
refused "--plot under a PNG name" 2 "--plot draws an SVG chart" "$O/xor.nn" \
    $NNC train $XOR --plot "$O/p.PNG"
if $NNC train $XOR --load "$O/w.nnw" --save "$O/w.nnw" >/dev/null 2>"$O/e" &&
   $NNC train $XOR --checkpoint "$O/c.nnck" >/dev/null 2>>"$O/e" &&
   $NNC train "$O/xor.nn" --data "$O/xor.csv" --epochs 3 --resume "$O/c.nnck" --checkpoint "$O/c.nnck" >/dev/null 2>>"$O/e"; then
    ok "robust outputs: weights saved over --load, a checkpoint over the one resumed"
else
    fail "robust outputs: weights saved over --load, a checkpoint over the one resumed" "$(cat "$O/e")"
fi
# a FIFO is written in place: renaming a file over it would replace it
rm -f "$O/fifo" "$O/got"
mkfifo "$O/fifo"
timeout 20 cat "$O/fifo" >"$O/got" &   # (a regression that never opens the FIFO must not hang the suite)
reader=$!
timeout 20 $NNC train $XOR --plot "$O/fifo" >/dev/null 2>"$O/e"
st=$?
wait $reader
if [ $st = 0 ] && [ -p "$O/fifo" ] && grep -q '<svg' "$O/got" && [ -z "$(temps "$O/fifo")" ]; then
    ok "robust outputs: --plot into a FIFO writes through it and leaves it a FIFO"
else
    fail "robust outputs: --plot into a FIFO writes through it and leaves it a FIFO" "status $st; $(ls -l "$O/fifo") $(head -c 80 "$O/got")" "$(cat "$O/e")"
fi
# a symbolic link: its file gets the weights, the link stays a link
rm -f "$O/real.nnw" "$O/link.nnw"
echo old >"$O/real.nnw"
ln -s real.nnw "$O/link.nnw"
if $NNC train $XOR --save "$O/link.nnw" >/dev/null 2>"$O/e" && [ -L "$O/link.nnw" ] &&
   [ "$(head -c 4 "$O/real.nnw")" = NNCW ] && [ -z "$(temps "$O/real.nnw")" ]; then
    ok "robust outputs: --save through a symbolic link writes its file and keeps the link"
else
    fail "robust outputs: --save through a symbolic link writes its file and keeps the link" "$(ls -l "$O/link.nnw" "$O/real.nnw")" "$(cat "$O/e")"
fi
# SIGTERM while nnc -o writes: its .h a FIFO nobody reads, so the .c's
# temporary file exists while the process waits to open the .h
rm -f "$O"/net.*
mkfifo "$O/net.h"
$NNC "$O/xor.nn" -o "$O/net.c" 2>/dev/null &
pid=$!
i=0
while [ -z "$(temps "$O/net.c")" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
had=$(temps "$O/net.c")
kill -TERM $pid
(sleep 20; kill -KILL $pid 2>/dev/null) &   # a regression that ignores SIGTERM must not hang the suite
watchdog=$!
wait $pid 2>/dev/null   # (no "Terminated" from the shell)
st=$?
kill $watchdog 2>/dev/null
if [ -n "$had" ] && [ $st = 143 ] && [ -z "$(temps "$O/net.c")" ] && [ ! -e "$O/net.c" ]; then
    ok "robust outputs: SIGTERM during nnc -o removes its temporary files"
else
    fail "robust outputs: SIGTERM during nnc -o removes its temporary files" "status $st, temporary file while writing: '$had', after: '$(temps "$O/net.c")'; $(ls "$O")"
fi
rm -f "$O/net.h"

# ---- the emitted C under static analyzers ----
golden=$(ls tests/golden/*.c)
n=$(echo "$golden" | grep -c .)
if ! command -v clang >/dev/null 2>&1; then
    fail "robust emitted C: clang --analyze (not run: no clang; scripts/setup.sh test installs it)"
else
    found=""
    for f in $golden; do
        out=$(clang --analyze -std=c99 -Itests/golden "$f" -o /dev/null 2>&1)
        [ -n "$out" ] && found="$found
$out"
    done
    if [ -z "$found" ]; then ok "robust emitted C: clang --analyze ($n files, no findings)"
    else fail "robust emitted C: clang --analyze" "$found"; fi
fi
if ! command -v cppcheck >/dev/null 2>&1; then
    fail "robust emitted C: cppcheck (not run: no cppcheck; scripts/setup.sh test installs it)"
else
    # shellcheck disable=SC2086
    if out=$(cppcheck --error-exitcode=1 --enable=warning,portability,performance --std=c99 --quiet \
                 -Itests/golden $golden 2>&1) && [ -z "$out" ]; then
        ok "robust emitted C: cppcheck ($n files, no findings)"
    else
        fail "robust emitted C: cppcheck" "$out"
    fi
fi
