#!/usr/bin/python3
"""torch_bench.py - the PyTorch side of bench/run.py (run it through run.py).

  torch_bench.py     a job server: JSON lines in on stdin, JSON lines out (main)

The BLAS kernel and threads come from the environment run.py sets
(LD_LIBRARY_PATH, OPENBLAS_CORETYPE, OPENBLAS_NUM_THREADS, OMP_NUM_THREADS);
the set-up line's "threads" goes to torch.set_num_threads.  Every model is built from
its .nn file's text (parse_nn, build); only the starting parameters come from nnc
(NAME_init's numbers, dumped by bench/dump_init.c) and are loaded in
state_dict order, and the samples are visited in nnc's order (runtime/rng.c's
splitmix64 shuffle, reimplemented below), so both sides train on the same
batches from the same weights.

Training time is the loop over the batches only: gathering the batch, zero_grad,
forward, loss, backward, optimizer step and loss.item() (nnc's loop also reads
every loss, to stop on NaN).  The shuffle (Python here, ~40 ms; nnc's is in
C) and the evaluation are outside it, as nnc's samples/s figure leaves
evaluation out.
"""
import ctypes
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

FM = "/usr/share/datasets/fashion-mnist"
M64 = (1 << 64) - 1


# ---- nnc's shuffle (runtime/rng.c) ------------------------------------------

def _splitmix(state, count):
    """The next `count` outputs of splitmix64 from `state`, and the new state."""
    with np.errstate(over="ignore"):
        k = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(state) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z, (state + count * 0x9E3779B97F4A7C15) & M64


def _splitmix_one(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31), state


def nnc_shuffle(idx, state):
    """rt_shuffle: Fisher-Yates from the top, j = rt_rng_below(i + 1), in place;
    returns the new rng state."""
    n = len(idx)
    if n < 2:
        return state
    draws, new_state = _splitmix(state, n - 1)
    bounds = np.arange(n, 1, -1, dtype=np.uint64)          # i + 1 for i = n-1 .. 1
    limits = np.uint64(M64) - np.uint64(M64) % bounds
    if np.any(draws >= limits):                               # a rejection: ~n / 2^64, do it exactly
        for i in range(n - 1, 0, -1):
            b = i + 1
            limit = M64 - M64 % b
            while True:
                v, state = _splitmix_one(state)
                if v < limit:
                    break
            j = v % b
            idx[i], idx[j] = idx[j], idx[i]
        return state
    js = (draws % bounds).tolist()
    lst = idx.tolist()
    for i, j in zip(range(n - 1, 0, -1), js):
        lst[i], lst[j] = lst[j], lst[i]
    idx[:] = lst
    return new_state


# ---- data and models ----------------------------------------------------------

