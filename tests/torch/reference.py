#!/usr/bin/python3
"""reference.py - the PyTorch side of tests/torch: proves that nnc's generated
training code computes what torch.nn + torch.optim compute.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy); run.sh
does all of this:

  reference.py gen   OUT NAME...     write OUT/NAME/batches.bin (numpy only)
  reference.py check OUT UNIT...     UNIT is NAME/VARIANT: compare what the
                                     driver wrote in OUT/NAME/VARIANT/ with
                                     torch, one OUT/NAME/VARIANT/CHECK.result
                                     per check (first line "ok" or "FAIL",
                                     then details)
  reference.py mutants OUT UNIT...   rerun the references with deliberately
                                     wrong conventions; every one must be
                                     caught (OUT/mutants.result)

Every network of tests/torch/*.nn has an entry in TESTS below with its torch
model written out by hand from the .nn file's text, never from nnc's output:
only the initial parameters come from nnc (NAME_init's random numbers are
nnc's own), loaded in state_dict order.  The batches are numpy's, from a
seed derived from the test's name, so every run sees the same numbers.

The conventions checked (docs/emitted-api.md; PyTorch's):
  mse           per sample 1/2 sum_j (t_j - y_j)^2; batch loss is the mean
                over the n samples (0.5 * F.mse_loss(y, t, 'sum') / n)
  cross_entropy per sample -sum_j t_j log softmax(z)_j; mean over n
  gradients     of that mean; a step of n < BATCH samples is a mean over n
  sgd, adam     torch.optim.SGD (dampening 0, no nesterov) and torch.optim.Adam
                (L2 weight decay added to the gradient, bias correction)
  params        per layer weight [out][in] row-major, then bias; conv
                weight [out_c][in_c][kh][kw] (nn.Conv2d's), then bias
  conv, pooling nn.Conv2d (cross-correlation, zero padding on each side),
                nn.MaxPool2d and nn.AvgPool2d (no padding, floor mode)
  rnn, lstm, gru  nn.RNN, nn.LSTM, nn.GRU with batch_first=True, one layer,
                zero initial state; return=last is output[:, -1], return=all
                the whole output; parameters weight_ih, weight_hh, bias_ih,
                bias_hh with PyTorch's gate order (lstm i f g o, gru r z n)
  embed         nn.Embedding on the ids (stored as floats in x)
  sequences     a dense layer after return=all is nn.Linear on [n][T][H]; a
                loss on a sequence output is the mean over the steps and
                the samples (targets per step)
  clip          torch.nn.utils.clip_grad_norm_ before the optimizer step
  train_step    returns the mean loss BEFORE the update
"""
import math
import os
import struct
import sys
import zlib

import numpy as np

from judge import write_result  # tests/torch/judge.py, beside this file

MAGIC = 0x6E6E6331
CHECKS = ("api", "forward", "grads", "losses", "params")

# ---- tolerances ------------------------------------------------------------
# Both sides compute in float32, but not identically: nnc sums dot products
# in its own order, calls libm's expf/tanhf, and keeps one sample at a time,
# where torch uses blocked BLAS sums and vectorized (SLEEF) exp/tanh.  Each
# of those differs by a few float32 ulps (~1e-7 relative).
#   forward: one pass through a few layers: a few 1e-7 relative; allow 1e-5,
#       and 1e-6 absolute for outputs near 0 (a softmax probability, tanh(0)).
#   grads (first batch, before any update): products and sums of the above;
#       a component that is a sum of cancelling terms can lose relative
#       accuracy, so the absolute part is scaled by the largest component:
#       |d| <= 1e-4 |ref| + 1e-5 max|ref|.
#   losses, params after K steps: the rounding differences of each step feed
#       the next, and momentum and adam's normalisation amplify them a little;
#       for these small, well-conditioned runs nnc and torch stay within about
#       1e-5 relative of each other (and each as far from a float64 torch run,
#       printed on failure).  Allow 1e-4 relative and 1e-6 absolute (a loss
#       near 0.005, a parameter near 0): a margin of about 10x over what these
#       runs show.  (A run that diverges or saturates is chaotic and would
#       need a looser bound; the networks here were tuned not to: wide_mse at
#       lr=0.1 differed from float64 torch by 2e-5 after 50 steps.)
# A wrong convention is far larger: a missing 1/2 or a sum instead of a mean
# doubles a gradient, a dampened momentum scales the step by 0.1, adam without
# bias correction takes a 10x smaller first step; those show up in the first
# few steps at 1e-3 relative or more.  `reference.py mutants` (run by run.sh)
# checks that each such mistake is caught at these tolerances.
TOL = {
    "forward": dict(rtol=1e-5, atol=1e-6),
    "grads": dict(rtol=1e-4, atol_scaled=1e-5),
    "losses": dict(rtol=1e-4, atol=1e-6),
    "params": dict(rtol=1e-4, atol=1e-6),
}

torch = nn = F = None   # imported by `check` and `mutants` only


def load_torch():
    global torch, nn, F
    import torch as _torch
    torch, nn, F = _torch, _torch.nn, _torch.nn.functional
    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float32)


