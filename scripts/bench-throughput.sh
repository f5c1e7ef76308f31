#!/bin/sh
# bench-throughput.sh - training-step and inference images/s of gpool and
# PyTorch 1.13 side by side, on the BN trunk (configs/heads.yaml, gap head)
# and the tutorial net (configs/tutorial.yaml), 2 threads; and the peak RSS
# of one training epoch of the BN trunk on the full training set in each
# (/usr/bin/time -v; RSS=0 skips it). The two programs alternate ROUNDS
# times (default 5, the fewest for a result to quote) so that a slow spell
# of this shared machine hits both; per measurement, each round's ratio is
# gpool's median repeat over PyTorch's in that round, and the table reports
# the median ratio over rounds with its min and max, beside the median
# images/s of each.
#   sh scripts/bench-throughput.sh [REFERENCE_DIR] [OUT_DIR] [ROUNDS]
# Needs /usr/bin/python3 with torch and PyYAML (sh scripts/setup.sh --tests)
# and a built ./experiments/gpool. Writes OUT_DIR/raw.csv, OUT_DIR/rss.csv
# and OUT_DIR/table.md; MACHINE names the machine in the table (default: the
# CPU model in /proc/cpuinfo).
set -eu
ref=${1:-../shared/reference}
out=${2:-results/throughput}
rounds=${3:-5}
threads=2
steps=${STEPS:-200}      # STEPS=5 WARMUP=1 for a quick check of the script itself
warmup=${WARMUP:-20}
gpool=./experiments/gpool
py=/usr/bin/python3
[ -x "$gpool" ] || { echo "bench-throughput.sh: build gpool first" >&2; exit 1; }
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$ref"/. "$work"/

raw="$work/raw.csv"
echo "impl,model,round,kind,head,batch,rep,steps,seconds,img_per_s,ms_per_step,threads" >"$raw"
add() { # add IMPL MODEL ROUND < csv-with-header
    tail -n +2 | sed "s/^/$1,$2,$3,/" >>"$raw"
}
for r in $(seq 1 "$rounds"); do
    echo "round $r/$rounds: gpool BN trunk" >&2
    "$gpool" throughput configs/heads.yaml --head gap --threads "$threads" --steps "$steps" \
        --warmup "$warmup" | add gpool bn_trunk "$r"
    echo "round $r/$rounds: PyTorch BN trunk (train.py --bench)" >&2
    (cd "$work" && $py train.py --bench --threads "$threads" --bench-steps "$steps" \
        --bench-warmup "$warmup" --bench-out "$work/tb.csv" >/dev/null)
    # train.py's columns: kind,model,batch,rep,steps,warmup,seconds,img_per_s,ms_per_step,...,threads
    awk -F, -v r="$r" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { printf "torch,bn_trunk,%s,%s,gap,%s,%s,%s,%s,%s,%s,%s\n", r, $c["kind"], $c["batch"],
          $c["rep"], $c["steps"], $c["seconds"], $c["img_per_s"], $c["ms_per_step"], $c["threads"] }' \
        "$work/tb.csv" >>"$raw"
    echo "round $r/$rounds: gpool tutorial net" >&2
    "$gpool" throughput configs/tutorial.yaml --head gap --threads "$threads" --steps "$steps" \
        --warmup "$warmup" | add gpool tutorial "$r"
    echo "round $r/$rounds: PyTorch tutorial net" >&2
    $py scripts/torch-tutorial-bench.py --threads "$threads" --steps "$steps" --warmup "$warmup" |
        add torch tutorial "$r"
done
cp "$raw" "$out/raw.csv"

# Peak RSS of one epoch of the BN trunk (gap head, seed 0), each program once.
rss="$work/rss.csv"
echo "impl,max_rss_kib" >"$rss"
max_rss() { # max_rss IMPL < /usr/bin/time -v output
    awk -v i="$1" -F': ' '/Maximum resident set size/ { print i "," $2 }' >>"$rss"
}
if [ "${RSS:-1}" != 0 ]; then
    $py - configs/heads.yaml "$work/epoch.yaml" <<'EOF'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
