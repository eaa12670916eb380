#!/bin/sh
# The cc backend's cache of shared objects; run by tests/jit/run.sh, or
# alone from the repository root after `make nnc`:
#   sh tests/jit/cache.sh        (NNC=build/asan/nnc for the sanitizer build)
# Writes under build/test/jit/cache_sh/, its own XDG_CACHE_HOME there (never
# ~/.cache).  About 10 s on 2 cores.
#
#   target      what -march=native means on this machine is part of every
#               key: `nnc cache` shows the compiler's answer (gcc's -march,
#               clang's -target-cpu, their version) and its hash, which does
#               not depend on the working directory and differs between gcc
#               and clang; /proc/cpuinfo answers when the compiler cannot.
#               NNC_CACHE_TARGET_TEST (test-only: another CPU, simulated)
#               A and B give XOR two objects from one source, and A again
#               takes A's object (the folder unchanged, nothing said).
#   concurrent  four `nnc train --jit=cc` at once into an empty cache all
#               train alike and leave one object, its source and no
#               temporary file; a fifth run takes that object.
#   corrupt     an object cut short (empty, 100 and 4096 bytes, all but its
#               last byte), one of another key, one of random bytes and one
#               whose segments are gone: nnc says why in one note line,
#               builds it again and trains as before; a rebuild that fails
#               too is an error (exit 1), never a crash.
#   command     `nnc cache` counts nnc's files and their bytes and the
#               others; `nnc cache clear` removes KEY.so, KEY.c and the
#               temporary files and leaves every other file; a folder not
#               made yet is shown and not made; no HOME is an error.
# (NNC_CACHE_TARGET_TEST also keeps the emitted C's 8-lane blocks: the
# vector-width probe times the CPU, and on a loaded machine its answer, and
# with it the source and the key, may change from one run to the next.)
# shellcheck disable=SC2086
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/jit/cache_sh
XDG_CACHE_HOME=$PWD/$out/xdg   # (absolute: one check runs nnc from /)
export XDG_CACHE_HOME
unset NNC_CACHE_TARGET_TEST
case $NNC in /*) nnc_abs=$NNC ;; *) nnc_abs=$PWD/$NNC ;; esac
dir=$XDG_CACHE_HOME/nnc
rm -rf "$out"
mkdir -p "$out"
xor="train examples/xor.nn --data examples/xor.csv --epochs 3 --jit=cc"

# run_status OUT ERR CMD...: runs CMD with its output in OUT and ERR; prints its status.
run_status() {
    _o=$1 _e=$2
    shift 2
    "$@" >"$_o" 2>"$_e"
    echo $?
}
# epochs FILE: nnc train's epoch lines, rates and times filtered out.
epochs() { grep '^epoch ' "$1" | sed -f tests/jit/filter.sed; }
# listing: the cache folder's files, their sizes and times.
listing() { ls -l --time-style=+%s.%N "$dir" 2>&1; }
# count EXT: how many KEY.EXT files the folder holds.
count() { ls "$dir" | grep -c "^[0-9a-f]\{16\}\.$1\$"; }
# field NAME FILE: the value after "NAME:" in nnc cache's output.
field() { sed -n "s/^$1: *//p" "$2"; }

# ---- target ----
CC=gcc $NNC cache >"$out/gcc.show" 2>&1
march=$(field -march=native "$out/gcc.show")
case $march in
-march=*'(gcc version '*) ok "target: gcc's answer for -march=native ($march)" ;;
*) fail "target: gcc's answer for -march=native" "$(cat "$out/gcc.show")" ;;
esac
if command -v clang >/dev/null; then
    CC=clang $NNC cache >"$out/clang.show" 2>&1
    (cd / && CC=clang "$nnc_abs" cache) >"$out/clang_root.show" 2>&1
    h=$(field "target hash" "$out/clang.show")
    if [ -n "$h" ] && [ "$h" = "$(field "target hash" "$out/clang_root.show")" ] &&
        [ "$h" != "$(field "target hash" "$out/gcc.show")" ] &&
        field -march=native "$out/clang.show" | grep -q -- '-target-cpu .*clang version'; then
        ok "target: clang's answer ($(field -march=native "$out/clang.show")): the same from / and from here, not gcc's"
    else
        fail "target: clang's answer: the same from / and from here, not gcc's" "$(cat "$out/clang.show")" \
            "from /:" "$(cat "$out/clang_root.show")" "gcc:" "$(cat "$out/gcc.show")"
    fi
