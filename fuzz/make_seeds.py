#!/usr/bin/env python3
"""make_seeds.py — writes the binary seed inputs of fuzz/corpus/idx and
fuzz/corpus/weights and fuzz/corpus/checkpoint (the text seeds of the other
targets are plain files).  Checkpoint seeds are of fuzz_checkpoint.c's
stand-in network, written here field by field, and broken copies.

    python3 fuzz/make_seeds.py          from the repository root; needs ./nnc

IDX seeds use fuzz_idx.c's input format: a flags byte, a big-endian 16-bit
length L, an images file of L bytes, then a labels file.  Weight seeds are
real .nnw files written by `nnc train --save`, and broken copies of them.
Two real Fashion-MNIST images are used when the data set is installed."""
import gzip
import os
import struct
import subprocess
import sys
import tempfile
import zlib

FM = "/usr/share/datasets/fashion-mnist"


def idx(dims, payload, type_code=8):
    head = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + bytes(payload)


def seed(flags, images, labels=b""):
    return bytes([flags]) + struct.pack(">H", len(images)) + images + labels


def outputs(n):   # flags bits 1-2
    return {1: 0, 2: 1, 10: 2, 256: 3}[n] << 1


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def idx_seeds():
    d = "fuzz/corpus/idx"
    px = [0, 64, 128, 255, 255, 0, 0, 255, 10, 20, 30, 40]
    images = idx([3, 2, 2], px)
    labels = idx([3], [0, 1, 2])
    write(d, "tiny_10_classes", seed(outputs(10), images, labels))
    write(d, "tiny_binary", seed(outputs(1), images, idx([3], [0, 1, 1])))
    write(d, "tiny_256_classes", seed(outputs(256), images, idx([3], [255, 0, 128])))
    write(d, "images_only", seed(1, images))
    write(d, "inputs_mismatch", seed(outputs(10) | 8, images, labels))
    write(d, "gzip_parts", seed(outputs(10), gzip.compress(images, 9), gzip.compress(labels, 9)))
    write(d, "gzip_truncated", seed(outputs(10), gzip.compress(images, 9)[:-6], labels))
    write(d, "gzip_corrupt", seed(outputs(10), gzip.compress(images, 9)[:12] + b"\xff" * 8, labels))
    write(d, "wrong_magic", seed(outputs(10), b"\x1f\x00" + images[2:], labels))
    write(d, "labels_as_images", seed(outputs(10), labels, images))
    write(d, "float_type", seed(outputs(10), idx([3, 2, 2], px, 0x0D), labels))
    write(d, "truncated_images", seed(outputs(10), images[:-3], labels))
    write(d, "truncated_header", seed(outputs(10), images[:10], labels))
    write(d, "extra_byte", seed(outputs(10), images + b"\x00", labels))
    write(d, "count_mismatch", seed(outputs(10), images, idx([2], [0, 1])))
    write(d, "label_out_of_range", seed(outputs(2), images, labels))
    write(d, "zero_images", seed(outputs(10), idx([0, 2, 2], []), idx([0], [])))
    write(d, "huge_count", seed(outputs(10), idx([0xFFFFFFFF, 2, 2], px), labels))
    write(d, "huge_image", seed(outputs(10), idx([1, 65536, 32768], px), idx([1], [0])))
    try:
        with gzip.open(f"{FM}/t10k-images-idx3-ubyte.gz") as f:
            raw = f.read(16 + 2 * 784)
        with gzip.open(f"{FM}/t10k-labels-idx1-ubyte.gz") as f:
            lab = f.read(8 + 2)
        fm_images = idx([2, 28, 28], raw[16:])
        fm_labels = idx([2], lab[8:])
        write(d, "fashion_2", seed(outputs(10), fm_images, fm_labels))
        write(d, "fashion_2_gzip", seed(outputs(10), gzip.compress(fm_images, 9), gzip.compress(fm_labels, 9)))
    except OSError as e:
        print(f"make_seeds: no Fashion-MNIST seeds ({e})", file=sys.stderr)


def nnw(fp, params, version=1):
    body = b"NNCW" + struct.pack("<IQQ", version, fp, len(params)) + b"".join(struct.pack("<f", p) for p in params)
    return body + struct.pack("<I", zlib.crc32(body))