# ---- data ------------------------------------------------------------------

def data_xor(rng, n_in, n_out):
    """The four XOR rows in a shuffled order, one per step (batch 1)."""
    rows = [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]
    count = [0]

    def draw(n):
        xs, ts = [], []
        for _ in range(n):
            if count[0] % 4 == 0:   # a new epoch: a new order
                draw.order = rng.permutation(4)
            x, t = rows[draw.order[count[0] % 4]]
            count[0] += 1
            xs.append(x)
            ts.append([t])
        return np.array(xs, np.float32), np.array(ts, np.float32)
    return draw


def data_teacher(act, scale=1.0, noise=0.05):
    """Regression targets t = act(scale * x A) + noise from a fixed random A."""
    def make(rng, n_in, n_out):
        a = rng.normal(size=(n_in, n_out)) / math.sqrt(n_in)

        def draw(n):
            x = rng.uniform(-1.5, 1.5, size=(n, n_in))
            t = act(scale * x @ a) + noise * rng.normal(size=(n, n_out))
            return x.astype(np.float32), t.astype(np.float32)
        return draw
    return make


def data_classes(smooth=0.0):
    """One-hot targets (label-smoothed when smooth > 0, so still summing to 1)
    of the class a fixed random linear teacher picks, with some label noise."""
    def make(rng, n_in, n_out):
        a = rng.normal(size=(n_in, n_out))

        def draw(n):
            x = rng.normal(size=(n, n_in))
            c = np.argmax(x @ a + 0.5 * rng.normal(size=(n, n_out)), axis=1)
            t = np.full((n, n_out), smooth / n_out)
            t[np.arange(n), c] += 1.0 - smooth
            return x.astype(np.float32), t.astype(np.float32)
        return draw
    return make


def data_sequences(steps, ids=0, out_steps=1):
    """Sequences: x normal (or, with ids, whole numbers in [0, ids) stored as
    floats), and a one-hot class for each of out_steps steps (n_out is
    out_steps * classes), picked by a fixed random teacher with noise."""
    def make(rng, n_in, n_out):
        k = n_out // out_steps
        a = rng.normal(size=(n_in, n_out))

        def draw(n):
            x = rng.integers(0, ids, size=(n, n_in)).astype(np.float64) if ids else rng.normal(size=(n, n_in))
            feat = (x / max(ids, 1) - 0.5) if ids else x
            score = (feat @ a + 0.5 * rng.normal(size=(n, n_out))).reshape(n, out_steps, k)
            c = np.argmax(score, axis=2)
            t = np.zeros((n, out_steps, k))
            for i in range(n):
                t[i, np.arange(out_steps), c[i]] = 1.0
            return x.astype(np.float32), t.reshape(n, n_out).astype(np.float32)
        return draw
    return make


def data_sequence_teacher(act, scale=1.0, noise=0.05):
    """Regression targets for sequences: as data_teacher, on the whole sequence."""
    return data_teacher(act, scale, noise)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def identity(z):
    return z


def sine(z):
    return np.sin(2.0 * z)


# ---- the test networks, written by hand from tests/torch/*.nn --------------
# Each entry: the shapes, the torch model (the last softmax is left out: the
# model returns logits and the loss applies log_softmax), the loss, the
# optimizer over given params, the steps (n per step cycles through `sizes`),
# the learning rate per step (set in net->lr and in the param group), and the
# data.  Mutations (see MUTANTS) are passed as the set `m`.

def lr_const(lr):
    return lambda k: lr


def decay_groups(params, weight_decay, m):
    """One param group, or (mutant no_bias_decay) weights and biases apart."""
    params = list(params)
    if "no_bias_decay" in m:
        return [dict(params=[p for p in params if p.dim() > 1], weight_decay=weight_decay),
                dict(params=[p for p in params if p.dim() == 1], weight_decay=0.0)]
    return [dict(params=params, weight_decay=weight_decay)]


def sgd(lr, m, momentum=0.0, weight_decay=0.0):
    def make(params):
        weight_decay_ = 0.0 if "no_weight_decay" in m else weight_decay
        kw = dict(lr=lr, momentum=momentum)
        if "sgd_dampening" in m:
            kw["dampening"] = momentum
        if "sgd_nesterov" in m and momentum > 0:
            kw["nesterov"] = True
        if "sgd_decoupled_decay" in m:
            return WrongOptim(torch.optim.SGD(params, weight_decay=0.0, **kw), weight_decay_)
        return torch.optim.SGD(decay_groups(params, weight_decay_, m), **kw)
    return make


def adam(lr, m, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    def make(params):
        weight_decay_ = 0.0 if "no_weight_decay" in m else weight_decay
        kw = dict(lr=lr, betas=betas, eps=eps)
        if "adam_amsgrad" in m:
            kw["amsgrad"] = True
        if "adam_decoupled_decay" in m and weight_decay_ > 0:
            return torch.optim.AdamW(params, weight_decay=weight_decay_, **kw)
        if "adam_no_bias_correction" in m or "adam_eps_hat" in m:
            return WrongAdam(params, weight_decay=weight_decay_, m=m, **kw)
        return torch.optim.Adam(decay_groups(params, weight_decay_, m), **kw)
    return make


def leaky(slope, m):
    return nn.LeakyReLU(0.01 if "leaky_default_slope" in m else slope)


def t_xor_sgd(m):
    return dict(
        n_in=2, n_out=1, batch=1, steps=200, sizes=[1], lr=lr_const(0.5), data=data_xor, loss="mse",
        model=lambda: nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid()),
        optim=sgd(0.5, m))


