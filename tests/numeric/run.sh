#!/bin/sh
# Numeric tests of the generated C, run from the repository root:
#   gradcheck  NAME_backward against central finite differences of the loss,
#              every network of gradcheck.nn (every activation, both losses,
#              softmax with mse, batch sizes 1 to BATCH) and of
#              gradcheck_cnn.nn (conv with strides, padding and odd kernels,
#              maxpool, avgpool, flatten)                         gradcheck.c
#   optim      NAME_update against torch.optim's SGD and Adam formulas,
#              every network of optim.nn                          optim.c
#   xor        examples/xor.nn: xor_init against splitmix64, and one epoch
#              of xor_train_step against the classic perceptron rules
#              worked by hand (bit-identical as of nnc 0.1.0)     xor_hand.c
#   pool_ties  max pooling where windows tie: the first maximum gets the
#              gradient on every path, same bits    pool_ties.c
#   batch1     a batch-1 network trains to the same bits as its twin at
#              batch 2, and gradcheck refuses it (kinks)          batch1.c
#   paths      the vector paths (NNC_V16 where the CPU has AVX-512F,
#              NNC_V8 with 32 and with 16 registers) and the plain loops
#              (-DNNC_PLAIN_C) of every network of gradcheck.nn,
#              gradcheck_cnn.nn and gradcheck_rnn.nn give the same bits
#              after a few training steps (and the widest vector path under
#              the sanitizers too), and NAME_forward_batch agrees with
#              NAME_forward                                       paths.c
# Every .nn file is emitted twice, as is (layers up to 256 multiply-adds
# unrolled) and with --unroll 0 (loops everywhere), and every program is built
# twice with gcc under $STRICT: -O2, and with AddressSanitizer and
# UndefinedBehaviorSanitizer (a report aborts the program: the check fails).
# The drivers are generic: one source, compiled per network with -DNET=name
# and -include of the generated header (`sets` below: which driver checks
# the networks of which file).  Two more checks show that the
# comparisons can fail: they must reject deliberately wrong gradients and
# wrong optimizer formulas.  One checks that training survives the 2^32nd
# update, where the uint32_t step counter wraps around.  The drivers print how close each comparison
# came with `stats`, e.g.
#   build/test/numeric/gradcheck.wide.unrolled tests/numeric/gradcheck.nn stats
# About 5 minutes on 2 cores of an AMD EPYC (Zen 3), most of it gcc building the
# sanitizer programs (JOBS=N sets the number of parallel jobs).
. tests/lib.sh
src=tests/numeric
out=${NNC_TEST_DIR:-build/test}/numeric
CC=gcc
# -fno-var-tracking: with -g, gcc's variable tracking takes minutes on the
# long straight-line functions of unrolled code under the sanitizers.
SAN="-O1 -g -fno-var-tracking -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
SAN="$SAN -fsanitize=float-divide-by-zero,float-cast-overflow"   # not part of gcc's "undefined"
SAN_V8="$SAN -march=native"   # paths: the vector path under the sanitizers too
SAN="$SAN -DNNC_PLAIN_C"   # the batched dense layers as plain loops here, as vectors in the -O2 builds
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS
forms="unrolled loops"
files="$src/gradcheck.nn $src/gradcheck_cnn.nn $src/gradcheck_rnn.nn $src/optim.nn examples/xor.nn"
sets="gradcheck:gradcheck gradcheck:gradcheck_cnn gradcheck:gradcheck_rnn optim:optim"   # DRIVER:NETWORKS, DRIVER.c on NETWORKS.nn
rm -rf "$out"
mkdir -p "$out/res" "$out/log" "$out/unrolled" "$out/loops"

if ! command -v $CC >/dev/null; then
    fail "numeric: $CC" "$CC is not installed (scripts/setup.sh test installs it)"
    exit 0
fi

