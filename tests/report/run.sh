#!/bin/sh
# Tests of the pictures: runtime/report.c (training charts as SVG, image
# grids as PGM) and compiler/emit_dot.c (networks as Graphviz graphs).
#   sh tests/report/run.sh     from the repository root, after `make nnc`
# Builds two programs:
#   build/test/report/test_report  tests/report/test_report.c with runtime/report.c
#                                  and rng.c, under AddressSanitizer and UBSan: it
#                                  writes charts and grids and checks the errors
#   build/test/report/dot_driver   tests/report/dot_driver.c with compiler/emit_dot.c
#                                  and the compiler's objects (build/*.o, not main.o)
# then inspects what they wrote: the SVG parsed as XML with its series counted,
# the PGM bytes (tests/report/check_pictures.py, standard-library Python), and
# the digraphs' nodes and edges against `nnc --emit=ir`, and through `dot -Tsvg`
# when Graphviz is installed.  Prints "ok report NAME" / "FAIL report NAME".
. tests/lib.sh
out=${NNC_TEST_DIR:-build/test}/report
files=$out/files
rm -rf "$files"
mkdir -p "$files"
CC=${CC:-cc}
WARN="-std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror"
SAN="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
PY=${PYTHON:-/usr/bin/python3}
NETS="examples/fashion_cnn.nn examples/xor.nn tests/golden/two_nets.nn tests/golden/dropout.nn"

if [ ! -f build/parser.o ] || [ ! -f build/lexer.o ]; then
    fail "report build" "build/parser.o (or build/lexer.o) is missing: run 'make nnc' first"
    exit 1