else
    fail "target: clang's answer" "clang is not installed (scripts/setup.sh test installs it)"
fi
if [ -r /proc/cpuinfo ]; then
    CC=/nonexistent/cc $NNC cache >"$out/cpuinfo.show" 2>&1
    if field -march=native "$out/cpuinfo.show" | grep -q '/proc/cpuinfo'; then
        ok "target: /proc/cpuinfo answers when the compiler cannot ($(field -march=native "$out/cpuinfo.show"))"
    else
        fail "target: /proc/cpuinfo answers when the compiler cannot" "$(cat "$out/cpuinfo.show")"
    fi
fi
NNC_CACHE_TARGET_TEST=A $NNC cache >"$out/A.show" 2>&1
NNC_CACHE_TARGET_TEST=B $NNC cache >"$out/B.show" 2>&1
NNC_CACHE_TARGET_TEST=A $NNC cache >"$out/A2.show" 2>&1
ha=$(field "target hash" "$out/A.show")
hb=$(field "target hash" "$out/B.show")
if [ -n "$ha" ] && [ -n "$hb" ] && [ "$ha" != "$hb" ] && [ "$ha" = "$(field "target hash" "$out/A2.show")" ]; then
    ok "target: NNC_CACHE_TARGET_TEST A and B hash apart, A twice alike"
else
    fail "target: NNC_CACHE_TARGET_TEST A and B hash apart, A twice alike" "$(cat "$out/A.show" "$out/B.show")"
fi

sa=$(NNC_CACHE_TARGET_TEST=A run_status "$out/A.out" "$out/A.err" $NNC $xor)
keyA=$(ls "$dir" | sed -n 's/\.so$//p')
sb=$(NNC_CACHE_TARGET_TEST=B run_status "$out/B.out" "$out/B.err" $NNC $xor)
keyB=$(ls "$dir" | sed -n 's/\.so$//p' | grep -v "^$keyA\$")
# (the two sources differ only where they name their keys: nnc_jit_key)
if [ "$sa$sb" = 00 ] && [ -n "$keyA" ] && [ -n "$keyB" ] && [ "$(count so)" = 2 ] && [ "$(count c)" = 2 ] &&
    [ ! -s "$out/A.err" ] && [ ! -s "$out/B.err" ] && [ "$(epochs "$out/A.out")" = "$(epochs "$out/B.out")" ] &&
    [ "$(sed "s/$keyA/KEY/g" "$dir/$keyA.c")" = "$(sed "s/$keyB/KEY/g" "$dir/$keyB.c")" ]; then
    ok "target: the same network for targets A and B: two objects, their sources alike but for the key"
else
    fail "target: the same network for targets A and B: two objects, their sources alike but for the key" \
        "exit $sa and $sb" "$(listing)" "$(cat "$out/A.err" "$out/B.err")"
fi
listing >"$out/before_A2"
st=$(NNC_CACHE_TARGET_TEST=A run_status "$out/A2.out" "$out/A2.err" $NNC $xor)
listing >"$out/after_A2"
if [ "$st" = 0 ] && [ ! -s "$out/A2.err" ] && cmp -s "$out/before_A2" "$out/after_A2" &&
    [ "$(epochs "$out/A.out")" = "$(epochs "$out/A2.out")" ]; then
    ok "target: A again takes A's object (the folder unchanged, nothing said)"
