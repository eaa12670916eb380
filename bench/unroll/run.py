#!/usr/bin/python3
"""run.py — where should nnc stop unrolling dense layers?

For each network `input A, dense B tanh, dense A linear, mse, sgd, batch 1`
(both dense layers have A*B multiply-adds), nnc emits the C twice:

  unrolled   --unroll A*B       both dense layers as straight-line code
  loops      --unroll A*B-1     both dense layers as loops (so the short
                                element-wise loops, which are unrolled below
                                unroll/16 elements, are the same in both forms)

and each is compiled with `gcc -O2` and with `tcc` and measured for
  compile   CPU time (user+sys, compiler and its children) of `CC -c gen.c`,
            median of 3 runs (5 for runs under 0.2 s, 1 for runs over 2 s)
  .text     bytes of the .text section of gen.o (`size -A`)
  Ir/step   instructions executed per train step, by callgrind: the
            driver run for 2 and for 12 steps, (Ir(12) - Ir(2)) / 10;
            deterministic, the primary runtime metric
  I1mr/step simulated L1i misses per step (32 KiB, 8-way, 64 B lines, the
            Zen 4 L1i), a sign of code too big for the instruction cache
  cpu ns    thread CPU time per train step (CLOCK_THREAD_CPUTIME_ID: excludes
            time the benchmark is descheduled, so other jobs disturb it less
            than wall time): the median of 7 blocks of ~20 ms, taken in 3
            rounds over all configurations after the builds, and the median
            of the 3 rounds
  wall ns   wall time per step, the same way

Run from the repository root (builds ./nnc first if needed; --nnc PATH uses
an existing binary instead):

  /usr/bin/python3 bench/unroll/run.py            # ~4 minutes on 2 cores
  /usr/bin/python3 bench/unroll/run.py --full     # also gcc on unrolled layers
                                                  # above 4096 multiply-adds
                                                  # (128x128 alone takes ~5 min)

Writes build/bench-unroll/results.csv and prints markdown tables.
"""
import argparse
import csv
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DRIVER = os.path.join(ROOT, "bench", "unroll", "driver.c")
OUT = os.path.join(ROOT, "build", "bench-unroll")

# (A, B): input/output width A, hidden width B; each dense layer is A*B MACs.
SQUARE = [(2, 2), (4, 4), (8, 8), (12, 12), (14, 14), (15, 15), (16, 16), (20, 20), (24, 24), (32, 32), (48, 48),
          (64, 64), (128, 128), (256, 256)]
# Around the gcc crossover (192-256 MACs): one layer input narrower than 16
# (nnc's loop form has no 8-lane partial sums there) and one 16 or wider.
SKINNY = [(4, 32), (4, 48), (4, 64), (8, 32), (12, 16), (14, 16), (15, 16)]

COMPILERS = {
    "gcc -O2": (["gcc", "-O2", "-std=c99"], ["-lm"]),
    "tcc": (["tcc"], ["-lm"]),
}

CALLGRIND_STEPS = 10
TIME_REPS = 7
TIME_ROUNDS = 3


def run(cmd, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"run.py: `{' '.join(cmd)}` failed (exit {r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def compile_time(cmd, cwd):
    """Median CPU seconds of `cmd`, repeated by how long one run takes."""
    times = []
    reps = 1
    while len(times) < reps:
        c0 = child_cpu()
        run(cmd, cwd=cwd)
        times.append(child_cpu() - c0)
        if len(times) == 1:
            reps = 5 if times[0] < 0.2 else 3 if times[0] < 2.0 else 1
    return statistics.median(times)


def text_size(obj):
    for line in run(["size", "-A", obj]).stdout.splitlines():
        f = line.split()
        if f and f[0] == ".text":
            return int(f[1])
    raise RuntimeError("no .text in " + obj)


def callgrind_run(exe, cwd, steps):
    out = os.path.join(cwd, f"callgrind.out.{steps}")
    res = run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--cache-sim=yes",
               "--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,8,64", exe, "count", str(steps)], cwd=cwd)
    events = totals = None
    with open(out) as f:
        for line in f:
            if line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("totals:") or line.startswith("summary:"):
                totals = [int(v) for v in line.split()[1:]]
    ev = dict(zip(events, totals + [0] * (len(events) - len(totals))))
    return ev, res.stdout.split()


