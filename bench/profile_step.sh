#!/bin/sh
# profile_step.sh NET.nn [ROUNDS [IMAGES]]: where a training step's time
# goes, by section of the emitted C.  Emits NET.nn's training C, builds it
# with the cc JIT backend's flags (as bench/ab_step.sh does; VW=512 for
# 512-bit vectors) plus -g, runs bench/ab_step.c's driver on it under
# `perf record`, and adds up the samples of each source line under the
# section it belongs to: the function, and in it the last "/* layer ..."
# (or "/* layers ...") comment above the line, so that a layer's forward
# and backward code are told apart.  The shares are of the samples in the
# emitted C (calls into libm, such as expf, are not among them); the line
# before says what share of the process's samples that is (the rest: the
# rows read and gathered by the driver, the kernel).  The rows are random
# unless IMAGES names an IDX image file (bench/ab_step.sh), e.g.
#   sh bench/profile_step.sh examples/fashion_cnn.nn 10 /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
# Needs perf (Debian: linux-perf).  Shares of one run: compare two versions
# of the code with bench/ab_step.sh, which alternates them.
set -e
if [ $# -lt 1 ] || [ $# -gt 3 ]; then echo "usage: sh bench/profile_step.sh NET.nn [ROUNDS [IMAGES]]" >&2; exit 2; fi
[ -f "$1" ] || { echo "profile_step.sh: $1: no such file" >&2; exit 1; }
[ -z "$3" ] || [ -f "$3" ] || { echo "profile_step.sh: $3: no such file" >&2; exit 1; }
command -v perf >/dev/null || { echo "profile_step.sh: no perf (Debian: apt-get install linux-perf)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
tool=profile_step.sh
. "$root/bench/step_lib.sh"
flags=$(step_flags)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/nnc" "$1" -o "$out/net.c"
name=$(step_net "$out/net.h" "$1")
# shellcheck disable=SC2086
cc $flags -g -shared -fPIC -o "$out/net.so" "$out/net.c" -lm
step_driver "$out/net.h" "$name" "$out/ab_step"
echo "$name, $flags -g:"
perf record -q -o "$out/perf.data" "$out/ab_step" "$out/net.so" "$out/net.so" "${2:-10}" ${3:+"$3"} >/dev/null
inside=$(perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null |
    awk '$2 == "net.so" { sub(/%/, "", $1); print $1 }')
echo "shares of the samples in the emitted C (${inside:-0}% of the process's: the rest is reading the rows, the driver and the kernel):"
perf report -i "$out/perf.data" --no-children --dsos net.so --percentage relative --sort srcline --stdio 2>/dev/null |
    awk -v src="$out/net.c" '
        BEGIN {   # the sections: each "/* layer" comment of at most 8 spaces indent, by line
            while ((getline l < src) > 0) {
                n++
                if (l ~ /^ *\/\* layers? / && index(l, "/*") <= 9) {
                    sub(/^ *\/\* /, "", l); sub(/ *\*\/.*$/, "", l)
                    at[++k] = n; what[k] = fn ": " l
                } else if (l ~ /^[a-z].*[A-Za-z0-9_]\(/) {   # a function: its code before its first layer
                    fn = l; gsub(/__attribute__\(\([a-z_]*\)\)/, "", fn); sub(/\(.*/, "", fn); sub(/.* \**/, "", fn)
                    at[++k] = n; what[k] = fn
                }
            }
        }
        /^ *[0-9.]+%/ {
            p = $1; sub(/%/, "", p)
            if (match($0, /net\.c:[0-9]+/)) {
                line = substr($0, RSTART + 6, RLENGTH - 6) + 0
                s = 0
                for (i = 1; i <= k && at[i] <= line; i++) s = i
                share[s] += p
            } else
                other += p
        }
        END {
            for (i = 0; i <= k; i++)
                if (share[i] >= 0.05)
                    printf "%6.2f%%  %s\n", share[i], i ? "line " at[i] ": " what[i] : "the emitted C before its first function"
            if (other >= 0.05)
                printf "%6.2f%%  no line known\n", other
        }'
