#!/bin/sh
# Tests of `make install` and `make uninstall`, into a scratch DESTDIR:
#   sh tests/install/run.sh            from the repository root
# Installs with PREFIX=/usr/local, checks every file and its mode, runs the
# installed nnc, builds a small C program against the installed header and
# library, reads the installed man page; then uninstalls and checks that
# exactly the installed files are gone.  A second install with another
# PREFIX checks that the man page names it.  Prints "ok install NAME" or
# "FAIL install NAME" lines.
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/install
root=$out/root
prefix=/usr/local
rm -rf "$out"
mkdir -p "$out"
CC=${CC:-cc}
MAKE=${MAKE:-make}
# make install / uninstall, quietly; the output goes to LOG, shown on failure.
mk() {
    _log=$1; shift
    $MAKE -s --no-print-directory "$@" >"$_log" 2>&1
}

# ---- install ----
if mk "$out/install.log" install DESTDIR="$root" PREFIX="$prefix"; then
    ok "install make install"
else
    fail "install make install" "$(tail -n 20 "$out/install.log")"
fi

p=$root$prefix
files="bin/nnc lib/libnncrt.a include/nnc_rt.h share/man/man1/nnc.1
       share/doc/nnc/README.md share/doc/nnc/LICENSE"
for f in docs/*.md; do files="$files share/doc/nnc/$(basename "$f")"; done

# Each file is there, a regular file, with the mode install -m gave it.
for f in $files; do
    case $f in bin/*) want=-rwxr-xr-x ;; *) want=-rw-r--r-- ;; esac
    if [ ! -f "$p/$f" ]; then
        fail "install $prefix/$f installed" "missing: $p/$f"
        continue
    fi
    mode=$(ls -ld "$p/$f" | cut -c1-10)
    if [ "$mode" = "$want" ]; then
        ok "install $prefix/$f installed, mode $want"
    else
        fail "install $prefix/$f installed, mode $want" "mode is $mode"
    fi
done
# The installed copies are the built ones.
check "install nnc_rt.h is runtime/nnc_rt.h" cmp runtime/nnc_rt.h "$p/include/nnc_rt.h"
check "install libnncrt.a is build/libnncrt.a" cmp build/libnncrt.a "$p/lib/libnncrt.a"

# ---- the installed nnc runs, on its own ----
want=$($NNC --version 2>&1)
if got=$("$p/bin/nnc" --version 2>&1) && [ "$got" = "$want" ] && [ -n "$got" ]; then
    ok "install installed nnc --version"
else
    fail "install installed nnc --version" "got: $got" "want: $want"
fi
if "$p/bin/nnc" --emit=c examples/xor.nn >"$out/xor.c" 2>"$out/xor.err" &&
    $NNC --emit=c examples/xor.nn | cmp -s - "$out/xor.c"; then
    ok "install installed nnc emits the same C"
else
    fail "install installed nnc emits the same C" "$(cat "$out/xor.err")"
fi
if "$p/bin/nnc" train examples/xor.nn --data examples/xor.csv --epochs 5 --save "$out/xor.nnw" \
    >"$out/train.log" 2>&1 && [ -s "$out/xor.nnw" ]; then
    ok "install installed nnc train (libtcc JIT)"
else
    fail "install installed nnc train (libtcc JIT)" "$(cat "$out/train.log")"
fi

# ---- a program of one's own, against the installed header and library ----
cat >"$out/prog.c" <<'EOF'
/* Uses only the installed <nnc_rt.h> and libnncrt.a. */
#include <nnc_rt.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    int bad = 0;
    /* zlib's CRC-32 check value */
    uint32_t crc = rt_crc32(0, "123456789", 9);
    if (crc != UINT32_C(0xCBF43926)) {
        printf("rt_crc32(\"123456789\") = %08lx, want cbf43926\n", (unsigned long)crc);
        bad = 1;
    }
    /* splitmix64: the same seed gives the same numbers, another seed others */
    RtRng a, b, c;
    rt_rng_seed(&a, 42);
    rt_rng_seed(&b, 42);
    rt_rng_seed(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rt_rng_next(&a), y = rt_rng_next(&b), z = rt_rng_next(&c);
        same &= x == y;
        differ |= x != z;
        if (rt_rng_below(&a, 10) >= 10) {
            printf("rt_rng_below(10) out of range\n");
            bad = 1;
        }
        rt_rng_below(&b, 10);
    }
    if (!same || !differ) {
        printf("rt_rng: same seed same numbers %d, other seed other numbers %d\n", same, differ);
        bad = 1;
    }
    /* a weight file round trip */
    if (argc > 1) {
        float w[3] = {1.0f, -2.5f, 0.125f}, r[3] = {0};
        RtError err;
        if (!rt_save_weights(argv[1], UINT64_C(0x1234), w, 3, &err) ||
            !rt_load_weights(argv[1], UINT64_C(0x1234), r, 3, &err)) {
            printf("%s\n", err.msg);
            bad = 1;
        } else if (memcmp(w, r, sizeof w) != 0) {
            printf("weights differ after a round trip\n");
            bad = 1;
        }
    }
    if (!bad)
        printf("runtime ok\n");
    return bad;
}
EOF
# shellcheck disable=SC2086
if $CC $STRICT -o "$out/prog" "$out/prog.c" -I"$p/include" -L"$p/lib" -lnncrt -lz -lm \
    >"$out/prog.log" 2>&1; then
    ok "install a program builds with -I.../include -L.../lib -lnncrt -lz -lm"
    if r=$("$out/prog" "$out/prog.nnw" 2>&1) && [ "$r" = "runtime ok" ]; then
        ok "install a program runs on the installed runtime (rt_crc32, rt_rng, weights)"
    else
        fail "install a program runs on the installed runtime (rt_crc32, rt_rng, weights)" "$r"
    fi
