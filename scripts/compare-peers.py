#!/usr/bin/env python3
"""compare-peers.py - gpool's global pooling kernels against PyTorch, oneDNN
and XNNPACK, from two CSVs measured in one sitting on the same machine.

usage: compare-peers.py GPOOL_BENCH_CSV PEERS_RESULTS_CSV [OUT.md]

GPOOL_BENCH_CSV   results/kernels/bench.csv written by `gpool bench`
PEERS_RESULTS_CSV results.csv written by the peers harness (shared/peers/run.sh)

Only forward rows are compared (the peers measure forward only). Both sides
are put on the peers' footing: GB/s = input bytes / median time, and frac =
that GB/s / the same-moment probe of the row's own input buffers (gpool's
probe_gbps, the peers' probe_now_GBps). For every (shape, op, layout,
threads, mode) the table gives gpool's `auto` row, the best implementation of
each peer library, and the ratio best-peer time / gpool time (> 1: gpool is
faster). A second table gives gpool against PyTorch's max on NCHW. First, a
summary of gpool's `auto` rows against its own probe (bench.csv's frac, which
counts bytes read and written), inputs of 1 MiB or more, and the rows short of
the kernel bar (1 thread: cold >= 0.9, hot >= 0.85; 2 threads cold >= 0.9 from
4 MiB; below 4 MiB, `auto` no slower than the fastest single-threaded variant).
"""
import csv
import os
import statistics
import sys
from collections import defaultdict

LIBS = (("PyTorch", "torch."), ("oneDNN", "onednn_"), ("XNNPACK", "xnnpack_"))
SAME_CODE_NOISE = 0.03


def library_of(impl):
    for name, prefix in LIBS:
        if impl.startswith(prefix):
            return name
    return None


def shape_key(r, n="n", c="c", h="h", w="w"):
    return tuple(int(r[k]) for k in (n, c, h, w))


def load_gpool(path):
    """gpool's forward `auto` rows by key, and the fastest single-threaded
    variant's median time by key."""
    rows, single = {}, {}
    for r in csv.DictReader(open(path)):
        if r["pass"] != "fwd":
            continue
        key = (shape_key(r), r["op"], r["layout"], int(r["threads"]), r["mode"])
        if r["variant"] != "auto":
            if r["threaded"] == "0":
                sec = float(r["median_s"])
                single[key] = min(single.get(key, sec), sec)
            continue
        nbytes = 4 * key[0][0] * key[0][1] * key[0][2] * key[0][3]
        sec = float(r["median_s"])
        gbps = nbytes / sec / 1e9
        rows[key] = {"us": sec * 1e6, "gbps": gbps, "frac": gbps / float(r["probe_gbps"]),
                     "bench_frac": float(r["frac"]), "mib": nbytes / 2**20,
                     "impl": r.get("impl", r.get("auto_variant", "auto")),
                     "disturbed": r.get("note", "").startswith("disturbed")}
    for key, sec in single.items():
        if key in rows:
            rows[key]["best_single_s"] = sec
    return rows


def bar_target(threads, mode, mib):
    """The bar's frac target for a row, or None where it sets none."""
    if threads == 1 and mib >= 1:
        return 0.9 if mode == "cold" else 0.85
    if threads == 2 and mode == "cold" and mib >= 4:
        return 0.9
    return None


def frac_summary(gpool):
    """gpool's auto rows against its own probe (bench.csv's frac: bytes read and
    written), and the rows short of the bar's targets."""
    rows = [(k[3], k[4], k[0], k[1], k[2], g["mib"], g["bench_frac"]) for k, g in gpool.items()]
    out = ["## gpool `auto` against its own probe (inputs of 1 MiB or more)", "",
           "| | 1 thread hot | 1 thread cold | 2 threads hot | 2 threads cold |",
           "|---|---|---|---|---|"]
    cells = []
    for threads, mode in ((1, "hot"), (1, "cold"), (2, "hot"), (2, "cold")):
        f = [r[6] for r in rows if r[0] == threads and r[1] == mode and r[5] >= 1]
        cells.append("%.2f [%.2f-%.2f] (%d rows)" % (statistics.median(f), min(f), max(f), len(f))
                     if f else "-")
    out += ["| median frac [min-max] | " + " | ".join(cells) + " |", ""]
    targeted = [(r, bar_target(r[0], r[1], r[5])) for r in rows]
    targeted = [(r, t) for r, t in targeted if t is not None]
    short = sorted((r for r, t in targeted if r[6] < t), key=lambda r: r[6])
    out.append(f"Rows short of the bar's frac target: {len(short)} of {len(targeted)}.")
    out.append("")
    for r in short:
        out.append("- %s %s %s, %d thread(s), %s, %.1f MiB: %.3f" % (
            fmt_shape(r[2]), r[3], r[4], r[0], r[1], r[5], r[6]))
    return out + [""] + small_input_check(gpool)


def small_input_check(gpool):
    """The bar for 2-thread cold rows under 4 MiB: `auto` no slower than the
    fastest single-threaded variant. Two measurements of the same code differ
    by a few per cent here, so only a margin beyond SAME_CODE_NOISE counts."""
    rows = sorted(((k, g["us"] / 1e6 / g["best_single_s"]) for k, g in gpool.items()
                   if k[3] == 2 and k[4] == "cold" and g["mib"] < 4 and "best_single_s" in g),
                  key=lambda kr: -kr[1])
    if not rows:
        return []
    slower = [(k, r) for k, r in rows if r > 1 + SAME_CODE_NOISE]
    out = ["2 threads, cold, inputs under 4 MiB: `auto` time / the fastest single-threaded "
           "variant's time is %.2f-%.2f over %d rows; %d rows are more than %d %% slower." % (
               min(r for _, r in rows), max(r for _, r in rows), len(rows), len(slower),
               round(100 * SAME_CODE_NOISE)), ""]
    for k, r in slower:
        out.append("- %s %s %s: %.2f" % (fmt_shape(k[0]), k[1], k[2], r))
    return out + ([""] if slower else [])


