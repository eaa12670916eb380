# compare.awk — the firmware's outputs against the host's build of the same C:
#     awk -v tol=1e-5 -v samples=N -v outputs=K -f compare.awk QEMU.txt HOST.txt
# Both must have N lines of K numbers.  Equal when every pair differs by at
# most tol (absolute: the outputs are probabilities and sigmoids, within
# [0, 1]) and each line gives the same class: the largest output's index,
# or for one output whether it is above 0.5.  Prints the largest difference
# ("largest difference D"), or what differs; exits 1 if anything does.
function class(line,    f, n, i, best) {
    n = split(line, f, " ")
    if (n == 1)
        return f[1] + 0 > 0.5
    best = 1
    for (i = 2; i <= n; i++)
        if (f[i] + 0 > f[best] + 0)
            best = i
    return best - 1
}
function bad(msg) { print msg; failed = 1 }
FNR == NR { q[FNR] = $0; nq = FNR; next }
{ h[FNR] = $0; nh = FNR }
END {
    if (nq != samples || nh != samples)
        bad("lines: QEMU " nq ", host " nh ", samples " samples)
    for (s = 1; s <= samples && s <= nq && s <= nh; s++) {
        a = split(q[s], qa, " ")
        b = split(h[s], ha, " ")
        if (a != outputs || b != outputs) {
            bad("sample " s ": QEMU gave " a " numbers, the host " b ", the network has " outputs " outputs")
            continue
        }
        for (k = 1; k <= outputs; k++) {
            d = qa[k] - ha[k]
            if (d < 0)
                d = -d
            if (qa[k] !~ /^-?[0-9.]+(e[-+][0-9]+)?$/ || ha[k] !~ /^-?[0-9.]+(e[-+][0-9]+)?$/)
                bad("sample " s " output " k ": not a number: QEMU " qa[k] ", host " ha[k])
            else if (d > tol)
                bad("sample " s " output " k ": QEMU " qa[k] ", host " ha[k] " (difference " d ")")
            if (d > largest)
                largest = d
        }
        if (class(q[s]) != class(h[s]))
            bad("sample " s ": class " class(q[s]) " under QEMU, " class(h[s]) " on the host")
    }
    if (failed)
        exit 1
    printf "largest difference %.3g\n", largest
}
