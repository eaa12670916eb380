#!/bin/sh
# setup.sh — installs the Debian packages nnc needs, only those missing.
#   scripts/setup.sh build   flex, bison, a C compiler, libtcc, zlib, libedit, Open MPI
#                            (its header to build; mpirun to train on many cores) (`make`)
#   scripts/setup.sh demo    also the Fashion-MNIST data set, Graphviz and Debian's
#                            fortunes (the character model's text) (`make demo`)
#   scripts/setup.sh test    also clang, cmocka, valgrind, cppcheck, python3-torch, the
#                            Cortex-M toolchain (gcc-arm-none-eabi, newlib) and QEMU
#                            (qemu-system-arm) that examples/mcu and the docs' examples
#                            use, and what demo needs (`make test`)
#   scripts/setup.sh bench   what test needs, and OpenBLAS (`make bench`)
# Whether a package is there is asked of dpkg, not guessed from a file that
# another package may also provide.  Says what it installs and why; does
# nothing when everything is there.
set -eu
profile=${1:-build}

missing=""
need() {   # need PACKAGE...: the packages dpkg does not list as installed
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
            missing="$missing $pkg"
        fi
    done
}

need flex bison gcc make tcc libtcc-dev zlib1g-dev libedit-dev openmpi-bin libopenmpi-dev
case $profile in
demo) need dataset-fashion-mnist graphviz fortunes ;;
test | bench | all)
    need dataset-fashion-mnist graphviz fortunes clang libclang-rt-14-dev cppcheck libcmocka-dev valgrind \
        python3 python3-torch python3-numpy gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
    [ "$profile" = test ] || need libopenblas-dev ;;
build) ;;
*) echo "setup: unknown profile '$profile' (build, demo, test or bench)" >&2; exit 2 ;;
esac

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
