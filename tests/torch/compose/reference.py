#!/usr/bin/python3
"""reference.py - the PyTorch side of tests/torch/compose: nnc's composing
API (NAME_forward_train, NAME_backward_from), `loss bce` and gan blocks
(NAME_step_z) against torch autograd and torch.optim.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy); run.sh
does all of this:

  reference.py gen   OUT NAME...     write OUT/NAME/cases.bin (a network) or
                                     OUT/NAME/runs.bin (a gan); numpy only
  reference.py check OUT UNIT...     UNIT is NAME/VARIANT: compare what the
                                     driver wrote in OUT/NAME/VARIANT/ with
                                     torch, one OUT/NAME/VARIANT/CHECK.result
                                     per check (first line "ok" or "FAIL",
                                     then details); then rerun the default
                                     units' comparisons against deliberately
                                     wrong references, each of which must
                                     fail somewhere (OUT/mutants.result);
                                     OUT/torch.missing when torch cannot
                                     be imported

The torch models below are written by hand from the .nn files' text; only
the initial parameters come from nnc (NAME_init's), loaded in state_dict
order.  The data are numpy's, from a seed derived from the unit's name.

The reference runs in float64 from nnc's float32 parameters and the float32
data: it is the exact answer up to float64 rounding, and the differences
measured are nnc's own float32 rounding.  Every comparison is norm-relative:
for each parameter tensor (or the outputs, dx, the losses),
    max |nnc - torch| <= RTOL * max(max |torch|, FLOOR * the largest |torch|
                                    of the whole quantity)
with NaN failing.  The floor keeps a tensor whose values are all near zero
(the bias gradient of a layer that hardly matters) from demanding more than
float32 can give; it is 1e-2 of the quantity's scale, so such a tensor still
has to agree to 1e-6 of the quantity's largest value.  Below TINY = 1e-30
a quantity is float32 underflow: through a sigmoid saturated at z = -100
(the bce test's), torch's float64 gradients are ~1e-44 where float32's are 0.
"""
import copy
import os
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from judge import catch_mutants, write_result  # noqa: E402  (tests/torch/judge.py)

try:
    import numpy as np
except ImportError as _e:   # reported by main, in torch.missing for run.sh
    np, NUMPY_ERROR = None, _e

RTOL = 1e-4
FLOOR = 1e-2
TINY = 1e-30
MAGIC_CASES = 0x6E6E6343
MAGIC_RUNS = 0x6E6E6347

torch = nn = F = None   # imported by `check` only


def load_torch():
    global torch, nn, F
    import torch as _torch
    torch, nn, F = _torch, _torch.nn, _torch.nn.functional
    torch.set_num_threads(1)


# ---- the networks (tests/torch/compose/*.nn), written out by hand ----------
# model(m): an nn.Sequential whose output is the network's output (softmax
# and sigmoid included); m is the set of mutants in effect.

def seq(*layers):
    return nn.Sequential(*layers)


NETS = {
    "dense_tanh": dict(
        n_in=6, n_out=4, batch=3, sizes=[3, 2, 3], in_shape=(6,),
        model=lambda: seq(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4), nn.Sigmoid())),
    "dense_softmax": dict(
        n_in=6, n_out=4, batch=3, sizes=[3, 1, 3], in_shape=(6,),
        model=lambda: seq(nn.Linear(6, 5), nn.LeakyReLU(0.2), nn.Linear(5, 4), nn.Softmax(dim=1))),
    "conv_pool": dict(
        n_in=36, n_out=4, batch=2, sizes=[2, 1, 2], in_shape=(1, 6, 6),
        model=lambda: seq(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(27, 4))),
    "batch1_dense": dict(
        n_in=5, n_out=3, batch=1, sizes=[1, 1], in_shape=(5,),
        model=lambda: seq(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))),
    "batch1_conv": dict(
        n_in=50, n_out=3, batch=1, sizes=[1, 1], in_shape=(2, 5, 5),
        model=lambda: seq(nn.Conv2d(2, 2, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(8, 3), nn.Sigmoid())),
    "conv_first": dict(
        n_in=200, n_out=2, batch=3, sizes=[3, 2, 3], in_shape=(2, 10, 10),
        model=lambda: seq(nn.Conv2d(2, 4, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2), nn.Conv2d(4, 3, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(27, 2))),
    "dense_wide": dict(
        n_in=40, n_out=10, batch=8, sizes=[8, 5, 8], in_shape=(40,),
        model=lambda: seq(nn.Linear(40, 32), nn.ReLU(), nn.Linear(32, 24), nn.Tanh(), nn.Linear(24, 10),
                          nn.Sigmoid())),
    # loss bce; cases: (n, targets, saturated parameters from numpy)
    "bce_net": dict(
        n_in=5, n_out=3, batch=4, sizes=[4, 3, 4], in_shape=(5,), bce=True,
        model=lambda: seq(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3), nn.Sigmoid())),
}

