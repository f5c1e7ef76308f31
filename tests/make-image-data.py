#!/usr/bin/env python3
"""make-image-data.py - colour image sets in the formats gpool reads, made
without gpool (tests/data-formats.sh trains on them and feeds it their
broken variants).

    make-image-data.py cifar DIR TRAIN TEST       CIFAR-10 binary batches
    make-image-data.py npz FILE TRAIN TEST        numpy.savez, uint8 NHWC
    make-image-data.py npy DIR TRAIN TEST LAYOUT DTYPE   four .npy files
    make-image-data.py pngdir DIR TRAIN TEST      train/ and test/ PNG folders
    make-image-data.py png FILE KIND [H W]        one H x W (6 x 5) PNG of colour type KIND

The class is in the colour only: class k of 4 lifts channel k (red, green,
blue) of a random patch, class 3 lifts all three by a third as much, so
every class adds the same brightness and a network that sees one grey
channel cannot tell them apart. The rest is uniform noise; the seed is
fixed, so the files are the same every time. PNGs are written with zlib
and struct, not libpng, so the reader is checked against another writer.
"""
import random
import struct
import sys
import zlib

CLASSES = 4
LIFT = 90


def image(rng, label, side, channels=3):
    """side x side x channels bytes (HWC) of class label."""
    px = [[[rng.randrange(0, 110) for _ in range(channels)] for _ in range(side)]
          for _ in range(side)]
    ph, pw = rng.randrange(side // 2, side), rng.randrange(side // 2, side)
    r0, c0 = rng.randrange(0, side - ph + 1), rng.randrange(0, side - pw + 1)
    for r in range(r0, r0 + ph):
        for c in range(c0, c0 + pw):
            for ch in range(channels):
                lift = LIFT if ch == label else LIFT // 3 if label == 3 else 0
                px[r][c][ch] = min(255, px[r][c][ch] + lift)
    return px


def dataset(count, side, seed):
    rng = random.Random(seed)
    labels = [i % CLASSES for i in range(count)]
    rng.shuffle(labels)
    return [image(rng, y, side) for y in labels], labels


def planes(px):
    """HWC -> the CHW bytes of one image."""
    side = len(px)
    return bytes(px[r][c][ch] for ch in range(3) for r in range(side) for c in range(side))


def write_cifar(d, ntrain, ntest):
    import os
    os.makedirs(d, exist_ok=True)
    per = (ntrain + 4) // 5
    ims, ys = dataset(ntrain, 32, 1)
    for b in range(5):
        with open(f"{d}/data_batch_{b + 1}.bin", "wb") as f:
            for px, y in zip(ims[b * per:(b + 1) * per], ys[b * per:(b + 1) * per]):
                f.write(bytes([y]) + planes(px))
    ims, ys = dataset(ntest, 32, 2)
    with open(f"{d}/test_batch.bin", "wb") as f:
        for px, y in zip(ims, ys):
            f.write(bytes([y]) + planes(px))


def arrays(count, side, seed, layout, dtype):
    import numpy as np
    ims, ys = dataset(count, side, seed)
    x = np.array(ims, dtype=np.uint8)                    # N x H x W x C
    if layout == "nchw":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    elif layout == "nhw":
        x = x[:, :, :, 0] // 2 + x[:, :, :, 1] // 2       # grey: the class is lost
    if dtype == "float32":
        x = x.astype(np.float32) / 255.0
    return x, np.array(ys, dtype=np.int64)


def write_npz(path, ntrain, ntest):
    import numpy as np
    xtr, ytr = arrays(ntrain, 16, 1, "nhwc", "uint8")
    xte, yte = arrays(ntest, 16, 2, "nhwc", "uint8")
    np.savez_compressed(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)


def write_npy(d, ntrain, ntest, layout, dtype):
    import numpy as np
    xtr, ytr = arrays(ntrain, 16, 1, layout, dtype)
    xte, yte = arrays(ntest, 16, 2, layout, dtype)
    np.save(f"{d}/x_train.npy", xtr)
    np.save(f"{d}/y_train.npy", ytr.astype(np.int32))
    np.save(f"{d}/x_test.npy", xte)
    np.save(f"{d}/y_test.npy", yte.astype(np.uint8))


def chunk(kind, data):
    c = kind + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)


def png_bytes(rows, colour_type, depth=8, palette=None, trns=None):
    """A PNG of rows (lists of samples, already in the colour type's order)."""
    h, w = len(rows), None
    raw = b""
    for row in rows:
        if depth == 16:
            line = b"".join(struct.pack(">H", v) for v in row)
        else:
            line = bytes(row)
        raw += b"\0" + line
    per = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    w = len(rows[0]) // per
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth,
                                                             colour_type, 0, 0, 0))
    if palette is not None:
        out += chunk(b"PLTE", bytes(v for rgb in palette for v in rgb))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def png_of(px, kind):
    """px (HWC RGB bytes) as a PNG of colour type kind: rgb, rgba, grey,
    greyalpha, palette, rgb16."""
    if kind == "rgb":
        return png_bytes([[v for p in row for v in p] for row in px], 2)
    if kind == "rgba":
        return png_bytes([[v for p in row for v in p + [200]] for row in px], 6)
    if kind == "rgb16":
        return png_bytes([[v * 257 for p in row for v in p] for row in px], 2, 16)
    if kind == "grey":
        return png_bytes([[sum(p) // 3 for p in row] for row in px], 0)
    if kind == "greyalpha":
        return png_bytes([[v for p in row for v in (sum(p) // 3, 255)] for row in px], 4)
    if kind == "palette":
        colours = sorted({tuple(p) for row in px for p in row})
        if len(colours) > 256:
            raise SystemExit("palette: more than 256 colours")
        index = {c: i for i, c in enumerate(colours)}
        return png_bytes([[index[tuple(p)] for p in row] for row in px], 3, 8, colours)
    raise SystemExit(f"unknown PNG kind {kind}")


KINDS = ["rgb", "rgba", "rgb16", "palette"]


def write_pngdir(d, ntrain, ntest):
    """Colour PNGs; the colour types rotate so that every colour-keeping
    one is read while training."""
    import os
    names = ["cat", "dog", "frog", "ship"]      # sorted: labels follow this order
    for split, count, seed in (("train", ntrain, 1), ("test", ntest, 2)):
        ims, ys = dataset(count, 12, seed)
        for i, (px, y) in enumerate(zip(ims, ys)):
            kind = KINDS[i % len(KINDS)]
            if kind == "palette":     # a palette holds 256 colours: quantise
                px = [[[v & 0xe0 for v in p] for p in row] for row in px]
            os.makedirs(f"{d}/{split}/{names[y]}", exist_ok=True)
            with open(f"{d}/{split}/{names[y]}/{i:05d}.png", "wb") as f:
                f.write(png_of(px, kind))


def write_png(path, kind, h=6, w=5):
    """One h x w image with varied, known colours (pixel (r, c) is
    ((40 r + 10) % 256, (30 c + 20) % 256, (200 + 25 r) % 256)), as colour
    type kind."""
    px = [[[(40 * r + 10) % 256, (30 * c + 20) % 256, (200 + 25 * r) % 256] for c in range(w)]
          for r in range(h)]
    with open(path, "wb") as f:
        f.write(png_of(px, kind))


def main(argv):
    cmd = argv[1]
    if cmd == "cifar":
        write_cifar(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "npz":
        write_npz(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "npy":
        write_npy(argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6])
    elif cmd == "pngdir":
        write_pngdir(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "png":
        write_png(argv[2], argv[3], *(int(v) for v in argv[4:6]))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
