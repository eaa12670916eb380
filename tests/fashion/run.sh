#!/bin/sh
# Short training runs on slices of the real Fashion-MNIST files (Debian's
# dataset-fashion-mnist, which scripts/setup.sh test installs): accuracy must
# rise well above chance (10%) within one epoch.  The full 10-epoch runs are
# `make demo` and `make demo-cnn`, not tests.
. tests/lib.sh
FM=${NNC_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
out=${NNC_TEST_DIR:-build/test}/fashion
mkdir -p "$out"
if [ ! -f "$FM/train-images-idx3-ubyte.gz" ]; then
    fail "fashion-mnist slices (not run: $FM is missing; the Debian package dataset-fashion-mnist could not be installed)"
    exit 0
fi
# slice NAME NET ARGS... : the last line's accuracy must be at least MIN
slice() {
    name=$1 min=$2 net=$3; shift 3
    if $NNC train "$net" --data "$FM/train-images-idx3-ubyte.gz" --test "$FM/t10k-images-idx3-ubyte.gz" \
        --epochs 1 "$@" >"$out/$name.log" 2>&1; then
        acc=$(sed -n 's/^final test accuracy: \([0-9.]*\)%$/\1/p' "$out/$name.log")
        if [ -n "$acc" ] && awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }'; then
            ok "fashion-mnist $name: $acc% test accuracy after one epoch (at least $min%)"
        else
            fail "fashion-mnist $name: accuracy ${acc:-?}% below $min%" "$(tail -5 "$out/$name.log")"
        fi
    else
        fail "fashion-mnist $name" "$(tail -5 "$out/$name.log")"
    fi
}
# 2000 training images, tested on 2000 test images: an MLP through libtcc and
# the CNN through cc.  Chance is 10%; one such epoch typically gives 70-75%.
slice mlp 50 examples/fashion_mlp.nn --limit 2000
XDG_CACHE_HOME=$out/cache slice cnn 40 examples/fashion_cnn.nn --limit 2000 --jit=cc