def t_softmax_momentum(m):
    return dict(
        n_in=4, n_out=3, batch=4, steps=60, sizes=[4], lr=lr_const(0.1), data=data_classes(), loss="ce",
        model=lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)),
        optim=sgd(0.1, m, momentum=0.9, weight_decay=0.01))


def t_relu_adam(m):
    return dict(
        n_in=6, n_out=2, batch=5, steps=60, sizes=[5], lr=lr_const(0.01), data=data_teacher(identity, 2.0),
        loss="mse",
        model=lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 12), leaky(0.2, m),
                                    nn.Linear(12, 2), leaky(0.01, m)),
        optim=adam(0.01, m))


def t_regress_adam_wd(m):
    # net->lr is lowered twice during the run: the generated update must read it.
    sched = (lambda k: 0.01) if "ignore_lr_changes" in m else (lambda k: 0.01 if k < 30 else 0.004 if k < 60 else 0.001)
    return dict(
        n_in=3, n_out=1, batch=4, steps=80, sizes=[4], lr=sched, data=data_teacher(sine), loss="mse",
        model=lambda: nn.Sequential(nn.Linear(3, 10), nn.Tanh(), nn.Linear(10, 1)),
        optim=adam(0.01, m, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05))


def t_partial_batch(m):
    return dict(
        n_in=5, n_out=4, batch=8, steps=60, sizes=[8, 3, 8, 1, 5, 7, 2, 8, 6, 4], lr=lr_const(0.2),
        data=data_teacher(np.tanh, 1.5), loss="mse",
        model=lambda: nn.Sequential(nn.Linear(5, 7), nn.Sigmoid(), nn.Linear(7, 4), nn.Tanh()),
        optim=sgd(0.2, m, momentum=0.5, weight_decay=0.001))


def t_wide_40_30_10(m):
    return dict(
        n_in=40, n_out=10, batch=6, steps=50, sizes=[6, 6, 4, 6, 1, 6, 5], lr=lr_const(0.003),
        data=data_classes(smooth=0.1), loss="ce",
        model=lambda: nn.Sequential(nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 10)),
        optim=adam(0.003, m, weight_decay=0.0001))


def t_wide_mse(m):
    return dict(
        n_in=20, n_out=20, batch=3, steps=50, sizes=[3], lr=lr_const(0.02), data=data_teacher(np.tanh, 2.0),
        loss="mse",
        model=lambda: nn.Sequential(nn.Linear(20, 64), nn.Sigmoid(), nn.Linear(64, 20), nn.Tanh()),
        optim=sgd(0.02, m, momentum=0.9))


def t_single_layer(m):
    return dict(
        n_in=3, n_out=1, batch=2, steps=60, sizes=[2], lr=lr_const(0.5), data=data_teacher(sigmoid, 3.0),
        loss="mse",
        model=lambda: nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()),
        optim=sgd(0.5, m, weight_decay=0.1))


def t_deep5(m):
    return dict(
        n_in=3, n_out=2, batch=2, steps=80, sizes=[2], lr=lr_const(0.3), data=data_teacher(sigmoid, 3.0),
        loss="mse",
        model=lambda: nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 4), nn.Sigmoid(),
                                    nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), leaky(0.1, m),
                                    nn.Linear(3, 2), nn.Sigmoid()),
        optim=sgd(0.3, m, momentum=0.9))


def t_image_flatten(m):
    return dict(
        n_in=16, n_out=3, batch=2, steps=60, sizes=[2], lr=lr_const(0.05), data=data_classes(), loss="ce",
        in_shape=(1, 4, 4),   # x rows are CHW images; the model flattens them
        model=lambda: nn.Sequential(nn.Flatten(), nn.Linear(16, 6), leaky(0.01, m), nn.Linear(6, 3)),
        optim=sgd(0.05, m, momentum=0.9))


# The convolutional networks: nn.Conv2d's weight is [out_c][in_c][kh][kw],
# nnc's too; padding and strides are (height, width) as in nnc's HxW.

def avgpool(k, m, stride=None):
    """nn.AvgPool2d, or (mutant avgpool_sum) the sum of the window."""
    pool = nn.AvgPool2d(k, stride=stride)
    if "avgpool_sum" not in m:
        return pool
    area = k[0] * k[1] if isinstance(k, tuple) else k * k

    class Summed(nn.Module):
        def forward(self, x):
            return pool(x) * area
    return Summed()


def t_cnn_momentum(m):
    return dict(
        n_in=64, n_out=10, batch=4, steps=40, sizes=[4, 4, 3, 4, 1, 4, 2], lr=lr_const(0.05),
        data=data_classes(), loss="ce", in_shape=(1, 8, 8),
        model=lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Tanh(), avgpool(2, m),
                                    nn.Flatten(), nn.Linear(6, 10)),
        optim=sgd(0.05, m, momentum=0.9))


