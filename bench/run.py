#!/usr/bin/python3
"""run.py - nnc against PyTorch (float32) and a hand-written C baseline.

Run from the repository root (`make bench` does it); builds ./nnc if needed:

  /usr/bin/python3 bench/run.py            # the full run (6-8 minutes on 2 busy cores)
  /usr/bin/python3 bench/run.py --quick    # a smoke run (~1.5 minutes): small slices, 1 round
  /usr/bin/python3 bench/run.py --long lstm   # (or gru, charlm) the whole training, nnc and PyTorch
  /usr/bin/python3 bench/run.py --long lstm --seed 2   # the same with `seed 2` in the example
  /usr/bin/python3 bench/run.py --only tiers  # only step 6 below (~5 minutes; --quick ~1.5)
  /usr/bin/python3 bench/run.py --only mpi    # only step 8 below, after the sgemm probe (~3 minutes; --quick ~0.6)
  options: --reps N (rounds; default 5, --quick 1)
           --readme (write the tables into bench/README.md)
           --from-json FILE (print the tables of an earlier run's results.json)

Prints markdown tables; writes them to build/bench/results.md and every raw
figure to build/bench/results.json.  Exit status 1 when a correctness check
fails (nnc's and PyTorch's accuracies or losses differ, an inference output
differs, XOR is not learned), so speed is never bought with wrong results.

The order of things:
  1 build: ./nnc, the probes, the C baselines, nnc's starting weights
    (bench/dump_init.c) for the PyTorch side; check that the PyTorch side's
    shuffle is nnc's (bench/shuffle_check.c)
  2 probes: the FMA peak (bench/fma_peak.c); the rate one core reads a
    block in its L2 (bench/l2_probe.c), the bound of one-sample passes;
    OpenBLAS sgemm per kernel (bench/sgemm_peak.c), which picks
    OPENBLAS_CORETYPE for "PyTorch at its best"
  3 accuracy: one epoch of each network on nnc and on PyTorch (1 thread,
    best kernel) from the same weights in the same order, then the test set
  4 speed, in R rounds; each round runs every workload once on nnc (and on
    the C baselines) and then on PyTorch with one thread (installed and best
    kernel), so that a change in the machine's load hits both sides alike:
      XOR steps/s; s/epoch of the MLP at batch 32 and 1 and of the CNN (a
      warm-up epoch and a timed one on a slice of the training set);
      one-image inference latency
  5 compile latency: --jit=tcc and --jit=cc (an empty cache each time)
  6 the tiered JIT (issue 17): time to the first training step and wall
    time of whole runs under --jit=auto, tcc and cc (tiers(); table 8)
  7 PyTorch on all cores (installed and best kernel), alone, on smaller
    slices and under a time cap; the GAN (bench/gan_twin.py)
  8 data-parallel training (issue 16): `mpirun --bind-to core -np 1` and
    `-np N` (N = the cores) of the CNN at batch 32 and 128 and the MLP at
    128, MPI_Allreduce of the gradient alone (bench/allreduce.c), PyTorch
    on all cores on the same slices (mpi_section(); table 9)
Medians everywhere; bench/README.md explains each measurement.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_bench   # noqa: E402  (the .nn translator and the shuffle; the torch runs are subprocesses)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
BENCH = os.path.join(ROOT, "bench")
OUT = os.path.join(ROOT, "build", "bench")
NNC = os.path.join(ROOT, "nnc")
FM = "/usr/share/datasets/fashion-mnist"
TRAIN = os.path.join(FM, "train-images-idx3-ubyte.gz")
TEST = os.path.join(FM, "t10k-images-idx3-ubyte.gz")
PY = "/usr/bin/python3"
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
CORETYPES = ["Haswell", "Zen", "SkylakeX", "Cooperlake"]   # candidates for this x86-64 CPU
NCPU = os.cpu_count() or 1
EPOCH = 60000                        # samples in a Fashion-MNIST epoch


def jit_flags():
    """The flags of nnc's cc JIT backend (compiler/jit.c, cc_flags), without
    -shared -fPIC: for building nnc's C as the JIT does."""
    try:
        src = open(os.path.join(ROOT, "compiler", "jit.c")).read()
        body = re.search(r"cc_flags\[\]\s*=\s*\{(.*?)\};", src, re.S).group(1)
        flags = [f for f in re.findall(r'"([^"]*)"', body) if f not in ("-shared", "-fPIC")]
    except (OSError, AttributeError):
        flags = []
    if not flags:   # no second copy of the list here: it would go stale
        sys.exit("run.py: cannot read cc_flags from compiler/jit.c")
    return flags


JIT_FLAGS = jit_flags()

NETS = {   # name: (.nn file, network name)
    "xor": ("examples/xor.nn", "xor"),
    "mlp": ("bench/mlp.nn", "bench_mlp"),
    "mlp_b1": ("bench/mlp_b1.nn", "bench_mlp_b1"),
    "cnn": ("examples/fashion_cnn.nn", "fashion_cnn"),
    "lstm": ("examples/fashion_lstm.nn", "fashion_lstm"),
    "gru": ("examples/fashion_gru.nn", "fashion_gru"),
    "charlm": ("examples/charlm.nn", "charlm"),
}
TEXT = os.path.join(OUT, "fortunes.txt")   # the character model's corpus (build_all)
FORTUNES = "/usr/share/games/fortunes"

failures = []


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def run(cmd, env=None, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)
    if check and p.returncode != 0:
        sys.exit("run.py: %s failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:],
                                                          p.stderr[-3000:]))
    return p


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def check(ok, what):
    if not ok:
        failures.append(what)
        log("CHECK FAILED: " + what)
    return ok


def base_env():
    """The environment without anything that would steer BLAS or threads."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENBLAS_", "OMP_", "GOTO", "MKL_")) and k != "LD_LIBRARY_PATH"}
    return env


# ---- the machine ---------------------------------------------------------------

def first_line(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
        return (p.stdout or p.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "?"


def machine():
    info = {}
    cpu = open("/proc/cpuinfo").read()

    def field(name):
        m = re.search(r"^%s\s*:\s*(.*)$" % name, cpu, re.M)
        return m.group(1).strip() if m else "?"
    fam, model, flags = field("cpu family"), field("model"), field("flags").split()
    uarch = ""
    if field("vendor_id") == "AuthenticAMD" and fam.isdigit():
        uarch = {23: "Zen/Zen 2", 25: "Zen 4" if "avx512f" in flags else "Zen 3", 26: "Zen 5"}.get(int(fam), "")
    virt = "KVM guest" if "hypervisor" in flags else "bare metal"
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16") if f in flags]
    info["cpu"] = "%s (family %s model %s%s), %d cores, %s, %s" % (
        field("model name"), fam, model, ": " + uarch if uarch else "", NCPU, virt, " ".join(simd))
    info["cc"] = first_line(["cc", "--version"])
    info["tcc"] = first_line(["tcc", "-v"])
    info["python"] = platform.python_version()
    p = run(["dpkg-query", "-W", "-f", "${Version}", "python3-torch", "libopenblas0-pthread"], check=False)
    info["debian_pkgs"] = p.stdout
    info["kernel"] = platform.release()
    info["load_start"] = os.getloadavg()
    return info


# ---- building the helpers --------------------------------------------------------

def build_nnc():
    run(["make", "-C", ROOT, "--no-print-directory", "nnc"])
    os.makedirs(OUT, exist_ok=True)


def build_probes():
    """bench/fma_peak.c and, with OpenBLAS, bench/sgemm_peak.c (probes())."""
    run(["cc", "-O3", "-march=native", "-std=c99", "-ffp-contract=fast", "-pthread", "-o", OUT + "/fma_peak",
         BENCH + "/fma_peak.c"])
    run(["cc", "-O3", "-march=native", "-std=c99", "-o", OUT + "/l2_probe", BENCH + "/l2_probe.c"])
    if os.path.exists(OPENBLAS_DIR + "/libopenblas.so"):
        run(["cc", "-std=c99", "-O2", "-I/usr/include/x86_64-linux-gnu/openblas-pthread", "-o", OUT + "/sgemm_peak",
             BENCH + "/sgemm_peak.c", "-L" + OPENBLAS_DIR, "-Wl,-rpath," + OPENBLAS_DIR, "-lopenblas"])


def dump_init(nn, name, stem=None):
    """nnc's starting parameters of the network NAME in the .nn file NN
    (bench/dump_init.c), into OUT/init_STEM.f32 (STEM: NAME if not given);
    leaves nnc's training C, OUT/STEM.c and .h, beside it."""
    stem = stem or name
    c = "%s/%s.c" % (OUT, stem)
    run([NNC, nn, "-o", c])
    run(["cc", "-std=c99", "-O0", "-D_POSIX_C_SOURCE=200809L", "-DNET=" + name, "-include", "%s/%s.h" % (OUT, stem),
         "-o", "%s/dump_init_%s" % (OUT, stem), BENCH + "/dump_init.c", c, "-lm"])
    run(["%s/dump_init_%s" % (OUT, stem), "%s/init_%s.f32" % (OUT, stem)])
    return "%s/init_%s.f32" % (OUT, stem)


def build_all(quick):
    log("building ./nnc and the helpers in build/bench")
    build_nnc()
    build_probes()
    native = ["cc", "-O3", "-march=native"]
    run(native + ["-o", OUT + "/xor_ref", BENCH + "/xor_ref.c", "-lm"])
    run(["cc", "-std=c99", "-O2", "-I" + ROOT + "/runtime", "-o", OUT + "/shuffle_check", BENCH + "/shuffle_check.c",
         ROOT + "/build/libnncrt.a", "-lz", "-lm"])
    # nnc's training C, for the starting weights (and XOR's bare loop)
    for key, (nn, name) in NETS.items():
        dump_init(os.path.join(ROOT, nn), name)
    # the flags of nnc's cc JIT backend (compiler/jit.c)
    run(["cc"] + JIT_FLAGS + ["-I" + OUT, "-o", OUT + "/xor_direct", BENCH + "/xor_direct.c", OUT + "/xor.c", "-lm"])
    # the character model's corpus: Debian's fortunes, the files that have a
    # .dat index, in name order (as README's command makes it)
    names = sorted(f[:-4] for f in os.listdir(FORTUNES) if f.endswith(".dat"))
    with open(TEXT, "wb") as out:
        for name in names:
            with open(os.path.join(FORTUNES, name), "rb") as f:
                out.write(f.read())
    # the XOR rows, repeated: an epoch of nnc train is 65,536 steps
    rows = ["0,0,0", "0,1,1", "1,0,1", "1,1,0"]
    with open(OUT + "/xor_rows.csv", "w") as f:
        f.write("\n".join(rows * 16384) + "\n")


def check_shuffle():
    """The PyTorch side reimplements nnc's shuffle: check it against the C."""
    import numpy as np
    for n, seed in ((EPOCH, 1), (6000, 1), (13, 42)):
        want = run([OUT + "/shuffle_check", str(n), str(seed), "2"]).stdout.split("\n")
        idx = np.arange(n, dtype=np.int64)
        st = seed
        for e in range(2):
            st = torch_bench.nnc_shuffle(idx, st)
            s = 0
            for v in idx.tolist():
                s = (s * 1000003 + v) & torch_bench.M64
            got = " ".join(str(v) for v in [s] + idx[:8].tolist())
            check(got == want[e].strip(), "the Python shuffle differs from rt_shuffle (n=%d seed=%d)" % (n, seed))