def load_idx(name):
    with gzip.open(os.path.join(FM, name), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


_DATA = {}


def fashion(split, spec=None):
    """The images [N][1][28][28] (a sequence network's: [N][28][28], a row a
    step) and their labels."""
    if split not in _DATA:
        pre = "train" if split == "train" else "t10k"
        x = torch.from_numpy(load_idx(pre + "-images-idx3-ubyte.gz").copy()).float().div_(255.0)
        y = torch.from_numpy(load_idx(pre + "-labels-idx1-ubyte.gz").astype(np.int64))
        _DATA[split] = (x.reshape(-1, 1, 28, 28).contiguous(), y)
    x, y = _DATA[split]
    if spec and spec.get("steps"):
        x = x.view(-1, *spec["input"])
    return x, y


# ---- the network, from its .nn file ------------------------------------------
#
# The PyTorch model is built from the .nn file's text (never from nnc's
# output), for the statements the benchmark's networks use: input, conv,
# maxpool, avgpool, flatten, dense (linear, relu, leaky_relu, sigmoid, tanh,
# softmax), loss, optimizer, batch, seed.  Anything else stops with a message.

def _dims(tok, what):
    t = tok.split("=", 1)[-1]
    parts = [int(p) for p in t.split("x")]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2:
        raise ValueError("bench: cannot read %s '%s'" % (what, tok))
    return tuple(parts)


def parse_nn(path):
    """The network of a one-network .nn file: {"input": shape, "layers": [...],
    "loss", "opt": (kind, options), "batch", "seed"}; every layer with its
    input and output shape and multiply-adds."""
    text = open(path).read()
    body = text[text.index("{") + 1:text.rindex("}")]
    spec = {"layers": [], "batch": 1, "seed": 42, "opt": ("sgd", {}), "loss": None}
    shape = None
    for raw in body.splitlines():
        toks = raw.split("#", 1)[0].split()
        if not toks:
            continue
        kw, args = toks[0], toks[1:]
        if kw == "input":
            steps = [int(a.split("=")[1]) for a in args if a.startswith("steps=")]
            feats = [a for a in args if not a.startswith("steps=")]
            if steps:                                  # a sequence: (T, F), or (T,) of token ids
                shape = (steps[0], int(feats[0])) if feats else (steps[0],)
                spec["steps"] = steps[0]
            else:
                shape = tuple(int(d) for d in args[0].split("x"))
            spec["input"] = shape
        elif kw in ("conv", "maxpool", "avgpool"):
            i = 0
            out_c = None
            if kw == "conv":
                out_c = int(args[0])
                i = 1
            k = _dims(args[i], "kernel")
            stride, pad, act = (None, (0, 0), "linear")
            rest = args[i + 1:]
            j = 0
            while j < len(rest):
                t = rest[j]
                name = t.split("=", 1)[0]
                if name in ("stride", "pad"):
                    val = t if "=" in t else rest[j + 1]
                    j += 1 if "=" in t else 2
                    if name == "stride":
                        stride = _dims(val, "stride")
                    else:
                        pad = _dims(val, "padding")
                else:
                    act = t
                    j += 1
            stride = stride or ((1, 1) if kw == "conv" else k)
            c, h, w = shape
            ho = (h + 2 * pad[0] - k[0]) // stride[0] + 1
            wo = (w + 2 * pad[1] - k[1]) // stride[1] + 1
            oc = out_c if kw == "conv" else c
            macs = oc * ho * wo * c * k[0] * k[1] if kw == "conv" else 0
            spec["layers"].append({"kind": kw, "in": shape, "out": (oc, ho, wo), "k": k, "stride": stride,
                                   "pad": pad, "act": act, "macs": macs, "params": kw == "conv"})
            shape = (oc, ho, wo)
        elif kw == "flatten":
            n = 1
            for d in shape:
                n *= d
            spec["layers"].append({"kind": "flatten", "in": shape, "out": (n,), "macs": 0})
            shape = (n,)
        elif kw in ("rnn", "lstm", "gru"):
            T, F = shape
            H = int(args[0])
            act = "relu" if "relu" in args[1:] else "tanh"
            ret_all = "return=all" in args[1:]
            G = {"rnn": 1, "lstm": 4, "gru": 3}[kw]
            out = (T, H) if ret_all else (H,)
            spec["layers"].append({"kind": kw, "in": shape, "out": out, "act": act, "return_all": ret_all, "H": H,
                                   "params": True, "macs": T * G * H * F + (T - 1) * G * H * H,
                                   "bptt_macs": (T - 1) * G * H * H})
            shape = out
        elif kw == "embed":
            V, D = int(args[0]), int(args[1])
            spec["layers"].append({"kind": "embed", "in": shape, "out": (shape[0], D), "V": V, "D": D,
                                   "params": True, "macs": 0})
            shape = (shape[0], D)
        elif kw == "dense" and len(shape) == 2 and spec.get("steps") and shape[0] == spec["steps"]:
            units, act = int(args[0]), args[1] if len(args) > 1 else "linear"
            T, n_in = shape                            # the same layer at every step
            spec["layers"].append({"kind": "dense", "in": shape, "out": (T, units), "act": act, "seq": True,
                                   "params": True, "macs": T * n_in * units, "n_in": n_in})
            shape = (T, units)
        elif kw == "dense":
            n_in = 1
            for d in shape:
                n_in *= d
            units, act = int(args[0]), args[1] if len(args) > 1 else "linear"
            spec["layers"].append({"kind": "dense", "in": shape, "out": (units,), "act": act, "params": True,
                                   "macs": n_in * units, "n_in": n_in})
            shape = (units,)
        elif kw == "loss":
            spec["loss"] = args[0]
        elif kw == "optimizer":
            spec["opt"] = (args[0], {a.split("=")[0]: float(a.split("=")[1]) for a in args[1:]})
        elif kw == "batch":
            spec["batch"] = int(args[0])
        elif kw == "seed":
            spec["seed"] = int(args[0])
        elif kw in ("epochs", "init"):
            pass                                   # the epochs are run.py's; the weights come from nnc
        else:
            raise ValueError("bench: %s: the PyTorch side cannot translate '%s'; extend parse_nn" % (path, kw))
    return spec


def train_flop(spec):
    """FLOP of one training sample: 2 per multiply-add of the forward pass, of
    the weight gradients, and of the input gradients of every layer after the
    first one with parameters (which needs none).  A recurrent layer's
    count the input product of every step and the recurrent product of
    every step but the first (whose h_0 is 0: nnc skips it); its backward
    pass through time (dh_{t-1} = dG_t W_hh, every step but the first) is
    part of its own gradient, counted even when it is the first layer."""
    layers = [l for l in spec["layers"] if l.get("params")]
    macs = [l["macs"] for l in layers]
    through_time = sum(l.get("bptt_macs", 0) for l in layers[:1])   # later layers have it in their input gradient
    return 2 * (2 * sum(macs) + sum(macs[1:]) + through_time)


def _act(name, last_ce):
    if name == "softmax":
        return None if last_ce else nn.Softmax(dim=1)
    if name == "linear":
        return None
    if name.startswith("leaky_relu"):
        slope = float(name[name.index("(") + 1:name.index(")")]) if "(" in name else 0.01
        return nn.LeakyReLU(slope)
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[name]()


class SeqNet(nn.Module):
    """A network over sequences: embed, rnn/lstm/gru (batch_first, the last
    step's output or every step's), dense per step or on the last vector.
    Its parameters register in the .nn file's order, each layer's in
    PyTorch's state_dict order: nnc's order."""

    def __init__(self, spec):
        super().__init__()
        self.steps = []
        self.mods = nn.ModuleList()
        for i, l in enumerate(spec["layers"]):
            last_ce = i == len(spec["layers"]) - 1 and spec["loss"] == "cross_entropy"
            if l["kind"] == "embed":
                m = nn.Embedding(l["V"], l["D"])
            elif l["kind"] == "rnn":
                m = nn.RNN(l["in"][1], l["H"], nonlinearity=l["act"], batch_first=True)
            elif l["kind"] in ("lstm", "gru"):
                m = (nn.LSTM if l["kind"] == "lstm" else nn.GRU)(l["in"][1], l["H"], batch_first=True)
            elif l["kind"] == "dense":
                m = nn.Linear(l["n_in"], l["out"][-1])
            else:
                raise ValueError("bench: no sequence form of '%s'" % l["kind"])
            self.mods.append(m)
            act = _act(l.get("act", "linear"), last_ce) if l["kind"] == "dense" else None
            if act is not None and l.get("act") == "softmax":
                act = nn.Softmax(dim=-1)
            self.steps.append((l, act))

    def forward(self, x):
        for m, (l, act) in zip(self.mods, self.steps):
            if l["kind"] == "embed":
                x = m(x.long())
            elif l["kind"] in ("rnn", "lstm", "gru"):
                out, _ = m(x)
                x = out if l["return_all"] else out[:, -1]
            else:
                x = m(x)
            if act is not None:
                x = act(x)
        return x


def build(spec):
    """The torch model: for softmax + cross_entropy it ends with the logits
    (the softmax is in nn.CrossEntropyLoss; inference adds it back)."""
    if spec.get("steps"):
        return SeqNet(spec)
    mods = []
    for i, l in enumerate(spec["layers"]):
        last_ce = i == len(spec["layers"]) - 1 and spec["loss"] == "cross_entropy"
        if l["kind"] == "conv":
            mods.append(nn.Conv2d(l["in"][0], l["out"][0], l["k"], stride=l["stride"], padding=l["pad"]))
        elif l["kind"] in ("maxpool", "avgpool"):
            mods.append((nn.MaxPool2d if l["kind"] == "maxpool" else nn.AvgPool2d)(l["k"], stride=l["stride"]))
        elif l["kind"] == "flatten":
            mods.append(nn.Flatten())
            continue
        elif l["kind"] == "dense":
            if len(l["in"]) > 1:
                mods.append(nn.Flatten())
            mods.append(nn.Linear(l["n_in"], l["out"][0]))
        a = _act(l.get("act", "linear"), last_ce)
        if a is not None:
            mods.append(a)
    return nn.Sequential(*mods)


def optimizer(spec, model):
    kind, o = spec["opt"]
    if kind == "sgd":      # torch.optim.SGD: dampening 0, no nesterov, as nnc
        return torch.optim.SGD(model.parameters(), lr=o.get("lr", 0.01), momentum=o.get("momentum", 0.0),
                               weight_decay=o.get("weight_decay", 0.0))
    return torch.optim.Adam(model.parameters(), lr=o.get("lr", 0.001), betas=(o.get("beta1", 0.9),
                            o.get("beta2", 0.999)), eps=o.get("eps", 1e-8), weight_decay=o.get("weight_decay", 0.0))


def loss_fn(spec):
    if spec["loss"] == "cross_entropy":
        ce = nn.CrossEntropyLoss()                     # mean over the batch (and steps) of -log softmax
        return lambda y, t: ce(y.reshape(-1, y.shape[-1]), t.reshape(-1))
    return lambda y, t: 0.5 * ((y - t) ** 2).sum() / y.shape[0]   # nnc's mse: 1/2 sum, mean over the batch


def load_flat(model, flat):
    flat = torch.from_numpy(np.asarray(flat, dtype=np.float32))
    off = 0
    with torch.no_grad():
        for p in model.parameters():                          # = state_dict order here
            p.copy_(flat[off:off + p.numel()].view_as(p))
            off += p.numel()
    if off != flat.numel():
        raise ValueError("parameter count %d, file has %d" % (off, flat.numel()))


def read_params(path):
    if path.endswith(".nnw"):                                 # docs/weights-format.md
        raw = open(path, "rb").read()
        n = int.from_bytes(raw[16:24], "little")
        return np.frombuffer(raw, dtype="<f4", count=n, offset=24).copy()
    return np.fromfile(path, dtype=np.float32)


# ---- jobs ----------------------------------------------------------------------

def job_train(j):
    """Like runtime/train.c's rt_train: `epochs` epochs over the first `limit`
    training samples, shuffled nnc's way, batches of `batch` (the last one
    partial); the test set (also cut to `limit`, as `nnc train --limit` does)
    evaluated after epoch 1 when j["test"]."""
    spec = parse_nn(j["nn"])
    bs = spec["batch"]
    model = build(spec)
    load_flat(model, read_params(j["init"]))
    opt = optimizer(spec, model)
    lossf = loss_fn(spec)
    X, Y = fashion("train", spec)
    n = min(j["limit"] or len(Y), len(Y))
    X, Y = X[:n], Y[:n]
    idx = np.arange(n, dtype=np.int64)
    state = spec["seed"]
    res = {"epoch_seconds": [], "epoch_loss": [], "n": n}
    started = time.perf_counter()
    for epoch in range(1, j["epochs"] + 1):
        if epoch > 2 and j.get("cap_seconds") and time.perf_counter() - started > j["cap_seconds"]:
            break                                             # a warm-up and one timed epoch at least
        state = nnc_shuffle(idx, state)
        order = torch.from_numpy(idx.copy())
        model.train()
        loss_sum, batches = 0.0, 0
        t0 = time.perf_counter()
        for b in range(0, n, bs):
            ib = order[b:b + bs]
            x = X.index_select(0, ib)
            y = Y.index_select(0, ib)
            opt.zero_grad()
            loss = lossf(model(x), y)
            loss.backward()
            opt.step()
            l = loss.item()
            if not math.isfinite(l):
                res["diverged"] = epoch
                return res
            loss_sum += l
            batches += 1
        res["epoch_seconds"].append(time.perf_counter() - t0)
        res["epoch_loss"].append(loss_sum / batches)
        if epoch == 1 and j.get("test"):
            res["test_acc"] = evaluate(model, n, spec)
        if j.get("test_every"):
            res.setdefault("test_accs", []).append(evaluate(model, n, spec))
    return res


def evaluate(model, limit, spec):
    X, Y = fashion("test", spec)
    n = min(limit, len(Y))
    model.eval()
    correct = 0
    with torch.no_grad():
        for b in range(0, n, 1000):
            e = min(n, b + 1000)
            correct += int((model(X[b:e]).argmax(1) == Y[b:e]).sum())
    return correct / n


def text_windows(path, steps, holdout=0.1):
    """runtime/data.c's rt_load_text: the bytes of the file, the last
    `holdout` of them held out; each part cut into windows of `steps` bytes,
    window i = bytes [i*steps, i*steps + steps), its targets the bytes one
    further on."""
    raw = np.frombuffer(open(path, "rb").read(), dtype=np.uint8)
    held = int(len(raw) * holdout)
    parts = []
    for part in (raw[:len(raw) - held], raw[len(raw) - held:]):
        n = (len(part) - 1) // steps
        x = torch.from_numpy(part[:n * steps].astype(np.int64)).view(n, steps)
        y = torch.from_numpy(part[1:n * steps + 1].astype(np.int64)).view(n, steps)
        parts.append((x, y))
    return parts


def job_text(j):
    """A character model on a text file as `nnc train --text` trains it:
    nnc's windows, shuffle, batches and starting weights; after each epoch
    the held-out windows' loss in nats per character (the mean over every
    step of every window, as nnc reports it)."""
    spec = parse_nn(j["nn"])
    bs = spec["batch"]
    model = build(spec)
    load_flat(model, read_params(j["init"]))
    opt = optimizer(spec, model)
    lossf = loss_fn(spec)
    (X, Y), (VX, VY) = text_windows(j["text"], spec["steps"])
    n = min(j.get("limit") or len(Y), len(Y))
    X, Y = X[:n], Y[:n]
    VX, VY = VX[:n], VY[:n]                          # nnc train --limit cuts both
    idx = np.arange(n, dtype=np.int64)
    state = spec["seed"]
    res = {"epoch_seconds": [], "epoch_loss": [], "valid_nats": [], "n": n, "n_valid": len(VY)}
    for epoch in range(1, j["epochs"] + 1):
        state = nnc_shuffle(idx, state)
        order = torch.from_numpy(idx.copy())
        model.train()
        loss_sum, batches = 0.0, 0
        t0 = time.perf_counter()
        for b in range(0, n, bs):
            ib = order[b:b + bs]
            opt.zero_grad()
            loss = lossf(model(X.index_select(0, ib)), Y.index_select(0, ib))
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            batches += 1
        res["epoch_seconds"].append(time.perf_counter() - t0)
        res["epoch_loss"].append(loss_sum / batches)
        model.eval()
        total = 0.0
        with torch.no_grad():
            for b in range(0, len(VY), 256):
                out = model(VX[b:b + 256])
                total += float(nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), VY[b:b + 256].reshape(-1),
                                                           reduction="sum"))
        res["valid_nats"].append(total / VY.numel())
    return res