def t_cnn_asym_adam(m):
    # nnc's dense reads the 4x2x3 image as it is (CHW): torch flattens it first
    return dict(
        n_in=126, n_out=3, batch=3, steps=40, sizes=[3, 2, 3, 1], lr=lr_const(0.005),
        data=data_teacher(np.tanh, 2.0), loss="mse", in_shape=(2, 9, 7),
        model=lambda: nn.Sequential(nn.Conv2d(2, 5, (3, 2), stride=(2, 1), padding=(1, 0)), leaky(0.1, m),
                                    nn.Conv2d(5, 4, (2, 3), stride=(1, 2), padding=(0, 1)), nn.Tanh(),
                                    avgpool((2, 1), m), nn.Flatten(), nn.Linear(24, 3)),
        optim=adam(0.005, m, weight_decay=0.01))


def t_cnn_overlap(m):
    return dict(
        n_in=108, n_out=4, batch=2, steps=40, sizes=[2], lr=lr_const(0.1), data=data_classes(smooth=0.2),
        loss="ce", in_shape=(3, 6, 6),
        model=lambda: nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=1),
                                    nn.Conv2d(4, 3, 2, stride=2), nn.Sigmoid(), nn.Flatten(), nn.Linear(12, 4)),
        optim=sgd(0.1, m, weight_decay=0.001))


def t_cnn_conv_out(m):
    return dict(
        n_in=144, n_out=2, batch=5, steps=40, sizes=[5, 5, 2, 5, 4, 1], lr=lr_const(0.2),
        data=data_teacher(sigmoid, 3.0), loss="mse", in_shape=(1, 12, 12),
        model=lambda: nn.Sequential(nn.Conv2d(1, 2, 2, stride=2), nn.Tanh(),
                                    nn.Conv2d(2, 3, (3, 1), padding=(1, 0)), nn.Tanh(),
                                    nn.Conv2d(3, 3, (1, 3), padding=(0, 1)), nn.ReLU(),
                                    nn.MaxPool2d(3, stride=2), nn.Conv2d(3, 2, 2), nn.Sigmoid(), nn.Flatten()),
        optim=sgd(0.2, m, momentum=0.8, weight_decay=0.0005))


# The recurrent networks: torch's layers take [n][T][F] (batch_first) and
# return (output, state); Recurrent keeps the output, or its last step.