def callgrind(exe, cwd):
    """Per-step Ir and I1 misses: the whole program run for 2 and for 2 + N
    steps, differenced, so start-up, init and warm-up cancel (tcc's linker
    keeps no symbols, so callgrind cannot single out bench_train_step)."""
    lo, _ = callgrind_run(exe, cwd, 2)
    hi, out = callgrind_run(exe, cwd, 2 + CALLGRIND_STEPS)
    per = {k: (hi[k] - lo[k]) / CALLGRIND_STEPS for k in ("Ir", "I1mr")}
    return per["Ir"], per["I1mr"], float(out[1]), float(out[3])


def timing(exe, cwd):
    f = run([exe, "time", str(TIME_REPS)], cwd=cwd).stdout.split()
    v = dict(zip(f[0::2], f[1::2]))
    return float(v["cpu_median"]), float(v["wall_median"])


def network(a, b):
    return f"""network bench {{
    input {a}
    dense {b} tanh
    dense {a} linear
    loss mse
    optimizer sgd lr=0.01
    batch 1
    seed 1
}}
"""


def measure(a, b, form, cc, nnc, args):
    macs = a * b
    tag = f"{a}x{b}-{form}-{cc.split()[0]}"
    d = os.path.join(OUT, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "bench.nn"), "w") as f:
        f.write(network(a, b))
    unroll = macs if form == "unrolled" else macs - 1
    run([nnc, "--unroll", str(unroll), "bench.nn", "-o", "gen.c"], cwd=d)
    row = {"shape": f"{a}x{b}", "macs_per_layer": macs, "compiler": cc, "form": form,
           "gen_c_lines": sum(1 for _ in open(os.path.join(d, "gen.c")))}
    if cc.startswith("gcc") and form == "unrolled" and macs > args.max_gcc_unrolled:
        row["note"] = f"skipped: gcc -O2 on unrolled layers over {args.max_gcc_unrolled} MACs (use --full)"
        return row
    flags, libs = COMPILERS[cc]
    row["compile_s"] = round(compile_time(flags + ["-c", "gen.c", "-o", "gen.o"], d), 4)
    row["text_bytes"] = text_size(os.path.join(d, "gen.o"))
    run(flags + ["-I.", DRIVER, "gen.o", "-o", "driver"] + libs, cwd=d)
    exe = os.path.join(d, "driver")
    row["ir_per_step"], row["i1mr_per_step"], row["loss"], row["checksum"] = callgrind(exe, d)
    row["exe"] = exe
    return row


FIELDS = ["shape", "macs_per_layer", "compiler", "form", "gen_c_lines", "compile_s", "text_bytes", "ir_per_step",
          "i1mr_per_step", "cpu_ns", "wall_ns", "loss", "checksum", "note"]


def fmt(v, kind):
    if v is None or v == "":
        return "—"
    if kind == "s":
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"
    if kind == "int":
        return f"{int(round(v)):,}"
    if kind == "ns":
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"
    return str(v)


