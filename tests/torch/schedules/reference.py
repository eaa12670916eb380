#!/usr/bin/python3
"""reference.py - the PyTorch side of tests/torch/schedules: the learning
rates of nnc's NAME_schedule against torch.optim.lr_scheduler.

    reference.py check OUT NAME...

For each NAME, reads the driver's output OUT/NAME/lr.txt (driver.c says
what it holds) and tests/torch/schedules/NAME.nn, and writes one
OUT/NAME/CHECK.result per check (first line "ok" or "FAIL", then details):

  api     NAME_init's lr is the file's (as a float, exactly); epoch -3 gets
          epoch 0's rate; NAME_schedule does not depend on what net->lr held
  run20   the rates of epochs 0..19 of a run of 20
  run7    the rates of epochs 0..6 of a run of 7

then reruns the comparisons against deliberately wrong references
(MUTANTS), each of which must fail somewhere (OUT/mutants.result).
OUT/torch.missing is written when torch cannot be imported.

The reference is torch's own: the optimizer of the .nn file (SGD, or Adam,
whose lr defaults to torch's when the file gives none), a LinearLR warm-up
(start_factor 1/(W+1), total_iters W) chained by SequentialLR (milestones
[W]) to StepLR, ExponentialLR or CosineAnnealingLR (T_max = epochs - W, at
least 1), options the file leaves out at torch's defaults (StepLR's gamma,
CosineAnnealingLR's eta_min).  Each epoch reads param_groups[0]['lr'], then
steps the optimizer and the scheduler once.  torch computes in double; nnc
stores a float, so a rate must agree to RTOL relative.
"""
import os
import re
import struct
import sys
import warnings

RTOL = 1e-6
SRC = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(SRC))
from judge import catch_mutants, write_result  # noqa: E402  (tests/torch/judge.py)
RUNS = (20, 7)

torch = None   # imported by main

# Deliberately wrong references: each must make some comparison fail, so
# that the checks are known to see such mistakes.
MUTANTS = {
    "warmup_start": "the warm-up starts at lr / W, not lr / (W + 1)",
    "warmup_long": "the warm-up takes W + 1 epochs to reach lr (LinearLR total_iters=W+1)",
    "milestone_late": "the schedule starts one epoch after the warm-up (milestones=[W + 1])",
    "step_size_off": "StepLR drops every E + 1 epochs",
    "step_gamma_half": "a step schedule without gamma= drops by 0.5, not torch's 0.1",
    "gamma_off": "gamma 1e-5 (relative) larger: the tolerance is tight enough to see it",
    "cos_tmax_epochs": "the cosine spans the whole run (T_max = epochs), warm-up included",
    "cos_no_min": "the cosine falls to 0 whatever min= says",
    "read_after_step": "each epoch's rate is read after its step, one epoch ahead",
    "adam_lr": "Adam's default lr taken as 0.01 (torch's is 0.001)",
    "none_decays": "no schedule statement decays the rate (ExponentialLR(0.99))",
}


def parse_nn(name):
    """The optimizer and schedule of tests/torch/schedules/NAME.nn, as
    written: ("sgd", {"lr": 0.1}), ("step", {"every": 3})."""
    text = open(os.path.join(SRC, name + ".nn")).read()

    def options(s):
        out = {}
        for key, value in re.findall(r"(\w+)=(\S+)", s):
            out[key] = int(value) if key in ("every", "warmup") else float(value)
        return out

    m = re.search(r"^\s*optimizer\s+(\w+)(.*)$", text, re.M)
    optim = (m.group(1), options(m.group(2))) if m else ("sgd", {"lr": 0.01})
    m = re.search(r"^\s*schedule\s+(\w+)(.*)$", text, re.M)
    sched = (m.group(1), options(m.group(2))) if m else (None, {})
    return optim, sched