# ---- probes ----------------------------------------------------------------------

def probes(reps):
    res = {}
    for t in sorted({1, NCPU}):
        out = run([OUT + "/fma_peak", str(t), str(max(3, reps * 2 + 1))]).stdout
        m = re.search(r"median_gflops=(\S+) max_gflops=(\S+)", out)
        lanes = re.search(r"lanes=(\d+)", out)
        res["fma_%dt" % t] = {"median": float(m.group(1)), "max": float(m.group(2)),
                              "lanes": int(lanes.group(1)) if lanes else 8}
        log("FMA probe, %d thread(s): %s" % (t, out.strip()))
    out = run([OUT + "/l2_probe", "256", str(max(5, reps * 2 + 1))]).stdout
    m = re.search(r"median_gbs=(\S+) max_gbs=(\S+)", out)
    res["l2"] = {"median": float(m.group(1)), "max": float(m.group(2))}
    log("L2 read probe, one thread: %s" % out.strip())
    if not os.path.exists(OUT + "/sgemm_peak"):
        log("no OpenBLAS (libopenblas-dev): no sgemm probe, PyTorch 'best' = as installed")
        return res, None
    sg = {}

    def sgemm(core, threads, m, n, k, r):
        env = base_env()
        env["OPENBLAS_NUM_THREADS"] = str(threads)
        if core:
            env["OPENBLAS_CORETYPE"] = core
        p = run([OUT + "/sgemm_peak", str(m), str(n), str(k), str(r)], env=env, check=not core)
        if p.returncode != 0:                      # a kernel for instructions this CPU lacks (SIGILL)
            return None, 0.0, 0.0
        mm = re.search(r"core=(\S+) threads=\d+ median_gflops=(\S+) max_gflops=(\S+)", p.stdout)
        return mm.group(1), float(mm.group(2)), float(mm.group(3))
    big = 2048
    cores = []
    for core in [""] + CORETYPES:
        got, sq_med, sq_max = sgemm(core, 1, big, big, big, max(3, reps))
        if core and got is None:
            log("OpenBLAS's %s kernel does not run on this CPU (sgemm_peak failed with it)" % core)
            continue
        if core and got.lower() != core.lower():
            log("OpenBLAS has no working %s kernel here (it used %s)" % (core, got))
            continue
        cores.append(core)
        sg[core or "auto"] = {"core": got, "square_median": sq_med, "square_max": sq_max, "mlp_shapes_runs": []}
        log("sgemm %s (%s): %dx%dx%d %.1f GFLOP/s median, %.1f best" % (core or "auto", got, big, big, big,
                                                                          sq_med, sq_max))
    # The MLP's batch-32 GEMMs, forward x[32][784] W^T and weight gradient
    # dz^T[128][32] x, in rounds over the kernels so that a change in the
    # machine's load does not favour one of them.
    for _ in range(1 if reps == 1 else 3):
        for core in cores:
            _, fwd, _ = sgemm(core, 1, 32, 128, 784, 3)
            _, wg, _ = sgemm(core, 1, 128, 784, 32, 3)
            sg[core or "auto"]["mlp_shapes_runs"].append(2 / (1 / fwd + 1 / wg))   # equal FLOP: the pair's rate
    for k, v in sg.items():
        v["mlp_shapes"] = median(v["mlp_shapes_runs"])
        log("sgemm %s on the MLP's shapes: %.1f GFLOP/s" % (k, v["mlp_shapes"]))
    best = max((k for k in sg if k != "auto"), key=lambda k: sg[k]["mlp_shapes"], default="auto")
    if NCPU > 1:
        _, med, mx = sgemm(best if best != "auto" else "", NCPU, big, big, big, max(3, reps))
        res["sgemm_all"] = {"core": best, "median": med, "max": mx}
    res["sgemm"] = sg
    res["best_core"] = best
    log("PyTorch at its best: OPENBLAS_CORETYPE=%s" % best)
    return res, best


def nnpath(key):
    return os.path.join(ROOT, NETS[key][0])


def init(key):
    """nnc's starting parameters of the network (bench/dump_init.c)."""
    return "%s/init_%s.f32" % (OUT, NETS[key][1])


def weight_bytes(key):
    """The bytes of weights one inference of NETS[key] reads, each once
    (a recurrent layer's W_ih and W_hh once a step): the memory-bound part
    of a one-sample pass.  None for a network with convolutions (they use
    each weight at every position: not bound by reading them)."""
    spec = torch_bench.parse_nn(nnpath(key))
    floats = 0
    for l in spec["layers"]:
        if l["kind"] == "dense":
            floats += l["n_in"] * l["out"][-1] + l["out"][-1]
        elif l["kind"] in ("rnn", "lstm", "gru"):
            g = {"rnn": 1, "lstm": 4, "gru": 3}[l["kind"]] * l["H"]
            floats += spec["steps"] * g * (l["in"][-1] + l["H"]) + 2 * g
        elif l["params"]:
            return None
    return 4 * floats


def describe(key):
    """The network of a .nn file in one line, and its training FLOP per sample."""
    spec = torch_bench.parse_nn(nnpath(key))
    parts = []
    for l in spec["layers"]:
        if l["kind"] in ("rnn", "lstm", "gru"):
            parts.append("%s %d%s" % (l["kind"], l["H"], " return=all" if l["return_all"] else ""))
        elif l["kind"] == "embed":
            parts.append("embed %d %d" % (l["V"], l["D"]))
        elif l["kind"] == "conv":
            parts.append("conv %d %dx%d %s" % (l["out"][0], l["k"][0], l["k"][1], l["act"]))
        elif l["kind"] in ("maxpool", "avgpool"):
            parts.append("%s %dx%d" % (l["kind"], l["k"][0], l["k"][1]))
        elif l["kind"] == "dense":
            parts.append("dense %d %s" % (l["out"][-1], l["act"]))   # per step: out is (T, units)
    opt, o = spec["opt"]
    inp = "input %s steps=%d → " % (spec["input"][1], spec["steps"]) if spec.get("steps") and \
        len(spec["input"]) == 2 else "input steps=%d → " % spec["steps"] if spec.get("steps") else ""
    text = "%s: %s%s; %s, %s %s, batch %d" % (
        NETS[key][0], inp, " → ".join(parts), spec["loss"], opt,
        " ".join("%s=%g" % kv for kv in sorted(o.items())), spec["batch"])
    return text, torch_bench.train_flop(spec)


# ---- nnc -------------------------------------------------------------------------

EPOCH_RE = re.compile(r"^epoch (\d+)/\d+\s+batch loss (\S+)\s+train acc (\S+)%(?:\s+valid loss (\S+))?"
                      r"(?:\s+(?:test|valid) acc (\S+)%)?\s+(\d+) samples/s", re.M)


def mpi_env(env):
    """env for mpirun: Open MPI refuses to run as root unless told."""
    if os.getuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def mpirun(ranks):
    """The launcher of the data-parallel runs: one rank per core, each bound
    to its core (as bench/README.md's "Every core" says)."""
    return ["mpirun", "--bind-to", "core", "-np", str(ranks)]


def nnc_train(key, data, epochs, limit=None, test=None, save=None, backend="cc", cache=None, nn=None, ranks=0):
    """`nnc train` of NETS[key] (or of the .nn file nn): its epoch lines,
    compile time and parameter count; ranks > 0: under `mpirun -np ranks`."""
    nn = nn or os.path.join(ROOT, NETS[key][0])
    cmd = (mpirun(ranks) if ranks else []) + [
        NNC, "train", nn, "--jit=" + backend, "--text" if data == TEXT else "--data", data,
        "--epochs", str(epochs), "--every", "1"]
    if test:
        cmd += ["--test", test]
    if limit:
        cmd += ["--limit", str(limit)]
    if save:
        cmd += ["--save", save]
    env = mpi_env(base_env()) if ranks else base_env()
    env["XDG_CACHE_HOME"] = cache or os.path.join(OUT, "cache")
    p = run(cmd, env=env)
    if ranks > 1 and not re.search(r"^data-parallel on %d ranks" % ranks, p.stdout, re.M):   # (-np 1: one process)
        sys.exit("run.py: %s did not train on %d ranks:\n%s" % (" ".join(cmd), ranks, p.stdout[-3000:]))
    m = re.search(r"compiled by \S+ in (\S+) ms", p.stdout)
    params = re.search(r"^network \S+: (\d+) parameters", p.stdout, re.M)
    eps = [{"epoch": int(e), "loss": float(l), "train_acc": float(a) / 100, "valid_nats": float(v) if v else None,
            "test_acc": float(t) / 100 if t else None, "sps": float(s)}
           for e, l, a, v, t, s in EPOCH_RE.findall(p.stdout)]
    if len(eps) != epochs:
        sys.exit("run.py: expected %d epoch lines from %s:\n%s" % (epochs, " ".join(cmd), p.stdout))
    return {"compile_ms": float(m.group(1)), "epochs": eps, "params": int(params.group(1)) if params else None,
            "cmd": " ".join("nnc" if c == NNC else c for c in cmd[0 if ranks else 1:]).replace(ROOT + "/", "")}


# ---- PyTorch ---------------------------------------------------------------------

def torch_configs(best):
    cfgs = []
    for threads in sorted({1, NCPU}):
        for label, core in (("installed", None), ("best", best)):
            env = base_env()
            if core is not None and core != "auto":
                env["LD_LIBRARY_PATH"] = OPENBLAS_DIR
                env["OPENBLAS_CORETYPE"] = core
            if threads == 1:
                env["OPENBLAS_NUM_THREADS"] = "1"
                env["OMP_NUM_THREADS"] = "1"
            cfgs.append(("%s-%dt" % (label, threads), env, threads))
    return cfgs