def print_tables(rows):
    by = {(r["shape"], r["compiler"], r["form"]): r for r in rows}
    shapes = []
    for r in rows:
        if r["shape"] not in shapes:
            shapes.append(r["shape"])
    for cc in COMPILERS:
        print(f"\n### {cc}\n")
        print("| layer (A x B) | MACs/layer | compile s (unr / loop) | .text bytes (unr / loop) "
              "| Ir/step (unr / loop) | Ir ratio | I1 misses/step (unr / loop) "
              "| CPU ns/step (unr / loop) | CPU ratio | wall ns/step (unr / loop) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for s in shapes:
            u, l = by.get((s, cc, "unrolled")), by.get((s, cc, "loops"))
            if not u or not l:
                continue

            def pair(key, kind):
                return f"{fmt(u.get(key), kind)} / {fmt(l.get(key), kind)}"

            def ratio(key):
                if u.get(key) and l.get(key):
                    return f"{u[key] / l[key]:.2f}"
                return "—"

            print(f"| {s} | {u['macs_per_layer']:,} | {pair('compile_s', 's')} | {pair('text_bytes', 'int')} "
                  f"| {pair('ir_per_step', 'int')} | {ratio('ir_per_step')} | {pair('i1mr_per_step', 'int')} "
                  f"| {pair('cpu_ns', 'ns')} | {ratio('cpu_ns')} | {pair('wall_ns', 'ns')} |")
    skipped = [r for r in rows if r.get("note")]
    for r in skipped:
        print(f"\n{r['shape']} {r['compiler']} {r['form']}: {r['note']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="no cap on gcc -O2 compiles of unrolled layers")
    ap.add_argument("--max-gcc-unrolled", type=int, default=4096,
                    help="skip gcc -O2 on unrolled layers of more MACs (default 4096)")
    ap.add_argument("--sizes", help="comma-separated A or AxB to run (default: all)")
    ap.add_argument("--nnc", help="use this nnc binary instead of building ./nnc with make")
    args = ap.parse_args()
    if args.full:
        args.max_gcc_unrolled = 1 << 62
    shapes = SQUARE + SKINNY
    if args.sizes:
        want = [s if "x" in s else f"{s}x{s}" for s in args.sizes.split(",")]
        shapes = [(int(s.split("x")[0]), int(s.split("x")[1])) for s in want]
    for tool in ["valgrind", "size", "tcc", "gcc"]:
        if not shutil.which(tool):
            sys.exit(f"run.py: needs {tool} (scripts/setup.sh test installs tcc and valgrind)")
    if args.nnc:
        nnc = os.path.abspath(args.nnc)
    else:
        run(["make", "-s", "nnc"], cwd=ROOT)
        nnc = os.path.join(ROOT, "nnc")
    os.makedirs(OUT, exist_ok=True)
    rows = []
    t0 = time.time()
    for a, b in shapes:
        for cc in COMPILERS:
            for form in ["unrolled", "loops"]:
                r = measure(a, b, form, cc, nnc, args)
                rows.append(r)
                print(f"[{time.time() - t0:6.1f}s] {r['shape']:>7} {cc:8} {form:8} "
                      + " ".join(f"{k}={r[k]:.4g}" if isinstance(r[k], float) else f"{k}={r[k]}"
                                 for k in FIELDS[5:] if k in r and k != "exe"), file=sys.stderr, flush=True)
        # The two forms sum in different orders: they agree closely, not bitwise.
        for cc in COMPILERS:
            got = [r for r in rows if r["shape"] == f"{a}x{b}" and r["compiler"] == cc and "loss" in r]
            if len(got) == 2 and abs(got[0]["loss"] - got[1]["loss"]) > 1e-3 * max(1.0, abs(got[0]["loss"])):
                sys.exit(f"run.py: {a}x{b} {cc}: unrolled and loop forms disagree: loss "
                         f"{got[0]['loss']} vs {got[1]['loss']}")
    # Timing last, in rounds, so a burst of load from other jobs hits one
    # round of many configurations rather than every block of one.
    timed = [r for r in rows if "exe" in r]
    samples = {id(r): [] for r in timed}
    for rnd in range(TIME_ROUNDS):
        for r in timed:
            samples[id(r)].append(timing(r["exe"], os.path.dirname(r["exe"])))
        print(f"[{time.time() - t0:6.1f}s] timing round {rnd + 1}/{TIME_ROUNDS} done", file=sys.stderr, flush=True)
    for r in timed:
        r["cpu_ns"] = statistics.median(c for c, _ in samples[id(r)])
        r["wall_ns"] = statistics.median(w for _, w in samples[id(r)])
        del r["exe"]
    with open(os.path.join(OUT, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print(f"results in {os.path.relpath(os.path.join(OUT, 'results.csv'), ROOT)} "
          f"({time.time() - t0:.0f} s)", file=sys.stderr)
    print_tables(rows)


if __name__ == "__main__":
    main()