else
    fail "install a program builds with -I.../include -L.../lib -lnncrt -lz -lm" "$(cat "$out/prog.log")"
fi

# ---- the man page ----
man=$p/share/man/man1/nnc.1
if [ -s "$man" ] && grep -q '^\.TH NNC 1' "$man" && grep -q '^\.SH EXIT STATUS' "$man"; then
    ok "install man page nnc.1"
else
    fail "install man page nnc.1" "missing, empty or not a man page: $man"
fi
if command -v groff >/dev/null; then
    if w=$(groff -man -ww -z "$man" 2>&1) && [ -z "$w" ]; then
        ok "install man page renders without warnings"
    else
        fail "install man page renders without warnings" "$w"
    fi
fi

# ---- uninstall removes exactly what install put there ----
echo keep >"$p/bin/not-nnc"
if mk "$out/uninstall.log" uninstall DESTDIR="$root" PREFIX="$prefix"; then
    ok "install make uninstall"
else
    fail "install make uninstall" "$(tail -n 20 "$out/uninstall.log")"
fi
left=$(cd "$root" && find . -type f | sort)
if [ "$left" = "./usr/local/bin/not-nnc" ]; then
    ok "install uninstall leaves no installed file (and keeps others)"
else
    fail "install uninstall leaves no installed file (and keeps others)" "files left under $root:" "$left"
fi
if [ ! -d "$p/share/doc/nnc" ]; then
    ok "install uninstall removes share/doc/nnc"
else
    fail "install uninstall removes share/doc/nnc" "$p/share/doc/nnc is still there"
fi

# ---- another PREFIX: the man page names it ----
root2=$out/root2
if mk "$out/install2.log" install DESTDIR="$root2" PREFIX=/opt/nnc &&
    [ -x "$root2/opt/nnc/bin/nnc" ] && grep -q '/opt/nnc/share/doc/nnc' "$root2/opt/nnc/share/man/man1/nnc.1" &&
    ! grep -q '/usr/local' "$root2/opt/nnc/share/man/man1/nnc.1"; then
    ok "install PREFIX=/opt/nnc, named in the man page"
else
    fail "install PREFIX=/opt/nnc, named in the man page" "$(tail -n 20 "$out/install2.log")"
fi
if mk "$out/uninstall2.log" uninstall DESTDIR="$root2" PREFIX=/opt/nnc &&
    [ -z "$(find "$root2" -type f)" ]; then
    ok "install PREFIX=/opt/nnc uninstall"
else
    fail "install PREFIX=/opt/nnc uninstall" "$(find "$root2" -type f)"
fi
