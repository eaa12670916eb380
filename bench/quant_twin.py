#!/usr/bin/python3
"""quant_twin.py - PyTorch's post-training static int8 quantization of a .nn
network's trained weights: the reference `nnc --quantize=int8` is held to.

  /usr/bin/python3 bench/quant_twin.py NET.nn W.nnw [--calibrate-count N] [--json]

The float twin is torch_bench's (built from NET.nn's text, W.nnw's parameters
loaded in state_dict order).  It is quantized in eager mode: QuantStub in
front, DeQuantStub behind, conv+relu and linear+relu fused, prepare, the
first N images of the Fashion-MNIST training set (file order, no shuffle)
through it, convert.  A softmax at the output stays float: it is left out
(the argmax of the logits is the argmax of the probabilities).  Two qconfigs:

  fbgemm_hist  torch.ao.quantization.get_default_qconfig("fbgemm"): weights
               int8 per-channel symmetric (PerChannelMinMaxObserver),
               activations uint8 affine from a HistogramObserver with
               reduce_range=True (7 bits: 0..127)
  minmax       weights default_per_channel_weight_observer (the same),
               activations MinMaxObserver, uint8 affine, full range 0..255:
               min/max calibration, as nnc's

Each is scored on the 10,000 test images: accuracy, and how many images
change class against the float twin.

The engine.  Debian's python3-torch is built without FBGEMM
(torch.backends.quantized.supported_engines has no "fbgemm"); the script then
runs the converted models on "onednn" (x86, the same per-channel int8
weights and uint8 activations) and says so.  To show that the engine does
not change the figures, every converted model is also run through an
emulation of FBGEMM's arithmetic written here (int32 sums of the integer
values, bias added and rescaled in float, rounded half to even, clamped; see
emulate()), and the script reports how many test images it classifies
differently from the engine ("engine vs emulation": 0 expected, a handful
at most from ties in the float rounding).
"""
import argparse
import copy
import json
import os
import struct
import sys
import time
import warnings
import zlib

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)

import torch                            # noqa: E402
import torch.nn as nn                   # noqa: E402
import torch.ao.quantization as tq      # noqa: E402
try:                                    # torch >= 2.0
    import torch.ao.nn.quantized as nnq
    import torch.ao.nn.intrinsic.quantized as nniq
except ImportError:                     # torch 1.13 (Debian 12)
    import torch.nn.quantized as nnq
    import torch.nn.intrinsic.quantized as nniq

import torch_bench as tb                # noqa: E402

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
N_TRAIN = 60000


class Fail(Exception):
    pass


# ---- the weights ----------------------------------------------------------------

def check_nnw(path, want):
    """The header of a .nnw (docs/weights-format.md) checked, and its
    parameters, which must be `want` in number."""
    try:
        raw = open(path, "rb").read()
    except OSError as e:
        raise Fail("cannot read the weights %s: %s" % (path, e.strerror))
    if len(raw) < 28 or raw[:4] != b"NNCW":
        raise Fail("%s is not an nnc weight file (no NNCW magic)" % path)
    version, _fp, n = struct.unpack_from("<IQQ", raw, 4)
    if version != 1:
        raise Fail("%s: weight-file version %d, this script reads version 1" % (path, version))
    if len(raw) != 28 + 4 * n:
        raise Fail("%s: %d bytes, but a file of %d parameters has %d" % (path, len(raw), n, 28 + 4 * n))
    crc = struct.unpack_from("<I", raw, 24 + 4 * n)[0]
    if zlib.crc32(raw[:24 + 4 * n]) != crc:
        raise Fail("%s: CRC-32 mismatch (the file is damaged)" % path)
    if n != want:
        raise Fail("%s holds %d parameters, but the network needs %d: weights of another network?"
                   % (path, n, want))
    return tb.read_params(path)


# ---- the models -------------------------------------------------------------------