def load_peers(path):
    best = defaultdict(dict)   # key -> library -> row
    amax = {}                  # key -> best PyTorch max row on NCHW
    for r in csv.DictReader(open(path)):
        lib = library_of(r["impl"])
        if lib is None or r.get("ok", "1") not in ("1", "True", "true", "ok", "yes"):
            continue
        key = ((int(r["N"]), int(r["C"]), int(r["H"]), int(r["W"])), r["op"], r["layout"],
               int(r["threads"]), r["mode"])
        us = float(r["med_us"])
        probe = float(r.get("probe_now_GBps") or "nan")
        row = {"us": us, "gbps": float(r["GBps"]), "frac": float(r["GBps"]) / probe,
               "impl": r["impl"]}
        if lib not in best[key] or us < best[key][lib]["us"]:
            best[key][lib] = row
        if lib == "PyTorch" and r["op"] == "max" and r["layout"] == "nchw":
            if key not in amax or us < amax[key]["us"]:
                amax[key] = row
    return best, amax


def fmt_shape(s):
    return "%dx%dx%dx%d" % s


def main_table(gpool, best):
    out = ["| shape (NCHW dims) | op | layout | threads | mode | gpool GB/s (frac) | "
           + " | ".join(f"{lib} GB/s (frac)" for lib, _ in LIBS)
           + " | best peer | best peer time / gpool time |",
           "|---|---|---|---|---|---|" + "---|" * len(LIBS) + "---|---|"]
    ratios = []
    for key in sorted(gpool, key=lambda k: (k[3], k[4], k[1], k[2], k[0])):
        if key not in best:
            continue
        g = gpool[key]
        cells = []
        for lib, _ in LIBS:
            p = best[key].get(lib)
            cells.append("%.1f (%.2f)" % (p["gbps"], p["frac"]) if p else "-")
        top = min(best[key].values(), key=lambda p: p["us"])
        ratio = top["us"] / g["us"]
        ratios.append((ratio, key, g["frac"] >= max(p["frac"] for p in best[key].values()),
                       g["disturbed"]))
        out.append("| %s | %s | %s | %d | %s | %.1f (%.2f)%s | %s | %s | %.2f |" % (
            fmt_shape(key[0]), key[1], key[2], key[3], key[4], g["gbps"], g["frac"],
            " †" if g["disturbed"] else "", " | ".join(cells), top["impl"], ratio))
    return out, ratios


def amax_table(gpool, amax):
    out = ["| shape | threads | mode | gpool GB/s | best PyTorch max (impl) GB/s | PyTorch time / gpool time |",
           "|---|---|---|---|---|---|"]
    ratios = []
    for key in sorted(amax, key=lambda k: (k[3], k[4], k[0])):
        if key not in gpool:
            continue
        g, p = gpool[key], amax[key]
        ratio = p["us"] / g["us"]
        ratios.append((ratio, key))
        out.append("| %s | %d | %s | %.1f | %.1f (%s) | %.1f |" % (
            fmt_shape(key[0]), key[3], key[4], g["gbps"], p["gbps"], p["impl"], ratio))
    return out, ratios


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.strip().split("\n\n")[1])
    gpool = load_gpool(sys.argv[1])
    best, amax = load_peers(sys.argv[2])
    table, ratios = main_table(gpool, best)
    atable, aratios = amax_table(gpool, amax)
    if not ratios:
        sys.exit("compare-peers.py: no forward rows in common between the two CSVs")
    worst = min(ratios)
    lines = ["# gpool against PyTorch, oneDNN and XNNPACK: global pooling forward", "",
             f"Rows compared: {len(ratios)}. Slowest gpool row relative to the best peer: "
             f"{worst[0]:.2f}x ({fmt_shape(worst[1][0])} {worst[1][1]} {worst[1][2]}, "
             f"{worst[1][3]} thread(s), {worst[1][4]}). Rows where a peer is faster: "
             f"{sum(1 for r in ratios if r[0] < 1.0)}. Rows where a peer's frac is higher "
             f"(each side set against its own same-moment probe, which discounts the drift "
             f"of this machine's bandwidth between the two runs): "
             f"{sum(1 for r in ratios if not r[2])}.", ""]
    disturbed = sum(1 for r in ratios if r[3])
    lines += [f"gpool rows marked †: {disturbed} (their threads still waited for a CPU "
              f"taken by another process after every attempt; bench.csv's cpu_wait).", ""]
    if aratios:
        lines += [f"Against PyTorch's max on NCHW (x.amax((2,3)) / adaptive_max_pool2d): "
                  f"{min(aratios)[0]:.1f}x to {max(aratios)[0]:.1f}x faster.", ""]
    lines += ["GB/s = input bytes / median time; frac = GB/s / the same-moment read-bandwidth "
              "probe of the row's own input buffers (same threads, same hot/cold rotation).", ""]
    lines += frac_summary(gpool)
    lines += ["## Side by side", ""] + table + ["", "## Max on NCHW against PyTorch", ""] + atable + [""]
    text = "\n".join(lines)
    if len(sys.argv) == 4:
        with open(sys.argv[3] + ".tmp", "w") as f:
            f.write(text)
        os.replace(sys.argv[3] + ".tmp", sys.argv[3])
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