cfg["name"] = "bn-trunk-epoch"
cfg["description"] = "one epoch of the BN trunk, gap head, seed 0: peak RSS"
cfg["train"]["epochs"] = 1
cfg["train"]["seed"] = 0
cfg["model"]["head"] = "gap"
del cfg["sweep"]
cfg.pop("table", None)
yaml.safe_dump(cfg, open(sys.argv[2], "w"), sort_keys=False)
EOF
    echo "peak RSS: gpool, one BN-trunk epoch" >&2
    /usr/bin/time -v "$gpool" run -q -f -o "$work/epoch" "$work/epoch.yaml" 2>"$work/time.txt" \
        >/dev/null
    max_rss gpool <"$work/time.txt"
    echo "peak RSS: PyTorch, one BN-trunk epoch (train.py --heads gap --epochs 1)" >&2
    (cd "$work" && /usr/bin/time -v $py train.py --heads gap --epochs 1 --threads "$threads" \
        --out "$work/torch-epoch.csv" 2>"$work/time.txt" >/dev/null)
    max_rss torch <"$work/time.txt"
fi
cp "$rss" "$out/rss.csv"
machine=${MACHINE:-$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)}

# per (model, kind, batch): each round's ratio of the median repeats, then
# the median ratio over rounds with its min and max
$py - "$raw" "$rss" "$out/table.md" "$rounds" "$steps" "$warmup" "$machine" <<'EOF'
import csv, statistics, sys, datetime
raw, rss, dst, rounds, steps, warmup, machine = sys.argv[1:8]
med = statistics.median
per = {}
for r in csv.DictReader(open(raw)):
    key = (r["impl"], r["model"], r["kind"], int(r["batch"]), int(r["round"]))
    per.setdefault(key, []).append(float(r["img_per_s"]))
rep = {k: med(v) for k, v in per.items()}
cells = {}
for (impl, model, kind, batch, rnd), v in rep.items():
    other = rep.get(("torch", model, kind, batch, rnd))
    if impl == "gpool" and other:
        c = cells.setdefault((model, kind, batch), {"g": [], "t": [], "ratio": []})
        c["g"].append(v)
        c["t"].append(other)
        c["ratio"].append(v / other)
# the bars of issue 15, per model, measurement and batch (None: any batch)
bars = {("bn_trunk", "train_step", 64): 2.0, ("bn_trunk", "train_step", 256): 1.8,
        ("bn_trunk", "inference", None): 2.0, ("tutorial", "train_step", None): 3.0,
        ("tutorial", "inference", None): 3.0}
def bar(model, kind, batch):
    return bars.get((model, kind, batch), bars.get((model, kind, None)))
lines = [f"# Throughput: gpool against PyTorch 1.13, 2 threads, side by side ({machine})", "",
         f"Made by `sh scripts/bench-throughput.sh` on {machine}, "
         f"{datetime.date.today().isoformat()}: {rounds} alternating rounds, each program's "
         f"median of 3 repeats of {steps} steps after {warmup} warm-up steps per round; the "
         "ratio is the median over rounds of the rounds' ratios, with their min and max. "
         "Raw rows: raw.csv, rss.csv.", "",
         "| model | measurement | batch | gpool img/s | PyTorch img/s | ratio (min-max) | bar |",
         "|---|---|---|---|---|---|---|"]
for model in ("bn_trunk", "tutorial"):
    for kind in ("train_step", "inference"):
        for batch in sorted(b for (m, k, b) in cells if m == model and k == kind):
            c, b = cells[(model, kind, batch)], bar(model, kind, batch)
            ratio = med(c["ratio"])
            verdict = f">= {b:.1f}x {'met' if ratio >= b else 'NOT met'}" if b else ""
            lines.append(f"| {model} | {kind} | {batch} | {med(c['g']):.0f} | {med(c['t']):.0f} "
                         f"| {ratio:.2f}x ({min(c['ratio']):.2f}-{max(c['ratio']):.2f}) | "
                         f"{verdict} |")
peak = {r["impl"]: int(r["max_rss_kib"]) for r in csv.DictReader(open(rss))}
if "gpool" in peak and "torch" in peak:
    g, t = peak["gpool"] / 1024, peak["torch"] / 1024
    lines += ["", "Peak RSS of one training epoch of the BN trunk on the full training set "
              "(`/usr/bin/time -v`, maximum resident set size): gpool "
              f"{g:.0f} MiB, PyTorch {t:.0f} MiB, {g / t:.2f} of PyTorch's (bar: <= 0.25, "
              f"{'met' if g / t <= 0.25 else 'NOT met'})."]
open(dst, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
