#!/usr/bin/python3
"""Compare gpool's training results with PyTorch's on the same protocol and seeds.

Reads gpool's results/<exp>/runs.csv and epochs.csv and the PyTorch reference
CSVs (scripts/run-pytorch-reference.sh writes them to results/pytorch/) and
writes a markdown table per experiment, with the bar of issue 3:

  heads:    per head, mean test accuracy over seeds after the last epoch;
            |gpool - torch| <= max(0.5 pp, 2 pooled standard errors), where the
            pooled standard error is sqrt(sd_g^2 / n_g + sd_t^2 / n_t).
  tutorial: per head (gap, gmp), mean epoch-60 test accuracy over seeds;
            |gpool - torch| <= 2 pp; parameters exactly 18,370.

Usage: scripts/compare-pytorch.py [--results results] [--torch results/pytorch]
Only the standard library is used.
"""
import argparse
import csv
import glob
import math
import os
import sys


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def mean_sd(values):
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return m, sd


def pp(x):
    return "n/a" if math.isnan(x) else f"{100 * x:.2f}"


def gpool_final(results, exp, epoch=None):
    """{head: {seed: test_acc}} at the last epoch (or at `epoch`) of every ok run."""
    runs = {r["run_id"]: r for r in read_csv(os.path.join(results, exp, "runs.csv"))}
    out, params = {}, {}
    for r in read_csv(os.path.join(results, exp, "epochs.csv")):
        run = runs.get(r["run_id"])
        if not run or run["status"] != "ok":
            continue
        e = int(r["epoch"])
        if epoch is None and e != int(run["epochs"]):
            continue
        if epoch is not None and e != epoch:
            continue
        out.setdefault(r["head"], {})[int(r["seed"])] = float(r["test_acc"])
        params[r["head"]] = int(run["params"])
    return out, params


def torch_heads(torch_dir):
    """{head: {seed: test_acc}} at each run's last epoch, from train.py's CSVs."""
    out, params = {}, {}
    for path in sorted(glob.glob(os.path.join(torch_dir, "heads_seed*.csv"))):
        rows = read_csv(path)
        last = {}
        for r in rows:
            key = (r["head"], int(r["seed"]))
            if key not in last or int(r["epoch"]) > int(last[key]["epoch"]):
                last[key] = r
        for (head, seed), r in last.items():
            out.setdefault(head, {})[seed] = float(r["test_acc"])
            params[head] = int(r["params"])
    return out, params


def torch_tutorial(torch_dir, epoch):
    out, params = {}, {}
    for path in sorted(glob.glob(os.path.join(torch_dir, "tutorial_*_s*.csv"))):
        for r in read_csv(path):
            if int(r["epoch"]) == epoch:
                out.setdefault(r["head"], {})[int(r["seed"])] = float(r["test_acc"])
                params[r["head"]] = int(r["params"])
    return out, params


def compare(ours, theirs, bar_fn, heads):
    """Rows of (head, seeds, gpool mean+-sd, torch mean+-sd, diff, bound, verdict)."""
    rows, all_ok = [], True
    for head in heads:
        seeds = sorted(set(ours.get(head, {})) & set(theirs.get(head, {})))
        g = [ours[head][s] for s in seeds]
        t = [theirs[head][s] for s in seeds]
        gm, gsd = mean_sd(g)
        tm, tsd = mean_sd(t)
        n = len(seeds)
        se = math.sqrt(gsd ** 2 / n + tsd ** 2 / n) if n > 1 else float("nan")
        bound = bar_fn(se)
        diff = gm - tm
        ok = n > 0 and abs(diff) <= bound
        all_ok &= ok
        rows.append((head, ",".join(map(str, seeds)) or "none", gm, gsd, tm, tsd, diff, se, bound,
                     "yes" if ok else ("no data" if n == 0 else "NO")))
    return rows, all_ok


def table(rows):
    lines = ["| head | seeds | gpool mean ± sd (%) | PyTorch mean ± sd (%) | difference (pp) | "
             "pooled SE (pp) | bound (pp) | within |",
             "|---|---|---|---|---|---|---|---|"]
    for head, seeds, gm, gsd, tm, tsd, diff, se, bound, verdict in rows:
        lines.append(f"| {head} | {seeds} | {pp(gm)} ± {pp(gsd)} | {pp(tm)} ± {pp(tsd)} | "
                     f"{'n/a' if math.isnan(diff) else f'{100 * diff:+.2f}'} | {pp(se)} | "
                     f"{pp(bound)} | {verdict} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default="results")
    ap.add_argument("--torch", default=os.path.join("results", "pytorch"))
    ap.add_argument("--out", default=os.path.join("results", "pytorch-comparison.md"))
    a = ap.parse_args()

    parts = ["# gpool against PyTorch 1.13: same networks, protocol and seeds",
             "",
             "Made by `scripts/compare-pytorch.py` from results/heads, results/tutorial and "
             "results/pytorch (PyTorch runs: `sh scripts/run-pytorch-reference.sh`).", ""]
    ok_all = True
    if os.path.exists(os.path.join(a.results, "heads", "runs.csv")):
        ours, our_params = gpool_final(a.results, "heads")
        theirs, their_params = torch_heads(a.torch)
        heads = ["gap", "gmp", "flatten_dense", "gap_dense"]
        rows, ok = compare(ours, theirs, lambda se: max(0.005, 2 * se if not math.isnan(se) else 0),
                           heads)
        ok_all &= ok
        parts += ["## heads.yaml: BN trunk, 3 epochs, test accuracy after the last epoch", "",
                  "Bar: |difference| <= max(0.5 pp, 2 pooled standard errors).", "",
                  table(rows), ""]
        parts += ["Parameters: " + ", ".join(
            f"{h} gpool {our_params.get(h, 'n/a')} / PyTorch {their_params.get(h, 'n/a')}"
            for h in heads), ""]
    if os.path.exists(os.path.join(a.results, "tutorial", "runs.csv")):
        ours, our_params = gpool_final(a.results, "tutorial", epoch=60)
        theirs, their_params = torch_tutorial(a.torch, 60)
        rows, ok = compare(ours, theirs, lambda se: 0.02, ["gap", "gmp"])
        params_ok = all(v == 18370 for v in our_params.values()) and our_params
        ok_all &= ok and bool(params_ok)
        parts += ["## tutorial.yaml: epoch-60 test accuracy", "",
                  "Bar: |difference| <= 2 pp; parameters exactly 18,370.", "",
                  table(rows), "",
                  "Parameters: " + ", ".join(f"{h} {p}" for h, p in sorted(our_params.items())) +
                  (" (as required)" if params_ok else " (NOT 18,370)"), ""]
    text = "\n".join(parts) + "\n"
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)
    sys.stdout.write(text)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