class Twin(nn.Module):
    """The float network between a QuantStub and a DeQuantStub."""

    def __init__(self, body):
        super().__init__()
        self.quant = tq.QuantStub()
        self.body = body
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def float_twin(nn_path, w_path):
    if not os.path.isfile(nn_path):
        raise Fail("no such network file: %s" % nn_path)
    if not os.path.isfile(w_path):
        raise Fail("no such weight file: %s" % w_path)
    try:
        spec = tb.parse_nn(nn_path)
    except (ValueError, IndexError) as e:
        raise Fail("%s: %s" % (nn_path, e))
    if spec.get("steps"):
        raise Fail("%s is a sequence network: eager-mode static quantization of "
                   "rnn/lstm/gru/embed is not supported here" % nn_path)
    if not spec["layers"] or tuple(spec.get("input", ())) != (1, 28, 28) or spec["layers"][-1]["out"] != (10,):
        raise Fail("%s: input %s, output %s: this script scores Fashion-MNIST classifiers "
                   "(input 1x28x28, 10 outputs)" % (nn_path, "x".join(map(str, spec.get("input", ()))),
                                                    "x".join(map(str, spec["layers"][-1]["out"]))))
    model = tb.build(spec)
    want = sum(p.numel() for p in model.parameters())
    tb.load_flat(model, check_nnw(w_path, want))
    mods = list(model)
    if mods and isinstance(mods[-1], nn.Softmax):   # a softmax without cross_entropy: keep it float (argmax unchanged)
        mods = mods[:-1]
    return spec, nn.Sequential(*mods).eval()


def fuse_pairs(body):
    """[["body.i", "body.i+1"], ...] for each conv/linear followed by a relu."""
    mods = list(body)
    return [["body.%d" % i, "body.%d" % (i + 1)] for i in range(len(mods) - 1)
            if isinstance(mods[i], (nn.Conv2d, nn.Linear)) and isinstance(mods[i + 1], nn.ReLU)]


QCONFIGS = {
    "fbgemm_hist": lambda: tq.get_default_qconfig("fbgemm"),
    "minmax": lambda: tq.QConfig(
        activation=tq.MinMaxObserver.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
        weight=tq.default_per_channel_weight_observer),
}


def quantize(body, qconfig, calib, batch):
    m = Twin(copy.deepcopy(body)).eval()
    pairs = fuse_pairs(m.body)
    if pairs:
        m = tq.fuse_modules(m, pairs)
    m.qconfig = qconfig
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        for b in range(0, len(calib), batch):
            m(calib[b:b + batch])
    seen = {name: (float(mod.activation_post_process.min_val), float(mod.activation_post_process.max_val))
            for name, mod in m.named_modules() if hasattr(mod, "activation_post_process")}
    return tq.convert(m), [p[0] for p in pairs], seen


def qparams(qm, seen):
    """Each quantized activation: the input (module "quant") and every
    layer's output (after its fused relu): the observer's range over the
    calibration images, and the scale and zero point chosen from it; and
    each layer's per-channel weight scales (symmetric, zero point 0).
    For comparing with nnc's calibration."""
    out = []
    for name, mod in qm.named_modules():
        if not name or isinstance(mod, nnq.DeQuantize) or not hasattr(mod, "zero_point"):
            continue
        e = {"module": name, "kind": type(mod).__name__, "observed_min": seen.get(name, (None,))[0],
             "observed_max": seen.get(name, (None, None))[1], "scale": float(mod.scale),
             "zero_point": int(mod.zero_point)}
        if hasattr(mod, "weight") and callable(mod.weight):
            w = mod.weight()
            e["weight_scales"] = [float(v) for v in w.q_per_channel_scales()] \
                if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric) else [w.q_scale()]
        out.append(e)
    return out


# ---- an emulation of FBGEMM's arithmetic ----------------------------------------

