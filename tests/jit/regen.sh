#!/bin/sh
# regen.sh — regenerates tests/jit/xor_session.expected, the transcript of
# tests/jit/xor_session.repl, with ./nnc (or $NNC).  Run from the repository
# root after a deliberate change to the REPL's output; review the diff and
# commit it.  The session ends with status 1 (it has failing commands on
# purpose); any other status is an error here.
cd "$(dirname "$0")/../.." || exit 1
NNC=${NNC:-./nnc}
dir=build/test/jit/regen
sh tests/jit/session.sh "$NNC" "$dir"
status=$?
if [ $status -ne 1 ]; then
    echo "regen.sh: the session ended with status $status, expected 1:" >&2
    tail -n 20 "$dir/transcript" >&2
    exit 1
fi
if cmp -s "$dir/transcript" tests/jit/xor_session.expected; then
    echo "tests/jit/xor_session.expected is up to date"
else
    cp "$dir/transcript" tests/jit/xor_session.expected
    echo "wrote tests/jit/xor_session.expected; review it with git diff"
fi
