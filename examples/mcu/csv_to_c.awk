# csv_to_c.awk — the input samples of a CSV file as C for the firmware:
#     awk -v features=N -v file=NAME -f csv_to_c.awk FILE.csv > inputs.c
# One sample a line: its N input features, comma-separated, numbers only
# (no header, no label); blanks around a number, a CR at the end of a line
# and blank lines are allowed.  Anything else stops it with an error that
# names the line (as file:line:, with NAME for the file).  Each number is
# written as the file has it, as a float constant, so that the compiler
# rounds it once, as strtof would.
function fail(msg) {
    print file ":" NR ": " msg > "/dev/stderr"
    failed = 1
    exit 1
}
BEGIN {
    FS = ","
    number = "^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$"
    name = file
    gsub(/\*\//, "*_/", name)
    print "/* inputs.c: the samples of " name ", written by csv_to_c.awk.  Do not edit. */"
    print "#include \"inputs.h\""
    print ""
    print "const float mcu_inputs[] = {"
}
{ sub(/\r$/, "") }
/^[ \t]*$/ { next }
{
    if (NF != features)
        fail(NF " value" (NF == 1 ? "" : "s") ", but the network takes " features " features a sample " \
             "(one sample a line, its inputs only)")
    row = "   "
    for (i = 1; i <= NF; i++) {
        v = $i
        gsub(/^[ \t]+|[ \t]+$/, "", v)
        if (v == "")
            fail("value " i " is empty")
        if (v !~ number)
            fail("value " i " '" v "' is not a number")
        if (v + 0 > 3.4028234e38 || v + 0 < -3.4028234e38)
            fail("value " i " " v " is beyond the range of float")
        if (v !~ /[.eE]/)
            v = v ".0"
        row = row " " v "f,"
    }
    print row
    samples++
}
END {
    if (failed)
        exit 1
    if (!samples) {
        print file ": no samples (one a line, its " features " features comma-separated)" > "/dev/stderr"
        exit 1
    }
    print "};"
    print "const int mcu_n_samples = " samples ";"
    print "const int mcu_n_features = " features ";"
}
