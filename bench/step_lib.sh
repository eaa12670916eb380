# shellcheck shell=sh disable=SC2154   # (sourced: $root and $tool come from the caller)
# step_lib.sh — what bench/ab_step.sh and bench/profile_step.sh share
# (sourced; they set $root, the repository, and $tool, their name for
# messages): the cc JIT backend's flags, the network of an emitted header,
# and bench/ab_step.c's driver built for it.

# step_flags: the flags `nnc train --help` states for the cc backend; with
# VW set (512 or 256), that -mprefer-vector-width instead of its own
step_flags() {
    _f=$("$root/nnc" train --help | sed -n 's/^The cc backend.s flags: \([^(]*\).*/\1/p')
    [ -n "$_f" ] || { echo "$tool: cannot read the cc backend's flags from nnc train --help" >&2; exit 1; }
    [ -n "$VW" ] && _f=$(echo "$_f" | sed "s/-mprefer-vector-width=[0-9]*/-mprefer-vector-width=$VW/")
    echo "$_f"
}

# step_net NET.h WHAT: the name of the network NET.h declares, which must
# be training C (WHAT names the file in the message when it is not)
step_net() {
    _n=$(sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\)_N_INPUTS .*/\1/p' "$1" | head -1)
    [ -n "$_n" ] || { echo "$tool: no network in $1" >&2; exit 1; }
    grep -q "^#define ${_n}_BATCH " "$1" ||
        { echo "$tool: $2 is inference-only C (nnc --weights): give the training C (nnc NET.nn -o A.c)" >&2; exit 1; }
    echo "$_n"
}

# step_driver NET.h NAME EXE: bench/ab_step.c built for network NAME of
# NET.h, with the runtime's data loaders (build/libnncrt.a, which make nnc
# builds)
step_driver() {
    [ -f "$root/build/libnncrt.a" ] || { echo "$tool: no build/libnncrt.a: run make nnc first" >&2; exit 1; }
    cc -std=c99 -Wall -Wextra -Wpedantic -O2 -D_POSIX_C_SOURCE=200809L -DNET="$2" -include "$1" -I"$root/runtime" \
        -o "$3" "$root/bench/ab_step.c" "$root/build/libnncrt.a" -ldl -lz -lm
}
