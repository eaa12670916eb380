"""judge.py - what the reference scripts of tests/torch/ and its folders
share: the result files their run.sh reads (tests/lib.sh's judge), and the
runs of deliberately wrong references (mutants) that show the checks can
fail."""
import os


def write_result(path, lines):
    """A check's result: "ok", or "FAIL" and the lines that say why."""
    with open(path, "w") as f:
        f.write("FAIL\n" if lines else "ok\n")
        for line in lines:
            f.write(line + "\n")


def catch_mutants(root, mutants, units, check):
    """Reruns check(unit, mutants) -> {check name: failure lines} with each
    mutant of `mutants` (name -> what it gets wrong) alone, on every unit:
    a mutant that no check fails is missed, and so is one that crashes (a
    broken mutant proves nothing).  Prints what caught each; the misses go
    to ROOT/mutants.result."""
    missed = []
    for mut, what in mutants.items():
        caught = []
        for unit in units:
            try:
                res = check(unit, frozenset([mut]))
            except Exception as e:
                missed.append(f"mutant {mut} crashed on {unit}: {type(e).__name__}: {e}")
                caught = None
                break
            caught += [f"{unit} {c}" for c, lines in res.items() if lines]
        if caught is None:
            continue
        if caught:
            print(f"{mut}: caught by {', '.join(caught)}")
        else:
            missed.append(f"not caught: {mut} ({what}) on {' '.join(units) or 'no clean unit'}")
    write_result(os.path.join(root, "mutants.result"), missed)