# The gans: gen(), disc() (ending in its sigmoid), the optimizers' makers,
# real samples' range, the runs: (seed, sizes of the steps, generate's n).
GANS = {
    "gan_adam": dict(
        gen_name="gadam", disc_name="dadam", n_noise=8, n_sample=12, batch=5, real=(0.0, 1.0),
        runs=[(7, [5, 5, 5], 7), (8, [3, 5, 3], 3)],
        gen=lambda: seq(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12), nn.Sigmoid()),
        disc=lambda: seq(nn.Linear(12, 10), nn.LeakyReLU(0.2), nn.Linear(10, 1), nn.Sigmoid()),
        opt_g=("adam", 0.001, 0.5), opt_d=("adam", 0.001, 0.5)),
    "gan_sgd": dict(
        gen_name="gsgd", disc_name="dsgd", n_noise=4, n_sample=6, batch=5, real=(-1.0, 1.0),
        runs=[(3, [5, 5, 5], 4), (4, [3, 3, 5], 2)],
        gen=lambda: seq(nn.Linear(4, 9), nn.Tanh(), nn.Linear(9, 6), nn.Tanh()),
        disc=lambda: seq(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Sigmoid()),
        opt_g=("sgd", 0.05, 0.9), opt_d=("sgd", 0.1, 0.5)),
}

NET_CHECKS = ("api", "forward_train", "backward_from")
BCE_CHECKS = ("bce_loss", "bce_saturated")
GAN_CHECKS = ("api", "step1", "step3", "partial", "generate")

# Deliberately wrong references: each must make some check of some default
# unit FAIL.
MUTANTS = {
    "grads_mean_over_n": "backward_from divides by n (a mean the caller's dy already has)",
    "dx_not_computed": "dx left at zero",
    "softmax_dy_as_dz": "a softmax output's dy taken as dLoss/dz (no softmax Jacobian)",
    "maxpool_as_avgpool": "maxpool's gradient spread over the window",
    "bce_sum_over_outputs": "bce averaged over the samples only, summed over the outputs",
    "bce_from_probabilities": "bce from the clamped probabilities (nn.BCELoss) on saturated logits",
    "d_no_fake": "the discriminator's loss without the generated samples' term",
    "d_loss_halved": "the discriminator's loss the mean of its two terms",
    "g_old_disc": "the generator's step through the discriminator before its update",
    "g_saturating_loss": "the generator minimizing log(1 - D(G(z))) instead of -log D(G(z))",
    "fake_not_detached": "the discriminator's loss also trains the generator",
    "adam_default_beta1": "adam's beta1 0.9 instead of the .nn file's 0.5",
    "sgd_dampening": "SGD momentum with dampening = momentum",
    "gan_mean_over_batch": "a partial gan step's bce averaged over BATCH, not over n",
    "losses_swapped": "losses[0] the generator's, losses[1] the discriminator's",
}


