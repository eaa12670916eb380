#!/bin/sh
# The docs' examples: every console, sh and errors block of README.md and
# docs/*.md, and the man page's options and examples, run and compared by
# tests/docs/doctest.py (its header, and docs/internals.md, say how).
# Run from the repository's root after `make nnc`.
. tests/lib.sh
if [ ! -x ./nnc ] || [ ! -f build/libnncrt.a ]; then
    fail "docs" "./nnc or build/libnncrt.a is missing: run 'make nnc' first"
    exit 0
fi
# The examples are a user's commands in a shell, not make's sub-commands
# (under `make test`, make would print "make[1]:" where a user sees "make:").
unset MAKELEVEL MAKEFLAGS MFLAGS
/usr/bin/python3 tests/docs/doctest.py README.md docs/*.md docs/nnc.1
