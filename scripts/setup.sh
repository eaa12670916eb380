#!/bin/sh
# setup.sh — installs the Debian packages nnc needs, only those missing.
#   scripts/setup.sh build   flex, bison, a C compiler, libtcc, zlib, libedit (`make`, `make demo`)
#   scripts/setup.sh demo    also the Fashion-MNIST data set (`make demo`)
#   scripts/setup.sh test    also clang, cmocka, valgrind, python3-torch and the data set
#   scripts/setup.sh bench   what test needs, and OpenBLAS for the peak probe (`make bench`)
# Says what it installs and why; does nothing when everything is there.
set -eu
profile=${1:-build}

missing=""
need() {   # need PACKAGE TEST-COMMAND...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then missing="$missing $pkg"; fi
}
has() { command -v "$1"; }
hdr() { test -f "/usr/include/$1"; }

need flex has flex
need bison has bison
need gcc has cc
need make has make
need tcc has tcc                 # also brings libtcc1.a, which the JIT links
need libtcc-dev hdr libtcc.h
need zlib1g-dev hdr zlib.h
need libedit-dev hdr histedit.h
if [ "$profile" = demo ]; then
    need dataset-fashion-mnist test -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
fi
if [ "$profile" = test ] || [ "$profile" = bench ] || [ "$profile" = all ]; then
    need clang has clang
    need libclang-rt-14-dev sh -c 'ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a'
    need cppcheck has cppcheck
    need libcmocka-dev hdr cmocka.h
    need valgrind has valgrind
    need python3-torch /usr/bin/python3 -c 'import torch'
    need python3-numpy /usr/bin/python3 -c 'import numpy'
    # real image data for the loader test and the Fashion-MNIST examples
    need dataset-fashion-mnist test -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
fi
if [ "$profile" = bench ] || [ "$profile" = all ]; then
    need libopenblas-dev hdr x86_64-linux-gnu/cblas.h
fi

[ -z "$missing" ] && exit 0
echo "setup: installing Debian packages:$missing" >&2
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=sudo; else
        echo "setup: not root and no sudo; please install:$missing" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine are empty: update them once first.
if ! $sudo apt-get install -y -qq --no-install-recommends $missing; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends $missing
fi
echo "setup: done" >&2
