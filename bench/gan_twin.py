#!/usr/bin/python3
"""gan_twin.py — examples/fashion_gan.nn against its PyTorch twin.

    python3 bench/gan_twin.py [--epochs 20] [--coretype Cooperlake] [--limit N]

Both sides start from the same weights (nnc's initialization, saved by
`nnc train --epochs 0 --save`), train the same networks with the same
optimizer, batch and number of epochs on Fashion-MNIST's 60,000 training
images (each side shuffles with its own generator), and are scored by the
same classifier: nnc loads the PyTorch generator's weights into its own
generator (the parameter layouts are the same: PyTorch's state_dict order)
and `nnc train ... --epochs 0 --judge` scores 10,000 images of each, with the
same noise, next to the 10,000 real test images.  The judge is
examples/fashion_cnn.nn trained by nnc (build/bench/gan/judge.nnw, trained
here if missing).

PyTorch runs with one thread (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1));
--coretype picks OpenBLAS's kernel (bench/run.py's "best", found by its sgemm
probe).  Prints both scores, the largest class share of each side's images,
training samples/s of each side (median over the epochs) and the ratios.
Writes build/bench/gan/results.json.
"""
import argparse
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
TRAIN = DATA + "/train-images-idx3-ubyte.gz"
TEST = DATA + "/t10k-images-idx3-ubyte.gz"
OUT = os.path.join(ROOT, "build", "bench", "gan")
NNC = os.path.join(ROOT, "nnc")
GAN = os.path.join(ROOT, "examples", "fashion_gan.nn")
CNN = os.path.join(ROOT, "examples", "fashion_cnn.nn")
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
PY = os.environ.get("TORCH_PYTHON", "/usr/bin/python3")   # Debian's python3-torch


def log(msg):
    print("gan_twin: " + msg, flush=True)


def nnc(*args):
    cmd = [NNC] + list(args)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("gan_twin: %s failed:\n%s%s" % (" ".join(cmd), p.stdout, p.stderr))
    return p.stdout


def read_nnw(path):
    b = open(path, "rb").read()
    magic, ver, fp, n = struct.unpack_from("<4sIQQ", b, 0)
    if magic != b"NNCW" or ver != 1 or len(b) != 28 + 4 * n:
        sys.exit("gan_twin: %s is not a version-1 .nnw file" % path)
    if zlib.crc32(b[:24 + 4 * n]) != struct.unpack_from("<I", b, 24 + 4 * n)[0]:
        sys.exit("gan_twin: %s: bad CRC" % path)
    return fp, list(struct.unpack_from("<%df" % n, b, 24))


def write_nnw(path, fp, params):
    body = struct.pack("<4sIQQ", b"NNCW", 1, fp, len(params)) + struct.pack("<%df" % len(params), *params)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(body + struct.pack("<I", zlib.crc32(body)))
    os.replace(tmp, path)


def quality(out):
    """The judge's lines of `nnc train --judge`: scores and the largest class share."""
    m = re.search(r"quality, judged by \S+ \(.*?\): (\S+) for (\d+) generated images(?:, (\S+) for (\d+) real)?", out)
    c = re.search(r"the largest class holds (\S+)%", out)
    shares = re.search(r"generated images per class:(.*)", out)
    if not m or not c:
        sys.exit("gan_twin: no quality lines in nnc's output:\n" + out)
    return {"generated": float(m.group(1)), "real": float(m.group(3)) if m.group(3) else None,
            "largest_class_pct": float(c.group(1)), "shares": shares.group(1).strip() if shares else ""}


def parse_gan(path):
    """The gan block's networks from the .nn text: {"gen": {...}, "disc": {...}, "noise": (kind, a, b)}, each
    network's input size, layers [("dense", units, act, slope) | ("dropout", p)], optimizer and batch.  Only
    what examples/fashion_gan.nn and its kin use (dense, dropout, adam): anything else stops the script."""
    text = re.sub(r"#[^\n]*", "", open(path).read())
    blocks = {m.group(2): (m.group(1), m.group(3)) for m in re.finditer(r"(network|gan)\s+(\w+)\s*\{([^}]*)\}", text)}
    gan = [b for name, (kind, b) in blocks.items() if kind == "gan"][0]
    roles = dict(re.findall(r"(generator|discriminator)\s+(\w+)", gan))
    nm = re.search(r"noise\s+(normal|uniform)\(\s*([-\d.e]+)\s*,\s*([-\d.e]+)\s*\)", gan)
    out = {"noise": (nm.group(1), float(nm.group(2)), float(nm.group(3))) if nm else ("normal", 0.0, 1.0)}
    for role, key in (("generator", "gen"), ("discriminator", "disc")):
        name = roles[role]
        net = {"name": name, "layers": [], "lr": 0.01, "betas": (0.9, 0.999), "batch": 1}
        for stmt in re.split(r"[;\n]", blocks[name][1]):
            w = stmt.split()
            if not w:
                continue
            if w[0] == "input":
                net["input"] = int(w[1])
            elif w[0] == "dense":
                act = w[2] if len(w) > 2 else "linear"
                m = re.match(r"leaky_relu(?:\(([\d.e-]+)\))?$", act)
                net["layers"].append(("dense", int(w[1]), "leaky_relu" if m else act,
                                      float(m.group(1) or 0.01) if m else 0.0))
            elif w[0] == "dropout":
                net["layers"].append(("dropout", float(w[1])))
            elif w[0] == "optimizer" and w[1] == "adam":
                kv = dict(x.split("=") for x in w[2:])
                net["lr"] = float(kv.get("lr", 0.001))
                net["betas"] = (float(kv.get("beta1", 0.9)), float(kv.get("beta2", 0.999)))
            elif w[0] == "batch":
                net["batch"] = int(w[1])
            elif w[0] not in ("loss", "seed", "epochs"):
                sys.exit("gan_twin: the twin does not know '%s' (network %s)" % (stmt.strip(), name))
        out[key] = net
    return out