nets() { sed -n 's/^network \([A-Za-z0-9_]*\).*/\1/p' "$1"; }
unroll_flag() { [ "$1" = loops ] && echo "--unroll 0"; }
# -march=native: on a CPU with AVX the -O2 builds take the vector path
# (NNC_V8) of batched layers and convolutions; the sanitizer builds the plain one.
mode_flags() { if [ "$1" = san ]; then echo "$SAN"; else echo -O2 -march=native; fi; }

# A pool of JOBS background jobs: a token is taken from a FIFO to start a
# job and given back when it ends.  Each job writes its check lines to its
# own numbered file; the files are printed in order at the end.
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
mkfifo "$out/tokens"
exec 3<>"$out/tokens"
rm -f "$out/tokens"
i=0
while [ $i -lt "$JOBS" ]; do echo >&3; i=$((i + 1)); done
njob=0
spawn() {
    njob=$((njob + 1))
    _res=$(printf '%s/res/%04d' "$out" $njob)
    read -r _ <&3
    { "$@" >"$_res" 2>&1; echo >&3; } &
}

# compile LOG CMD...: a silent job; on failure its output is in LOG for the
# checks that need what it builds.
compile() {
    _log=$1; shift
    "$@" >"$_log" 2>&1 || { echo "failed: $*" >>"$_log"; return 1; }
    rm -f "$_log"
}

# program NAME EXE OBJECTS... -- ARGS: links EXE and runs it, one check.
# A missing object fails the check with the log of its compile.
program() {
    _name=$1 _exe=$2 _objs=
    shift 2
    while [ "$1" != -- ]; do
        if [ ! -f "$1" ]; then
            _l=$out/log/$(basename "$1").log
            fail "$_name" "$1 was not built:" "$(cat "$_l" 2>/dev/null)"
            return
        fi
        _objs="$_objs $1"; shift
    done
    shift
    case $_exe in *.san) _f=$SAN ;; *) _f=-O2 ;; esac
    if ! _o=$($CC $_f $_objs -o "$_exe" -lm 2>&1); then
        fail "$_name" "linking $_exe failed:" "$_o"
    else
        check "$_name" "$_exe" "$@"
    fi
}

# every_net NN MODE LABEL: runs the driver of every network of NN in MODE
# (selftest: its comparisons reject wrong results; unrolled, -O2); one check.
every_net() {
    _label=$3 _base=$(basename "$1" .nn) _details=
    for _o in "$out/unrolled/$_base.o" $(nets "$1" | sed "s|.*|$out/$_base.&.o|"); do
        if [ ! -f "$_o" ]; then
            fail "$_label" "$_o was not built:" "$(cat "$out/log/$(basename "$_o").log" 2>/dev/null)"
            return
        fi
    done
    for net in $(nets "$1"); do
        _exe=$out/$_base.$net.$2
        if ! _o=$($CC -O2 "$out/$_base.$net.o" "$out/unrolled/$_base.o" -o "$_exe" -lm 2>&1) ||
            ! _o=$("$_exe" "$1" $2 2>&1); then
            _details="$_details$net: $_o
"
        fi
    done
    if [ -z "$_details" ]; then ok "$_label"; else fail "$_label" "$_details"; fi
}

# ---- the generated code (nnc is quick: no jobs) ----
for form in $forms; do
    for nn in $files; do
        base=$(basename "$nn" .nn)
        check "emit $base.nn ($form)" $NNC $(unroll_flag $form) "$nn" -o "$out/$form/$base.c"
    done
done
for nn in $files; do   # the drivers are compiled once, against the unrolled header
    base=$(basename "$nn" .nn)
    check "$base.h does not depend on --unroll" cmp "$out/unrolled/$base.h" "$out/loops/$base.h"
done

# ---- objects: generated code (checks) and drivers (silent; their checks say) ----
for nn in $files; do
    base=$(basename "$nn" .nn)
    for form in $forms; do
        for mode in o2 san; do
            o=$out/$form/$base.o tag=
            [ $mode = san ] && o=$out/$form/$base.san.o tag=", sanitizers"
            spawn check "compile $base.c ($form$tag)" \
                $CC $STRICT $(mode_flags $mode) -c "$out/$form/$base.c" -o "$o"
        done
    done
