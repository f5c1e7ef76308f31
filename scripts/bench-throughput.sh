#!/bin/sh
# bench-throughput.sh - training-step and inference images/s of gpool and
# PyTorch 1.13 side by side, on the BN trunk (configs/heads.yaml, gap head)
# and the tutorial net (configs/tutorial.yaml), 2 threads. The two programs
# alternate ROUNDS times so that a slow spell of this shared machine hits
# both; the table reports, per measurement, the median over rounds of each
# program's median repeat, and their ratio.
#   sh scripts/bench-throughput.sh [REFERENCE_DIR] [OUT_DIR] [ROUNDS]
# Needs /usr/bin/python3 with torch (sh scripts/setup.sh --tests) and a built
# ./experiments/gpool. Writes OUT_DIR/raw.csv and OUT_DIR/table.md.
set -eu
ref=${1:-../shared/reference}
out=${2:-results/throughput}
rounds=${3:-3}
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

# per (impl, model, kind, batch): median over rounds of the median repeat
$py - "$raw" "$out/table.md" "$rounds" "$steps" "$warmup" <<'EOF'
import csv, statistics, sys, datetime
raw, dst, rounds, steps, warmup = sys.argv[1:6]
rows = list(csv.DictReader(open(raw)))
per = {}
for r in rows:
    key = (r["impl"], r["model"], r["kind"], int(r["batch"]), int(r["round"]))
    per.setdefault(key, []).append(float(r["img_per_s"]))
agg = {}
for (impl, model, kind, batch, rnd), v in per.items():
    agg.setdefault((impl, model, kind, batch), []).append(statistics.median(v))
bars = {("bn_trunk", "train_step"): 1.0, ("bn_trunk", "inference"): 1.5,
        ("tutorial", "train_step"): 2.0, ("tutorial", "inference"): 1.5}
lines = ["# Throughput: gpool against PyTorch 1.13, 2 threads, side by side", "",
         f"Made by `sh scripts/bench-throughput.sh` ({rounds} alternating rounds; each cell is the "
         f"median over rounds of the median of 3 repeats of {steps} steps after {warmup} warm-up "
         f"steps) on {datetime.date.today().isoformat()}. Raw rows: raw.csv.", "",
         "| model | measurement | batch | gpool img/s | PyTorch img/s | ratio | bar |",
         "|---|---|---|---|---|---|---|"]
for model in ("bn_trunk", "tutorial"):
    for kind in ("train_step", "inference"):
        for batch in sorted({k[3] for k in agg if k[1] == model and k[2] == kind}):
            g = statistics.median(agg.get(("gpool", model, kind, batch), [float("nan")]))
            t = statistics.median(agg.get(("torch", model, kind, batch), [float("nan")]))
            bar = bars[(model, kind)]
            ratio = g / t
            lines.append(f"| {model} | {kind} | {batch} | {g:.0f} | {t:.0f} | {ratio:.2f}x | "
                         f">= {bar:.1f}x {'met' if ratio >= bar else 'NOT met'} |")
open(dst, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