def torch_rates(name, epochs, mut=frozenset()):
    """The rate of each epoch of a run of `epochs` as torch gives it, and
    the optimizer's lr before any scheduler."""
    sched = torch.optim.lr_scheduler
    (opt_kind, opt), (kind, o) = parse_nn(name)
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    kw = {"lr": opt["lr"]} if "lr" in opt else {}
    if opt_kind == "adam":
        if "adam_lr" in mut and not kw:
            kw = {"lr": 0.01}
        optimizer = torch.optim.Adam([p], **kw)
    else:
        optimizer = torch.optim.SGD([p], **kw)
    base = optimizer.param_groups[0]["lr"]
    W = o.get("warmup", 0)
    warm = None
    if kind and W > 0:
        start = 1.0 / W if "warmup_start" in mut else 1.0 / (W + 1)
        total = W + 1 if "warmup_long" in mut else W
        warm = sched.LinearLR(optimizer, start_factor=start, end_factor=1.0, total_iters=total)
    g = o.get("gamma")
    if g is not None and "gamma_off" in mut:
        g *= 1 + 1e-5
    if kind == "step":
        gamma = {"gamma": g} if g is not None else {"gamma": 0.5} if "step_gamma_half" in mut else {}
        step = o["every"] + 1 if "step_size_off" in mut else o["every"]
        main = sched.StepLR(optimizer, step_size=step, **gamma)
    elif kind == "exponential":
        main = sched.ExponentialLR(optimizer, gamma=g)
    elif kind == "cosine":
        eta = {"eta_min": o["min"]} if "min" in o and "cos_no_min" not in mut else {}
        t_max = epochs if "cos_tmax_epochs" in mut else max(epochs - W, 1)
        main = sched.CosineAnnealingLR(optimizer, T_max=t_max, **eta)
    elif "none_decays" in mut:
        main = sched.ExponentialLR(optimizer, gamma=0.99)
    else:
        main = None
    if warm is not None:
        main = sched.SequentialLR(optimizer, [warm, main], milestones=[W + 1 if "milestone_late" in mut else W])
    rates = []
    for _ in range(epochs):
        if "read_after_step" not in mut:
            rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if main is not None:
            main.step()
        if "read_after_step" in mut:
            rates.append(optimizer.param_groups[0]["lr"])
    return rates, base


def read_driver(path):
    """lr.txt as {"init": x, "negative": x, "again": x, 20: [...], 7: [...]}."""
    out = {n: [] for n in RUNS}
    for line in open(path):
        f = line.split()
        if f[0] == "run":
            epochs, e = int(f[1]), int(f[2])
            if e != len(out[epochs]):
                raise ValueError(f"lr.txt: epoch {e} of the run of {epochs} out of order")
            out[epochs].append(float(f[3]))
        else:
            out[f[0]] = float(f[1])
    return out


def compare(what, nnc, ref, worst=None):
    """Lines for each rate that is not ref's to RTOL (NaN fails); the
    largest relative error goes into worst[0]."""
    if len(nnc) != len(ref):
        return [f"{what}: {len(nnc)} rates, torch has {len(ref)}"]
    bad = []
    for e, (a, b) in enumerate(zip(nnc, ref)):
        if worst is not None and b:
            worst[0] = max(worst[0], abs(a - b) / abs(b))
        if not abs(a - b) <= RTOL * abs(b):
            rel = abs(a - b) / abs(b) if b else float("inf")
            bad.append(f"{what} epoch {e}: nnc {a!r}, torch {b!r} (relative error {rel:.3g})")
    return bad


def float32(x):
    """x rounded to the nearest float, as C's (float)x."""
    return struct.unpack("f", struct.pack("f", x))[0]


def check_unit(root, name, mut=frozenset(), worst=None):
    got = read_driver(os.path.join(root, name, "lr.txt"))
    res = {}
    ref20, base = torch_rates(name, 20, mut)
    api = []
    if "init" not in got or float32(got["init"]) != float32(base):   # %.9g reads back as the same float
        api.append(f"NAME_init's lr is {got.get('init')!r}, the file's is {base!r} ({float32(base)!r} as a float)")
    if got.get("negative") != got[20][0]:
        api.append(f"epoch -3 gets {got.get('negative')!r}, epoch 0 {got[20][0]!r}")
    if got.get("again") != got[20][5]:
        api.append(f"epoch 5 after net->lr = 123 gets {got.get('again')!r}, before {got[20][5]!r}")
    res["api"] = api
    for epochs in RUNS:
        ref = ref20 if epochs == 20 else torch_rates(name, epochs, mut)[0]
        res[f"run{epochs}"] = compare(f"run of {epochs}", got[epochs], ref, worst)
    return res


def cmd_check(root, names):
    global torch
    try:
        import torch as _torch
        torch = _torch
    except ImportError as e:
        with open(os.path.join(root, "torch.missing"), "w") as f:
            f.write(f"{sys.executable} cannot import torch (Debian: apt-get install python3-torch):\n{e}\n")
        return 1
    # torch warns about SequentialLR's step(0) at each milestone: expected
    warnings.filterwarnings("ignore", category=UserWarning)
    clean = []
    for name in names:
        try:
            worst = [0.0]
            res = check_unit(root, name, worst=worst)
            print(f"{name}: largest relative error {worst[0]:.3g} (tolerance {RTOL:g})")
        except Exception as e:   # the driver's output missing or malformed
            res = {c: [f"reference.py failed: {type(e).__name__}: {e}"] for c in ("api", "run20", "run7")}
        for c, lines in res.items():
            write_result(os.path.join(root, name, c + ".result"), lines)
        if not any(res.values()):
            clean.append(name)
    catch_mutants(root, MUTANTS, clean, lambda name, mut: check_unit(root, name, mut))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] != "check":
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(cmd_check(sys.argv[2], sys.argv[3:]))