done
for set in $sets; do
    kind=${set%:*} base=${set#*:}
    for net in $(nets $src/$base.nn); do
        for mode in o2 san; do
            o=$out/$base.$net.o
            [ $mode = san ] && o=$out/$base.$net.san.o
            spawn compile "$out/log/$(basename "$o").log" $CC $STRICT $(mode_flags $mode) -DNET=$net \
                -include "$out/unrolled/$base.h" -c "$src/$kind.c" -o "$o"
        done
    done
done
# paths: the generated code once more, with the plain loops (the -O2 object
# above takes the vector path where the CPU has AVX), and the vector path
# under the sanitizers (the loops form: it compiles faster); the driver
paths_nets="gradcheck gradcheck_cnn gradcheck_rnn"
v16=no   # whether -march=native takes the 16-lane path (AVX-512F)
$CC -march=native -dM -E - </dev/null | grep -q '__AVX512F__' && v16=yes
for base in $paths_nets; do
    for form in $forms; do
        spawn compile "$out/log/$form.$base.plain.o.log" $CC $STRICT -O2 -march=native -DNNC_PLAIN_C \
            -c "$out/$form/$base.c" -o "$out/$form/$base.plain.o"
    done
    spawn compile "$out/log/loops.$base.v8san.o.log" $CC $STRICT $SAN_V8 \
        -c "$out/loops/$base.c" -o "$out/loops/$base.v8san.o"
    # the 8-lane blocks for 16 vector registers (AVX2), where -march=native has 32
    spawn compile "$out/log/unrolled.$base.narrow.o.log" $CC $STRICT -O2 -march=native -mno-avx512f \
        -c "$out/unrolled/$base.c" -o "$out/unrolled/$base.narrow.o"
    # the 8-lane blocks for 32 registers, where -march=native takes the 16-lane ones
    [ "$v16" = yes ] && spawn compile "$out/log/unrolled.$base.v8wide.o.log" $CC $STRICT -O2 -march=native \
        -DNNC_NO_V16 -c "$out/unrolled/$base.c" -o "$out/unrolled/$base.v8wide.o"
    for net in $(nets $src/$base.nn); do
        spawn compile "$out/log/$base.$net.paths.o.log" $CC $STRICT -O2 -DNET=$net \
            -include "$out/unrolled/$base.h" -c "$src/paths.c" -o "$out/$base.$net.paths.o"
    done
done
for mode in o2 san; do
    o=$out/xor_hand.o
    [ $mode = san ] && o=$out/xor_hand.san.o
    spawn compile "$out/log/$(basename "$o").log" $CC $STRICT $(mode_flags $mode) -I"$out/unrolled" \
        -c "$src/xor_hand.c" -o "$o"
done
wait

# ---- the checks ----
spawn every_net $src/gradcheck.nn selftest \
    "gradcheck rejects wrong gradients (scaled, negated, summed, zero)"
spawn every_net $src/gradcheck_cnn.nn selftest \
    "gradcheck rejects wrong gradients of the conv and pooling networks (scaled, negated, summed, zero)"
spawn every_net $src/optim.nn selftest \
    "optim rejects wrong optimizer formulas (dampening, Nesterov, no bias correction, AdamW...)"
spawn every_net $src/optim.nn wrap \
    "optim: NAME_update stays right across update 2^32 (where the uint32_t step counter wraps)"
for mode in o2 san; do
    s= tag=
    [ $mode = san ] && s=.san tag=", sanitizers"
    for form in $forms; do
        for set in $sets; do
            kind=${set%:*} base=${set#*:}
            for net in $(nets $src/$base.nn); do
                spawn program "$kind $net ($form$tag)" "$out/$base.$net.$form$s" \
                    "$out/$base.$net$s.o" "$out/$form/$base$s.o" -- $src/$base.nn
            done
        done
        spawn program "xor init: xor_init(seed 42) is splitmix64 uniform(-1, 1) ($form$tag)" \
            "$out/xor_hand.init.$form$s" "$out/xor_hand$s.o" "$out/$form/xor$s.o" -- init
        spawn program "xor step: one epoch of xor_train_step is the perceptron rules by hand ($form$tag)" \
            "$out/xor_hand.step.$form$s" "$out/xor_hand$s.o" "$out/$form/xor$s.o" -- step
    done
done
# run_paths EXE NN OUT: one run of the paths driver; its failure messages, if any
run_paths() {
    "$1" "$2" >"$3" 2>&1 || { grep -v '^[0-9a-f]\{8\}$' "$3" | head -4; echo "($1 failed)"; }
}

# same_paths BASE FORM: the vector path (-O2; and, for the loops form, under
# the sanitizers) and the plain loops print the same bits, for every network
# of BASE.nn emitted in FORM
same_paths() {
    _base=$1 _form=$2 _details=
    _widths="the 8-lane path (32 and 16 registers)"
    [ "$v16" = yes ] && _widths="the 16-lane path, the 8-lane ones (32 and 16 registers)"
    _name="paths: $_widths and the plain loops give the same bits, forward_batch agrees with forward (every network of $_base.nn, $_form)"
    _objs="$out/$_form/$_base.o $out/$_form/$_base.plain.o"
    [ "$_form" = loops ] && _objs="$_objs $out/loops/$_base.v8san.o"
    [ "$_form" = unrolled ] && _objs="$_objs $out/unrolled/$_base.narrow.o"
    [ "$_form" = unrolled ] && [ "$v16" = yes ] && _objs="$_objs $out/unrolled/$_base.v8wide.o"
    for _o in $_objs; do
        if [ ! -f "$_o" ]; then
            fail "$_name" "$_o was not built:" "$(cat "$out/log/$_form.$(basename "$_o").log" 2>/dev/null)"
            return
        fi
    done
    for net in $(nets $src/$_base.nn); do
        _e=$out/$_form.$_base.$net.paths _d=$out/$_base.$net.paths
        if ! _o=$($CC -O2 "$_d.o" "$out/$_form/$_base.o" -o "$_e.v8" -lm 2>&1) ||
            ! _o=$($CC -O2 "$_d.o" "$out/$_form/$_base.plain.o" -o "$_e.plain" -lm 2>&1) ||
            { [ "$_form" = loops ] &&
              ! _o=$($CC $SAN "$_d.o" "$out/loops/$_base.v8san.o" -o "$_e.v8san" -lm 2>&1); } ||
            { [ "$_form" = unrolled ] &&
              ! _o=$($CC -O2 "$_d.o" "$out/unrolled/$_base.narrow.o" -o "$_e.narrow" -lm 2>&1); } ||
            { [ "$_form" = unrolled ] && [ "$v16" = yes ] &&
              ! _o=$($CC -O2 "$_d.o" "$out/unrolled/$_base.v8wide.o" -o "$_e.v8wide" -lm 2>&1); }; then
            _details="$_details$net: $_o
"
            continue
        fi
        _o=$(run_paths "$_e.v8" $src/$_base.nn "$_e.v8.out"; run_paths "$_e.plain" $src/$_base.nn "$_e.plain.out")
        [ "$_form" = loops ] && _o="$_o$(run_paths "$_e.v8san" $src/$_base.nn "$_e.v8san.out")"
        [ "$_form" = unrolled ] && _o="$_o$(run_paths "$_e.narrow" $src/$_base.nn "$_e.narrow.out")"
        [ "$_form" = unrolled ] && [ "$v16" = yes ] &&
            _o="$_o$(run_paths "$_e.v8wide" $src/$_base.nn "$_e.v8wide.out")"
        if [ -n "$_o" ]; then
            _details="$_details$net: $_o
"
        elif ! cmp -s "$_e.v8.out" "$_e.plain.out"; then
            _details="$_details$net: the bits differ (diff $_e.v8.out $_e.plain.out)
"
        elif [ "$_form" = unrolled ] && ! cmp -s "$_e.v8.out" "$_e.narrow.out"; then
            _details="$_details$net: the narrow blocks' bits differ (diff $_e.v8.out $_e.narrow.out)
"
        elif [ "$_form" = unrolled ] && [ "$v16" = yes ] && ! cmp -s "$_e.v8.out" "$_e.v8wide.out"; then
            _details="$_details$net: the 8-lane blocks' bits differ from the 16-lane ones' (diff $_e.v8.out $_e.v8wide.out)
"
        elif [ "$_form" = loops ] && ! cmp -s "$_e.v8.out" "$_e.v8san.out"; then
            _details="$_details$net: the sanitizer build's bits differ (diff $_e.v8.out $_e.v8san.out)
"
        fi
    done
    if [ -z "$_details" ]; then ok "$_name"; else fail "$_name" "$_details"; fi
}
if $CC -march=native -dM -E - </dev/null | grep -q '__AVX__'; then
    for base in $paths_nets; do
        for form in $forms; do spawn same_paths $base $form; done
    done
else
    echo "skipped paths: this CPU has no AVX, so both builds would be the plain loops"
fi
[ "$v16" = yes ] || echo "skipped paths: the 16-lane path (NNC_V16): this CPU has no AVX-512F"
wait
exec 3>&-
cat "$out"/res/*

# Dropout (tests/golden/dropout.nn): gradients with the masks held fixed,
# mask statistics, and no dropout in NAME_forward; strict flags, sanitizers.
mkdir -p "$out/dropout"
if gcc $STRICT -O2 -fsanitize=address,undefined -fno-sanitize-recover=all -I tests/golden \
    -o "$out/dropout/check" tests/numeric/dropout_check.c tests/golden/dropout.c -lm >"$out/dropout/build.log" 2>&1; then
    "$out/dropout/check" || true
else
    fail "dropout checks build" "$(cat "$out/dropout/build.log")"
fi

# Max pooling where windows tie (pool_ties.nn, pool_ties.c): the gradient
# goes to each window's first maximum on the 16-lane path, both 8-lane ones,
# the plain loops, Clang's build and under the sanitizers, with the same
# bits, pooling the input and pooling a convolution's output (which keeps
# each window's choice); and a mutant of the vector code must be caught
# (pooling the input: the lower row tests the upper row's matches with &
# for |; after a convolution: the kept choice is the last of equal maxima,
# >= for >).
pt=$out/pool_ties
mkdir -p "$pt"
pool_ties() {   # pool_ties NET H W [-DPASS_CONV]
    _net=$1
    _d="-DNET=$_net -DPOOL_H=$2 -DPOOL_W=$3 $4 -include $pt/ties.h"
    _mutant="the lower row tests the upper row's matches with & for |"
    [ -n "$4" ] && _mutant="the kept choice is the last of equal maxima, >= for >"
    _details=
    for _b in "v16:gcc -O2 -march=native" "v8wide:gcc -O2 -march=native -DNNC_NO_V16" \
              "narrow:gcc -O2 -march=native -mno-avx512f" "plain:gcc -O2 -DNNC_PLAIN_C" \
              "clang:clang -O2 -march=native -ffp-contract=off" "san:gcc $SAN_V8" "mutant:gcc -O2 -march=native"; do
        _k=${_b%%:*}
        _cc=${_b#*:}
        _src=$pt/ties.c
        [ $_k = mutant ] && _src=$pt/ties_mutant.c
        case $_cc in clang*) command -v clang >/dev/null || continue ;; esac
        if ! $_cc $STRICT $_d -o "$pt/$_net.$_k" tests/numeric/pool_ties.c "$_src" -lm >"$pt/$_net.$_k.log" 2>&1; then
            _details="$_details$_k: does not build: $(head -5 "$pt/$_net.$_k.log")
"
            continue
        fi
        if [ $_k = mutant ]; then
            "$pt/$_net.$_k" >/dev/null 2>&1 &&
                _details="${_details}the mutant ($_mutant) passed
"
            continue
        fi
        "$pt/$_net.$_k" >"$pt/$_net.$_k.out" 2>"$pt/$_net.$_k.err" ||
            _details="$_details$_k: $(head -3 "$pt/$_net.$_k.err")
"
        [ -f "$pt/$_net.plain.out" ] && [ $_k != v16 ] && [ $_k != v8wide ] && [ $_k != narrow ] &&
            ! cmp -s "$pt/$_net.plain.out" "$pt/$_net.$_k.out" &&
            _details="$_details$_k: dx's bits differ from the plain loops' (diff $pt/$_net.plain.out $pt/$_net.$_k.out)
"
    done
    for _k in v16 v8wide narrow; do
        [ -f "$pt/$_net.$_k.out" ] && ! cmp -s "$pt/$_net.plain.out" "$pt/$_net.$_k.out" &&
            _details="$_details$_k: dx's bits differ from the plain loops' (diff $pt/$_net.plain.out $pt/$_net.$_k.out)
"
    done
    if [ -z "$_details" ]; then ok "max pooling gives a tied window's gradient to its first maximum on every path ($_net)"
    else fail "max pooling gives a tied window's gradient to its first maximum on every path ($_net)" "$_details"; fi
}
if $NNC tests/numeric/pool_ties.nn -o "$pt/ties.c" 2>"$pt/nnc.log"; then
    # (each mutation changes only its own networks' results: with >= the
    # forward pass's maxima keep their values)
    sed -e "s/hb = eb & ~(pa | qa)/hb = eb \& ~(pa \& qa)/" -e "s/gt = x > mx;/gt = x >= mx;/" \
        "$pt/ties.c" >"$pt/ties_mutant.c"
    if ! grep -q "hb = eb & ~(pa | qa)" "$pt/ties.c" || ! grep -q "gt = x > mx;" "$pt/ties.c"; then
        fail "pool ties: the mutants" "the vector code no longer has the lines the mutants change"
    elif [ "$(grep -c "each window's first maximum, 0 to 3" "$pt/ties.c")" -lt 4 ]; then
        fail "pool ties: the conv networks" "their pooling does not keep its choice (no \"each window's first maximum\" in both functions of both)"
    else
        pool_ties ties10 4 20
        pool_ties ties5 6 10
        pool_ties convties12 4 24 -DPASS_CONV
        pool_ties convties6 6 12 -DPASS_CONV
    fi
else
    fail "pool ties: nnc pool_ties.nn" "$(cat "$pt/nnc.log")"
fi

# A batch-1 network against its twin at batch 2 (batch1.nn, batch1.c): fed
# one sample a step, the two train to the same bits, on the vector path
# -march=native takes, the plain loops and under the sanitizers.  The batch-1
# network's own code (its NAME_forward is its training pass: 2x2 max pooling
# after a convolution keeps each window's choice in net->act) is checked
# that way; the twin's gradient by gradcheck.c, which must refuse the batch-1
# network (its kink check reads the convolution's outputs in net->act).  A
# mutant of the batch-1 network's plain pooling backward (the lower row's
# two choices swapped) must be caught.
b1=$out/batch1
mkdir -p "$b1"
batch1_build() {   # batch1_build NAME SOURCE FLAGS...: builds $b1/NAME, its log on failure
    _n=$1 _s=$2
    shift 2
    $CC $STRICT "$@" -I"$b1" -o "$b1/$_n" tests/numeric/batch1.c "$_s" -lm >"$b1/$_n.log" 2>&1 ||
        echo "$_n: does not build: $(head -5 "$b1/$_n.log")"
}
batch1_gradcheck() {   # batch1_gradcheck NET: gradcheck.c on that network of batch1.nn
    $CC $STRICT -O2 -march=native -DNET=$1 -include "$b1/batch1.h" -o "$b1/gradcheck.$1" \
        tests/numeric/gradcheck.c "$b1/batch1.c" -lm >"$b1/gradcheck.$1.log" 2>&1 ||
        echo "gradcheck.c for $1: does not build: $(head -5 "$b1/gradcheck.$1.log")"
}
if $NNC tests/numeric/batch1.nn -o "$b1/batch1.c" 2>"$b1/nnc.log"; then
    _m='d1\[ox \* 2\] = a == 2.0f ? gv : 0.0f;' _m1='d1\[ox \* 2 + 1\] = a == 3.0f ? gv : 0.0f;'
    sed -e "0,/$_m/s//d1[ox * 2] = a == 3.0f ? gv : 0.0f;/" \
        -e "0,/$_m1/s//d1[ox * 2 + 1] = a == 2.0f ? gv : 0.0f;/" "$b1/batch1.c" >"$b1/mutant.c"
    if cmp -s "$b1/batch1.c" "$b1/mutant.c"; then
        fail "batch 1: the mutant" "the plain pooling backward no longer has the lines the mutant changes"
    elif [ "$(grep -c "each window's first maximum, 0 to 3" "$b1/batch1.c")" -lt 8 ]; then
        fail "batch 1: the networks" "their pooling does not keep its choices (fewer than 8 \"each window's first maximum\" in batch1.c)"
    else
        batch1_build native "$b1/batch1.c" -O2 -march=native >"$b1/native.err" &
        batch1_build plain "$b1/batch1.c" -O2 -DNNC_PLAIN_C >"$b1/plain.err" &
        wait
        batch1_build san "$b1/batch1.c" $SAN_V8 >"$b1/san.err" &
        batch1_build mutant "$b1/mutant.c" -O2 -DNNC_PLAIN_C >"$b1/mutant.err" &
        wait
        batch1_gradcheck twin >"$b1/gc_twin.err" &
        batch1_gradcheck one >"$b1/gc_one.err" &
        wait
        _details=$(cat "$b1/native.err" "$b1/plain.err" "$b1/san.err" "$b1/mutant.err")
        for _k in native plain san; do
            [ -x "$b1/$_k" ] && ! "$b1/$_k" >"$b1/$_k.out" 2>&1 && _details="$_details
$_k: $(head -3 "$b1/$_k.out")"
        done
        [ -x "$b1/mutant" ] && "$b1/mutant" >/dev/null 2>&1 && _details="$_details
the mutant (the lower row's two choices swapped in the batch-1 pooling backward) passed"
        _n="a batch-1 network trains to the same bits as its twin at batch 2 (vector path, plain loops, sanitizers; a mutant caught)"
        if [ -z "$_details" ]; then ok "$_n"; else fail "$_n" "$_details"; fi
        _n="gradcheck twin (batch1.nn: the batched code of the batch-1 network's layers)"
        _e=$(cat "$b1/gc_twin.err")
        [ -z "$_e" ] && ! _e=$("$b1/gradcheck.twin" tests/numeric/batch1.nn 2>&1) && _e="${_e:-failed}"
        if [ -z "$_e" ]; then ok "$_n"; else fail "$_n" "$_e"; fi
        _n="gradcheck refuses the batch-1 network whose act holds pooling choices, saying why"
        _e=$(cat "$b1/gc_one.err")
        if [ -n "$_e" ]; then
            fail "$_n" "$_e"
        elif _o=$("$b1/gradcheck.one" tests/numeric/batch1.nn 2>&1); then
            fail "$_n" "it ran: $_o"
        elif printf '%s\n' "$_o" | grep -q "has batch 1 and 2x2 max pooling after a convolution"; then
            ok "$_n"
        else
            fail "$_n" "not the expected message: $_o"
        fi
    fi
else
    fail "batch 1: nnc batch1.nn" "$(cat "$b1/nnc.log")"
fi