def weights_seeds():
    d = "fuzz/corpus/weights"
    real = {}
    with tempfile.TemporaryDirectory() as tmp:
        for net, data, epochs in (("xor", "xor", 5), ("spiral", "spiral", 1)):
            path = os.path.join(tmp, net + ".nnw")
            subprocess.run(["./nnc", "train", f"examples/{net}.nn", "--data", f"examples/{data}.csv",
                            "--epochs", str(epochs), "--save", path], check=True, stdout=subprocess.DEVNULL)
            with open(path, "rb") as f:
                real[net] = f.read()
    x = real["xor"]
    write(d, "xor.nnw", x)
    write(d, "spiral.nnw", real["spiral"])
    write(d, "empty.nnw", b"")
    write(d, "magic_only.nnw", b"NNCW")
    write(d, "text.nnw", b"NNC\n")
    write(d, "header_only.nnw", x[:24])
    write(d, "truncated_27.nnw", x[:27])
    write(d, "truncated_param.nnw", x[:-6])
    write(d, "trailing_byte.nnw", x + b"\x00")
    write(d, "bad_crc.nnw", x[:-1] + bytes([x[-1] ^ 1]))
    write(d, "flipped_param.nnw", x[:30] + bytes([x[30] ^ 0x80]) + x[31:])
    write(d, "version_2.nnw", nnw(1, [1.0, 2.0], version=2))
    write(d, "no_params.nnw", nnw(0x1234, []))
    write(d, "special_floats.nnw", nnw(7, [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1e-45, 3.4e38]))
    write(d, "huge_count.nnw", b"NNCW" + struct.pack("<IQQ", 1, 5, 2**62) + b"\x00" * 8)
    write(d, "max_count.nnw", b"NNCW" + struct.pack("<IQQ", 1, 5, 2**64 - 1) + b"\x00" * 8)


def nnck(blocks, order, fp=11, settings=22, batch=16, epoch=2, pos=0, version=1):
    """A checkpoint of fuzz_checkpoint.c's stand-in network (runtime/resume.c's layout)."""
    n = len(order)
    b = b"NNCK" + struct.pack("<IQQQQQ", version, fp, settings, batch, n, 0x1234)
    b += struct.pack("<IQQddQQdII", epoch, pos, 99, 1.5, 0.0, 3, 48, 0.75, 1, 0)
    b += struct.pack("<Q", n) + b"".join(struct.pack("<Q", i) for i in order)
    b += struct.pack("<I", len(blocks))
    for name, kind, values in blocks:
        b += struct.pack("<I", len(name)) + name + struct.pack("<IQ", kind, len(values))
        b += b"".join(struct.pack("<Q", v) if kind == 1 else struct.pack("<f", v) for v in values)
    return b + struct.pack("<I", zlib.crc32(b))


def checkpoint_seeds():
    d = "fuzz/corpus/checkpoint"
    good = [(b"param", 0, [0.5 * i for i in range(9)]), (b"lr", 0, [0.01]), (b"step", 1, [40])]
    x = nnck(good, [3, 1, 0, 2, 4])
    write(d, "good.nnck", x)
    write(d, "mid_epoch.nnck", nnck(good, [4, 3, 2, 1, 0], pos=2))
    write(d, "empty.nnck", b"")
    write(d, "weights.nnck", nnw(1, [1.0]))
    write(d, "truncated.nnck", x[:-7])
    write(d, "bad_crc.nnck", x[:-1] + bytes([x[-1] ^ 1]))
    write(d, "not_permutation.nnck", nnck(good, [0, 0, 1, 2, 3]))
    write(d, "out_of_range.nnck", nnck(good, [0, 1, 2, 3, 9]))
    write(d, "wrong_block.nnck", nnck([(b"param", 0, [0.0] * 8)] + good[1:], [0, 1, 2, 3, 4]))
    write(d, "long_name.nnck", nnck([(b"p" * 200, 0, [0.0])] + good[1:], [0, 1, 2, 3, 4]))
    write(d, "bad_kind.nnck", nnck([(b"param", 7, [0.0] * 9)] + good[1:], [0, 1, 2, 3, 4]))
    write(d, "pos_past_end.nnck", nnck(good, [0, 1, 2, 3, 4], pos=9))
    write(d, "version_2.nnck", nnck(good, [0, 1, 2, 3, 4], version=2))


if __name__ == "__main__":
    idx_seeds()
    weights_seeds()
    checkpoint_seeds()
