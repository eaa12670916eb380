#!/bin/sh
# Regression mode of the fuzz targets (fuzz/, docs/robustness.md): each
# libFuzzer target, built with clang, ASan and UBSan, runs once over every
# input of its committed corpus, fuzz/corpus/TARGET/ (the seeds, and one
# bug-NN-* file per finding fixed).  No fuzzing happens here: `make fuzz`
# does that.
#   sh tests/fuzz/run.sh [TARGET...]      from the repository root
# Prints "ok fuzz TARGET (N inputs)" or "FAIL fuzz TARGET" with the
# sanitizer's or the harness's report.  Needs clang and libclang-rt-14-dev
# (libFuzzer); without them every target is FAIL with the reason.
. tests/lib.sh
targets=${*:-"frontend repl csv idx weights checkpoint text"}
out=${NNC_TEST_DIR:-build/test}/fuzz
rm -rf "$out/tmp"
mkdir -p "$out/tmp"
# the targets' private directories (a crashed run cannot remove its own)
TMPDIR=$(pwd)/$out/tmp
export TMPDIR

bins=""
for t in $targets; do bins="$bins build/fuzz/fuzz_$t"; done
# shellcheck disable=SC2086
if ! make -s -j2 $bins >"$out/build.log" 2>&1; then
    for t in $targets; do fail "fuzz $t" "cannot build build/fuzz/fuzz_$t:" "$(tail -5 "$out/build.log")"; done
    exit 0
fi

for t in $targets; do
    files=$(find "fuzz/corpus/$t" -type f | sort)
    n=$(echo "$files" | grep -c .)
    if [ "$n" -eq 0 ]; then
        fail "fuzz $t" "fuzz/corpus/$t is empty"
        continue
    fi
    # Inputs as arguments: each runs once (no mutations); a crash, leak,
    # sanitizer report, broken invariant or a run over 10 s fails.
    # shellcheck disable=SC2086
    # (-artifact_prefix: absolute, as the REPL target changes directory)
    if "build/fuzz/fuzz_$t" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$TMPDIR/" $files >"$out/$t.log" 2>&1; then
        ok "fuzz $t ($n inputs)"
    else
        fail "fuzz $t" "$(grep -E '^Running: ' "$out/$t.log" | tail -1)" \
            "$(grep -E 'ERROR|error:|invariant|SUMMARY|/(compiler|runtime|grammar|fuzz|build)/[a-z_]+\.[chly]:' \
                "$out/$t.log" | grep -v 'fuzz_common.h' | head -14)" \
            "full log: $out/$t.log"
    fi
done
