"""idx_to_csv.py IMAGES N — the first N images of an IDX image file (MNIST's
format, gzip or not) as CSV on standard output, an image a line: its pixels
row by row, each scaled as nnc train scales them (runtime/data.c: the byte
divided by 255 in float), in %.9g, which gives that float back exactly."""
import gzip
import struct
import sys


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            sys.exit("%s: not an IDX image file (magic 0x%x)" % (path, magic))
        if n > count:
            sys.exit("%s: has %d images, not %d" % (path, count, n))
        size = rows * cols
        for _ in range(n):
            pixels = f.read(size)
            # byte / 255 in double, then rounded to float: the same float as
            # the division in float for every byte (checked for all 256)
            values = (struct.unpack("f", struct.pack("f", b / 255))[0] for b in pixels)
            print(",".join("%.9g" % v for v in values))


main()
