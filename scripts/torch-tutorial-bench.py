#!/usr/bin/python3
"""Training-step and inference throughput of the tutorial net in PyTorch.

The same measurement `../shared/reference/train.py --bench` makes for the BN
trunk, for the tutorial's network (configs/tutorial.yaml: six 3x3 convs with
ReLU, three max-pools, conv1x1 to 10, global average pooling, sigmoid, then
cross-entropy; Adam 3e-4): consecutive batches of the training set, WARMUP
untimed steps, then REPEATS timed runs of STEPS steps. Prints CSV rows with
the columns of `gpool throughput`.

Usage: scripts/torch-tutorial-bench.py [--threads 2] [--steps 200] [--warmup 20] [--repeats 3]
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    x = read_idx(os.path.join(DATA, f"{split}-images-idx3-ubyte.gz")).astype(np.float32) / 255
    y = read_idx(os.path.join(DATA, f"{split}-labels-idx1-ubyte.gz")).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def tutorial_net():
    def conv(i, o, k=3):
        return nn.Conv2d(i, o, k, padding=1 if k == 3 else 0)
    m = nn.Sequential(conv(1, 8), nn.ReLU(), conv(8, 8), nn.ReLU(), nn.MaxPool2d(2),
                      conv(8, 16), nn.ReLU(), conv(16, 16), nn.ReLU(), nn.MaxPool2d(2),
                      conv(16, 32), nn.ReLU(), conv(32, 32), nn.ReLU(), nn.MaxPool2d(2),
                      conv(32, 10, 1), nn.AvgPool2d(3))
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.constant_(mod.bias, 0.01)
    return m


def emit(kind, batch, rep, steps, seconds, threads):
    print(f"{kind},gap,{batch},{rep},{steps},{seconds:.4f},{steps * batch / seconds:.1f},"
          f"{1000 * seconds / steps:.4f},{threads}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    xtr, ytr = load("train")
    xte, _ = load("t10k")
    print("kind,head,batch,rep,steps,seconds,img_per_s,ms_per_step,threads")
    for bs in (64, 256):
        torch.manual_seed(a.seed)
        m = tutorial_net()
        opt = torch.optim.Adam(m.parameters(), lr=3e-4)
        nb = xtr.shape[0] // bs
        k = 0
        for rep in range(a.repeats + 1):
            steps = a.warmup if rep == 0 else a.steps
            t0 = time.perf_counter()
            for _ in range(steps):
                j = (k % nb) * bs
                out = torch.sigmoid(m(xtr[j:j + bs]).view(-1, 10))
                loss = F.cross_entropy(out, ytr[j:j + bs])
                opt.zero_grad()
                loss.backward()
                opt.step()
                loss.item()
                k += 1
            if rep:
                emit("train_step", bs, rep, steps, time.perf_counter() - t0, a.threads)
    torch.manual_seed(a.seed)
    m = tutorial_net().eval()
    bs = 256
    nb = xte.shape[0] // bs
    with torch.no_grad():
        k = 0
        for rep in range(a.repeats + 1):
            steps = a.warmup if rep == 0 else a.steps
            t0 = time.perf_counter()
            for _ in range(steps):
                m(xte[(k % nb) * bs:(k % nb) * bs + bs])
                k += 1
            if rep:
                emit("inference", bs, rep, steps, time.perf_counter() - t0, a.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