def _requant(acc, sx, w, bias, so, zo, relu, shape):
    """acc: the int32 sums of (x_q - x_zp) * w_q (exact in float64); per output
    channel c: real = acc * sx * sw[c] + bias[c], q = round_half_even(real / so) + zo,
    clamped to [zo if relu else 0, 255]."""
    sw = w.q_per_channel_scales().double() if w.qscheme() in (torch.per_channel_affine,
                                                              torch.per_channel_symmetric) \
        else torch.tensor([w.q_scale()], dtype=torch.float64)
    real = acc * (sx * sw).view(shape)
    if bias is not None:
        real = real + bias.double().view(shape)
    q = torch.round(real / so) + zo                 # torch.round: half to even, as nearbyint
    return q.clamp_(zo if relu else 0, 255)


def _int_conv(xi, wi, mod):
    """The integer sums of a convolution (zero padding = padding with the
    input's zero point).  In float32 when every partial sum stays below 2^24
    (then exact, in any order), checked integral; else in float64."""
    k = wi.shape[1] * wi.shape[2] * wi.shape[3]
    if k * 255 * 128 < (1 << 24):
        acc = torch.nn.functional.conv2d(xi.float(), wi.float(), None, mod.stride, mod.padding, mod.dilation)
        if torch.equal(acc, acc.round()):
            return acc.double()
    return torch.nn.functional.conv2d(xi.double(), wi.double(), None, mod.stride, mod.padding, mod.dilation)


def emulate(qm, x):
    """The converted model's forward pass in plain integer arithmetic (held
    in float64, exact): what FBGEMM computes, independent of the engine, as
    long as its u8 x s8 products do not saturate (what reduce_range is for
    on CPUs without VNNI; the full-range minmax config on FBGEMM without
    VNNI could differ from this)."""
    sx, zx, q = None, None, None
    steps = [("quant", qm.quant)] + [("body." + n, m) for n, m in qm.body.named_children()] + [("dequant", qm.dequant)]
    for name, mod in steps:
        if isinstance(mod, nn.Identity):            # the relu fused into the layer before it
            continue
        if isinstance(mod, nnq.Quantize):
            xq = torch.quantize_per_tensor(x, float(mod.scale), int(mod.zero_point), mod.dtype)
            q, sx, zx = xq.int_repr().double(), float(mod.scale), int(mod.zero_point)
        elif isinstance(mod, (nnq.Linear, nniq.LinearReLU)):
            w = mod.weight()
            acc = (q - zx) @ w.int_repr().double().t()
            q = _requant(acc, sx, w, mod.bias(), float(mod.scale), int(mod.zero_point),
                         isinstance(mod, nniq.LinearReLU), (1, -1))
            sx, zx = float(mod.scale), int(mod.zero_point)
        elif isinstance(mod, (nnq.Conv2d, nniq.ConvReLU2d)):
            if mod.padding_mode != "zeros" or mod.groups != 1:
                raise Fail("emulate: conv with padding_mode %s, groups %d" % (mod.padding_mode, mod.groups))
            w = mod.weight()
            acc = _int_conv(q - zx, w.int_repr(), mod)
            q = _requant(acc, sx, w, mod.bias(), float(mod.scale), int(mod.zero_point),
                         isinstance(mod, nniq.ConvReLU2d), (1, -1, 1, 1))
            sx, zx = float(mod.scale), int(mod.zero_point)
        elif isinstance(mod, (nn.MaxPool2d, nn.Flatten)):
            q = mod(q)                              # the max of the integers; same scale
        elif isinstance(mod, nnq.DeQuantize):
            return (q - zx) * sx
        else:
            raise Fail("emulate: no integer form of %s (%s)" % (name, type(mod).__name__))
    raise Fail("emulate: no DeQuantize at the end")


# ---- scoring ----------------------------------------------------------------------

def predict(fn, X, batch=100):
    preds, ties = [], 0
    with torch.no_grad():
        for b in range(0, len(X), batch):
            out = fn(X[b:b + batch])
            top = out.max(1, keepdim=True).values
            ties += int(((out == top).sum(1) > 1).sum())
            preds.append(out.argmax(1))             # the first maximal index, as torch documents
    return torch.cat(preds), ties


