# lib.sh — shared by the test suites.  Each check prints one line, "ok NAME"
# or "FAIL NAME" (details follow, indented); tests/run.sh counts them.
# Run from the repository root.  $NNC is the compiler under test.
NNC=${NNC:-./nnc}
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"
ok()   { echo "ok $1"; }
fail() { echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/    /'; return 0; }
# check NAME COMMAND...: ok when the command succeeds, else FAIL with its output
check() {
    _name=$1; shift
    if _out=$("$@" 2>&1); then ok "$_name"; else fail "$_name" "$_out"; fi
}