def dense_dims(net):
    dims, n = [], net["input"]
    for l in net["layers"]:
        if l[0] == "dense":
            dims.append((n, l[1]))
            n = l[1]
    return dims


def flop_per_sample(g):
    """Multiply-adds x 2 of one sample's share of a step: G forward and backward (no dx), D forward three
    times, backward twice without dx (real, fake) and once with it (the generator's loss)."""
    sg = sum(a * b for a, b in dense_dims(g["gen"]))
    sd = sum(a * b for a, b in dense_dims(g["disc"]))
    fg, fd = dense_dims(g["gen"])[0], dense_dims(g["disc"])[0]
    return 2 * (sg + (2 * sg - fg[0] * fg[1]) + 3 * sd + 2 * (2 * sd - fd[0] * fd[1]) + 2 * sd)


def torch_twin(args, init_prefix):
    """Trains the PyTorch twin from nnc's initial weights; returns its samples/s per epoch."""
    import gzip
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    g = parse_gan(args.gan)
    raw = gzip.open(TRAIN).read()
    n = struct.unpack_from(">I", raw, 4)[0]
    x = torch.frombuffer(bytearray(raw[16:16 + n * 784]), dtype=torch.uint8).float().div_(255).view(n, 784)
    if args.limit:
        x = x[:args.limit]

    def build(net):
        mods, width = [], net["input"]
        for l in net["layers"]:
            if l[0] == "dropout":
                mods.append(torch.nn.Dropout(l[1]))
                continue
            mods.append(torch.nn.Linear(width, l[1]))
            width = l[1]
            act = {"relu": torch.nn.ReLU(), "sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(),
                   "leaky_relu": torch.nn.LeakyReLU(l[3]), "linear": None}[l[2]]
            if act is not None:
                mods.append(act)
        return torch.nn.Sequential(*mods)

    gen, disc = build(g["gen"]), build(g["disc"])
    nz, bs = g["gen"]["input"], g["gen"]["batch"]
    kind, na, nb = g["noise"]
    fps = {}
    for name, net in ((g["gen"]["name"], gen), (g["disc"]["name"], disc)):
        fp, p = read_nnw("%s.%s.nnw" % (init_prefix, name))
        fps[name] = fp
        t = torch.tensor(p)
        at = 0
        with torch.no_grad():
            for q in net.parameters():
                q.copy_(t[at:at + q.numel()].view_as(q))
                at += q.numel()
        assert at == len(p)
    og = torch.optim.Adam(gen.parameters(), lr=g["gen"]["lr"], betas=g["gen"]["betas"])
    od = torch.optim.Adam(disc.parameters(), lr=g["disc"]["lr"], betas=g["disc"]["betas"])
    bce = torch.nn.BCELoss()
    rates = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        order = torch.randperm(len(x))
        dsum = gsum = 0.0
        steps = 0
        for b in range(0, len(x), bs):
            real = x[order[b:b + bs]]
            k = len(real)
            z = torch.randn(k, nz) * nb + na if kind == "normal" else torch.rand(k, nz) * (nb - na) + na
            fake = gen(z)
            od.zero_grad()
            err_real = bce(disc(real), torch.ones(k, 1))
            err_real.backward()
            err_fake = bce(disc(fake.detach()), torch.zeros(k, 1))
            err_fake.backward()
            od.step()
            og.zero_grad()
            err_g = bce(disc(fake), torch.ones(k, 1))
            err_g.backward()
            og.step()
            dsum += (err_real + err_fake).item()
            gsum += err_g.item()
            steps += 1
        secs = time.perf_counter() - t0
        rates.append(len(x) / secs)
        log("PyTorch epoch %d/%d  discriminator loss %.4f  generator loss %.4f  %.0f samples/s"
            % (epoch + 1, args.epochs, dsum / steps, gsum / steps, rates[-1]))
    prefix = os.path.join(OUT, "torch")
    for name, net in ((g["gen"]["name"], gen), (g["disc"]["name"], disc)):
        params = [float(v) for q in net.parameters() for v in q.detach().reshape(-1).tolist()]
        write_nnw("%s.%s.nnw" % (prefix, name), fps[name], params)
    return rates, prefix


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (a smoke run)")
    ap.add_argument("--coretype", default="", help="OPENBLAS_CORETYPE for PyTorch (default: as installed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gan", default=GAN, help="the .nn file (default: examples/fashion_gan.nn)")
    ap.add_argument("--torch-side", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    if args.torch_side:   # the child process, in PyTorch's environment
        rates, prefix = torch_twin(args, os.path.join(OUT, "init"))
        print("RESULT " + json.dumps({"rates": rates, "prefix": prefix}))
        return
    info = {}
    for line in open("/proc/cpuinfo"):
        k, _, v = line.partition(":")
        info.setdefault(k.strip(), v.strip())
    cpu = "%s (family %s, model %s)" % (info.get("model name", "?"), info.get("cpu family", "?"), info.get("model", "?"))
    log("CPU: %s" % cpu.strip())
    judge = os.path.join(OUT, "judge.nnw")
    if not os.path.exists(judge):
        log("training the judge: examples/fashion_cnn.nn, its file's 10 epochs (cc)")
        nnc("train", CNN, "--jit=cc", "--data", TRAIN, "--test", TEST, "--save", judge)
    lim = ["--limit", str(args.limit)] if args.limit else []
    seed = ["--seed", str(args.seed)]
    nnc("train", args.gan, "--jit=cc", "--epochs", "0", "--data", TRAIN, "--save", os.path.join(OUT, "init.nnw"), *seed)
    log("nnc: %d epochs" % args.epochs)
    out = nnc("train", args.gan, "--jit=cc", "--epochs", str(args.epochs), "--data", TRAIN, *lim, *seed,
              "--save", os.path.join(OUT, "nnc.nnw"), "--judge", CNN, "--judge-weights", judge, "--test", TEST)
    nnc_rates = [float(r) for r in re.findall(r"generator loss \S+\s+(\d+) samples/s", out)]
    nnc_q = quality(out)
    log("nnc: %.0f samples/s (median), score %.3f, largest class %.1f%%"
        % (statistics.median(nnc_rates), nnc_q["generated"], nnc_q["largest_class_pct"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    if args.coretype:
        env.update(OPENBLAS_CORETYPE=args.coretype, LD_LIBRARY_PATH=OPENBLAS_DIR)
    log("PyTorch (1 thread, OpenBLAS %s): %d epochs" % (args.coretype or "as installed", args.epochs))
    p = subprocess.run([PY, os.path.abspath(__file__), "--torch-side", "--gan", args.gan, "--epochs", str(args.epochs),
                        "--limit", str(args.limit), "--seed", str(args.seed)], env=env, capture_output=True, text=True)
    sys.stdout.write(p.stdout.replace("RESULT ", "gan_twin: result ") if p.returncode else
                     "".join(l + "\n" for l in p.stdout.splitlines() if not l.startswith("RESULT ")))
    if p.returncode != 0:
        sys.exit("gan_twin: the PyTorch side failed:\n" + p.stderr)
    tw = json.loads([l for l in p.stdout.splitlines() if l.startswith("RESULT ")][-1][7:])
    out = nnc("train", args.gan, "--jit=cc", "--epochs", "0", "--data", TRAIN, "--load", tw["prefix"] + ".nnw", *seed,
              "--judge", CNN, "--judge-weights", judge, "--test", TEST)
    torch_q = quality(out)
    flop = flop_per_sample(parse_gan(args.gan))
    res = {"cpu": cpu.strip(), "epochs": args.epochs, "limit": args.limit, "coretype": args.coretype,
           "gan": os.path.relpath(args.gan, ROOT), "flop_per_sample": flop,
           "nnc": {"samples_per_sec": nnc_rates, "quality": nnc_q},
           "torch": {"samples_per_sec": tw["rates"], "quality": torch_q}}
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump(res, f, indent=1)
    ns, ts = statistics.median(nnc_rates), statistics.median(tw["rates"])
    print()
    print("| %s, %d epochs | nnc | PyTorch 1 thread | ratio |" % (os.path.relpath(args.gan, ROOT), args.epochs))
    print("|---|---|---|---|")
    print("| score of 10,000 generated images (judge: fashion_cnn) | %.3f | %.3f | %.3f (bar: >= 0.9) |"
          % (nnc_q["generated"], torch_q["generated"], nnc_q["generated"] / torch_q["generated"]))
    print("| score of the 10,000 real test images | %.3f | | |" % nnc_q["real"])
    print("| largest class of the generated images | %.1f%% | %.1f%% | (bar: <= 25%%) |"
          % (nnc_q["largest_class_pct"], torch_q["largest_class_pct"]))
    print("| training samples/s (median over epochs) | %.0f | %.0f | %.2fx (bar: >= 3x) |" % (ns, ts, ns / ts))
    print("| GFLOP/s (%.2f MFLOP a sample) | %.1f | %.1f | |" % (flop / 1e6, ns * flop / 1e9, ts * flop / 1e9))
    print("per class, nnc:     " + nnc_q["shares"])
    print("per class, PyTorch: " + torch_q["shares"])


if __name__ == "__main__":
    main()