else
    fail "target: A again takes A's object (the folder unchanged, nothing said)" "exit $st" \
        "$(diff "$out/before_A2" "$out/after_A2")" "$(cat "$out/A2.err")"
fi

# ---- corrupt objects ----
# broken NAME WHY MAKE...: B's object made bad by the command MAKE (run with
# $so its path), nnc train is run: exit 0, exactly the note naming WHY on
# stderr, the epochs of a good run, and an object that a next run takes
# without a word.
so=$dir/$keyB.so
cp "$so" "$out/good.so"
broken() {
    _n=$1 _why=$2
    shift 2
    cp "$out/good.so" "$so"
    "$@"
    _st=$(NNC_CACHE_TARGET_TEST=B run_status "$out/broken.out" "$out/broken.err" $NNC $xor)
    _st2=$(NNC_CACHE_TARGET_TEST=B run_status "$out/again.out" "$out/again.err" $NNC $xor)
    if [ "$_st$_st2" = 00 ] && [ "$(cat "$out/broken.err")" = \
        "nnc: note: JIT (cc): cached object $so could not be loaded ($_why); rebuilding" ] &&
        [ "$(epochs "$out/broken.out")" = "$(epochs "$out/B.out")" ] && [ ! -s "$out/again.err" ] &&
        [ "$(epochs "$out/again.out")" = "$(epochs "$out/B.out")" ] && [ "$(ls "$dir" | wc -l)" = 4 ]; then
        ok "corrupt: $_n: one note ($_why), built again, trains as before"
    else
        fail "corrupt: $_n: one note ($_why), built again, trains as before" "exit $_st, then $_st2" \
            "$(cat "$out/broken.err" "$out/again.err")" "$(listing)"
    fi
}
size=$(wc -c <"$out/good.so")
cut_to() { head -c "$1" "$out/good.so" >"$so"; }
broken "empty" "truncated: 0 bytes" cut_to 0
broken "100 bytes" "truncated: 100 bytes" cut_to 100
broken "4096 bytes (a truncation that would load, then die of SIGBUS)" "truncated: 4096 bytes" cut_to 4096
broken "all but the last byte" "truncated: $((size - 1)) bytes" cut_to $((size - 1))
broken "another key's object" "it is the build of key $keyA" cp "$dir/$keyA.so" "$so"
random_bytes() { head -c "$size" /dev/urandom >"$so"; }
broken "random bytes" "not a shared object of this machine's kind" random_bytes
# The program headers zeroed (ELF header kept): no segment to load, which
# dlopen itself refuses; its message is passed on.
no_segments() {
    /usr/bin/python3 -c '
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
phoff, = struct.unpack_from("<Q", b, 32)
phentsize, phnum = struct.unpack_from("<HH", b, 54)
b[phoff:phoff + phentsize * phnum] = bytes(phentsize * phnum)
open(sys.argv[1], "wb").write(b)' "$so"
}
cp "$out/good.so" "$out/noseg.so"
so_save=$so
so=$out/noseg.so
no_segments
so=$so_save
why=$(/usr/bin/python3 -c 'import ctypes, sys
try: ctypes.CDLL(sys.argv[1])
except OSError as e: print(str(e).split(": ", 1)[1])' "$PWD/$out/noseg.so")
broken "no segments (dlopen refuses it)" "$why" no_segments
# A rebuild that fails too: the note, then the compiler's failure, exit 1.
# (CC=false is another compiler, so another key: its KEY.c, written before
# the compiler runs, names the object to break.)
CC=false NNC_CACHE_TARGET_TEST=B $NNC $xor >/dev/null 2>&1
keyF=$(ls "$dir" | sed -n 's/\.c$//p' | grep -v "^$keyA\$" | grep -v "^$keyB\$")
head -c 100 "$out/good.so" >"$dir/$keyF.so"
st=$(CC=false NNC_CACHE_TARGET_TEST=B run_status "$out/false.out" "$out/false.err" $NNC $xor)
if [ "$st" = 1 ] && [ -n "$keyF" ] && [ "$(sed -n 1p "$out/false.err")" = \
    "nnc: note: JIT (cc): cached object $dir/$keyF.so could not be loaded (truncated: 100 bytes); rebuilding" ] &&
    [ "$(sed -n 2p "$out/false.err")" = "nnc: error: JIT (cc): 'false' failed on $dir/$keyF.c" ] &&
    [ "$(count tmp)" = 0 ] && ! ls "$dir" | grep -q tmp; then
    ok "corrupt: the rebuild fails too (CC=false): the note, the compiler's error, exit 1, no temporary file"
else
    fail "corrupt: the rebuild fails too (CC=false): the note, the compiler's error, exit 1, no temporary file" \
        "exit $st" "$(cat "$out/false.err")" "$(listing)"
fi

# ---- concurrent builds ----
# Four ranks of a job start at once on an empty cache: each that finds no
# object builds one into a temporary file of its own and renames it in.
rm -rf "$XDG_CACHE_HOME"
for i in 1 2 3 4; do
    { NNC_CACHE_TARGET_TEST=C $NNC $xor >"$out/rank$i.out" 2>"$out/rank$i.err"; echo $? >"$out/rank$i.st"; } &
done
wait
bad=
for i in 1 2 3 4; do
    if [ "$(cat "$out/rank$i.st")" != 0 ] || [ -s "$out/rank$i.err" ] ||
        [ "$(epochs "$out/rank$i.out")" != "$(epochs "$out/A.out")" ]; then
        bad="$bad rank $i: exit $(cat "$out/rank$i.st"), $(cat "$out/rank$i.err")"
    fi
done
# (how many of them built it: a build takes hundreds of milliseconds, a load a few)
builders=$(cat "$out"/rank*.out | sed -n 's/.*compiled by cc in \([0-9]*\)\..*/\1/p' | awk '$1 > 100' | wc -l)
if [ -z "$bad" ] && [ "$(ls "$dir" | wc -l)" = 2 ] && [ "$(count so)" = 1 ] && [ "$(count c)" = 1 ]; then
    ok "concurrent: four nnc train --jit=cc at once ($builders built it) train alike, one object and its source, no temporary file"
else
    fail "concurrent: four nnc train --jit=cc at once train alike, one object and its source, no temporary file" \
        "$bad" "$(listing)"
fi
listing >"$out/before_5"
st=$(NNC_CACHE_TARGET_TEST=C run_status "$out/rank5.out" "$out/rank5.err" $NNC $xor)
listing >"$out/after_5"
if [ "$st" = 0 ] && [ ! -s "$out/rank5.err" ] && cmp -s "$out/before_5" "$out/after_5"; then
    ok "concurrent: a fifth run takes their object"
else
    fail "concurrent: a fifth run takes their object" "exit $st" "$(cat "$out/rank5.err")" \
        "$(diff "$out/before_5" "$out/after_5")"
fi

# ---- nnc cache ----
# Beside nnc's object and source: two temporary files (a build's, and one
# of an older nnc's naming), and others nnc cache clear must leave: a
# README, a KEY.txt, a KEY.so in capitals, a link named like an object, a
# folder holding an object.
key=$(ls "$dir" | sed -n 's/\.so$//p')
echo partial >"$dir/$key.so.tmp.AbC123"
echo partial >"$dir/$key.so.4242.tmp"
echo mine >"$dir/README"
echo mine >"$dir/0123456789abcdef.txt"
echo mine >"$dir/0123456789ABCDEF.so"
ln -s README "$dir/fedcba9876543210.so"
mkdir "$dir/keep"
cp "$dir/$key.so" "$dir/keep/"
others="0123456789ABCDEF.so 0123456789abcdef.txt README fedcba9876543210.so keep"
bytes=$(cat "$dir/$key.so" "$dir/$key.c" "$dir/$key.so.tmp.AbC123" "$dir/$key.so.4242.tmp" | wc -c)
st=$(run_status "$out/show.out" "$out/show.err" $NNC cache)
if [ "$st" = 0 ] && [ ! -s "$out/show.err" ] && [ "$(field folder "$out/show.out")" = "$dir" ] &&
    [ "$(field "objects (.so)" "$out/show.out")" = 1 ] && [ "$(field "sources (.c)" "$out/show.out")" = 1 ] &&
    [ "$(field "temporary files" "$out/show.out")" = "2 (builds unfinished or under way)" ] &&
    [ "$(field bytes "$out/show.out")" = "$bytes" ] &&
    [ "$(field "other files" "$out/show.out")" = "5, not nnc's (nnc cache clear leaves them)" ]; then
    ok "command: nnc cache: the folder, 1 object, 1 source, 2 temporary files, $bytes bytes, 5 other files"
else
    fail "command: nnc cache: the folder, 1 object, 1 source, 2 temporary files, $bytes bytes, 5 other files" \
        "exit $st" "$(cat "$out/show.out" "$out/show.err")" "$(listing)"
fi
st=$(run_status "$out/clear.out" "$out/clear.err" $NNC cache clear)
if [ "$st" = 0 ] && [ ! -s "$out/clear.err" ] &&
    [ "$(cat "$out/clear.out")" = "removed 1 .so, 1 .c and 2 .tmp files ($bytes bytes) from $dir
other files:      5, not nnc's (nnc cache clear leaves them)" ] &&
    [ "$(ls "$dir" | tr '\n' ' ')" = "$others " ] && [ "$(ls "$dir/keep")" = "$key.so" ] &&
    [ "$(cat "$dir/README")" = mine ]; then
    ok "command: nnc cache clear removes nnc's 4 files and says so, leaves the 5 others"
else
    fail "command: nnc cache clear removes nnc's 4 files and says so, leaves the 5 others" "exit $st" \
        "$(cat "$out/clear.out" "$out/clear.err")" "$(listing)"
fi
$NNC cache >"$out/empty.out" 2>&1
if [ "$(field "objects (.so)" "$out/empty.out")$(field "sources (.c)" "$out/empty.out")$(field bytes "$out/empty.out")" = 000 ]; then
    ok "command: nnc cache after clear: nothing of nnc's"
else
    fail "command: nnc cache after clear: nothing of nnc's" "$(cat "$out/empty.out")"
fi
st=$(XDG_CACHE_HOME=$out/none run_status "$out/none.out" "$out/none.err" $NNC cache)
st2=$(XDG_CACHE_HOME=$out/none run_status "$out/none_clear.out" "$out/none_clear.err" $NNC cache clear)
if [ "$st$st2" = 00 ] && [ "$(field folder "$out/none.out")" = "$out/none/nnc (not made yet)" ] &&
    [ "$(cat "$out/none_clear.out")" = "removed 0 .so, 0 .c and 0 .tmp files (0 bytes) from $out/none/nnc" ] &&
    [ ! -e "$out/none" ]; then
    ok "command: a folder not made yet: shown as such, cleared of nothing, still not made"
else
    fail "command: a folder not made yet: shown as such, cleared of nothing, still not made" "exit $st and $st2" \
        "$(cat "$out/none.out" "$out/none.err" "$out/none_clear.out" "$out/none_clear.err")"
fi
st=$(run_status "$out/nohome.out" "$out/nohome.err" env -u HOME -u XDG_CACHE_HOME $NNC cache)
if [ "$st" = 1 ] && grep -q "neither XDG_CACHE_HOME nor HOME is set" "$out/nohome.err"; then
    ok "command: nnc cache without HOME or XDG_CACHE_HOME: an error, exit 1"
else
    fail "command: nnc cache without HOME or XDG_CACHE_HOME: an error, exit 1" "exit $st" "$(cat "$out/nohome.err")"
fi