def rng_of(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def f32(a):
    return np.asarray(a, dtype="<f4")


# ---- data ------------------------------------------------------------------

def saturated_params(rng, s):
    """bce_net parameters whose output logits all have |z| > 30 (one output
    near 100, past expf's float range): the hidden tanh layer gets ordinary
    weights, the output layer small weights and biases of +-40, -100, +60."""
    w1 = rng.normal(size=(6, 5)) * 0.5
    b1 = rng.normal(size=6) * 0.1
    w2 = rng.uniform(-0.8, 0.8, size=(3, 6))
    b2 = np.array([40.0, -100.0, 60.0])
    return np.concatenate([w1.ravel(), b1, w2.ravel(), b2])


def net_cases(name):
    """[(n, params or None, decoy, x, dy, t or None)]"""
    s = NETS[name]
    rng = rng_of(name)
    cases = []
    for k, n in enumerate(s["sizes"]):
        decoy = 2.0 * rng.normal(size=(n, s["n_in"]))
        x = rng.normal(size=(n, s["n_in"]))
        dy = rng.normal(size=(n, s["n_out"]))
        t = params = None
        if s.get("bce"):
            if k == 0:   # soft targets, with some exact 0 and 1
                t = rng.uniform(0, 1, size=(n, s["n_out"]))
                t[0, :] = [0, 1, 0]
                t[1, 0] = 1
            else:
                t = rng.integers(0, 2, size=(n, s["n_out"])).astype(np.float64)
            if k == 2:
                params = saturated_params(rng, s)
        cases.append((n, params, decoy, x, dy, t))
    return cases


def gan_runs(name):
    """[(seed, [(n, real, z)], gz)]"""
    s = GANS[name]
    rng = rng_of(name)
    lo, hi = s["real"]
    runs = []
    for seed, sizes, gen_n in s["runs"]:
        steps = []
        for n in sizes:
            real = rng.uniform(lo, hi, size=(n, s["n_sample"]))
            z = rng.normal(size=(n, s["n_noise"]))
            steps.append((n, real, z))
        runs.append((seed, steps, rng.normal(size=(gen_n, s["n_noise"]))))
    return runs


def cmd_gen(root, names):
    status = 0
    for name in names:
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        if name in NETS:
            s = NETS[name]
            cases = net_cases(name)
            with open(os.path.join(d, "cases.bin"), "wb") as f:
                f.write(struct.pack("<5i", MAGIC_CASES, s["n_in"], s["n_out"], s["batch"], len(cases)))
                for n, params, decoy, x, dy, t in cases:
                    f.write(struct.pack("<2i", n, (params is not None) | (t is not None) << 1))
                    for a in (params, decoy, x, dy, t):
                        if a is not None:
                            f.write(f32(a).tobytes())
        elif name in GANS:
            s = GANS[name]
            runs = gan_runs(name)
            with open(os.path.join(d, "runs.bin"), "wb") as f:
                f.write(struct.pack("<5i", MAGIC_RUNS, s["n_noise"], s["n_sample"], s["batch"], len(runs)))
                for seed, steps, gz in runs:
                    f.write(struct.pack("<3i", seed, len(steps), len(gz)))
                    for n, real, z in steps:
                        f.write(struct.pack("<i", n))
                        f.write(f32(real).tobytes())
                        f.write(f32(z).tobytes())
                    f.write(f32(gz).tobytes())
        else:
            print(f"reference.py: no reference for '{name}'", file=sys.stderr)
            status = 1
    return status


# ---- comparing -------------------------------------------------------------

def compare(what, got, want, parts=None):
    """[] when nnc's got agrees with torch's want, else detail lines.
    parts: [(label, size)] splitting the flat arrays (parameter tensors)."""
    got = np.asarray(got, np.float64).reshape(-1)
    want = np.asarray(want, np.float64).reshape(-1)
    if got.shape != want.shape:
        return [f"{what}: nnc has {got.size} values, torch {want.size}"]
    if parts is None:
        parts = [(None, want.size)]
    whole = float(np.max(np.abs(want))) if want.size else 0.0
    lines, off = [], 0
    for label, size in parts:
        g, w = got[off:off + size], want[off:off + size]
        off += size
        if not size:
            continue
        scale = max(float(np.max(np.abs(w))), FLOOR * whole, TINY)
        err = np.abs(g - w)
        bad = ~(err <= RTOL * scale)   # NaN is bad
        name = f"{what} {label}" if label else what
        if bad.any():
            i = int(np.argmax(np.where(np.isnan(err), np.inf, err)))
            lines.append(f"{name}: max |nnc - torch| = {np.nanmax(err) if not np.isnan(err).all() else float('nan'):.3g}"
                         f" > {RTOL:g} * {scale:.3g} ({int(bad.sum())} of {size} beyond; worst [{i}]: nnc "
                         f"{g[i]:.9g}, torch {w[i]:.9g}{', NaN in nnc' if np.isnan(g).any() else ''})")
        MARGINS.append((f"{UNIT[0]}: {name}", float(np.nanmax(err)) / (RTOL * scale) if scale > 0 and not np.isnan(err).any()
                        else float("inf")))
    return lines


MARGINS = []   # (unit: quantity, error / tolerance): printed to the log
UNIT = [""]    # the unit being compared, for MARGINS


def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, _, v = line.strip().partition(" ")
            meta[k] = v
    return meta


def read_f32(path):
    return np.fromfile(path, dtype="<f4").astype(np.float64)


def param_parts(model):
    return [(n, p.numel()) for n, p in model.named_parameters()]


def load_params(model, flat):
    want = sum(p.numel() for p in model.parameters())
    if want != flat.size:
        raise ValueError(f"nnc has {flat.size} parameters, the torch model {want}")
    off = 0
    with torch.no_grad():
        for p in model.parameters():
            k = p.numel()
            p.copy_(torch.from_numpy(flat[off:off + k].astype(np.float64)).reshape(p.shape))
            off += k
    return model


def t64(a):
    return torch.from_numpy(np.asarray(a, np.float64))


def flat(tensors):
    return np.concatenate([t.detach().reshape(-1).numpy() for t in tensors])


# ---- networks --------------------------------------------------------------

def net_model(s, m):
    model = s["model"]().double()
    if "maxpool_as_avgpool" in m:
        model = seq(*[nn.AvgPool2d(mod.kernel_size) if isinstance(mod, nn.MaxPool2d) else mod for mod in model])
    return model


def net_reference(s, params, n, x, dy, t, saturated, m):
    """torch's y, gradients and dx for dy; with targets, bce's loss and
    gradient (BCELoss, or for saturated logits BCEWithLogitsLoss)."""
    model = load_params(net_model(s, m), params)
    r = {"parts": param_parts(model)}
    xt = t64(x).reshape((n,) + s["in_shape"]).requires_grad_()
    y = model(xt)
    r["y"] = y.detach().numpy()
    dyt = t64(dy)
    if "softmax_dy_as_dz" in m and isinstance(model[-1], nn.Softmax):
        model[:-1](xt).backward(dyt)
    else:
        y.backward(dyt)
    r["grad"] = flat(p.grad for p in model.parameters())
    r["dx"] = xt.grad.reshape(n, -1).numpy() if xt.grad is not None else np.zeros((n, s["n_in"]))
    if "grads_mean_over_n" in m:
        r["grad"] = r["grad"] / n
        r["dx"] = r["dx"] / n
    if "dx_not_computed" in m:
        r["dx"] = np.zeros_like(r["dx"])
    if t is not None:
        model.zero_grad()
        xt = t64(x).reshape((n,) + s["in_shape"])
        z = model[:-1](xt)
        tt = t64(t)
        r["min_abs_logit"] = float(z.detach().abs().min())
        if "bce_from_probabilities" in m or not saturated:
            loss = F.binary_cross_entropy(torch.sigmoid(z), tt)   # nn.BCELoss, mean
        else:
            loss = F.binary_cross_entropy_with_logits(z, tt)      # nn.BCEWithLogitsLoss, mean
        if "bce_sum_over_outputs" in m:
            loss = loss * s["n_out"]
        loss.backward()
        r["loss"] = float(loss)
        r["lgrad"] = flat(p.grad for p in model.parameters())
    return r


def check_net(root, unit, m):
    name = unit.split("/")[0]
    s = NETS[name]
    d = os.path.join(root, unit)
    checks = NET_CHECKS + (BCE_CHECKS if s.get("bce") else ())
    res = {c: [] for c in checks}
    meta = read_meta(d)
    for key in ("n_inputs", "n_outputs", "batch"):
        want = s["n_in" if key == "n_inputs" else "n_out" if key == "n_outputs" else "batch"]
        if int(meta.get(key, -1)) != want:
            res["api"].append(f"{name}_{key.upper()} is {meta.get(key)}, the test expects {want}")
    if meta.get("rejects_bad_n") != "1":
        res["api"].append("forward_train/backward_from with n = 0 or BATCH+1, or dy NULL, did not return -1 "
                          "and change nothing")
    if meta.get("backward_from_kept_params") != "1":
        res["api"].append("backward_from changed the parameters")
    if meta.get("y_null_same") != "1":
        res["api"].append("forward_train with y NULL, then with y, gave other outputs than before")
    for k, (n, p, decoy, x, dy, t) in enumerate(net_cases(name)):
        def got(what):
            return read_f32(os.path.join(d, f"case{k}_{what}.f32"))
        params = got("params")
        r = net_reference(s, params, n, f32(x), f32(dy), None if t is None else f32(t), p is not None, m)
        tag = f"case {k} (n={n})"
        res["forward_train"] += compare(f"{tag} y", got("y"), r["y"])
        res["backward_from"] += compare(f"{tag} grad", got("grad"), r["grad"], r["parts"])
        res["backward_from"] += compare(f"{tag} dx", got("dx"), r["dx"])
        res["backward_from"] += compare(f"{tag} grad (dx NULL)", got("grad_nodx"), r["grad"], r["parts"])
        if t is not None:
            c = "bce_saturated" if p is not None else "bce_loss"
            if c == "bce_saturated" and r["min_abs_logit"] <= 30:
                res[c].append(f"the test's parameters do not saturate: min |logit| {r['min_abs_logit']:.3g}")
            loss = got("loss")
            if not np.isfinite(loss).all():
                res[c].append(f"{tag}: {name}_backward's loss is {loss[0]}, not finite")
            res[c] += compare(f"{tag} loss", loss, [r["loss"]])
            res[c] += compare(f"{tag} grad", got("lgrad"), r["lgrad"], r["parts"])
    return res


# ---- gans ------------------------------------------------------------------

def make_opt(spec, params, m):
    kind, lr, arg = spec
    lr = float(np.float32(lr))   # as the C has it
    if kind == "adam":
        b1 = 0.9 if "adam_default_beta1" in m else arg
        return torch.optim.Adam(params, lr=lr, betas=(b1, float(np.float32(0.999))), eps=float(np.float32(1e-8)))
    return torch.optim.SGD(params, lr=lr, momentum=float(np.float32(arg)),
                           dampening=float(np.float32(arg)) if "sgd_dampening" in m else 0.0)


def gan_reference(s, g0, d0, steps, gz, m):
    """DCGAN's training step (the PyTorch tutorial's), step by step: the
    parameters after each, the losses, and the generator's output on gz."""
    G = load_params(s["gen"]().double(), g0)
    D = load_params(s["disc"]().double(), d0)
    opt_g, opt_d = make_opt(s["opt_g"], G.parameters(), m), make_opt(s["opt_d"], D.parameters(), m)

    def bce(p, target):
        if "gan_mean_over_batch" in m:
            return F.binary_cross_entropy(p, target, reduction="sum") / s["batch"]
        return nn.BCELoss()(p, target)

    r = {"g": [flat(G.parameters())], "d": [flat(D.parameters())], "losses": [],
         "g_parts": param_parts(G), "d_parts": param_parts(D)}
    for n, real, z in steps:
        real, z = t64(f32(real)), t64(f32(z))
        ones, zeros = torch.ones(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
        # (1) the discriminator: maximize log D(x) + log(1 - D(G(z)))
        D.zero_grad()
        if "fake_not_detached" in m:
            G.zero_grad()
        err_real = bce(D(real).view(-1), ones)
        fake = G(z)
        err_fake = bce(D(fake if "fake_not_detached" in m else fake.detach()).view(-1), zeros)
        err_d = err_real if "d_no_fake" in m else err_real + err_fake
        if "d_loss_halved" in m:
            err_d = err_d / 2
        err_d.backward(retain_graph=True)
        d_old = copy.deepcopy(D) if "g_old_disc" in m else None
        opt_d.step()
        # (2) the generator: maximize log D(G(z)), through the updated D
        if "fake_not_detached" not in m:
            G.zero_grad()
        out = (d_old if d_old is not None else D)(fake).view(-1)
        err_g = -bce(out, zeros) if "g_saturating_loss" in m else bce(out, ones)
        err_g.backward()
        opt_g.step()
        losses = [float(err_d), float(err_g)]
        r["losses"].append(losses[::-1] if "losses_swapped" in m else losses)
        r["g"].append(flat(G.parameters()))
        r["d"].append(flat(D.parameters()))
    with torch.no_grad():
        r["gen"] = G(t64(f32(gz))).numpy() if len(gz) else np.zeros((0,))
    return r


def check_gan(root, unit, m):
    name = unit.split("/")[0]
    s = GANS[name]
    d = os.path.join(root, unit)
    res = {c: [] for c in GAN_CHECKS}
    meta = read_meta(d)
    for key in ("n_noise", "n_sample", "batch"):
        if int(meta.get(key, -1)) != s[key]:
            res["api"].append(f"{name}_{key.upper()} is {meta.get(key)}, the test expects {s[key]}")
    if meta.get("rejects_bad_n") != "1":
        res["api"].append(f"{name}_step_z / {name}_step with n = 0, -1 or BATCH+1 did not return -1 and change "
                          "nothing")
    if meta.get("step_ok") != "1":
        res["api"].append(f"{name}_step (its own noise) failed or returned a loss that is not finite")
    for k, (seed, steps, gz) in enumerate(gan_runs(name)):
        def got(what):
            return read_f32(os.path.join(d, f"run{k}_{what}.f32"))
        r = gan_reference(s, got("g0"), got("d0"), steps, gz, m)
        losses = got("losses").reshape(-1, 2)
        want_losses = np.array(r["losses"])
        if k == 0:
            for c, last in (("step1", 1), ("step3", len(steps))):
                res[c] += compare(f"losses of steps 1..{last}", losses[:last], want_losses[:last])
                for j in range(1, last + 1):
                    res[c] += compare(f"after step {j}: {s['gen_name']}", got(f"g{j}"), r["g"][j], r["g_parts"])
                    res[c] += compare(f"after step {j}: {s['disc_name']}", got(f"d{j}"), r["d"][j], r["d_parts"])
            res["generate"] += compare(f"generate({len(gz)} samples) after step {len(steps)}", got("gen"),
                                       r["gen"])
        else:
            sizes = ",".join(str(n) for n, _, _ in steps)
            res["partial"] += compare(f"run n={sizes}: losses", losses, want_losses)
            for j in range(1, len(steps) + 1):
                res["partial"] += compare(f"run n={sizes}, after step {j}: {s['gen_name']}", got(f"g{j}"),
                                          r["g"][j], r["g_parts"])
                res["partial"] += compare(f"run n={sizes}, after step {j}: {s['disc_name']}", got(f"d{j}"),
                                          r["d"][j], r["d_parts"])
    return res


# ---- the commands ----------------------------------------------------------

def check_unit(root, unit, m=frozenset()):
    name = unit.split("/")[0]
    UNIT[0] = unit
    if name in NETS:
        return check_net(root, unit, m)
    if name in GANS:
        return check_gan(root, unit, m)
    raise KeyError(f"reference.py has no torch model for '{name}'")


def checks_of(name):
    if name in GANS:
        return GAN_CHECKS
    return NET_CHECKS + (BCE_CHECKS if NETS.get(name, {}).get("bce") else ())


def cmd_check(root, units):
    try:
        load_torch()
    except ImportError as e:
        with open(os.path.join(root, "torch.missing"), "w") as f:
            f.write(f"{sys.executable} cannot import torch (Debian: apt-get install python3-torch):\n{e}\n")
        return 1
    for unit in units:
        try:
            res = check_unit(root, unit)
        except Exception as e:   # the driver's output missing, a shape mismatch
            res = {c: [f"reference.py failed: {type(e).__name__}: {e}"] for c in checks_of(unit.split("/")[0])}
        for c, lines in res.items():
            write_result(os.path.join(root, unit, c + ".result"), lines)
    print("the largest error / tolerance of each unit's comparisons:")
    for unit in units:
        mine = [t for t in MARGINS if t[0].startswith(unit + ":")]
        if mine:
            what, ratio = max(mine, key=lambda t: t[1])
            print(f"  {ratio:8.3g}  {what}")
    del MARGINS[:]

    # The mutants, on the units that passed every check: each must fail one.
    clean = []
    for unit in units:
        d = os.path.join(root, unit)
        if unit.endswith("/default") and all(
                open(os.path.join(d, c + ".result")).readline().strip() == "ok"
                for c in checks_of(unit.split("/")[0])):
            clean.append(unit)
    catch_mutants(root, MUTANTS, clean, lambda unit, mut: check_unit(root, unit, mut))
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("gen", "check"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    if np is None:
        print(f"{sys.executable} cannot import numpy: {NUMPY_ERROR}", file=sys.stderr)
        if sys.argv[1] == "check":
            with open(os.path.join(sys.argv[2], "torch.missing"), "w") as f:
                f.write(f"{sys.executable} cannot import numpy and torch (Debian: apt-get install python3-torch):\n"
                        f"{NUMPY_ERROR}\n")
        sys.exit(1)
    sys.exit({"gen": cmd_gen, "check": cmd_check}[sys.argv[1]](sys.argv[2], sys.argv[3:]))
