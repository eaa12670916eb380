#!/bin/sh
# Data-parallel training on Open MPI: `mpirun -np 2 nnc train ...` (issue
# 16).  Run by tests/run.sh (suite mpi), or alone from the repository root
# after `make nnc`.  Writes under build/test/mpi/ (the cc backend's cache
# there too).  About 30 s on 2 cores.
#
#   same        a spiral network (batch 16) for 20 epochs, and the Fashion
#               MLP and CNN for an epoch on 2,000 images: 2 ranks print the
#               losses and accuracies of one process (--jit=cc) and save
#               its weights to 1e-4 (float rounding: the batch's gradient
#               is summed in another order); a run on one batch fewer is
#               outside that, so the comparison can fail
#   writes      only rank 0 prints its lines and writes --save
#   checksum    the ranks compare a hash of their parameters every epoch:
#               one parameter of rank 1 0.001 off after epoch 1 (a test hook)
#               stops the run after the next epoch, with an error, exit 1
#   mismatch    ranks given different network files, or different data,
#               stop at start-up with an error that says what differs
#   batch       a batch smaller than the rank count (XOR's batch 1) is an
#               error that says so; so is a gan block (one process for now),
#               said once
#   killed      a rank killed with SIGKILL ends the whole job within
#               seconds (exit status not 0), and the checkpoint rank 0 wrote
#               after each epoch stays loadable: a run resumes from it
#   tcp         the spiral run over TCP on loopback (Open MPI's tcp
#               transport forced, as between machines): the weights of the
#               shared-memory run, bit for bit
#   ctrl-c      Ctrl-C to mpirun stops every rank after the same batch:
#               rank 0 writes the checkpoint and the weights; resumed on 2
#               ranks, the run ends with the bits of the run never stopped
#   alone       without mpirun nothing of MPI is opened: the run is as before
#   no library  under mpirun, Open MPI's library missing (NNC_MPI_LIBRARY
#               naming no file): each rank says so and how to install it,
#               the job ends (exit status not 0), nothing written
#   init        MPI_Init failing (Open MPI given only its "self" transport,
#               so the ranks cannot reach each other): the job ends within
#               the timeout with Open MPI's message, nothing written
#   foreign     processes started by another MPI's launcher (PMI_SIZE=2, as
#               MPICH's mpiexec sets it) are refused with a message naming
#               it, rather than each training alone into the same files
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/mpi
rm -rf "$out"
mkdir -p "$out/cache"
XDG_CACHE_HOME=$PWD/$out/cache
export XDG_CACHE_HOME
if ! command -v mpirun >/dev/null; then
    fail "mpi: mpirun" "no mpirun on PATH (scripts/setup.sh installs openmpi-bin)"
    exit 0
fi
if [ "$(id -u)" = 0 ]; then   # (Open MPI refuses root unless told)
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
fi
MPIRUN="mpirun --oversubscribe --bind-to none -np 2"
if ! cc -std=c99 -O2 -Wall -Wextra -Werror -o "$out/nnw_cmp" tests/jit/nnw_cmp.c -lm 2>"$out/nnw_cmp.log"; then
    fail "mpi: nnw_cmp" "$(cat "$out/nnw_cmp.log")"
    exit 0
fi
awk 'BEGIN { s = 12345; print "x,y,class"
  for (c = 0; c < 3; c++) for (i = 0; i < 100; i++) {
    s = (s * 16807) % 2147483647; r = i / 100; a = 4 * c + 4 * r + 0.2 * (s / 2147483647 - 0.5)
    printf "%.6f,%.6f,%d\n", r * sin(a), r * cos(a), c } }' >"$out/spiral.csv"

# epochs_match A B: the epoch lines of two runs agree (losses and accuracies
# to 1e-4 relative; speeds not compared)
epochs_match() {
    awk 'NR == FNR { if ($1 == "epoch") a[++n] = $0; next }
         $1 == "epoch" { m++; split(a[m], x, "  "); split($0, y, "  ")
             for (i = 2; i < length(y); i++) {
                 u = x[i]; v = y[i]; gsub(/[^0-9.eE+-]/, " ", u); gsub(/[^0-9.eE+-]/, " ", v)
                 split(u, p, " "); split(v, q, " ")
                 for (j in q) { d = p[j] - q[j]; if (d < 0) d = -d; s = q[j] < 0 ? -q[j] : q[j]
                     if (d > 1e-4 * (s > 1 ? s : 1)) bad = 1 } } }
         END { exit !(n > 0 && n == m && !bad) }' "$1" "$2"
}