def job_xor(j):
    """Training steps per second of the XOR network at batch 1, cycling
    through the four rows: one warm-up run of `steps` steps, then `reps` timed
    runs, then (untimed) up to `learn_steps` steps in all, and the outputs."""
    spec = parse_nn(j["nn"])
    model = build(spec)
    load_flat(model, read_params(j["init"]))
    opt = optimizer(spec, model)
    lossf = loss_fn(spec)
    rows = [torch.tensor([[a, b]], dtype=torch.float32) for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))]
    targets = [torch.tensor([[t]], dtype=torch.float32) for t in (0, 1, 1, 0)]
    rates = []
    for r in range(-1, j["reps"]):
        t0 = time.perf_counter()
        for s in range(j["steps"]):
            x, t = rows[s & 3], targets[s & 3]
            opt.zero_grad()
            loss = lossf(model(x), t)
            loss.backward()
            opt.step()
            loss.item()
        dt = time.perf_counter() - t0
        if r >= 0:
            rates.append(j["steps"] / dt)
    for s in range((j["reps"] + 1) * j["steps"], j.get("learn_steps", 0)):   # untimed: enough steps to learn
        x, t = rows[s & 3], targets[s & 3]
        opt.zero_grad()
        lossf(model(x), t).backward()
        opt.step()
    with torch.no_grad():
        out = [float(model(x)) for x in rows]
    return {"steps_per_s": rates, "outputs": out}


