#!/bin/sh
# session.sh NNC DIR: runs tests/jit/xor_session.repl through `NNC repl --echo`
# (standard error merged into standard output) in the folder DIR, where
# `examples` is a link to the repository's examples/ so that the script's
# paths read as they would from the repository root, and the files it saves
# stay in DIR.  Writes DIR/transcript (rates and times replaced by N, see
# filter.sed) and exits with nnc's status.  Run from the repository root;
# used by run.sh and regen.sh.
nnc=$1 dir=$2
case $nnc in
/*) ;;
*/*) nnc=$PWD/$nnc ;;
*) nnc=$(command -v "$nnc") ;;
esac
root=$PWD
rm -rf "$dir"
mkdir -p "$dir"
ln -s "$root/examples" "$dir/examples"
status=0
(cd "$dir" && "$nnc" repl --echo <"$root/tests/jit/xor_session.repl" >transcript.raw 2>&1) || status=$?
sed -f tests/jit/filter.sed "$dir/transcript.raw" >"$dir/transcript"
exit $status