# ---- same ----
sp="examples/spiral.nn --data $out/spiral.csv --epochs 20 --every 1"
$NNC train $sp --jit=cc --save "$out/sp1.nnw" >"$out/sp1.out" 2>&1
$NNC train $sp --jit=cc --limit 284 --save "$out/sp_less.nnw" >"$out/sp_less.out" 2>&1
$MPIRUN $NNC train $sp --save "$out/sp2.nnw" >"$out/sp2.out" 2>"$out/sp2.err"
st=$?
if [ $st -eq 0 ] && epochs_match "$out/sp1.out" "$out/sp2.out" &&
    "$out/nnw_cmp" "$out/sp1.nnw" "$out/sp2.nnw" 1e-4 >"$out/sp_cmp.out" 2>&1 &&
    ! "$out/nnw_cmp" "$out/sp_less.nnw" "$out/sp1.nnw" 1e-4 >>"$out/sp_cmp.out" 2>&1 &&
    grep -q '^data-parallel on 2 ranks' "$out/sp2.out"; then
    ok "same: spiral on 2 ranks: one process's epoch lines and weights to 1e-4 (one batch fewer is not)"
else
    fail "same: spiral on 2 ranks: one process's epoch lines and weights to 1e-4 (one batch fewer is not)" \
        "exit status $st" "$(cat "$out/sp1.out" "$out/sp2.out" "$out/sp2.err" "$out/sp_cmp.out")"
fi
# only rank 0 prints: one copy of each line
if [ "$(grep -c '^epoch 20/20 ' "$out/sp2.out")" = 1 ] && [ "$(grep -c '^saved the weights' "$out/sp2.out")" = 1 ]; then
    ok "writes: only rank 0 prints its lines and saves"
else
    fail "writes: only rank 0 prints its lines and saves" "$(cat "$out/sp2.out")"
fi
FM=/usr/share/datasets/fashion-mnist
if [ -f "$FM/train-images-idx3-ubyte.gz" ]; then
    for net in fashion_mlp fashion_cnn; do
        f="examples/$net.nn --data $FM/train-images-idx3-ubyte.gz --test $FM/t10k-images-idx3-ubyte.gz --limit 2000 --epochs 1"
        $NNC train $f --jit=cc --save "$out/${net}1.nnw" >"$out/${net}1.out" 2>&1
        $MPIRUN $NNC train $f --save "$out/${net}2.nnw" >"$out/${net}2.out" 2>"$out/${net}2.err"
        st=$?
        if [ $st -eq 0 ] && epochs_match "$out/${net}1.out" "$out/${net}2.out" &&
            "$out/nnw_cmp" "$out/${net}1.nnw" "$out/${net}2.nnw" 1e-4 >"$out/${net}_cmp.out" 2>&1; then
            ok "same: $net on 2 ranks, an epoch of 2,000 images: one process's figures and weights to 1e-4"
        else
            fail "same: $net on 2 ranks, an epoch of 2,000 images: one process's figures and weights to 1e-4" \
                "exit status $st" "$(cat "$out/${net}1.out" "$out/${net}2.out" "$out/${net}2.err" "$out/${net}_cmp.out")"
        fi
    done
else
    fail "same: Fashion-MNIST" "$FM is missing (scripts/setup.sh installs dataset-fashion-mnist)"
fi

# ---- tcp ----
mpirun --oversubscribe --bind-to none --mca pml ob1 --mca btl self,tcp --mca btl_tcp_if_include lo -np 2 \
    $NNC train $sp --save "$out/tcp.nnw" >"$out/tcp.out" 2>"$out/tcp.err"
st=$?
if [ $st -eq 0 ] && cmp -s "$out/tcp.nnw" "$out/sp2.nnw"; then
    ok "tcp: 2 ranks over TCP on loopback save the shared-memory run's weights, bit for bit"
else
    fail "tcp: 2 ranks over TCP on loopback save the shared-memory run's weights, bit for bit" "exit status $st" \
        "$(tail -n 5 "$out/tcp.out" "$out/tcp.err")"
fi

# ---- checksum ----
NNC_PAR_TEST_SKEW=1 $MPIRUN $NNC train $sp --save "$out/skew.nnw" >"$out/skew.out" 2>"$out/skew.err"
st=$?
if [ $st -ne 0 ] && grep -q "after epoch 2 the ranks' parameters differ" "$out/skew.out" &&
    ! grep -q '^epoch 3/' "$out/skew.out" && [ ! -e "$out/skew.nnw" ]; then
    ok "checksum: a parameter of rank 1 set off after epoch 1 stops the run after epoch 2, nothing saved"
else
    fail "checksum: a parameter of rank 1 set off after epoch 1 stops the run after epoch 2, nothing saved" \
        "exit status $st" "$(cat "$out/skew.out" "$out/skew.err")"