def job_infer(j):
    """One-image latency under torch.no_grad(): the model, with the softmax for
    a cross-entropy network (nnc's forward returns probabilities), one image per call, cycling through
    `n` test images; one warm-up pass, then `reps` timed passes."""
    spec = parse_nn(j["nn"])
    model = build(spec)
    load_flat(model, read_params(j["weights"]))
    model.eval()
    X, _ = fashion("test", spec)
    xs = [X[i:i + 1] for i in range(j["n"])]
    us = []
    with torch.no_grad():
        if spec["loss"] == "cross_entropy":
            model = nn.Sequential(model, nn.Softmax(dim=1))
        outs = [model(x) for x in xs]
        for r in range(j["reps"]):
            t0 = time.perf_counter()
            for x in xs:
                model(x)
            us.append((time.perf_counter() - t0) * 1e6 / len(xs))
    np.concatenate([o.numpy() for o in outs]).astype(np.float32).tofile(j["out"])
    return {"us": us}


def blas_info():
    """Which BLAS this process really uses (after a matmul has loaded it)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in os.path.basename(p).lower():
                libs.add(os.path.realpath(p))
    info = {"libs": sorted(libs)}
    for p in sorted(libs):
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["openblas_core"] = lib.openblas_get_corename().decode()
            info["openblas_config"] = lib.openblas_get_config().decode()
            info["openblas_threads"] = lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            pass
    return info


def main():
    """A server: the first line on stdin is {"label", "threads"}, every next
    line a job {"kind", ...}; one JSON line of results out for each (the first
    for the set-up: versions and the BLAS in use).  Kept alive by run.py so
    that its runs can alternate with nnc's."""
    setup = json.loads(sys.stdin.readline())
    torch.set_num_threads(setup["threads"])
    fashion("train")
    fashion("test")
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_info()}),
          flush=True)
    for line in sys.stdin:
        j = json.loads(line)
        fn = {"train": job_train, "xor": job_xor, "infer": job_infer, "text": job_text}[j["kind"]]
        t0 = time.perf_counter()
        r = fn(j)
        r["wall"] = time.perf_counter() - t0
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
