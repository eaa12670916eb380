#!/bin/sh
# The RAM plan of inference-only C (compiler/plan.c): the layers' buffers
# share one array by turns, convolutions write their wide rows over their
# own output, pools write over their input, dropout and flatten have no
# buffer.  Run by tests/jit/run.sh, or alone from the repository root after
# `make nnc build/libnncrt.a`:  sh tests/jit/plan.sh
#
# For networks that reach every case (a padded stride-1 convolution whose
# filters do not fill the register blocks, an unpadded one, a strided one,
# max and average pooling, max pooling in vectors of 16 and 8 lanes whose
# last chunk starts right where the first one's output ends (12 and 6
# windows a row), dropout, flatten, dense layers, an LSTM), the
# inference-only C, built with gcc (AVX-512 at 16 lanes and at 8, AVX2, no
# vector extension: each of the code's paths), clang and tcc, and once under
# ASan and UBSan,
# gives the training code's NAME_forward outputs with the same weights (to
# 1e-5 relative; gcc's paths and tcc the same bits), and its plan is
# smaller than keeping every output where any buffers take turns.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/plan
rm -rf "$out"
mkdir -p "$out"
NNC=${NNC:-./nnc}

cat >"$out/convs.nn" <<'EOF'
network convs {
    input 3x12x12
    conv 10 3x3 pad 1 relu
    maxpool 2x2
    conv 7 3x3 tanh
    avgpool 2x2
    dropout 0.25
    dense 5 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 4
}
EOF
cat >"$out/pools.nn" <<'EOF'
network pools {
    input 2x24x24
    conv 3 3x3 pad 1 relu
    maxpool 2x2
    conv 4 3x3 pad 1
    maxpool 2x2
    dense 3 softmax
    loss cross_entropy
    optimizer sgd lr=0.05
    batch 2
}
EOF
cat >"$out/strided.nn" <<'EOF'
network strided {
    input 2x11x11
    conv 4 3x3 stride 2 pad 1 leaky_relu(0.1)
    conv 9 2x2 pad 1 sigmoid
    flatten
    dense 3 sigmoid
    loss mse
    optimizer sgd lr=0.1
    batch 1
}
EOF
cat >"$out/mlp.nn" <<'EOF'
network mlp {
    input 20
    dense 57 relu
    dropout 0.5
    dense 17 tanh
    dense 4 softmax
    loss cross_entropy
    optimizer sgd lr=0.05 momentum=0.9
    batch 8
}
EOF
cat >"$out/seq.nn" <<'EOF'
network seq {
    input 3 steps=5
    lstm 6
    dense 2 softmax
    loss cross_entropy
    optimizer adam lr=0.01
    batch 4
}
EOF

# rows NAME INPUTS CLASSES: 40 rows of random inputs and a class, to train
# a little (the weights only need to be other than the initial ones); and
# three samples for the outputs
rows() {
    python3 - "$out/$1" "$2" "$3" <<'EOF'
import random, sys
path, ni, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(ni)
with open(path + ".csv", "w") as f:
    for _ in range(40):
        f.write(",".join("%.3f" % random.uniform(-1, 1) for _ in range(ni)) + ",%d\n" % random.randrange(k))
with open(path + ".samples", "w") as f:
    f.write(" , ".join(" ".join("%.3f" % random.uniform(-1, 1) for _ in range(ni)) for _ in range(3)) + "\n")
EOF
}

same_outputs() {   # A B: the %a outputs after "|" agree to 1e-5 relative
    python3 - "$1" "$2" <<'EOF'
import sys
def rows(p):
    return [[float.fromhex(v) for v in line.split("|")[1].split()] for line in open(p) if "|" in line]
a, b = rows(sys.argv[1]), rows(sys.argv[2])
sys.exit(0 if len(a) == len(b) > 0 and all(len(x) == len(y) and all(abs(u - v) <= 1e-5 * max(abs(u), abs(v)) + 1e-30
                                                      for u, v in zip(x, y)) for x, y in zip(a, b)) else 1)
EOF
}

