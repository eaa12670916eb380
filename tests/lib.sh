# lib.sh — shared by the test suites.  Each check prints one line, "ok NAME"
# or "FAIL NAME" (details follow, indented); tests/run.sh counts them.
# Run from the repository root.  $NNC is the compiler under test.
NNC=${NNC:-./nnc}
# The JIT backend of a command that names none: libtcc alone, whose results
# do not hang on when cc's build is ready, and which writes nothing to a
# cache.  The default (auto) is tested in tests/jit/tier.sh and the docs.
NNC_JIT=${NNC_JIT:-tcc}
export NNC_JIT
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/    /'; return 0; }
# check NAME COMMAND...: ok when the command succeeds, else FAIL with its output
check() {
    _name=$1; shift
    if _out=$("$@" 2>&1); then ok "$_name"; else fail "$_name" "$_out"; fi
}
# failr NAME REASON [DETAIL...]: "FAIL NAME: REASON", then up to 12 lines of
# details, indented (the torch suites' form; tests/run.sh counts it alike)
failr() {
    _n=$1 _r=$2
    shift 2
    echo "FAIL $_n: $_r"
    [ $# -gt 0 ] && printf '%s\n' "$@" | sed -n '/./p' | head -n 12 | sed 's/^/    /'
    return 0
}
# judge NAME RESULT [DIR]: a check a reference script judged in the file
# RESULT (first line "ok", or "FAIL", the reason, details).  The suite sets
# torch_err (not empty: $PY cannot import torch) and check_log (the
# reference's log, shown when it wrote no result).  DIR, a unit's build
# directory: DIR/built missing means its build failed, DIR/driver.failed
# that its driver did (DIR/driver.log says why), and the check did not run.
judge() {
    _d=${3:-}
    if [ -n "${torch_err:-}" ]; then
        failr "$1" "${PY:-python3} cannot import torch and numpy (Debian: apt-get install python3-torch)" "$torch_err"
    elif [ -n "$_d" ] && [ ! -f "$_d/built" ]; then
        failr "$1" "not run: the build failed"
    elif [ -n "$_d" ] && [ -f "$_d/driver.failed" ]; then
        failr "$1" "the driver failed" "$(cat "$_d/driver.log")"
    elif [ ! -f "$2" ]; then
        failr "$1" "the reference wrote no result" "$(tail -n 20 "${check_log:-/dev/null}")"
    elif [ "$(head -n 1 "$2")" = ok ]; then
        ok "$1"
    else
        failr "$1" "$(sed -n 2p "$2")" "$(tail -n +3 "$2")"
    fi
}