def against_emulation(qm, X, batch=100):
    """The emulation's classes, and how many int8 logits of the engine
    differ from the emulation's: {count, of, max_steps} (steps of the
    output scale)."""
    preds, off, worst = [], 0, 0
    so = _output_scale(qm)
    with torch.no_grad():
        for b in range(0, len(X), batch):
            x = X[b:b + batch]
            e = emulate(qm, x)
            d = (qm(x).double() - e).abs()
            steps = torch.round(d / so)
            off += int((steps > 0).sum())
            worst = max(worst, int(steps.max()))
            preds.append(e.argmax(1))
    return torch.cat(preds), {"count": off, "of": len(X) * e.shape[1], "max_steps": worst}


def _output_scale(qm):
    """The scale of the last quantized tensor (pooling and flatten keep it)."""
    last = None
    for _, mod in qm.body.named_children():
        if hasattr(mod, "scale") and hasattr(mod, "zero_point"):
            last = float(mod.scale)
    return last if last is not None else float(qm.quant.scale)


def run(args):
    t_start = time.perf_counter()
    spec, body = float_twin(args.net, args.weights)
    if not 1 <= args.calibrate_count <= N_TRAIN:
        raise Fail("--calibrate-count %d: must be 1 .. %d" % (args.calibrate_count, N_TRAIN))
    if args.calib_batch < 1 or args.threads < 1:
        raise Fail("--calib-batch and --threads must be at least 1")
    for f in (TRAIN_IMAGES, "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        if not os.path.isfile(os.path.join(tb.FM, f)):
            raise Fail("no %s in %s" % (f, tb.FM))
    supported = torch.backends.quantized.supported_engines
    engine = args.engine
    note = None
    if engine not in supported:
        if args.engine_strict:
            raise Fail("quantized engine %s is not in this torch (%s)" % (engine, ", ".join(supported)))
        note = "%s is not compiled into this torch, whose engines are %s" % (engine, ", ".join(supported))
        engine = "onednn"
    torch.backends.quantized.engine = engine
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    Xtr, _ = tb.fashion("train")
    Xte, Yte = tb.fashion("test")
    t_load = time.perf_counter() - t0
    calib = Xtr[:args.calibrate_count]              # the first N images, in file order, as nnc calibrates

    t0 = time.perf_counter()
    fpred, fties = predict(body, Xte)
    res = {"net": args.net, "weights": args.weights, "calibrate_count": args.calibrate_count,
           "float_acc": round(100.0 * float((fpred == Yte).double().mean()), 4),
           "test_images": len(Yte), "load_seconds": round(t_load, 3),
           "float_seconds": round(time.perf_counter() - t0, 3),
           "torch": torch.__version__, "engine": engine, "threads": torch.get_num_threads(), "float_ties": fties}
    if note:
        res["engine_note"] = note
    for key in QCONFIGS:
        t0 = time.perf_counter()
        qm, fused, seen = quantize(body, QCONFIGS[key](), calib, args.calib_batch)
        t_cal = time.perf_counter() - t0
        t0 = time.perf_counter()
        qpred, qties = predict(qm, Xte)
        t_eval = time.perf_counter() - t0
        res["fused"] = fused
        res[key + "_acc"] = round(100.0 * float((qpred == Yte).double().mean()), 4)
        res[key + "_drop"] = round(res["float_acc"] - res[key + "_acc"], 4)
        res[key + "_disagree"] = int((qpred != fpred).sum())
        res[key + "_ties"] = qties
        res[key + "_seconds"] = {"calibrate": round(t_cal, 3), "evaluate": round(t_eval, 3)}
        res[key + "_qparams"] = qparams(qm, seen)
        if not args.no_emulate:
            try:
                t0 = time.perf_counter()
                epred, lsb = against_emulation(qm, Xte)
                res[key + "_seconds"]["emulate"] = round(time.perf_counter() - t0, 3)
                res[key + "_emulated_acc"] = round(100.0 * float((epred == Yte).double().mean()), 4)
                res[key + "_engine_vs_emulation"] = int((epred != qpred).sum())
                res[key + "_logits_off"] = lsb
            except Fail as e:
                res[key + "_emulation_error"] = str(e)
    res["seconds"] = round(time.perf_counter() - t_start, 2)
    return res


LABELS = {"fbgemm_hist": 'get_default_qconfig("fbgemm"): activations uint8 affine from a HistogramObserver '
                         'with reduce_range (7 bits, 0..127); weights int8 per-channel symmetric',
          "minmax": "activations MinMaxObserver uint8 affine, full range 0..255 (min/max, as nnc); "
                    "weights default_per_channel_weight_observer (int8 per-channel symmetric)"}


def table(r):
    lines = ["%s, %s: %d test images; calibrated on the first %d training images (file order)"
             % (r["net"], r["weights"], r["test_images"], r["calibrate_count"]),
             "torch %s, engine %s%s, %d thread(s); fused with their relu: %s"
             % (r["torch"], r["engine"], (" (" + r["engine_note"] + ")") if "engine_note" in r else "",
                r["threads"], ", ".join(r["fused"]) or "nothing"),
             "",
             "%-17s %8s %9s %14s %9s   %s" % ("model", "accuracy", "vs float", "class changed", "top tied",
                                             "engine vs emulation"),
             "%-17s %7.2f%% %9s %14s %9d" % ("float32 twin", r["float_acc"], "", "", r["float_ties"])]
    for key in QCONFIGS:
        if key + "_engine_vs_emulation" in r:
            lo = r[key + "_logits_off"]
            emu = "%d images, %d of %d logits%s" % (r[key + "_engine_vs_emulation"], lo["count"], lo["of"],
                                                    " (at most %d step)" % lo["max_steps"] if lo["count"] else "")
        else:
            emu = r.get(key + "_emulation_error", "not run")
        lines.append("%-17s %7.2f%% %+9.2f %14d %9d   %s" % (
            "int8 " + key, r[key + "_acc"], -r[key + "_drop"], r[key + "_disagree"], r[key + "_ties"], emu))
    lines += [""] + ["%-12s %s" % (k + ":", v) for k, v in LABELS.items()] + [
        "vs float: points above (+) or below (-) the float twin.  class changed: test images whose int8 class",
        "differs from the float twin's.  top tied: images whose largest output occurs twice (argmax takes the first",
        "class).  engine vs emulation: images classified differently and int8 logits that differ (in steps of the",
        "output scale) between the engine and this script's emulation of FBGEMM's integer arithmetic.",
        "%.1f s in all." % r["seconds"]]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description="PyTorch post-training static int8 quantization of a .nn "
                                             "network's trained weights (the reference for nnc --quantize=int8)")
    ap.add_argument("net", help="NET.nn")
    ap.add_argument("weights", help="W.nnw, trained weights of NET.nn")
    ap.add_argument("--calibrate-count", type=int, default=1000,
                    help="calibrate on the first N training images (default 1000)")
    ap.add_argument("--calib-batch", type=int, default=1000,
                    help="images per calibration batch (the histogram observer depends slightly on it; default 1000)")
    ap.add_argument("--engine", default="fbgemm", help="quantized engine (default fbgemm; onednn when absent)")
    ap.add_argument("--engine-strict", action="store_true", help="fail instead of falling back to onednn")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--no-emulate", action="store_true", help="skip the emulation cross-check")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message="Please use quant_min and quant_max")   # reduce_range's deprecation
    try:
        r = run(args)
    except Fail as e:
        print("quant_twin: %s" % e, file=sys.stderr)
        return 1
    except RuntimeError as e:                       # an op the engine lacks, say
        print("quant_twin: torch: %s" % str(e).strip().splitlines()[0], file=sys.stderr)
        return 1
    print(json.dumps(r) if args.json else table(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