class Torch:
    """A torch_bench.py server in one configuration, alive while run.py needs it."""

    def __init__(self, label, env, threads):
        self.label = label
        self.p = subprocess.Popen([PY, os.path.join(BENCH, "torch_bench.py")], env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.info = self.call({"label": label, "threads": threads})

    def call(self, job):
        self.p.stdin.write(json.dumps(job) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("run.py: PyTorch (%s) failed on %s" % (self.label, json.dumps(job)))
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# ---- the measurements ------------------------------------------------------------

def add(res, group, work, side, value):
    res.setdefault(group, {}).setdefault(work, {}).setdefault(side, []).append(value)


def measure(args):
    quick, R = args.quick, args.reps
    res = {"quick": quick, "reps": R, "machine": machine(), "started": datetime.datetime.now().isoformat()}
    build_all(quick)
    check_shuffle()
    res["probes"], best = probes(R)
    cfgs = torch_configs(best)
    res["torch_configs"] = {label: {k: v for k, v in env.items() if k.startswith(("OPENBLAS", "OMP", "LD_LIB"))}
                            for label, env, _ in cfgs}
    # the timed slices: training samples per timed epoch (both sides the same)
    S = {"mlp": 3200, "mlp_b1": 1000, "cnn": 640, "lstm": 640, "gru": 640, "charlm": 96} if quick else \
        {"mlp": 19200, "mlp_b1": 6000, "cnn": 9600, "lstm": 3200, "gru": 3200, "charlm": 640}
    full = 6000 if quick else None                    # the accuracy runs (None: all 60,000 / 10,000)
    # the recurrent networks' accuracy runs: a slice (a whole epoch of PyTorch's
    # LSTM is a minute); the character model's: its held-out loss
    acc_limit = {"mlp": full, "mlp_b1": full, "cnn": full, "lstm": 3000 if quick else 12000,
                 "gru": 3000 if quick else 12000, "charlm": 320 if quick else 3200}
    n_img, inf_reps = 256, 3 if quick else 7
    xor_c_steps, xor_torch_steps = (1000000, 500) if quick else (4000000, 2000)
    res.update(jit_flags=JIT_FLAGS, slices=S, full=full or EPOCH, acc_limit=acc_limit, n_img=n_img, inf_reps=inf_reps, xor_torch_steps=xor_torch_steps,
               xor_c_steps=xor_c_steps)
    one = [c for c in cfgs if c[2] == 1]
    many = [c for c in cfgs if c[2] != 1]
    res["torch"] = {}

    log("accuracy runs: one epoch of nnc and of PyTorch best-1t from the same weights, same batches")
    servers = {label: Torch(label, env, t) for label, env, t in one}
    for label, srv in servers.items():
        res["torch"][label] = srv.info
        log("  PyTorch %s: BLAS %s" % (label, json.dumps(srv.info["blas"])))
        libs = srv.info["blas"].get("libs", [])
        reference = [p for p in libs if "/blas/" in p or "openblas" not in p]
        if reference or not libs:   # Debian's reference BLAS (libblas3): ratios against it would mislead
            sys.exit("run.py: PyTorch (%s) runs on a BLAS that is not OpenBLAS (%s): Debian's reference BLAS "
                     "is several times slower, so no ratio would be fair.  Install libopenblas-dev (scripts/setup.sh "
                     "bench does) and check 'update-alternatives --display libblas.so.3-x86_64-linux-gnu'."
                     % (label, ", ".join(reference) or "none found"))
    bt = servers["best-1t"]
    acc = {}
    for key in ("mlp", "mlp_b1", "cnn", "lstm", "gru", "charlm"):
        save = "%s/%s.nnw" % (OUT, key) if key in ("mlp", "cnn", "lstm") else None
        lim = acc_limit[key]
        if key == "charlm":
            e = nnc_train(key, TEXT, 1, limit=lim)["epochs"][0]
            t = bt.call({"kind": "text", "nn": nnpath(key), "init": init(key), "epochs": 1, "limit": lim,
                         "text": TEXT})
            acc[key] = {"nnc": {"valid_nats": e["valid_nats"], "loss": e["loss"], "seconds": lim / e["sps"]},
                        "torch": {"valid_nats": t["valid_nats"][0], "loss": t["epoch_loss"][0],
                                  "seconds": t["epoch_seconds"][0]}}
            log("  %s: held-out loss nnc %.4f, PyTorch %.4f nats per character" % (
                key, e["valid_nats"], t["valid_nats"][0]))
            continue
        e = nnc_train(key, TRAIN, 1, limit=lim, test=TEST, save=save)["epochs"][0]
        t = bt.call({"kind": "train", "nn": nnpath(key), "init": init(key), "epochs": 1, "limit": lim,
                     "test": True})
        acc[key] = {"nnc": {"test_acc": e["test_acc"], "loss": e["loss"], "seconds": (lim or EPOCH) / e["sps"]},
                    "torch": {"test_acc": t.get("test_acc", -1), "loss": t["epoch_loss"][0] if t["epoch_loss"]
                              else float("nan"), "seconds": t["epoch_seconds"][0] if t["epoch_seconds"] else 0,
                              "diverged": t.get("diverged")}}
        log("  %s: test accuracy nnc %.2f%%, PyTorch %.2f%%" % (key, 100 * e["test_acc"],
                                                              100 * acc[key]["torch"]["test_acc"]))
    res["acc"] = acc

    log("the inference-only C of the trained networks")
    import numpy as np
    imgs = torch_bench.load_idx("t10k-images-idx3-ubyte.gz")[:n_img].astype(np.float32) / np.float32(255)
    imgs.astype(np.float32).tofile(OUT + "/images.f32")
    for key in ("mlp", "cnn", "lstm"):
        nnf, name = NETS[key]
        c = "%s/%s_inf.c" % (OUT, key)
        run([NNC, os.path.join(ROOT, nnf), "--weights", "%s/%s.nnw" % (OUT, key), "-o", c])
        # every layer's output in a place of its own: the RAM plan's yardstick (it must not cost speed)
        ck = "%s/%s_kept.c" % (OUT, key)
        run([NNC, os.path.join(ROOT, nnf), "--weights", "%s/%s.nnw" % (OUT, key), "--keep-activations", "-o", ck])
        for suffix, flags, src in (("", ["-O3", "-march=native"], c), ("_jit", JIT_FLAGS, c),
                                   ("_kept", ["-O3", "-march=native"], ck)):
            run(["cc"] + flags + ["-D_POSIX_C_SOURCE=200809L", "-DNET=" + name, "-include", src[:-2] + ".h", "-o",
                                  "%s/infer_%s%s" % (OUT, key, suffix), BENCH + "/infer_main.c", src, "-lm"])

    def train_job(key, label, limit):
        return {"kind": "train", "nn": nnpath(key), "init": init(key), "epochs": 2, "limit": limit}

    def infer_job(key, label):
        return {"kind": "infer", "nn": nnpath(key), "weights": "%s/%s.nnw" % (OUT, key), "n": n_img,
                "reps": inf_reps, "out": "%s/torch_infer_%s_%s.out" % (OUT, key, label)}

    def torch_unit(srv, key, limit):
        """One timed unit of a workload on PyTorch: its figure and epoch-1 loss."""
        if key == "xor":
            r = srv.call({"kind": "xor", "nn": nnpath("xor"), "init": init("xor"), "steps": xor_torch_steps,
                          "reps": 3})
            return median(r["steps_per_s"]), None
        if key.startswith("infer_"):
            r = srv.call(infer_job(key[6:], srv.label))
            return median(r["us"]), None
        if key == "charlm":   # s per 1,000 windows
            r = srv.call({"kind": "text", "nn": nnpath(key), "init": init(key), "epochs": 2, "limit": limit,
                          "text": TEXT})
            return r["epoch_seconds"][1] * 1000 / r["n"], r["epoch_loss"][0]
        r = srv.call(train_job(key, srv.label, limit))
        check("diverged" not in r, "PyTorch %s diverged on %s" % (srv.label, key))
        return r["epoch_seconds"][1] * EPOCH / r["n"], r["epoch_loss"][0]

    works = ["xor", "mlp", "mlp_b1", "cnn", "lstm", "gru", "charlm", "infer_mlp", "infer_cnn", "infer_lstm"]
    log("%d rounds, each: every workload on nnc, then on PyTorch %s" % (R, " and ".join(servers)))
    for rnd in range(R):
        for key in works:
            if key == "xor":
                r = nnc_train("xor", OUT + "/xor_rows.csv", 4)
                add(res, "speed", key, "nnc", median([e["sps"] for e in r["epochs"][1:]]))
                res["xor_nnc_acc"] = r["epochs"][-1]["train_acc"]
                for side, cmd in (("c_ref", [OUT + "/xor_ref", init("xor"), str(xor_c_steps), "3"]),
                                  ("nnc_direct", [OUT + "/xor_direct", str(xor_c_steps), "3"])):
                    out = run(cmd).stdout
                    add(res, "speed", key, side, float(re.search(r"median_steps_per_s=(\S+)", out).group(1)))
                    res.setdefault("xor_outputs", {})[side] = [float(x) for x in
                                                              re.findall(r"^out \S+ \S+ (\S+)", out, re.M)]
            elif key.startswith("infer_"):
                for suffix, side in (("", "nnc"), ("_jit", "nnc_jitflags"), ("_kept", "nnc_kept")):
                    exe = "%s/infer_%s%s" % (OUT, key[6:], suffix)
                    out = run([exe, OUT + "/images.f32", str(n_img), str(inf_reps), exe + ".out"]).stdout
                    add(res, "speed", key, side, float(re.search(r"median_us=(\S+)", out).group(1)))
            elif key == "charlm":
                r = nnc_train(key, TEXT, 2, limit=S[key])
                add(res, "speed", key, "nnc", 1000 / r["epochs"][1]["sps"])
                add(res, "loss1", key, "nnc", r["epochs"][0]["loss"])
            else:
                r = nnc_train(key, TRAIN, 2, limit=S[key])
                add(res, "speed", key, "nnc", EPOCH / r["epochs"][1]["sps"])
                add(res, "loss1", key, "nnc", r["epochs"][0]["loss"])
            for label, srv in servers.items():
                v, loss1 = torch_unit(srv, key, S.get(key))
                add(res, "speed", key, label, v)
                if loss1 is not None:
                    add(res, "loss1", key, label, loss1)
        log("  round %d/%d: %s" % (rnd + 1, R, ", ".join(
            "%s %s" % (k, fmt(res["speed"][k]["nnc"][-1])) for k in works)))
    r = bt.call({"kind": "xor", "nn": nnpath("xor"), "init": init("xor"), "steps": xor_torch_steps, "reps": 1,
                 "learn_steps": 12000})
    res.setdefault("xor_outputs", {})["torch"] = r["outputs"]
    for srv in servers.values():
        srv.close()

    log("compile latency: --jit=tcc and --jit=cc (empty cache each time)")
    comp = {}
    small = {"xor": os.path.join(ROOT, "examples/xor.csv"), "mlp": TEST, "cnn": TEST}
    for key in ("xor", "mlp", "cnn"):
        for backend, n in (("tcc", 3 if quick else 7), ("cc", 1 if quick else 3)):
            ms = []
            for _ in range(n):
                with tempfile.TemporaryDirectory(prefix="nnc-bench-cache-") as tmp:
                    ms.append(nnc_train(key, small[key], 1, limit=1, backend=backend, cache=tmp)["compile_ms"])
            comp["%s_%s" % (key, backend)] = ms
            log("  %s --jit=%s: %s ms" % (key, backend, " ".join("%.1f" % x for x in ms)))
    res["compile"] = comp

    log("the tiered JIT: --jit=auto against tcc and cc, first step and whole runs")
    res["tiers"] = tiers(quick)

    # Training speed with --jit=tcc: tcc does not optimize, so one round on
    # smaller slices is enough to show where it stands.
    log("training speed with --jit=tcc (one round, smaller slices)")
    St = {"mlp": max(320, S["mlp"] // 4), "mlp_b1": max(100, S["mlp_b1"] // 4), "cnn": max(320, S["cnn"] // 8)}
    tcc = {"slices": St}
    r = nnc_train("xor", OUT + "/xor_rows.csv", 4, backend="tcc")
    tcc["xor"] = median([e["sps"] for e in r["epochs"][1:]])
    for key in ("mlp", "mlp_b1", "cnn"):
        tcc[key] = EPOCH / nnc_train(key, TRAIN, 2, limit=St[key], backend="tcc")["epochs"][1]["sps"]
        log("  %s --jit=tcc: %s s/epoch" % (key, fmt(tcc[key])))
    res["tcc_train"] = tcc

    # All cores: PyTorch alone (nnc has one thread), on quarter slices, until a
    # time cap: on a busy machine these runs can be 20x slower than one thread.
    cap = 10 if quick else 25
    res["many_cap"] = cap
    S4 = {k: max(320 if k != "charlm" else 160, v // 4) for k, v in S.items()}
    res["slices_many"] = S4
    for key in S4:        # nnc's first-epoch loss on those slices, for the check
        add(res, "loss1q", key, "nnc", nnc_train(key, TEXT if key == "charlm" else TRAIN, 1,
                                                 limit=S4[key])["epochs"][0]["loss"])
    for label, env, t in many:
        srv = Torch(label, env, t)
        res["torch"][label] = srv.info
        log("PyTorch %s (BLAS %s): up to %d rounds, %d s a workload" % (label, srv.info["blas"].get(
            "openblas_core", "?"), min(R, 3), cap))
        for key in works:
            t0 = time.time()
            for rnd in range(min(R, 3)):
                v, loss1 = torch_unit(srv, key, S4.get(key))
                add(res, "speed", key, label, v)
                if loss1 is not None and rnd == 0:
                    add(res, "loss1q", key, label, loss1)
                if time.time() - t0 > cap:
                    break
        srv.close()
    # the GAN: its own script (the PyTorch twin, the judge's score), a few epochs for the speed here; its
    # 20-epoch quality comparison is `bench/gan_twin.py` alone (bench/README.md)
    log("GAN: %s against its PyTorch twin, one thread (bench/gan_twin.py)" % "examples/fashion_gan.nn")
    gan_args = ["--epochs", "1", "--limit", "3200"] if quick else ["--epochs", "2", "--limit", "12800"]
    run([PY, os.path.join(BENCH, "gan_twin.py"), "--coretype", "" if best == "auto" else best] + gan_args)
    res["gan"] = json.load(open(os.path.join(OUT, "gan", "results.json")))
    log("data-parallel training on Open MPI: -np 1 and -np %d, and PyTorch on all cores" % NCPU)
    res["mpi"] = mpi_section(quick, R, best)
    res["machine"]["load_end"] = os.getloadavg()
    res["finished"] = datetime.datetime.now().isoformat()
    return res


# ---- the tiered JIT (issue 17): --jit=auto against tcc and cc -------------------

TIER_NETS = {   # name in the table: (.nn file, data)
    "XOR": ("examples/xor.nn", os.path.join(ROOT, "examples", "xor.csv")),
    "MLP": ("examples/fashion_mlp.nn", TRAIN),
    "CNN": ("examples/fashion_cnn.nn", TRAIN),
    "big CNN": ("bench/big_cnn.nn", TRAIN),
}
PROGRESS_RE = re.compile(rb"\] \d+/\d+  batch loss")              # the progress bar, drawn after a batch
EPOCH_LINE_RE = re.compile(rb"epoch (\d+)/(\d+)  batch loss \S+  train ")


def timed_train(key, epochs, limit, backend, cache):
    """One `nnc train` run with its output on a pseudo-terminal, as in a
    shell: nnc then draws its progress bar after the first batch and at most
    every 0.1 s after, and flushes each line.  The arrival times of the
    output give: `start`, the "training on" line (compiled, loaded, about to
    train); `first_step`, the first progress bar (the first training step
    done); `epoch_end`, the last epoch's line (its training and evaluation
    done); `wall`, the process's exit (from just before the fork)."""
    import pty
    import select
    nn, data = TIER_NETS[key]
    cmd = [NNC, "train", os.path.join(ROOT, nn), "--data", data, "--epochs", str(epochs), "--jit=" + backend]
    if limit:
        cmd += ["--limit", str(limit)]
    env = base_env()
    env["XDG_CACHE_HOME"] = cache
    master, slave = pty.openpty()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out, got = b"", {}
    while True:
        if not select.select([master], [], [], 1.0)[0]:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:            # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        t = time.monotonic() - t0
        out += chunk
        for what, found in (("start", b"training on" in out), ("first_step", PROGRESS_RE.search(out)),
                            ("epoch_end", len(EPOCH_LINE_RE.findall(out)) >= epochs)):
            if found and what not in got:
                got[what] = t
    err = p.stderr.read().decode("utf-8", "replace")
    rc = p.wait()
    got["wall"] = time.monotonic() - t0
    os.close(master)
    # the output as the terminal shows it in the end: each line's progress bars erased
    text = re.sub(r"[^\n]*\r\x1b\[K", "", out.decode("utf-8", "replace").replace("\r\n", "\n"))
    if rc != 0 or len(got) != 4:
        sys.exit("run.py: %s failed (exit %d):\n%s%s" % (" ".join(cmd), rc, text[-3000:], err[-3000:]))
    m = re.search(r"compiled by (.*?) in (\S+) ms", text)
    over = re.search(r"optimized code \(cc\) took over after (\d+) samples of the epoch, (\S+) s in", text)
    got.update(compiled_by=m.group(1), compile_ms=float(m.group(2)),
               took_over=[int(over.group(1)), float(over.group(2))] if over else None,
               sps=[float(x) for x in re.findall(r"^epoch \d+/\d+  batch loss .*  (\d+) samples/s$", text, re.M)])
    return got


def section_done(out, name, t0):
    """A section's figures out, with its time and the load at its end."""
    out["seconds"] = time.time() - t0
    out["load_end"] = os.getloadavg()
    log("%s: %.0f s" % (name, out["seconds"]))
    return out


def tiers(quick):
    """Issue 17's rows: for each (network, epochs, samples), the time to the
    first training step and the wall time of the whole run under --jit=auto,
    tcc and cc; cc and auto with an empty cache (a fresh XDG_CACHE_HOME each
    run), and for the CNN's one-epoch row also both with the cache the cc
    run filled ("warm").  Where a whole libtcc run would take minutes, tcc
    trains a slice for one epoch and the row's tcc wall time is estimated:
    the time to "training on" (compile, load) + the epochs' samples at the
    slice's rate (training and the evaluation after each epoch) + the exit.
    Within a repetition the backends run one after the other, so that a
    change in the machine's load hits all of them."""
    n_mlp, n_cnn = (6000, 1280) if quick else (EPOCH, EPOCH)
    # (network, epochs, training samples, repetitions, tcc's slice or None: tcc trains it all)
    rows = [("XOR", 1, 4, 1 if quick else 5, None), ("XOR", 10, 4, 1 if quick else 5, None),
            ("MLP", 1, n_mlp, 1 if quick else 3, 640 if quick else 3200), ("MLP", 10, n_mlp, 1, 640 if quick else 3200),
            ("CNN", 1, n_cnn, 1 if quick else 3, 320 if quick else 640), ("CNN", 10, n_cnn, 1, 320 if quick else 640),
            ("big CNN", 1, 64 if quick else 6400, 1, None if quick else 64)]
    slices = {}   # (network, slice): tcc's slice runs, shared by the network's rows
    out = {"rows": [], "load_start": os.getloadavg()}
    t0 = time.time()
    for key, epochs, n, reps, tslice in rows:
        warm = key == "CNN" and epochs == 1
        log("tiers: %s, %d epoch%s of %s samples, %d repetition%s%s" % (
            key, epochs, "s" if epochs > 1 else "", "{:,}".format(n), reps, "s" if reps > 1 else "",
            ", tcc estimated from %d samples" % tslice if tslice else ""))
        row = {"net": key, "nn": TIER_NETS[key][0], "epochs": epochs, "samples": n, "reps": reps,
               "tcc_slice": tslice, "runs": {}}
        for rep in range(reps):
            if tslice:
                done = slices.setdefault((key, tslice), [])
                if len(done) <= rep:
                    with tempfile.TemporaryDirectory(prefix="nnc-bench-cache-") as tmp:
                        done.append(timed_train(key, 1, tslice, "tcc", tmp))
                s = dict(done[rep])
                per_sample = (s["epoch_end"] - s["start"]) / tslice
                s["slice_wall"] = s["wall"]
                s["wall"] = s["start"] + epochs * n * per_sample + (s["wall"] - s["epoch_end"])
                row["runs"].setdefault("tcc", []).append(s)
            else:
                with tempfile.TemporaryDirectory(prefix="nnc-bench-cache-") as tmp:
                    row["runs"].setdefault("tcc", []).append(timed_train(key, epochs, n, "tcc", tmp))
            with tempfile.TemporaryDirectory(prefix="nnc-bench-cache-") as filled:
                row["runs"].setdefault("cc", []).append(timed_train(key, epochs, n, "cc", filled))
                with tempfile.TemporaryDirectory(prefix="nnc-bench-cache-") as tmp:
                    row["runs"].setdefault("auto", []).append(timed_train(key, epochs, n, "auto", tmp))
                if warm:   # the object the cc run left in its cache
                    for b in ("cc", "auto"):
                        row["runs"].setdefault(b + "_warm", []).append(timed_train(key, epochs, n, b, filled))
        for b, rs in row["runs"].items():
            log("  %-8s first step %s s, wall %s s%s" % (
                b, " ".join("%.3f" % r["first_step"] for r in rs), " ".join("%.2f" % r["wall"] for r in rs),
                "".join("; cc took over after %d samples, %.2f s into the epoch" % tuple(r["took_over"])
                        for r in rs if r["took_over"])))
        out["rows"].append(row)
    return section_done(out, "tiers", t0)


def tiers_table(res):
    """The tiered JIT's table (bench/README.md's "The tiered JIT")."""
    t = res["tiers"]
    L = ["### 8. The tiered JIT: time to the first training step and wall time, s (issue 17)", "",
         "%s; load average (1 min) %.2f at the start of the section, %.2f at the end. `nnc train NET --data D "
         "--epochs E --limit N --jit=B`, no `--test`; cc and auto start from an empty cache each run (a new user's "
         "first run), except in the *warm cache* row, which uses the object the cc run left. Medians of the "
         "repetitions (reps); *est. from S*: tcc trained S samples for one epoch and the whole run is estimated "
         "from that (bench/README.md). *cc took over*: in auto's run of median wall time, after how many samples "
         "and how long into the first epoch; \"—\": the run ended before cc's build.%s" % (
             res["machine"]["cpu"], t["load_start"][0], t["load_end"][0],
             " **QUICK RUN**: not for quoting." if res["quick"] else ""), "",
         "| network | epochs × samples | reps | first step: auto | tcc | cc | auto ÷ better | wall: auto | tcc | cc | "
         "auto ÷ better | auto within 10% | cc took over |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in t["rows"]:
        runs = row["runs"]
        for warm in ("", "_warm"):
            if "auto" + warm not in runs:
                continue
            med = {b: {k: median([r[k] for r in runs[b + (warm if b != "tcc" else "")]]) for k in
                       ("first_step", "wall")} for b in ("auto", "tcc", "cc")}
            q = {k: med["auto"][k] / min(med["tcc"][k], med["cc"][k]) for k in ("first_step", "wall")}
            late = [w for k, w in (("first_step", "first step"), ("wall", "wall")) if q[k] > 1.10]
            est = "est. from %d: " % row["tcc_slice"] if row["tcc_slice"] else ""
            autos = sorted(runs["auto" + warm], key=lambda r: r["wall"])
            over = autos[(len(autos) - 1) // 2]["took_over"]
            L.append("| %s%s | %d × %s | %d | %s | %s | %s | %.2f | %s | %s%s | %s | %.2f | %s | %s |" % (
                row["net"], ", warm cache" if warm else "", row["epochs"], "{:,}".format(row["samples"]),
                row["reps"], fmt(med["auto"]["first_step"]), fmt(med["tcc"]["first_step"]),
                fmt(med["cc"]["first_step"]), q["first_step"], fmt(med["auto"]["wall"]), est,
                fmt(med["tcc"]["wall"]), fmt(med["cc"]["wall"]), q["wall"],
                "**no: %s**" % " and ".join(late) if late else "yes",
                "%s, %s s" % ("{:,}".format(over[0]), fmt(over[1])) if over else
                "from the cache" if warm else "—"))
    return "\n".join(L)


# ---- data-parallel training on Open MPI (issue 16) -------------------------------

MPI_WORK = [   # (name in the table, .nn file, batch: None = as written, (limit, epochs), --quick's)
    ("CNN, batch 32", "examples/fashion_cnn.nn", None, (10000, 3), (3200, 2)),
    ("CNN, batch 128", "examples/fashion_cnn.nn", 128, (10000, 3), (3200, 2)),
    ("MLP 784-256-10, batch 128", "examples/fashion_mlp.nn", 128, (60000, 3), (20000, 2)),
]
MPI_LOSS_TOL = 1e-2   # the last epoch's loss on N ranks against one process's, relative (bench/README.md)
MPI_BAR = 1.8         # issue 16: the CNN's samples/s on 2 ranks against 1


def with_batch(nn, batch):
    """The .nn file nn (relative to ROOT), or with batch set: a copy with
    `batch B` in OUT."""
    path = os.path.join(ROOT, nn)
    if batch is None:
        return path
    text, k = re.subn(r"^(\s*batch\s+)\d+", r"\g<1>%d" % batch, open(path).read(), flags=re.M)
    if k != 1:
        sys.exit("run.py: %s has no single 'batch' line" % nn)
    copy = os.path.join(OUT, "%s_b%d.nn" % (os.path.basename(nn)[:-3], batch))
    with open(copy, "w") as f:
        f.write(text)
    return copy


def allreduce_ms(ranks, count, calls):
    """bench/allreduce.c: the median ms of MPI_Allreduce of count floats (and
    of the step's 2 doubles) on ranks ranks."""
    out = run(mpirun(ranks) + [OUT + "/allreduce", str(count), str(calls), "50"], env=mpi_env(base_env())).stdout
    m = re.search(r"median_ms=(\S+) min_ms=\S+ doubles_median_ms=(\S+)", out)
    return float(m.group(1)), float(m.group(2))


def mpi_section(quick, R, best):
    """Issue 16's rows: samples/s of `nnc train NET --jit=cc` under
    `mpirun --bind-to core -np 1` and `-np N` (N = the cores), the last
    epoch of each run (the first touches the pages), and of PyTorch with N
    threads at its best OpenBLAS kernel on the same slice; the cost of the
    step's allreduce alone (bench/allreduce.c).  Rounds: in each, every
    workload on -np 1, -np N and PyTorch, then the allreduce, so that a
    change in the machine's load hits all of them."""
    out = {"load_start": os.getloadavg(), "ranks": NCPU, "rows": [], "allreduce": {}, "loss_tol": MPI_LOSS_TOL}
    t0 = time.time()
    missing = [t for t in ("mpirun", "mpicc") if not shutil.which(t)]
    if NCPU < 2 or missing:
        out["skipped"] = "one core" if NCPU < 2 else \
            "no %s (scripts/setup.sh installs openmpi-bin)" % " or ".join(missing)
        check(NCPU < 2, "mpi: " + out["skipped"])
        return out
    ranks = NCPU
    run(["mpicc", "-O2", "-std=c99", "-o", OUT + "/allreduce", BENCH + "/allreduce.c"])
    label, env, threads = [c for c in torch_configs(best) if c[0] == "best-%dt" % NCPU][0]
    srv = Torch(label, env, threads)
    out.update(torch=srv.info, torch_label=label, best_core=best, calls=200 if quick else 400)
    for what, nn, batch, full, q in MPI_WORK:
        limit, epochs = q if quick else full
        path = with_batch(nn, batch)
        name = re.search(r"^\s*network\s+(\w+)", open(path).read(), re.M).group(1)
        row = {"what": what, "nn": os.path.relpath(path, ROOT), "batch": torch_bench.parse_nn(path)["batch"],
               "limit": limit, "epochs": epochs, "init": dump_init(path, name, os.path.basename(path)[:-3]),
               "runs": {}}
        log("mpi: %s (%s), warm-up on %d ranks" % (what, row["nn"], ranks))
        row["params"] = nnc_train(None, TRAIN, 1, limit=row["batch"] * 8, nn=path, ranks=ranks)["params"]
        row["cmd"] = nnc_train(None, TRAIN, 1, limit=row["batch"] * 8, nn=path, ranks=1)["cmd"]
        out["rows"].append(row)
    log("mpi: %d rounds, each: every workload on -np 1, -np %d and PyTorch %s, then MPI_Allreduce alone" % (
        R, ranks, label))
    for rnd in range(R):
        for row in out["rows"]:
            path = os.path.join(ROOT, row["nn"])
            for n in (1, ranks):
                r = nnc_train(None, TRAIN, row["epochs"], limit=row["limit"], nn=path, ranks=n)
                row["runs"].setdefault("np%d" % n, []).append({"sps": r["epochs"][-1]["sps"],
                                                              "loss": [e["loss"] for e in r["epochs"]]})
            one, many = row["runs"]["np1"][-1]["loss"], row["runs"]["np%d" % ranks][-1]["loss"]
            check(abs(many[-1] - one[-1]) <= MPI_LOSS_TOL * abs(one[-1]),
                  "mpi: %s, last epoch's loss on %d ranks %.6f against %.6f in one process" % (
                      row["what"], ranks, many[-1], one[-1]))
            t = srv.call({"kind": "train", "nn": path, "init": row["init"], "epochs": 2, "limit": row["limit"]})
            check("diverged" not in t, "mpi: PyTorch %s diverged on %s" % (label, row["what"]))
            if "diverged" not in t:
                row["runs"].setdefault("torch", []).append({"sps": t["n"] / t["epoch_seconds"][1],
                                                            "loss": t["epoch_loss"]})
                # the same batches from the same weights: the first epoch's losses agree (as verify())
                check(abs(t["epoch_loss"][0] - one[0]) <= 0.05 * abs(one[0]) + 1e-3,
                      "mpi: %s, epoch-1 training loss nnc %.4f vs PyTorch %s %.4f" % (
                          row["what"], one[0], label, t["epoch_loss"][0]))
        for i, count in enumerate(sorted({row["params"] for row in out["rows"]})):
            ms, dms = allreduce_ms(ranks, count, out["calls"])
            out["allreduce"].setdefault(str(count), []).append(ms)
            if i == 0:
                out["allreduce"].setdefault("2 doubles", []).append(dms)
        log("  round %d/%d: %s; allreduce %s ms" % (rnd + 1, R, ", ".join(
            "%s %s → %s samples/s" % (row["what"], fmt(row["runs"]["np1"][-1]["sps"]),
                                      fmt(row["runs"]["np%d" % ranks][-1]["sps"])) for row in out["rows"]),
            " ".join(fmt(v[-1]) for k, v in out["allreduce"].items() if k != "2 doubles")))
    srv.close()
    return section_done(out, "mpi", t0)


def mpi_table(res):
    """Data-parallel training's table (bench/README.md's "Every core")."""
    t = res["mpi"]
    head = "### 9. Data-parallel training: `mpirun -np %d` against `-np 1`, and against PyTorch on all cores " \
           "(issue 16)" % t["ranks"]
    if "skipped" in t:
        return "%s\n\nNot measured: %s." % (head, t["skipped"])
    N = t["ranks"]
    A = {k: median(v) for k, v in t["allreduce"].items()}
    L = [head, "",
         "%s; load average (1 min) %.2f at the start of the section, %.2f at the end. Samples/s of `mpirun "
         "--bind-to core -np N nnc train NET --data TRAIN --limit L --epochs E --jit=cc` (warm cache), the last "
         "epoch's figure, median of %d rounds; PyTorch %s (%d threads, OPENBLAS_CORETYPE=%s) on the same slice "
         "from the same weights, its second epoch. *step*: batch ÷ samples/s. *allreduce*: MPI_Allreduce of the "
         "gradient (the parameter count in floats) alone on %d ranks (bench/allreduce.c, median of %d calls a "
         "round). Loss: the last epoch's mean training loss, one process / %d ranks (must agree to %g relative)."
         "%s" % (res["machine"]["cpu"], t["load_start"][0], t["load_end"][0], len(t["rows"][0]["runs"]["np1"]),
                 t["torch"]["torch"], t["torch"]["threads"], t["best_core"], N, t["calls"], N, t["loss_tol"],
                 " **QUICK RUN**: not for quoting." if res["quick"] else ""), "",
         "| workload | samples × epochs | -np 1, samples/s | -np %d | speed-up | ≥ %.1f× | step alone, ms | "
         "step on %d ranks, ms | allreduce, ms | bound: alone ÷ %d + allreduce, ms (speed-up) | PyTorch %d threads, samples/s | "
         "nnc -np %d ÷ PyTorch | loss -np 1 / -np %d |" % (N, MPI_BAR, N, N, N, N, N),
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for row in t["rows"]:
        s1, sn = median([r["sps"] for r in row["runs"]["np1"]]), median([r["sps"] for r in row["runs"]["np%d" % N]])
        st = median([r["sps"] for r in row["runs"].get("torch", [])])
        b = row["batch"]
        step1, stepn, ar = 1e3 * b / s1, 1e3 * b / sn, A[str(row["params"])]
        bound = step1 / N + ar
        cnn = row["what"].startswith("CNN")
        L.append("| %s (`%s`, %s parameters) | %s × %d | %s | %s | %.2f× | %s | %.3f | %.3f | %.3f | %.3f (%.2f×) "
                 "| %s | %s | %.6f / %.6f |" % (
                     row["what"], row["nn"], "{:,}".format(row["params"]), "{:,}".format(row["limit"]), row["epochs"],
                     fmt(s1), fmt(sn), sn / s1,
                     ("yes" if sn / s1 >= MPI_BAR else "**no**") if cnn and N == 2 else "—",
                     step1, stepn, ar, bound, step1 / bound, fmt(st), ratio(sn / st),
                     row["runs"]["np1"][-1]["loss"][-1], row["runs"]["np%d" % N][-1]["loss"][-1]))
        if cnn and sn / s1 >= MPI_BAR:
            continue
        why = ("%.2f ms above the bound: the part of the step that does not shrink (every rank takes the whole "
               "optimizer step over all %s parameters) and the ranks waiting "
               "for each other" % (stepn - bound, "{:,}".format(row["params"])) if stepn > bound else
               "within the bound")
        notes.append("- **%s**: a step of %d samples takes %.3f ms in one process; summing the %.2f MB gradient "
                     "takes %.3f ms by itself, %.0f%% of that. With each rank's %d samples computed in exactly half "
                     "the time, a step on %d ranks would take at least %.3f ms, %.2f× at best%s. Measured %.3f ms "
                     "(%.2f×), %s." % (
                         row["what"], b, step1, 4 * row["params"] / 1e6, ar, 100 * ar / step1, b // N, N, bound,
                         step1 / bound, " (below the %.1f× the issue asks for: the allreduce alone rules it out)" %
                         MPI_BAR if cnn and step1 / bound < MPI_BAR else "", stepn, sn / s1, why))
    L += ["", "On %d ranks each rank computes its share of the batch, then the ranks sum their gradients "
          "(*allreduce*, measured alone; the loss and stop flag's 2 doubles add %.4f ms) and every rank takes the "
          "same optimizer step. *bound*: the step if computing the batch took exactly 1/%d of the time and the "
          "allreduce cost what it costs alone." % (N, A["2 doubles"], N)]
    if notes:
        L += [""] + notes
    return "\n".join(L)


# ---- checks and tables -----------------------------------------------------------

def verify(res):
    quick = res["quick"]
    tol_acc = 0.03 if quick else 0.015
    xor_ok = lambda outs: len(outs) == 4 and all((y > 0.5) == bool(t) for y, t in zip(outs, (0, 1, 1, 0)))
    check(res["xor_nnc_acc"] == 1.0, "nnc train did not learn XOR")
    for side, what in (("c_ref", "the hand-written C"), ("nnc_direct", "nnc's emitted XOR in a bare loop"),
                       ("torch", "PyTorch (12,000 steps)")):
        check(xor_ok(res["xor_outputs"][side]), "%s did not learn XOR" % what)
    for key, a in res["acc"].items():
        if key == "charlm":   # the held-out loss, nats per character
            x, y = a["nnc"]["valid_nats"], a["torch"]["valid_nats"]
            check(abs(x - y) <= (0.03 if quick else 0.02) * y, "%s: held-out loss nnc %.4f vs PyTorch %.4f" % (key, x, y))
            continue
        check(not a["torch"].get("diverged"), "PyTorch diverged on %s" % key)
        check(abs(a["nnc"]["test_acc"] - a["torch"]["test_acc"]) <= tol_acc,
              "%s: test accuracy nnc %.2f%% vs PyTorch %.2f%%" % (key, 100 * a["nnc"]["test_acc"],
                                                                  100 * a["torch"]["test_acc"]))
    # the first (warm-up) epoch of every timed unit trains on the same batches
    # from the same weights: the training losses must agree
    for group in ("loss1", "loss1q"):
        for key, sides in res.get(group, {}).items():
            a = sides["nnc"][0]
            for side, bs in sides.items():
                for b in bs:
                    check(abs(a - b) <= 0.05 * max(abs(a), abs(b)) + 1e-3,
                          "%s: epoch-1 training loss nnc %.4f vs %s %.4f" % (key, a, side, b))
    import numpy as np
    for key in ("mlp", "cnn", "lstm"):
        for suffix in ("", "_jit"):
            a = np.fromfile("%s/infer_%s%s.out" % (OUT, key, suffix), dtype=np.float32).reshape(-1, 10)
            for label in res["torch"]:
                b = np.fromfile("%s/torch_infer_%s_%s.out" % (OUT, key, label), dtype=np.float32).reshape(-1, 10)
                d = float(np.abs(a - b).max())
                check(d <= 1e-4 and (a.argmax(1) == b.argmax(1)).all(),
                      "%s inference: nnc%s and PyTorch %s outputs differ by %.2g" % (key, suffix, label, d))


def fmt(x, digits=3):
    if x is None or x != x:
        return "—"
    if x >= 1000:
        return "{:,.0f}".format(x)
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    if x >= 1:
        return "%.2f" % x
    return "%.*f" % (digits, x)


def ratio(x):
    return "—" if x is None or x != x else "%.2f×" % x


def tables(res):
    pr, sp = res["probes"], res["speed"]
    labels = list(res["torch"])
    one = [l for l in labels if l.endswith("-1t")]
    R = res["reps"]
    m = res["machine"]
    info = res["torch"][labels[0]]
    blas = info["blas"]
    med = {k: {side: median(v) for side, v in sides.items()} for k, sides in sp.items()}
    higher = {"xor": True}

    def up(key, among):
        """How many times faster nnc is than the fastest PyTorch among `among`."""
        n, t = med[key]["nnc"], med[key]
        if higher.get(key):
            return n / max(t[l] for l in among)
        return min(t[l] for l in among) / n

    L = []
    busy = max(m["load_start"][0], m["load_end"][0]) > 0.75
    L.append("**Machine:** %s; %s; %s; PyTorch %s (Debian python3-torch) with OpenBLAS %s; Python %s; Linux %s. "
             "Load average (1 min) %.2f at the start, %.2f at the end%s. Every figure is a median; nnc and "
             "PyTorch (one thread) were measured in alternating rounds. nnc is single-threaded; \"all cores\" is "
             "%d threads.%s" % (
                 m["cpu"], m["cc"], m["tcc"], info["torch"],
                 blas["openblas_config"].split()[1] if "openblas_config" in blas else "?",
                 m["python"], m["kernel"], m["load_start"][0], m["load_end"][0],
                 ": the machine was shared with other jobs, so the figures are noisier than on a quiet machine "
                 "and the all-core PyTorch ones are unreliable" if busy else "", NCPU,
                 " **QUICK RUN** (small slices, 1 round): not for quoting." if res["quick"] else ""))
    L.append("")
    core = pr.get("best_core", "auto")
    auto = pr.get("sgemm", {}).get("auto", {}).get("core", "?")
    L.append("PyTorch configurations: *installed* = OpenBLAS choosing its own kernel (%s on this CPU); *best* = "
             "OPENBLAS_CORETYPE=%s (the fastest kernel on the MLP's GEMM shapes in the sgemm probe). *1t* = one "
             "thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1); *%dt* = all cores "
             "(torch's default threads). \"PyTorch at its best\" is, per workload, the fastest of the four; the "
             "bars compare with the faster 1-thread one." % (auto, core, NCPU))
    L.append("")
    L.append("Networks: " + "; ".join("`%s`" % describe(k)[0] for k in NETS if k in med or k == "mlp_b1") + ".")
    L.append("")

    # --- training
    L.append("### Training: workloads 1–3 (speed-up > 1: nnc faster)")
    L.append("")
    L.append("| workload | nnc --jit=cc | C by hand | " + " | ".join("PyTorch " + l for l in labels) +
             " | nnc ÷ PyTorch 1t | nnc ÷ PyTorch at its best |")
    L.append("|" + "---|" * (5 + len(labels)))
    for key, what in (("xor", "1. XOR 2-2-1, batch 1: **training steps/s**"),
                      ("mlp", "2. MLP 784-128-10, batch 32: **s/epoch**"),
                      ("mlp_b1", "2. MLP 784-128-10, batch 1: **s/epoch**"),
                      ("cnn", "3. CNN, batch 32: **s/epoch**"),
                      ("lstm", "4. LSTM 128 over image rows, batch 32: **s/epoch**"),
                      ("gru", "4. GRU 128 over image rows, batch 32: **s/epoch**"),
                      ("charlm", "5. character LSTM 256, 64 steps, batch 32: **s per 1,000 windows**")):
        if key not in med:
            continue
        t = med[key]
        L.append("| %s | %s | %s | %s | %s | %s |" % (what, fmt(t["nnc"]), fmt(t.get("c_ref")),
                                                      " | ".join(fmt(t.get(l)) for l in labels),
                                                      ratio(up(key, one)), ratio(up(key, labels))))
    L.append("")
    xc, xd, xn = med["xor"]["c_ref"], med["xor"]["nnc_direct"], med["xor"]["nnc"]
    L.append("- XOR: the hand-written C (bench/xor_ref.c, -O3 -march=native) is the practical limit; `nnc train "
             "--jit=cc` reaches **%s** of it. nnc's emitted C called in the same bare loop (bench/xor_direct.c, "
             "built with the JIT's flags) does %s steps/s, %s of the C by hand: the difference between that and "
             "`nnc train` is the runtime's per-step work (gathering the shuffled row, the call through the glue, "
             "the NaN check). Per round: nnc, the median of 3 epochs of 65,536 steps after a warm-up epoch; the C, "
             "of 3 runs of %s steps after a warm-up run; PyTorch, of 3 runs of %s steps after a warm-up run." % (
                 ratio(xn / xc), fmt(xd), ratio(xd / xc), "{:,}".format(res.get("xor_c_steps", 4000000)),
                 "{:,}".format(res["xor_torch_steps"])))
    L.append("- s/epoch: training time per 60,000 samples, evaluation excluded (nnc: its samples/s figure; "
             "PyTorch: timed around the same loop). Each round trains from the starting weights on a slice of the "
             "training set, a warm-up epoch and a timed one: the first %s samples for the MLP at batch 32, %s at "
             "batch 1, %s for the CNN (a quarter of those for all-core PyTorch), scaled to 60,000. Both sides "
             "train on the same slice in the same order from the same weights. Median of %d rounds (all-core "
             "PyTorch: up to %d, stopped after %d s)." % (
                 "{:,}".format(res["slices"]["mlp"]), "{:,}".format(res["slices"]["mlp_b1"]),
                 "{:,}".format(res["slices"]["cnn"]), R, min(R, 3), res["many_cap"]))
    L.append("")
    if "tcc_train" in res:
        tt = res["tcc_train"]
        L.append("With `--jit=tcc` (the default backend: compiles in milliseconds, does not optimize), one round "
                 "on smaller slices (%s, %s and %s samples): " % tuple("{:,}".format(tt["slices"][k])
                                                                        for k in ("mlp", "mlp_b1", "cnn")))
        L.append("")
        L.append("| workload | nnc --jit=tcc | nnc --jit=cc | tcc ÷ cc | tcc ÷ PyTorch best-1t |")
        L.append("|---|---|---|---|---|")
        for key, what in (("xor", "XOR: steps/s"), ("mlp", "MLP batch 32: s/epoch"),
                          ("mlp_b1", "MLP batch 1: s/epoch"), ("cnn", "CNN batch 32: s/epoch")):
            t, c, b = tt[key], med[key]["nnc"], med[key].get("best-1t")
            speed = (t / c, t / b if b else None) if higher.get(key) else (c / t, b / t if b else None)
            L.append("| %s | %s | %s | %s | %s |" % (what, fmt(t), fmt(c), ratio(speed[0]),
                                                     ratio(speed[1]) if speed[1] else "—"))
        L.append("")

    # --- accuracy
    L.append("### Accuracy after one epoch (same starting weights, same batches)")
    L.append("")
    L.append("| workload | nnc test acc | PyTorch test acc | nnc epoch loss | PyTorch epoch loss | "
             "that epoch, nnc | that epoch, PyTorch |")
    L.append("|---|---|---|---|---|---|---|")
    for key, what in (("mlp", "MLP batch 32"), ("mlp_b1", "MLP batch 1"), ("cnn", "CNN batch 32"),
                      ("lstm", "LSTM batch 32"), ("gru", "GRU batch 32")):
        if key not in res["acc"]:
            continue
        a = res["acc"][key]
        L.append("| %s | %.2f%% | %.2f%% | %.4f | %.4f | %s s | %s s |" % (
            what, 100 * a["nnc"]["test_acc"], 100 * a["torch"]["test_acc"], a["nnc"]["loss"], a["torch"]["loss"],
            fmt(a["nnc"]["seconds"]), fmt(a["torch"]["seconds"])))
    L.append("")
    al = res.get("acc_limit", {})
    L.append("One epoch of %s training samples (LSTM and GRU: the first %s) from nnc's starting weights in nnc's "
             "shuffled order, then the %s test images (LSTM and GRU: %s); PyTorch best-1t. The times are of that "
             "single, cold epoch (the speed figures above are medians of warm ones)." % (
                 "{:,}".format(res["full"]), "{:,}".format(al.get("lstm") or 0), "{:,}".format(min(res["full"], 10000)),
                 "{:,}".format(min(al.get("lstm") or 0, 10000))))
    if "charlm" in res["acc"]:
        a = res["acc"]["charlm"]
        L.append("")
        L.append("The character model, one epoch of the first %s windows of the corpus (Debian's fortunes, %s): "
                 "held-out loss nnc **%.4f**, PyTorch **%.4f** nats per character (%+.2f%%); training loss %.4f and "
                 "%.4f." % ("{:,}".format(al.get("charlm") or 0), "the last 10% held out, cut to as many windows",
                            a["nnc"]["valid_nats"], a["torch"]["valid_nats"],
                            100 * (a["nnc"]["valid_nats"] / a["torch"]["valid_nats"] - 1),
                            a["nnc"]["loss"], a["torch"]["loss"]))
    L.append("")

    # --- inference
    L.append("### 4. One-image inference latency, µs (lower is better)")
    L.append("")
    l2 = pr.get("l2", {}).get("max")
    L.append("| network | nnc, -O3 -march=native | nnc, the JIT's flags | nnc, --keep-activations | plan ÷ kept | " +
             " | ".join("PyTorch " + l for l in labels) + " | nnc ÷ PyTorch 1t | nnc ÷ PyTorch at its best | "
             "weights read, GB/s (% of the L2 probe) |")
    L.append("|" + "---|" * (8 + len(labels)))
    bound = {}   # key: the least µs reading the weights at the L2 probe's rate allows
    for key, what in (("infer_mlp", "MLP 784-128-10"), ("infer_cnn", "CNN"), ("infer_lstm", "LSTM 128, 28 steps")):
        if key not in med:
            continue
        t = med[key]
        kept = t.get("nnc_kept")
        wb = weight_bytes(key[len("infer_"):])
        gbs = wb / t["nnc"] / 1e3 if wb else None
        if wb and l2:
            bound[key] = wb / l2 / 1e3
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            what, fmt(t["nnc"]), fmt(t["nnc_jitflags"]), fmt(kept),
            "%.2f" % (t["nnc"] / kept) if kept else "", " | ".join(fmt(t.get(l)) for l in labels),
            ratio(up(key, one)), ratio(up(key, labels)),
            "%s (%.0f%%)" % (fmt(gbs), 100 * gbs / l2) if gbs and l2 else "—"))
    L.append("")
    L.append("nnc: `nnc NET.nn --weights W.nnw -o OUT.c` (the weights of the accuracy runs), built with `cc -O3 "
             "-march=native` as the issue says (the ratios use this build) and, for comparison, with the cc JIT "
             "backend's flags (`%s`). PyTorch: the model (and the softmax nnc's forward includes) under "
             "torch.no_grad(). One image per call, cycling through %d test images; per round the median of %d "
             "passes; median of the rounds. The outputs agree (max |Δp| ≤ 1e-4, same classes). `--keep-activations`: "
             "the same C with every layer's output in a place of its own, the RAM plan's yardstick (plan ÷ kept below "
             "1.10: the plan costs at most 10%% of the speed)." % (
                 " ".join(res.get("jit_flags", JIT_FLAGS)), res["n_img"], res["inf_reps"]))
    if l2:
        L.append("")
        L.append("Weights read: the bytes of the weights one pass reads, each once (the LSTM's W_ih and W_hh once "
                 "a step: %s MB), over its time, against the L2 probe (bench/l2_probe.c: one core reading a "
                 "256 KiB block that stays in its L2, %s GB/s best, median %s). A one-sample pass does one "
                 "multiply-add per weight it reads, so this rate, not the FMA peak, is its bound: at the probe's "
                 "rate the MLP's pass cannot take less than %s µs and the LSTM's %s µs." % (
                     fmt(weight_bytes("lstm") / 1e6), fmt(l2), fmt(pr["l2"]["median"]),
                     fmt(bound.get("infer_mlp")), fmt(bound.get("infer_lstm"))))
    L.append("")

    # --- compile
    L.append("### 5. Compile latency, .nn to callable code, ms (median)")
    L.append("")
    L.append("| network | --jit=tcc | --jit=cc (empty cache) |")
    L.append("|---|---|---|")
    c = res["compile"]
    for key, what in (("xor", "XOR"), ("mlp", "MLP 784-128-10"), ("cnn", "CNN")):
        L.append("| %s | %s | %s |" % (what, fmt(median(c[key + "_tcc"])), fmt(median(c[key + "_cc"]))))
    L.append("")
    L.append("The time `nnc train` reports (\"compiled by ... in\"): emitting the C, compiling it, linking (dlopen "
             "for cc) and NAME_init. Parsing the .nn comes before it and takes well under a millisecond. cc: "
             "XDG_CACHE_HOME a fresh temporary folder each run, so cc really runs. Median of %d (tcc) and %d (cc) "
             "runs." % (len(c["xor_tcc"]), len(c["xor_cc"])))
    L.append("")

    # --- GFLOP/s
    fma1 = pr["fma_1t"]["max"]
    sq = max((v["square_max"] for v in pr.get("sgemm", {}).values()), default=float("nan"))
    L.append("### 6. Achieved training GFLOP/s")
    L.append("")
    L.append("| network | FLOP per sample | nnc | " + " | ".join("PyTorch " + l for l in labels) +
             " | nnc, % of the FMA peak | nnc, % of sgemm |")
    L.append("|" + "---|" * (5 + len(labels)))
    for key, what in (("mlp", "MLP batch 32"), ("cnn", "CNN batch 32"), ("lstm", "LSTM batch 32"),
                      ("gru", "GRU batch 32"), ("charlm", "character LSTM (a window)")):
        if key not in med:
            continue
        flop = describe(key)[1]
        per = 1000 if key == "charlm" else EPOCH
        g = {side: flop * per / v / 1e9 for side, v in med[key].items()}
        L.append("| %s | %s | %s | %s | %.0f%% | %.0f%% |" % (what, "{:,}".format(flop), fmt(g["nnc"]),
                                                            " | ".join(fmt(g.get(l)) for l in labels),
                                                            100 * g["nnc"] / fma1, 100 * g["nnc"] / sq))
    L.append("")
    line = ("Peak, one thread: the FMA probe (bench/fma_peak.c: independent FMAs on the widest vectors) %s GFLOP/s (best run; "
            "median %s)" % (fmt(fma1), fmt(pr["fma_1t"]["median"])))
    if "sgemm" in pr:
        line += "; OpenBLAS sgemm on 2048×2048 matrices %s GFLOP/s (best kernel, best run). sgemm by kernel, one " \
                "thread (2048³ median / the MLP's shapes): " % fmt(sq) + ", ".join(
                    "%s%s %s / %s" % (k, "" if k != "auto" else " (%s)" % v["core"], fmt(v["square_median"]),
                                      fmt(v["mlp_shapes"])) for k, v in pr["sgemm"].items())
    if NCPU > 1:
        line += ". All %d cores: FMA %s" % (NCPU, fmt(pr["fma_%dt" % NCPU]["max"]))
        if "sgemm_all" in pr:
            line += ", sgemm %s" % fmt(pr["sgemm_all"]["max"])
    L.append(line + ". FLOP counted: 2 per multiply-add of the forward pass, of the weight gradients and of the "
             "input gradients (none for the first layer); element-wise work (biases, activations, pooling, the "
             "optimizer) is not counted.")
    L.append("")

    # --- the GAN
    gan = res.get("gan")
    if gan:
        gn, gt = median(gan["nnc"]["samples_per_sec"]), median(gan["torch"]["samples_per_sec"])
        fl = gan["flop_per_sample"]
        L.append("### 7. GAN training (%s, %d epoch%s%s)" % (gan["gan"], gan["epochs"], "s" if gan["epochs"] > 1 else "",
                                                          ", %d images" % gan["limit"] if gan["limit"] else ""))
        L.append("")
        L.append("| | nnc --jit=cc | PyTorch 1t (%s) | ratio |" % (gan["coretype"] or "as installed"))
        L.append("|---|---|---|---|")
        L.append("| training samples/s (median of the epochs) | %.0f | %.0f | %.2f× |" % (gn, gt, gn / gt))
        L.append("| GFLOP/s (%.2f MFLOP a sample: both networks' passes of a step) | %s (%.0f%% of the FMA peak) | %s | |"
                 % (fl / 1e6, fmt(gn * fl / 1e9), 100 * gn * fl / 1e9 / fma1, fmt(gt * fl / 1e9)))
        L.append("| score of 10,000 generated images (judge: fashion_cnn) | %.3f | %.3f | %.3f |"
                 % (gan["nnc"]["quality"]["generated"], gan["torch"]["quality"]["generated"],
                    gan["nnc"]["quality"]["generated"] / gan["torch"]["quality"]["generated"]))
        L.append("| largest class of the generated images | %.1f%% | %.1f%% | |"
                 % (gan["nnc"]["quality"]["largest_class_pct"], gan["torch"]["quality"]["largest_class_pct"]))
        L.append("")
        L.append("Both sides start from nnc's initial weights; the scores after so few epochs say only that both "
                 "learn alike: the 20-epoch comparison is `/usr/bin/python3 bench/gan_twin.py` (below).")
        L.append("")

    # --- bars
    L.append("### The bars")
    L.append("")
    L.append("| bar | measured | |")
    L.append("|---|---|---|")
    bars = [
        ("XOR: nnc --jit=cc ≥ 1.5× the hand-written C", xn / xc, 1.5),
        ("MLP batch 32 ≥ 4× PyTorch 1 thread", up("mlp", one), 4),
        ("MLP batch 1 ≥ 20× PyTorch 1 thread", up("mlp_b1", one), 20),
        ("CNN batch 32 ≥ 3× PyTorch 1 thread", up("cnn", one), 3),
        ("MLP 1-image inference ≥ 20× PyTorch 1 thread", up("infer_mlp", one), 20),
    ]
    if "lstm" in med:
        flop = describe("lstm")[1]
        bars += [("LSTM batch 32 ≥ 3× PyTorch 1 thread", up("lstm", one), 3),
                 ("LSTM batch 32 at ≥ 50% of the FMA peak", flop * EPOCH / med["lstm"]["nnc"] / 1e9 / fma1, 0.5),
                 ("LSTM one-sequence inference ≥ 10× PyTorch 1 thread", up("infer_lstm", one), 10)]
    if "charlm" in med:
        flop = describe("charlm")[1]
        bars += [("character LSTM ≥ 3× PyTorch 1 thread", up("charlm", one), 3),
                 ("character LSTM at ≥ 50% of the FMA peak", flop * 1000 / med["charlm"]["nnc"] / 1e9 / fma1, 0.5)]
    if pr["fma_1t"].get("lanes") == 16:   # a machine with AVX-512: the bars of the wide-vector issue
        for key, share in (("mlp", 0.65), ("cnn", 0.60)):
            flop = describe(key)[1]
            bars.append(("AVX-512: %s batch 32 at ≥ %d%% of the FMA peak" % (key.upper(), 100 * share),
                         flop * EPOCH / med[key]["nnc"] / 1e9 / fma1, share))
        bars += [("AVX-512: MLP batch 32 ≥ 3× PyTorch 1 thread", up("mlp", one), 3),
                 ("AVX-512: CNN batch 32 ≥ 2.5× PyTorch 1 thread", up("cnn", one), 2.5),
                 ("AVX-512: MLP batch 1 ≥ 12× PyTorch 1 thread", up("mlp_b1", one), 12),
                 ("AVX-512: MLP 1-image inference ≥ 8× PyTorch 1 thread", up("infer_mlp", one), 8),
                 ("AVX-512: CNN 1-image inference ≥ 5× PyTorch 1 thread", up("infer_cnn", one), 5)]
    if res.get("gan"):
        gan = res["gan"]
        bars.append(("GAN training ≥ 3× PyTorch 1 thread", median(gan["nnc"]["samples_per_sec"]) /
                     median(gan["torch"]["samples_per_sec"]), 3))
    for what, got, want in bars:
        shown = "%.0f%%" % (100 * got) if "FMA peak" in what else ratio(got)
        L.append("| %s | %s | %s |" % (what, shown, "met" if got >= want else "**not met**"))
    tcc = median(c["cnn_tcc"])
    L.append("| tcc compile < 50 ms for the CNN | %.1f ms | %s |" % (tcc, "met" if tcc < 50 else "**not met**"))
    limits = []   # the inference bars against what reading the weights from L2 allows
    for key, what, want in (("infer_mlp", "MLP", 8 if pr["fma_1t"].get("lanes") == 16 else 20),
                            ("infer_lstm", "LSTM", 10)):
        if key in med and key in bound:
            best_t = min(med[key][l] for l in one)
            limits.append("%s: %s× needs %s µs, the L2 probe's bound is %s µs (at best %s×)" % (
                what, want, fmt(best_t / want), fmt(bound[key]), "%.1f" % (best_t / bound[key])))
    if limits:
        L.append("")
        L.append("One-image inference against the L2 bound (section 4): " + "; ".join(limits) + ".")
    L.append("")
    if failures:
        L.append("**CHECKS FAILED:** " + "; ".join(failures))
    else:
        L.append("All correctness checks passed: XOR learned by every implementation; nnc's and PyTorch's test "
                 "accuracies within %.1f points; the training losses of every timed unit's first epoch within 5%% "
                 "of nnc's; inference outputs equal." % (3.0 if res["quick"] else 1.5))
    return "\n".join(L)


def long_run(key, seed=None):
    """The whole training of an example (its .nn file's epochs) on nnc and on
    PyTorch (one thread, the installed kernel) from the same weights in the
    same order: every epoch's test accuracy (a character model: held-out
    nats per character).  seed: the example with `seed SEED` in place of its
    own (other starting weights and another order, on both sides).  Returns
    the markdown table."""
    build_all(True)
    nn, name = nnpath(key), NETS[key][1]
    src = open(nn).read()
    epochs = int(re.search(r"^\s*epochs\s+(\d+)", src, re.M).group(1))
    start = init(key)
    if seed is not None:
        src, n = re.subn(r"^(\s*)seed\s+\d+", r"\g<1>seed %d" % seed, src, flags=re.M)
        check(n == 1, "%s has one seed line to replace" % NETS[key][0])
        nn = os.path.join(OUT, "long_%s_seed%d.nn" % (key, seed))
        with open(nn, "w") as f:
            f.write(src)
        start = dump_init(nn, name, os.path.basename(nn)[:-3])
    label, env, threads = torch_configs("auto")[0]
    srv = Torch(label, env, threads)
    log("%s: %d epochs on nnc" % (key, epochs))
    text = key == "charlm"
    tag = key if seed is None else "%s_seed%d" % (key, seed)
    weights = os.path.join(OUT, "long_%s.nnw" % tag)
    n = nnc_train(key, TEXT if text else TRAIN, epochs, test=None if text else TEST, save=weights, nn=nn)
    n["weights"] = os.path.relpath(weights, ROOT)
    if text:                                        # what the trained model writes
        g = subprocess.run([NNC, "generate", nn, "--load", weights, "--jit=cc", "--length", "400",
                            "--prime", "The ", "--seed", "1"], capture_output=True, env=base_env())
        check(g.returncode == 0, "nnc generate from the trained %s" % key)
        n["sample"] = g.stdout.decode("utf-8", "replace")   # sampled bytes need not be UTF-8
    log("%s: %d epochs on PyTorch %s" % (key, epochs, label))
    if text:
        t = srv.call({"kind": "text", "nn": nn, "init": start, "epochs": epochs, "text": TEXT})
        theirs = t["valid_nats"]
    else:
        t = srv.call({"kind": "train", "nn": nn, "init": start, "epochs": epochs, "limit": None,
                      "test_every": True})
        theirs = t["test_accs"]
    srv.close()
    res = {"key": key, "seed": seed, "machine": machine(), "nnc": n, "torch": t, "torch_info": srv.info}
    with open(os.path.join(OUT, "long_%s.json" % tag), "w") as f:
        json.dump(res, f, indent=1)
    what = "held-out loss, nats per character" if text else "test accuracy"
    L = ["`%s`%s, %d epochs, %s (%s; PyTorch %s, %s):" % (
        NETS[key][0], "" if seed is None else " with `seed %d`" % seed, epochs, what, res["machine"]["cpu"],
        srv.info["torch"], label), "",
         "| epoch | nnc | PyTorch | nnc s/epoch | PyTorch s/epoch |", "|---|---|---|---|---|"]
    for i, e in enumerate(n["epochs"]):
        mine = e["valid_nats"] if text else e["test_acc"]
        other = theirs[i] if i < len(theirs) else float("nan")
        per = (len_text_windows() if text else EPOCH)
        L.append("| %d | %s | %s | %s | %s |" % (
            e["epoch"], "%.4f" % mine if text else "%.2f%%" % (100 * mine),
            "%.4f" % other if text else "%.2f%%" % (100 * other), fmt(per / e["sps"]), fmt(t["epoch_seconds"][i])))
    if text:
        L += ["", "400 bytes the trained model generated (`nnc generate %s --load %s --jit=cc --length 400 "
              "--prime \"The \" --seed 1`):" % (NETS[key][0] if seed is None else nn, n["weights"]), "", "```text", n["sample"].rstrip("\n"),
              "```"]
    return "\n".join(L)


def len_text_windows():
    """Training windows of the character model's corpus (as rt_load_text cuts it)."""
    size = os.path.getsize(TEXT)
    steps = torch_bench.parse_nn(nnpath("charlm"))["steps"]
    return (size - int(size * 0.1) - 1) // steps


SECTIONS = ("tiers", "mpi")   # the sections with a table (and a README block) of their own, in order


def section_table(res, name):
    return {"tiers": tiers_table, "mpi": mpi_table}[name](res)


def run_section(name, args):
    """--only NAME: the section alone (its own figures; PyTorch's kernel
    chosen by the sgemm probe, as the full run does)."""
    if name == "tiers":
        return tiers(args.quick)
    build_probes()
    pr, best = probes(args.reps)
    out = mpi_section(args.quick, args.reps, best)
    out["probes"] = pr
    return out


def update_readme(text, res, block="results"):
    """Replaces bench/README.md's <!-- BLOCK:begin --> ... <!-- BLOCK:end -->
    with the text: "results", the full run's tables; a section's name
    (SECTIONS), its table (written by the full run and by --only NAME)."""
    path = os.path.join(BENCH, "README.md")
    body = open(path).read()
    begin, end = "<!-- %s:begin -->" % block, "<!-- %s:end -->" % block
    i, j = body.find(begin), body.find(end)
    if i < 0 or j < 0:
        sys.exit("run.py: bench/README.md has no %s ... %s markers" % (begin, end))
    only = "probes" not in res
    cmd = "/usr/bin/python3 bench/run.py" + (" --quick" if res["quick"] else "") + \
        (" --only %s" % block if only else "") + \
        (" --reps %d" % res["reps"] if res["reps"] != (1 if res["quick"] else 5) else "")
    took = res[block]["seconds"] if block in SECTIONS else res.get("seconds", 0)
    new = "%s\n\nMade by `%s`%s on %s, in %.0f s%s.\n\n%s\n\n%s" % (
        begin, cmd, "" if only else " (what `make bench` runs)", res["started"][:16].replace("T", " "), took,
        " (this section)" if block in SECTIONS else "", text, end)
    with open(path, "w") as f:
        f.write(body[:i] + new + body[j + len(end):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run on small slices")
    ap.add_argument("--reps", type=int, help="timed repetitions (default 5; --quick 1)")
    ap.add_argument("--readme", action="store_true", help="write the tables into bench/README.md")
    ap.add_argument("--from-json", help="only print the tables of an earlier run's results.json")
    ap.add_argument("--long", choices=["lstm", "gru", "charlm"],
                    help="instead: train that example for all its epochs on nnc and PyTorch, every epoch's figure")
    ap.add_argument("--seed", type=int, help="with --long: the example with `seed SEED` instead of its own")
    ap.add_argument("--only", choices=SECTIONS,
                    help="run only that section (builds ./nnc; writes build/bench/results_SECTION.json)")
    args = ap.parse_args()
    if args.seed is not None and not args.long:
        ap.error("--seed goes with --long")
    if args.long:
        print(long_run(args.long, args.seed))
        return 0
    args.reps = args.reps or (1 if args.quick else 5)
    t0 = time.time()
    if args.from_json:
        res = json.load(open(args.from_json))
    else:
        if args.only:   # the section alone: results.json (a full run's) stays as it is
            build_nnc()
            res = {"quick": args.quick, "reps": args.reps, "machine": machine(),
                   "started": datetime.datetime.now().isoformat()}
            res[args.only] = run_section(args.only, args)
        else:
            res = measure(args)
        res["seconds"] = time.time() - t0
        with open(os.path.join(OUT, "results_%s.json" % args.only if args.only else "results.json"), "w") as f:
            json.dump(res, f, indent=1)
    full = "probes" in res
    if full:
        verify(res)
    sections = [name for name in SECTIONS if name in res]
    parts = ([tables(res)] if full else []) + [section_table(res, name) for name in sections]
    text = "\n\n".join(parts)
    with open(os.path.join(OUT, "results.md" if full else "results_%s.md" % "_".join(sections)), "w") as f:
        f.write(text + "\n")
    print(text)
    if args.readme:
        if full:
            update_readme(parts[0], res)
        for name, part in zip(sections, parts[1 if full else 0:]):
            update_readme(part, res, name)
    log("done in %.0f s" % res.get("seconds", time.time() - t0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
