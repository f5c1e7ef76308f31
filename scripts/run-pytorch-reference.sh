#!/bin/sh
# Runs the PyTorch reference trainings that issue 3's comparisons need and that
# ../shared/reference/results does not already hold. Resumable: a run whose CSV
# is complete is skipped; an incomplete one is redone from the start.
#   sh scripts/run-pytorch-reference.sh [REFERENCE_DIR] [OUT_DIR] [tutorial|heads|all]
set -eu
ref=${1:-../shared/reference}
out=${2:-results/pytorch}
what=${3:-all}
py=/usr/bin/python3
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$ref"/. "$work"/
cp "$ref"/results/*.csv "$out"/ 2>/dev/null || true

complete() {  # FILE EXPECTED_DATA_ROWS
    [ -f "$1" ] && [ "$(($(wc -l <"$1") - 1))" -ge "$2" ]
}

for seed in 0 1 2; do
    [ "$what" = heads ] && break
    for head in gap gmp; do
        f="$out/tutorial_${head}_s${seed}.csv"
        complete "$f" 60 && continue
        echo "tutorial.py $head seed $seed" >&2
        $py "$work/tutorial.py" --head "$head" --epochs 60 --seed "$seed" --threads 1 \
            --out "$work/t.csv" >/dev/null
        mv "$work/t.csv" "$f"
    done
done

for seed in 0 1 2 3 4; do
    [ "$what" = tutorial ] && break
    f="$out/heads_seed${seed}.csv"
    complete "$f" 12 && continue
    echo "train.py seed $seed" >&2
    $py "$work/train.py" --epochs 3 --seed "$seed" --threads 2 --out "$work/h.csv" >/dev/null
    mv "$work/h.csv" "$f"
done
echo done >&2
