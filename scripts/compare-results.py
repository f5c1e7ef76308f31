#!/usr/bin/env python3
"""compare-results.py - do two results directories of one config hold the
same results? For a change that must not change behaviour (a refactoring,
a new id scheme): run the config with the build before and the build after,
then

    python3 scripts/compare-results.py results/before results/after

runs.csv, epochs.csv and evals.csv (where present) are compared value by
value, every column but the run id and the timing columns (time, images/s,
peak RSS, measured allocation peak). Rows are matched by their non-timing values that name a point
(the swept columns, head and seed; plus the epoch, or the evaluation size and
method), so the order of rows and the run ids may differ. Prints one line per
difference and a summary; exit status 0 when the directories agree, 1 when
they differ, 2 on a usage or file error.
"""
import csv
import os
import sys

# Columns that measure the machine, not the result.
TIMING = {"train_s", "img_per_s", "peak_rss_mib", "epoch_s", "eval_s", "mem_alloc_peak"}
# Columns added since files were first written: a file without one reads as
# empty there (as gpool's readers take it), so it matches an empty column.
ADDED = {"train_pass_acc"}
# Columns that name a row besides the swept ones (between run_id/experiment and head).
KEYS = {
    "runs.csv": ["head", "seed"],
    "epochs.csv": ["head", "seed", "epoch"],
    "evals.csv": ["head", "seed", "train_size", "eval_size", "method"],
}
FIXED_START = {"run_id", "experiment"}


def load(path):
    with open(path, newline="") as fp:
        rows = list(csv.reader(fp))
    if not rows:
        raise ValueError(f"{path}: empty file, no header")
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{i}: {len(row)} fields, the header has {len(header)}")
    return header, body


def swept_columns(header):
    """The swept paths: the columns between run_id (and experiment) and head."""
    if "head" not in header:
        raise ValueError("no head column")
    return [c for c in header[: header.index("head")] if c not in FIXED_START]


def index_rows(name, path, header, body):
    key_cols = swept_columns(header) + KEYS[name]
    missing = [c for c in key_cols if c not in header]
    if missing:
        raise ValueError(f"{path}: no column {', '.join(missing)}")
    out = {}
    for row in body:
        rec = dict(zip(header, row))
        key = tuple((c, rec[c]) for c in key_cols)
        if key in out:
            raise ValueError(f"{path}: two rows for {fmt_key(key)}")
        out[key] = rec
    return out


def fmt_key(key):
    return " ".join(f"{c}={v}" for c, v in key)


def with_added(header, body, other):
    """header and body with an empty column for each ADDED one only other has."""
    missing = [c for c in other if c in ADDED and c not in header]
    return header + missing, [row + [""] * len(missing) for row in body]


def compare_file(name, dir_a, dir_b, problems):
    pa, pb = os.path.join(dir_a, name), os.path.join(dir_b, name)
    have_a, have_b = os.path.exists(pa), os.path.exists(pb)
    if not have_a and not have_b:
        return 0
    if have_a != have_b:
        problems.append(f"{name}: only in {pa if have_a else pb}")
        return 0
    ha, ba = load(pa)
    hb, bb = load(pb)
    ha, ba = with_added(ha, ba, hb)
    hb, bb = with_added(hb, bb, ha)
    compared = [c for c in ha if c != "run_id" and c not in TIMING]
    extra = sorted(set(hb) - set(ha) - TIMING - {"run_id"})
    if extra or [c for c in compared if c not in hb]:
        problems.append(f"{name}: columns differ: {ha} against {hb}")
        return 0
    ra, rb = index_rows(name, pa, ha, ba), index_rows(name, pb, hb, bb)
    for key in ra.keys() - rb.keys():
        problems.append(f"{name}: row {fmt_key(key)} only in {dir_a}")
    for key in rb.keys() - ra.keys():
        problems.append(f"{name}: row {fmt_key(key)} only in {dir_b}")
    for key in ra.keys() & rb.keys():
        for col in compared:
            va, vb = ra[key][col], rb[key][col]
            if va != vb:
                problems.append(f"{name}: {fmt_key(key)}: {col} {va!r} against {vb!r}")
    return len(ra.keys() & rb.keys())


def main(argv):
    if len(argv) == 2 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    if len(argv) != 3:
        print("usage: compare-results.py DIR_BEFORE DIR_AFTER (--help for more)", file=sys.stderr)
        return 2
    dir_a, dir_b = argv[1], argv[2]
    for d in (dir_a, dir_b):
        if not os.path.isfile(os.path.join(d, "runs.csv")):
            print(f"compare-results: {d}: no runs.csv", file=sys.stderr)
            return 2
    problems = []
    try:
        counts = {n: compare_file(n, dir_a, dir_b, problems) for n in KEYS}
    except (OSError, ValueError) as e:
        print(f"compare-results: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    rows = ", ".join(f"{counts[n]} rows of {n}" for n in KEYS if counts[n])
    verdict = "differ" if problems else "agree"
    print(f"compare-results: {dir_a} and {dir_b} {verdict} ({rows} compared; "
          f"{len(problems)} differences)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