fi

# ---- mismatch ----
sed 's/dense 32 tanh/dense 33 tanh/' examples/spiral.nn >"$out/spiral33.nn"
head -n 200 "$out/spiral.csv" >"$out/spiral200.csv"
mpirun --oversubscribe --bind-to none -np 1 $NNC train $sp : -np 1 $NNC train "$out/spiral33.nn" \
    --data "$out/spiral.csv" --epochs 20 --every 1 >"$out/mm_net.out" 2>"$out/mm_net.err"
st1=$?
mpirun --oversubscribe --bind-to none -np 1 $NNC train $sp : -np 1 $NNC train examples/spiral.nn \
    --data "$out/spiral200.csv" --epochs 20 --every 1 >"$out/mm_data.out" 2>"$out/mm_data.err"
st2=$?
if [ $st1 -ne 0 ] && grep -q 'the 2 ranks of this mpirun do not agree on the network (its layers)' "$out/mm_net.err" &&
    [ $st2 -ne 0 ] && grep -q 'the 2 ranks of this mpirun do not agree on the training data' "$out/mm_data.err" &&
    ! grep -q '^epoch' "$out/mm_net.out" "$out/mm_data.out"; then
    ok "mismatch: another network file, or other data, on one rank stops the job at start-up, saying which"
else
    fail "mismatch: another network file, or other data, on one rank stops the job at start-up, saying which" \
        "exit statuses $st1 $st2" "$(cat "$out/mm_net.err" "$out/mm_data.err")"
fi

# ---- batch ----
$MPIRUN $NNC train examples/xor.nn --data examples/xor.csv >"$out/batch.out" 2>"$out/batch.err"
st=$?
if [ $st -ne 0 ] && grep -q 'batch 1 is smaller than the 2 ranks: each batch is split across them' "$out/batch.err" &&
    ! grep -q '^epoch' "$out/batch.out"; then
    ok "batch: XOR's batch of 1 on 2 ranks is an error that says so"
else
    fail "batch: XOR's batch of 1 on 2 ranks is an error that says so" "exit status $st" "$(cat "$out/batch.err")"
fi

$MPIRUN $NNC train tests/jit/tiny_gan.nn --data "$FM/t10k-images-idx3-ubyte.gz" >"$out/gan.out" 2>"$out/gan.err"
st=$?
if [ $st -ne 0 ] && [ "$(grep -c 'error: gan blocks train in one process for now: run nnc train without mpirun' \
    "$out/gan.err")" = 1 ]; then
    ok "batch: a gan block on 2 ranks is refused, said once"
else
    fail "batch: a gan block on 2 ranks is refused, said once" "exit status $st" "$(cat "$out/gan.err")"
fi

# ---- killed ----
$MPIRUN $NNC train examples/spiral.nn --data "$out/spiral.csv" --epochs 100000 --every 1 \
    --checkpoint "$out/run.nnck" >"$out/killed.out" 2>"$out/killed.err" &