# NAME INPUTS CLASSES, and how the plan compares with keeping every output
# (the LSTM's two outputs are alive together: nothing to share)
for spec in "convs 432 5 -lt" "pools 1152 3 -lt" "strided 242 3 -lt" "mlp 20 4 -lt" "seq 15 2 -eq"; do
    # shellcheck disable=SC2086
    set -- $spec
    n=$1 cmp_op=$4
    rows "$n" "$2" "$3"
    if ! o=$("$NNC" train "$out/$n.nn" --data "$out/$n.csv" --epochs 2 --save "$out/$n.nnw" 2>&1) ||
        ! o=$("$NNC" "$out/$n.nn" -o "$out/${n}_train.c" 2>&1) ||
        ! o=$("$NNC" "$out/$n.nn" --weights "$out/$n.nnw" -o "$out/${n}_infer.c" 2>&1) ||
        ! o=$("$NNC" "$out/$n.nn" --weights "$out/$n.nnw" --keep-activations -o "$out/${n}_kept.c" 2>&1) ||
        ! o=$(gcc -std=c99 -O2 -DNET=$n -include "$out/${n}_train.h" -Iruntime -o "$out/$n.drv" tests/jit/rt_driver.c \
            "$out/${n}_train.c" build/libnncrt.a -lz -lm 2>&1); then
        fail "plan $n: trained, emitted, the training code's driver built" "$o"
        continue
    fi
    # shellcheck disable=SC2046
    "$out/$n.drv" predict "$out/$n.nnw" $(cat "$out/$n.samples") >"$out/$n.want" 2>&1
    # each build: the plan's C (infer) with each compiler and path, --keep-activations' (kept) twice
    for build in "infer gcc -O2 -march=native" "infer gcc -O2 -march=native -DNNC_NO_V16" \
        "infer gcc -O2 -mavx2 -mfma -mno-avx512f" "infer gcc -O2 -mno-avx" \
        "infer clang -O2 -march=native" "infer tcc" "infer gcc -O1 -fsanitize=address,undefined -fno-sanitize-recover=all" \
        "kept gcc -O2 -march=native" "kept gcc -O1 -fsanitize=address,undefined -fno-sanitize-recover=all"; do
        v=${build%% *} cfg=${build#* }
        what="the inference-only C"
        [ $v = kept ] && what="the inference-only C with --keep-activations"
        tag=$v.$(printf '%s' "$cfg" | tr -c 'a-zA-Z0-9\n' '_')
        # shellcheck disable=SC2086
        if ! o=$($cfg $STRICT -DNET=$n -include "$out/${n}_$v.h" -o "$out/$n.$tag" tests/jit/infer_main.c \
            "$out/${n}_$v.c" -lm 2>&1); then
            fail "plan $n: $what builds with $cfg" "$o"
            continue
        fi
        # shellcheck disable=SC2046
        "$out/$n.$tag" $(cat "$out/$n.samples") >"$out/$n.$tag.out" 2>&1
        if same_outputs "$out/$n.$tag.out" "$out/$n.want"; then
            ok "plan $n: $what ($cfg) gives the training code's outputs"
        else
            fail "plan $n: $what ($cfg) gives the training code's outputs" \
                "inference:" "$(cat "$out/$n.$tag.out")" "training code:" "$(cat "$out/$n.want")"
        fi
    done
    # gcc's paths (16 lanes where the machine has AVX-512, 8 with its 32
    # registers, 8 with AVX2's 16, plain loops) and tcc's: the same sums in
    # the same order, so the same bits (clang contracts a * b + c into one
    # rounding where gcc -std=c99 does not)
    same=1
    for cfg in "gcc -O2 -march=native -DNNC_NO_V16" "gcc -O2 -mavx2 -mfma -mno-avx512f" "gcc -O2 -mno-avx" "tcc"; do
        tag=infer.$(printf '%s' "$cfg" | tr -c 'a-zA-Z0-9\n' '_')
        cmp -s "$out/$n.infer.gcc__O2__march_native.out" "$out/$n.$tag.out" || same=0
    done
    if [ $same = 1 ] && [ -s "$out/$n.infer.gcc__O2__march_native.out" ]; then
        ok "plan $n: the inference-only C gives the same bits on gcc's vector paths, its plain loops and tcc"
    else
        fail "plan $n: the inference-only C gives the same bits on gcc's vector paths, its plain loops and tcc" \
            "$(head -n 3 "$out/$n".infer.*.out)"
    fi
    planned=$("$NNC" --emit=ir "$out/$n.nn" --weights "$out/$n.nnw" |
        sed -n 's/^  plan .*(\([0-9]*\) floats; with every output kept, \([0-9]*\))$/\1 \2/p')
    # shellcheck disable=SC2086
    set -- $planned
    what="smaller than"
    [ $cmp_op = -eq ] && what="the size of"
    if [ $# = 2 ] && [ "$1" $cmp_op "$2" ] 2>/dev/null; then
        ok "plan $n: the plan ($1 floats) is $what keeping every output ($2)"
    else
        fail "plan $n: the plan is $what keeping every output" "$planned"
    fi
done