fi
# The compiler's objects, without the driver and without the two files under
# test (compiled here from source, whether or not the Makefile builds them yet).
objs=
for o in build/*.o build/rt/*.o; do
    case $o in
    build/main.o | build/emit_dot.o | build/rt/report.o) ;;
    *) objs="$objs $o" ;;
    esac
done

# Both builds at once; each leaves its compiler output in a log.
# shellcheck disable=SC2086
$CC -D_POSIX_C_SOURCE=200809L -Iruntime $WARN $SAN -o "$out/test_report" \
    tests/report/test_report.c runtime/report.c runtime/atomic.c runtime/buf.c runtime/rng.c -lz -lm >"$out/build.log" 2>&1 &
rep=$!
# shellcheck disable=SC2086
$CC -D_POSIX_C_SOURCE=200809L -Icompiler -Igrammar -Ibuild -Iruntime $WARN -O1 -g -o "$out/dot_driver" \
    tests/report/dot_driver.c compiler/emit_dot.c runtime/report.c $objs \
    -ltcc -ledit -ldl -lz -lm >"$out/build-dot.log" 2>&1 &
dot_build=$!
wait $rep; rep_status=$?
wait $dot_build; dot_status=$?

# ---- runtime/report.c ----
if [ "$rep_status" -ne 0 ]; then
    fail "report build" "$(cat "$out/build.log")"
else
    ok "report build"
    ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$out/test_report" "$files" >"$out/test_report.log" 2>&1
    status=$?
    grep -E '^(ok|FAIL) |^    ' "$out/test_report.log"
    if [ "$status" -ne 0 ] && ! grep -q '^FAIL ' "$out/test_report.log"; then
        fail "report test_report exit status" "exited with status $status" "$(tail -n 30 "$out/test_report.log")"
    fi
    if [ -x "$PY" ]; then
        "$PY" tests/report/check_pictures.py charts "$files"
    else
        fail "report svg and pgm contents (not run: no $PY)"
    fi
fi

# ---- compiler/emit_dot.c ----
if [ "$dot_status" -ne 0 ]; then
    fail "report dot build" "$(cat "$out/build-dot.log")"
    exit 0
fi
ok "report dot build"
have_dot=no
command -v dot >/dev/null 2>&1 && have_dot=yes
for nn in $NETS; do
    base=$(basename "$nn" .nn)
    g=$files/$base.dot
    if ! "$out/dot_driver" "$nn" >"$g" 2>"$out/$base.err"; then
        fail "report dot $base" "dot_driver failed:" "$(cat "$out/$base.err")"
        continue
    fi
    # What the IR says: the number of networks and layers, each network's
    # optimizer, parameter count and sizeof.
    if ! ir=$($NNC --emit=ir "$nn" 2>&1); then
        fail "report dot $base" "nnc --emit=ir failed:" "$ir"
        continue
    fi
    nets=$(printf '%s\n' "$ir" | grep -c '^network ')
    layers=$(printf '%s\n' "$ir" | grep -c '^  layer ')
    nodes=$(grep -cE '^ +n[0-9]+_(input|l[0-9]+) \[label=<' "$g")
    edges=$(grep -cE '^ +n[0-9]+_(input|l[0-9]+) -> n[0-9]+_l[0-9]+ \[label="' "$g")
    problems=
    [ "$(head -n 1 "$g" | cut -c1-9)" = "digraph \"" ] || problems="$problems; does not start with 'digraph \"'"
    [ "$(tail -n 1 "$g")" = "}" ] || problems="$problems; does not end with '}'"
    opens=$(tr -cd '{' <"$g" | wc -c)
    closes=$(tr -cd '}' <"$g" | wc -c)
    [ "$opens" -eq "$closes" ] || problems="$problems; $opens '{' but $closes '}'"
    [ "$nodes" -eq $((layers + nets)) ] || problems="$problems; $nodes nodes, expected $((layers + nets))"
    [ "$edges" -eq "$layers" ] || problems="$problems; $edges edges, expected $layers"
    if [ "$nets" -gt 1 ]; then
        c=$(grep -c '^    subgraph cluster_[0-9]* {$' "$g")
        [ "$c" -eq "$nets" ] || problems="$problems; $c clusters for $nets networks"
    fi
    # Each network's caption: name, optimizer (as the IR prints it), params, sizeof.
    printf '%s\n' "$ir" | awk '
        /^network / { name = $2 }
        /^  optim / { sub(/^  optim +/, ""); optim[name] = $0 }
        /^  loss /  { loss[name] = $2 }
        /^  params / { params[name] = $2 }
        /^  total / { for (i = 1; i <= NF; i++) if ($i == "=") bytes[name] = $(i + 1) }
        END { for (n in params) printf "%s\t%s\t%s\t%s\t%s\n", n, loss[n], optim[n], params[n], bytes[n] }
    ' >"$out/$base.expect"
    while IFS='	' read -r name loss optim params bytes; do
        s=s
        [ "$params" = 1 ] && s=
        for want in "<B>network $name (" "loss $loss, optimizer $optim," "$params parameter$s, sizeof($name) = $bytes bytes>"; do
            grep -qF "$want" "$g" || problems="$problems; no '$want'"
        done
    done <"$out/$base.expect"
    # Stable: the same input gives the same bytes.
    "$out/dot_driver" "$nn" 2>/dev/null | cmp -s - "$g" || problems="$problems; a second run differs"
    if [ -z "$problems" ]; then
        ok "report dot $base: $nodes nodes, $edges edges, captions"
    else
        fail "report dot $base" "${problems#; }" "(graph in $g)"
    fi
    # Graphviz itself, when installed: the text is valid DOT, and the SVG it
    # draws has the nodes and edges.
    if [ "$have_dot" = no ]; then
        fail "report dot $base: dot -Tsvg (not run: graphviz not installed; scripts/setup.sh test installs it)"
    elif dot_err=$(dot -Tsvg "$g" -o "$files/$base.dot.svg" 2>&1) && [ -z "$dot_err" ]; then
        if [ -x "$PY" ]; then
            "$PY" tests/report/check_pictures.py dotsvg "$files/$base.dot.svg" "$nodes" "$edges"
        else
            ok "report dot $base: dot -Tsvg"
        fi
    else
        fail "report dot $base: dot -Tsvg" "$dot_err"
    fi
done