def recurrent(kind, f, h, all_steps, m, nonlinearity="tanh"):
    """nn.RNN / nn.LSTM / nn.GRU as a Sequential item returning output[:, -1]
    (return=last) or output (return=all)."""
    if kind == "rnn":
        layer = nn.RNN(f, h, batch_first=True, nonlinearity=nonlinearity)
    else:
        layer = (nn.LSTM if kind == "lstm" else nn.GRU)(f, h, batch_first=True)

    class Recurrent(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            out, _ = self.layer(x)
            if "last_as_first" in m and not all_steps:
                return out[:, 0]
            return out if all_steps else out[:, -1]
    return Recurrent()


def Ids(v, d):
    """nn.Embedding on ids that arrive as floats [n][T][1]."""
    class Embedded(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(v, d)

        def forward(self, x):
            return self.embed(x.reshape(x.shape[0], x.shape[1]).long())
    return Embedded()


def t_rnn_tanh_seq(m):
    return dict(
        n_in=15, n_out=10, batch=4, steps=40, sizes=[4, 4, 2, 4, 1], lr=lr_const(0.05),
        data=data_sequence_teacher(np.tanh, 1.0), loss="mse", in_shape=(5, 3), out_steps=5,
        model=lambda: nn.Sequential(recurrent("rnn", 3, 6, True, m), nn.Linear(6, 2)),
        optim=sgd(0.05, m, momentum=0.9))


def t_rnn_relu_last(m):
    return dict(
        n_in=24, n_out=3, batch=3, steps=40, sizes=[3, 2, 3, 1], lr=lr_const(0.01),
        data=data_sequences(6), loss="ce", in_shape=(6, 4),
        model=lambda: nn.Sequential(recurrent("rnn", 4, 8, False, m, "relu"), nn.Linear(8, 3)),
        optim=adam(0.01, m))


def t_lstm_last_clip(m):
    return dict(
        n_in=35, n_out=4, batch=4, steps=40, sizes=[4, 3, 4, 1], lr=lr_const(0.02),
        data=data_sequences(7), loss="ce", in_shape=(7, 5), clip=0.5,
        model=lambda: nn.Sequential(recurrent("lstm", 5, 8, False, m), nn.Linear(8, 4)),
        optim=adam(0.02, m))


def t_lstm_stack(m):
    return dict(
        n_in=18, n_out=2, batch=3, steps=40, sizes=[3, 2, 3], lr=lr_const(0.1),
        data=data_teacher(np.tanh, 1.0), loss="mse", in_shape=(6, 3), clip=1.0,
        model=lambda: nn.Sequential(recurrent("lstm", 3, 8, True, m), recurrent("lstm", 8, 5, False, m),
                                    nn.Linear(5, 2)),
        optim=sgd(0.1, m, momentum=0.9))


def t_gru_all_ce(m):
    return dict(
        n_in=20, n_out=15, batch=3, steps=40, sizes=[3, 1, 3, 2], lr=lr_const(0.01),
        data=data_sequences(5, out_steps=5), loss="ce", in_shape=(5, 4), out_steps=5,
        model=lambda: nn.Sequential(recurrent("gru", 4, 8, True, m), nn.Linear(8, 3)),
        optim=adam(0.01, m))


def t_gru_stack(m):
    return dict(
        n_in=12, n_out=2, batch=2, steps=40, sizes=[2, 1], lr=lr_const(0.05),
        data=data_teacher(sigmoid, 2.0), loss="mse", in_shape=(4, 3),
        model=lambda: nn.Sequential(recurrent("gru", 3, 6, True, m), recurrent("gru", 6, 8, False, m),
                                    nn.Linear(8, 2), nn.Sigmoid()),
        optim=sgd(0.05, m))


def t_embed_lstm(m):
    return dict(
        n_in=6, n_out=60, batch=4, steps=40, sizes=[4, 2, 4, 3], lr=lr_const(0.01),
        data=data_sequences(6, ids=10, out_steps=6), loss="ce", in_shape=(6, 1), out_steps=6, clip=1.0,
        model=lambda: nn.Sequential(Ids(10, 4), recurrent("lstm", 4, 8, True, m), nn.Linear(8, 10)),
        optim=adam(0.01, m))


def t_embed_gru_mse(m):
    return dict(
        n_in=4, n_out=2, batch=3, steps=40, sizes=[3, 2], lr=lr_const(0.1),
        data=data_sequences(4, ids=6), loss="mse", in_shape=(4, 1),
        model=lambda: nn.Sequential(Ids(6, 3), recurrent("gru", 3, 5, False, m), nn.Linear(5, 2)),
        optim=sgd(0.1, m, momentum=0.5))


TESTS = {
    "xor_sgd": t_xor_sgd,
    "softmax_momentum": t_softmax_momentum,
    "relu_adam": t_relu_adam,
    "regress_adam_wd": t_regress_adam_wd,
    "partial_batch": t_partial_batch,
    "wide_40_30_10": t_wide_40_30_10,
    "wide_mse": t_wide_mse,
    "single_layer": t_single_layer,
    "deep5": t_deep5,
    "image_flatten": t_image_flatten,
    "cnn_momentum": t_cnn_momentum,
    "cnn_asym_adam": t_cnn_asym_adam,
    "cnn_overlap": t_cnn_overlap,
    "cnn_conv_out": t_cnn_conv_out,
    "rnn_tanh_seq": t_rnn_tanh_seq,
    "rnn_relu_last": t_rnn_relu_last,
    "lstm_last_clip": t_lstm_last_clip,
    "lstm_stack": t_lstm_stack,
    "gru_all_ce": t_gru_all_ce,
    "gru_stack": t_gru_stack,
    "embed_lstm": t_embed_lstm,
    "embed_gru_mse": t_embed_gru_mse,
}

# Deliberately wrong conventions: each must make some check FAIL somewhere.
MUTANTS = {
    "mse_no_half": "mse without the 1/2",
    "loss_sum_not_mean": "batch loss summed over the samples, not averaged",
    "mean_over_batch": "a partial batch averaged over BATCH, not over n",
    "sgd_dampening": "SGD momentum with dampening = momentum",
    "sgd_nesterov": "Nesterov momentum",
    "no_weight_decay": "weight decay ignored",
    "adam_decoupled_decay": "AdamW's decoupled weight decay instead of Adam's L2",
    "adam_no_bias_correction": "adam without bias correction",
    "adam_eps_hat": "adam's eps added before the bias correction (TensorFlow's epsilon hat)",
    "no_bias_decay": "weight decay on the weights only, not the biases",
    "sgd_decoupled_decay": "SGD weight decay applied to the parameters, not through the momentum",
    "adam_amsgrad": "adam with amsgrad",
    "leaky_default_slope": "leaky_relu(0.2) taken as the default slope 0.01",
    "ignore_lr_changes": "net->lr changes ignored",
    "transposed_weights": "weights stored [in][out] instead of [out][in]",
    "loss_after_update": "train_step's loss taken after the update",
    "hard_targets": "soft targets replaced by their argmax one-hot",
    "conv_weights_in_out": "conv weights stored [in_c][out_c][kh][kw] instead of [out_c][in_c][kh][kw]",
    "conv_flipped_kernel": "a true convolution (kernel flipped) instead of PyTorch's cross-correlation",
    "conv_kernel_transposed": "conv kernels stored [kw][kh] instead of [kh][kw]",
    "avgpool_sum": "avgpool summing its window instead of averaging it",
    "gates_swapped": "recurrent gates in another order (lstm i g f o, gru z r n)",
    "no_clip": "clip=C ignored",
    "last_as_first": "return=last taken as the first step's output",
    "sequence_loss_sum": "a sequence loss summed over the steps, not averaged",
}


def spec_of(name, m=frozenset()):
    s = TESTS[name](m)
    s.setdefault("in_shape", (s["n_in"],))
    s.setdefault("out_steps", 1)
    return s


def batches(name, s):
    """The steps' (n, lr, x, t): deterministic, from the test's name."""
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    draw = s["data"](rng, s["n_in"], s["n_out"])
    out = []
    for k in range(s["steps"]):
        n = s["sizes"][k % len(s["sizes"])]
        x, t = draw(n)
        out.append((n, np.float32(s["lr"](k)), x, t))
    return out


def cmd_gen(root, names):
    status = 0
    for name in names:
        if name not in TESTS:
            print(f"reference.py: no reference model for '{name}' in TESTS", file=sys.stderr)
            status = 1
            continue
        s = spec_of(name)
        os.makedirs(os.path.join(root, name), exist_ok=True)
        with open(os.path.join(root, name, "batches.bin"), "wb") as f:
            f.write(struct.pack("<5i", MAGIC, s["n_in"], s["n_out"], s["batch"], s["steps"]))
            for n, lr, x, t in batches(name, s):
                f.write(struct.pack("<if", n, lr))
                f.write(x.astype("<f4").tobytes())
                f.write(t.astype("<f4").tobytes())
    return status


# ---- the torch reference ---------------------------------------------------

def torch_no_grad_lazy(fn):
    def wrapped(*a, **kw):
        with torch.no_grad():
            return fn(*a, **kw)
    return wrapped


class WrongOptim:
    """torch's optimizer followed by a decoupled weight decay (a mutant)."""

    def __init__(self, opt, weight_decay):
        self.opt, self.wd, self.param_groups = opt, weight_decay, opt.param_groups

    def zero_grad(self):
        self.opt.zero_grad()

    @torch_no_grad_lazy
    def step(self):
        self.opt.step()
        for g in self.param_groups:
            for p in g["params"]:
                p.mul_(1 - g["lr"] * self.wd)


class WrongAdam:
    """Adam with a wrong convention (mutants): no bias correction, or
    TensorFlow's epsilon-hat form lr sqrt(bc2)/bc1 m / (sqrt(v) + eps)."""

    def __init__(self, params, lr, betas, eps, weight_decay, m):
        self.params = list(params)
        self.param_groups = [dict(lr=lr)]
        self.b1, self.b2, self.eps, self.wd, self.mut = betas[0], betas[1], eps, weight_decay, m
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.t = 0

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    @torch_no_grad_lazy
    def step(self):
        lr = self.param_groups[0]["lr"]
        self.t += 1
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        if "adam_no_bias_correction" in self.mut:
            bc1 = bc2 = 1.0
        for p, m, v in zip(self.params, self.m, self.v):
            g = p.grad + self.wd * p
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.sub_(lr * math.sqrt(bc2) / bc1 * m / (v.sqrt() + self.eps))


def loss_fn(s, out, t, n, m):
    steps = s["out_steps"]
    out = out.reshape(n, steps, -1)   # [n][steps][outputs of a step]
    t = t.reshape(out.shape)
    if s["loss"] == "mse":
        per = 0.5 * ((out - t) ** 2).sum()
        if "mse_no_half" in m:
            per = per * 2
    else:
        if "hard_targets" in m:
            t = F.one_hot(t.argmax(dim=-1), t.shape[-1]).to(t.dtype)
        per = -(t * F.log_softmax(out, dim=-1)).sum()
    if "sequence_loss_sum" not in m:
        per = per / steps
    if "loss_sum_not_mean" in m:
        return per
    if "mean_over_batch" in m:
        return per / s["batch"]
    return per / n


def new_model(s, init, dtype, m):
    model = s["model"]().to(dtype)
    params = list(model.parameters())
    names = [k for k, _ in model.named_parameters()]
    owner = {}
    for mod_name, mod in model.named_modules():
        for p_name, _ in mod.named_parameters(recurse=False):
            owner[(mod_name + "." if mod_name else "") + p_name] = mod
    done = []
    want = sum(p.numel() for p in params)
    if want != init.size:
        raise ValueError(f"nnc has {init.size} parameters, the torch model {want}")
    off = 0
    with torch.no_grad():
        for p in params:
            k = p.numel()
            chunk = torch.from_numpy(init[off:off + k].astype(np.float64)).to(dtype)
            name = names[len(done)]
            done.append(name)
            if "gates_swapped" in m and ("weight_ih" in name or "weight_hh" in name or "bias_" in name):
                g = 4 if isinstance(owner[name], nn.LSTM) else 3 if isinstance(owner[name], nn.GRU) else 1
                blocks = list(chunk.reshape(g, -1))
                if g > 1:
                    blocks[0], blocks[1] = blocks[1], blocks[0]   # lstm: f i g o; gru: z r n
                p.copy_(torch.cat(blocks).reshape(p.shape))
            elif "transposed_weights" in m and p.dim() == 2 and "weight_hh" not in name and "weight_ih" not in name \
                    and "embed" not in name:
                p.copy_(chunk.reshape(p.shape[1], p.shape[0]).t())
            elif "conv_weights_in_out" in m and p.dim() == 4:
                o, i, kh, kw = p.shape
                p.copy_(chunk.reshape(i, o, kh, kw).transpose(0, 1))
            elif "conv_flipped_kernel" in m and p.dim() == 4:
                p.copy_(chunk.reshape(p.shape).flip(2, 3))
            elif "conv_kernel_transposed" in m and p.dim() == 4:
                o, i, kh, kw = p.shape
                p.copy_(chunk.reshape(o, i, kw, kh).transpose(2, 3))
            else:
                p.copy_(chunk.reshape(p.shape))
            off += k
    return model


def flat(tensors):
    return np.concatenate([t.detach().reshape(-1).double().numpy() for t in tensors])


def reference(s, init, steps, dtype, m=frozenset()):
    """Everything the driver records, computed by torch from nnc's init."""
    r = {}
    model = new_model(s, init, dtype, m)

    def tensors(n, x, t):
        return torch.from_numpy(x).to(dtype).reshape((n,) + s["in_shape"]), torch.from_numpy(t).to(dtype)

    n, _, x, t = steps[0]
    xt, tt = tensors(n, x, t)
    with torch.no_grad():
        out = model(xt).reshape(n, s["out_steps"], -1)
        r["forward"] = (F.softmax(out, dim=-1) if s["loss"] == "ce" else out).double().numpy().reshape(-1)
    model.zero_grad()
    loss = loss_fn(s, model(xt), tt, n, m)
    loss.backward()
    r["gloss"] = float(loss)
    r["grads"] = flat(p.grad for p in model.parameters())

    model = new_model(s, init, dtype, m)
    opt = s["optim"](model.parameters())
    losses = []
    for k, (n, _, x, t) in enumerate(steps):
        xt, tt = tensors(n, x, t)
        for g in opt.param_groups:   # what the driver set in net->lr, as a float
            g["lr"] = float(np.float32(s["lr"](k)))
        opt.zero_grad()
        loss = loss_fn(s, model(xt), tt, n, m)
        loss.backward()
        if s.get("clip") and "no_clip" not in m:
            torch.nn.utils.clip_grad_norm_(model.parameters(), s["clip"])
        opt.step()
        if "loss_after_update" in m:
            with torch.no_grad():
                loss = loss_fn(s, model(xt), tt, n, m)
        losses.append(float(loss))
    r["losses"] = np.array(losses)
    r["params"] = flat(model.parameters())
    return r


# ---- comparing -------------------------------------------------------------

def param_names(s):
    """Names of the flat parameter indices, the layers with parameters
    counted from 1: 'dense 2 weight[3][0]', 'conv 1 weight[3][0][2][1]'."""
    names = []
    model = s["model"]()
    layer = 0
    for mod in model:
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            layer += 1
        if isinstance(mod, nn.Linear):
            o, i = mod.weight.shape
            names += [f"dense {layer} weight[{a}][{b}]" for a in range(o) for b in range(i)]
            names += [f"dense {layer} bias[{a}]" for a in range(o)]
        elif isinstance(mod, nn.Conv2d):
            o, i, kh, kw = mod.weight.shape
            names += [f"conv {layer} weight[{a}][{b}][{y}][{x}]"
                      for a in range(o) for b in range(i) for y in range(kh) for x in range(kw)]
            names += [f"conv {layer} bias[{a}]" for a in range(o)]
        elif any(True for _ in mod.parameters()):   # recurrent layers, embed: their own parameter names
            layer += 1
            for pname, p in mod.named_parameters():
                names += [f"layer {layer} {pname.split('.')[-1]}[{i}]" for i in range(p.numel())]
    return names


def compare(got, want, rtol, atol=0.0, atol_scaled=0.0, labels=None, what="value"):
    """Empty list when every |got - want| <= atol + rtol |want|, else details."""
    got = np.asarray(got, np.float64).reshape(-1)
    want = np.asarray(want, np.float64).reshape(-1)
    if got.shape != want.shape:
        return [f"nnc has {got.size} {what}s, torch {want.size}"]
    if want.size and atol_scaled:
        atol = atol + atol_scaled * float(np.max(np.abs(want)))
    err = np.abs(got - want)
    bound = atol + rtol * np.abs(want)
    bad = ~(err <= bound)   # NaN counts as bad
    if not bad.any():
        return []
    idx = np.flatnonzero(bad)
    worst = idx[np.argmax(np.where(np.isnan(err[idx]), np.inf, err[idx] / np.maximum(bound[idx], 1e-30)))]
    lab = (lambda i: labels[i]) if labels else (lambda i: f"{what} {i}")
    lines = [f"{idx.size} of {got.size} {what}s differ beyond {rtol:g} relative + {atol:.3g} absolute"]
    lines.append(f"first: {lab(idx[0])}: nnc {got[idx[0]]:.9g}, torch {want[idx[0]]:.9g}")
    if worst != idx[0]:
        lines.append(f"worst: {lab(worst)}: nnc {got[worst]:.9g}, torch {want[worst]:.9g}")
    return lines


def read_meta(d):
    meta = {}
    with open(os.path.join(d, "meta.txt")) as f:
        for line in f:
            k, _, v = line.strip().partition(" ")
            meta[k] = v
    return meta


def read_f32(d, name):
    return np.fromfile(os.path.join(d, name), dtype="<f4").astype(np.float64)


def check_unit(root, unit, m=frozenset(), want_cache=None):
    """{check: [] when ok, else detail lines} for one NAME/VARIANT."""
    name = unit.split("/")[0]
    d = os.path.join(root, unit)
    if name not in TESTS:
        return {c: [f"reference.py has no torch model for '{name}' (add it to TESTS)"] for c in CHECKS}
    s = spec_of(name, m)
    steps = batches(name, spec_of(name))
    try:
        meta = read_meta(d)
        nnc = {k: read_f32(d, f + ".f32") for k, f in
               [("init", "init"), ("forward", "fwd"), ("grads", "grad"), ("gloss", "gloss"),
                ("losses", "loss"), ("params", "final")]}
    except OSError as e:
        return {c: [f"the driver's output is missing: {e}"] for c in CHECKS}

    res = {}
    api = []
    for key, want in [("n_inputs", s["n_in"]), ("n_outputs", s["n_out"]), ("batch", s["batch"])]:
        if int(meta.get(key, -1)) != want:
            api.append(f"{name}_{key.upper()} is {meta.get(key)}, the test expects {want}")
    lr0 = np.float32(s["lr"](0))
    if not m and np.float32(float(meta.get("init_lr", "nan"))) != lr0:
        api.append(f"{name}_init set lr to {meta.get('init_lr')}, the .nn file says {lr0:.9g}")
    if meta.get("backward_kept_params") != "1":
        api.append(f"{name}_backward changed the parameters")
    if meta.get("rejects_bad_n") != "1":
        api.append(f"{name}_train_step with n = 0, -1 or BATCH+1 did not return NaN and change nothing")
    if nnc["init"].size != int(meta.get("n_params", -1)):
        api.append(f"init.f32 has {nnc['init'].size} floats, N_PARAMS is {meta.get('n_params')}")
    res["api"] = api

    try:
        want = reference(s, nnc["init"].astype(np.float32), steps, torch.float32, m)
    except Exception as e:   # a shape mismatch, say: every numeric check fails
        return dict(res, **{c: [f"torch reference failed: {type(e).__name__}: {e}"] for c in CHECKS[1:]})
    labels = param_names(s)
    res["forward"] = compare(nnc["forward"], want["forward"], labels=None, what="output", **TOL["forward"])
    g = compare(nnc["gloss"], [want["gloss"]], what="loss", **TOL["losses"])
    res["grads"] = (["loss returned by backward: " + g[1].split(": ", 1)[1]] if g else []) + \
        compare(nnc["grads"], want["grads"], labels=labels, what="gradient", **TOL["grads"])
    res["losses"] = compare(nnc["losses"], want["losses"], labels=[f"step {k}" for k in range(len(steps))],
                            what="loss", **TOL["losses"])
    res["params"] = compare(nnc["params"], want["params"], labels=labels, what="parameter", **TOL["params"])

    if any(res[c] for c in CHECKS[1:]) and not m:
        # A diagnosis: how far torch's own float32 run is from float64.  When
        # that is near the tolerance, rounding is the suspect; when it is
        # orders below the nnc difference, a convention is.
        w64 = reference(s, nnc["init"].astype(np.float32), steps, torch.float64)
        for c in CHECKS[1:]:
            if res[c]:
                key = c
                d32 = np.max(np.abs(np.asarray(want[key]) - np.asarray(w64[key])))
                dn = np.max(np.abs(np.asarray(nnc[key]).reshape(-1) - np.asarray(w64[key]).reshape(-1))) \
                    if np.asarray(nnc[key]).size == np.asarray(w64[key]).size else float("nan")
                res[c].append(f"max |torch32 - torch64| = {d32:.3g}; max |nnc - torch64| = {dn:.3g}")
    return res


def cmd_check(root, units):
    load_torch()
    for unit in units:
        try:
            res = check_unit(root, unit)
        except Exception as e:
            res = {c: [f"reference.py crashed: {type(e).__name__}: {e}"] for c in CHECKS}
        for c in CHECKS:
            write_result(os.path.join(root, unit, c + ".result"), res[c])
    return 0


def cmd_mutants(root, units):
    """Each mutant must turn some check of some unit into a FAIL."""
    load_torch()
    missed = []
    for mut, what in MUTANTS.items():
        caught = []
        for unit in units:
            res = check_unit(root, unit, frozenset([mut]))
            caught += [f"{unit} {c}" for c in CHECKS[1:] if res[c]]
            if caught:
                break
        if not caught:
            missed.append(f"not caught: {mut} ({what})")
        else:
            print(f"{mut}: caught by {', '.join(caught)}")
    write_result(os.path.join(root, "mutants.result"), missed)
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("gen", "check", "mutants"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    cmd = {"gen": cmd_gen, "check": cmd_check, "mutants": cmd_mutants}[sys.argv[1]]
    sys.exit(cmd(sys.argv[2], sys.argv[3:]))