job=$!
i=0
while ! grep -q '^epoch 3/' "$out/killed.out" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
victim=
for p in $(pgrep -f "nnc train examples/spiral.nn --data $out/spiral.csv --epochs 100000"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$p; fi
done
t0=$(date +%s)
[ -n "$victim" ] && kill -KILL "$victim"
i=0
while kill -0 $job 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
t1=$(date +%s)
if kill -0 $job 2>/dev/null; then
    pkill -KILL -f "nnc train examples/spiral.nn --data $out/spiral.csv --epochs 100000"
    kill -KILL $job 2>/dev/null
fi
wait $job
st=$?
$NNC train examples/spiral.nn --data "$out/spiral.csv" --jit=cc --epochs 100000 --resume "$out/run.nnck" --every 1 \
    >"$out/resume.out" 2>&1 &
rj=$!
sleep 2
kill -INT $rj 2>/dev/null
wait $rj
if [ -n "$victim" ] && [ $st -ne 0 ] && [ $((t1 - t0)) -le 10 ] &&
    grep -q '^resuming from .*run.nnck: [0-9]* epochs done' "$out/resume.out"; then
    ok "killed: SIGKILL to rank 1 ends the job in $((t1 - t0)) s (exit $st); rank 0's checkpoint resumes"
else
    fail "killed: SIGKILL to rank 1 ends the job within seconds; rank 0's checkpoint resumes" \
        "rank 1: ${victim:-not found}; exit status $st after $((t1 - t0)) s" "$(tail -n 5 "$out/killed.err")" \
        "$(head -n 3 "$out/resume.out")"
fi

# ---- ctrl-c ----
long="examples/spiral.nn --data $out/spiral.csv --epochs 2500 --every 500"
$MPIRUN $NNC train $long --save "$out/straight.nnw" >"$out/straight.out" 2>&1
$MPIRUN $NNC train $long --checkpoint "$out/int.nnck" --save "$out/int.nnw" >"$out/int.out" 2>&1 &
job=$!
i=0
while ! grep -q '^epoch 500/' "$out/int.out" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
kill -INT $job
wait $job
st=$?
$MPIRUN $NNC train $long --resume "$out/int.nnck" --save "$out/resumed.nnw" >"$out/resumed.out" 2>&1
st2=$?
if [ $st -ne 0 ] && grep -q '(stopped)$' "$out/int.out" && grep -q '^checkpoint written to' "$out/int.out" &&
    [ "$(grep -c '^saved the weights' "$out/int.out")" = 1 ] && [ $st2 -eq 0 ] &&
    cmp -s "$out/resumed.nnw" "$out/straight.nnw"; then
    ok "ctrl-c: SIGINT to mpirun stops both ranks after one batch, checkpoint and weights written; resumed, the straight run's bits"
else
    fail "ctrl-c: SIGINT to mpirun stops both ranks after one batch, checkpoint and weights written; resumed, the straight run's bits" \
        "exit statuses $st $st2" "$(tail -n 4 "$out/int.out" "$out/resumed.out")"
fi

# ---- alone ----
if env -u OMPI_COMM_WORLD_SIZE LD_DEBUG=libs $NNC train $sp --jit=cc >"$out/alone.out" 2>"$out/alone.ld" &&
    ! grep -q 'libmpi' "$out/alone.ld" && ! grep -q 'data-parallel' "$out/alone.out"; then
    ok "alone: without mpirun Open MPI's library is never opened"
else
    fail "alone: without mpirun Open MPI's library is never opened" "$(grep libmpi "$out/alone.ld" | head -3)"
fi

# ---- no library ----
# Both ranks' messages are counted, not lines: mpirun forwards each rank's
# stderr as it reads it, and when nnc wrote a message in pieces ("nnc: ",
# "error: ", the text, the newline) the two interleaved at those seams
# ("nnc: error: nnc: error: started by ..." and "nnc: nnc: error: started
# by ..." were seen in CI runs).  nnc now writes each line of stderr in one
# write (main.c); only the message's body is matched all the same, so the
# check does not rest on how mpirun forwards what it reads.
NNC_MPI_LIBRARY=$PWD/$out/no/libmpi.so.40 timeout 60 $MPIRUN -x NNC_MPI_LIBRARY $NNC train $sp \
    --save "$out/nolib.nnw" >"$out/nolib.out" 2>&1
st=$?
if [ $st -ne 0 ] && [ $st -ne 124 ] && [ ! -e "$out/nolib.nnw" ] &&
    [ "$(grep -o "started by mpirun, but Open MPI's library cannot be opened ([^)]*no/libmpi.so.40[^)]*); Debian: apt-get install openmpi-bin" "$out/nolib.out" | wc -l)" = 2 ]; then
    ok "no library: Open MPI's library missing under mpirun: each rank says so and how to install it, nothing written"
else
    fail "no library: Open MPI's library missing under mpirun: each rank says so and how to install it, nothing written" \
        "exit status $st" "$(head -n 8 "$out/nolib.out")"
fi

# ---- init ----
timeout 60 $MPIRUN --mca btl self $NNC train $sp --save "$out/init.nnw" >"$out/init.out" 2>&1
st=$?
if [ $st -ne 0 ] && [ $st -ne 124 ] && [ ! -e "$out/init.nnw" ] && grep -q 'MPI_Init' "$out/init.out" &&
    ! grep -q '^epoch' "$out/init.out"; then
    ok "init: MPI_Init failing ends the job within the timeout with Open MPI's message, nothing written"
else
    fail "init: MPI_Init failing ends the job within the timeout with Open MPI's message, nothing written" \
        "exit status $st" "$(head -n 12 "$out/init.out")"
fi

# ---- foreign ----
PMI_SIZE=2 PMI_RANK=0 $NNC train $sp --save "$out/foreign.nnw" >"$out/foreign.out" 2>&1
st=$?
if [ $st -eq 1 ] && [ ! -e "$out/foreign.nnw" ] &&
    grep -q "nnc: error: started as one of 2 processes by a launcher that is not Open MPI's mpirun (PMI_SIZE=2)" \
        "$out/foreign.out"; then
    ok "foreign: processes of another MPI's launcher (PMI_SIZE=2) are refused with a message that names it"
else
    fail "foreign: processes of another MPI's launcher (PMI_SIZE=2) are refused with a message that names it" \
        "exit status $st" "$(cat "$out/foreign.out")"
fi
