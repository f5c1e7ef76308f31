#!/bin/sh
# run-smoke.sh - `gpool run` end to end on the synthetic set (seconds): the
# files it writes and their shape, the build log, checkpoints numpy can read,
# refusing to overwrite results, and bad command lines and configs. Emits
# TAP; writes only under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_init run-smoke

cfg="$srcdir/tests/configs/synthetic.yaml"
out="$tmp/out"
check_runs "gpool run exits 0" \
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$gpool" run "$cfg" --out "$out"

rows() { tail -n +2 "$1" | wc -l; }
col() { # col FILE NAME: the values of column NAME (no quoting in these files)
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          { print $c }' "$1"
}
check "runs.csv has one row per point (3)" [ "$(rows "$out/runs.csv")" -eq 3 ]
check "epochs.csv has one row per run and epoch (6)" [ "$(rows "$out/epochs.csv")" -eq 6 ]
check "every run is ok" [ "$(col "$out/runs.csv" status | sort -u)" = ok ]
check "run ids are 16 hex digits and distinct" \
    [ "$(col "$out/runs.csv" run_id | grep -cE '^[0-9a-f]{16}$')" -eq 3 -a \
      "$(col "$out/runs.csv" run_id | sort -u | wc -l)" -eq 3 ]
check "the swept column lists the heads" \
    [ "$(col "$out/runs.csv" model.head | tr '\n' ' ')" = "gap gem_dense flatten_dense " ]
check "parameters are counted (flatten_dense has the most)" \
    [ "$(awk -F, 'NR > 1 { print $0 }' "$out/runs.csv" | sort -t, -k9 -n | tail -1 | cut -d, -f3)" \
      = flatten_dense ]
check "accuracies are fractions in [0, 1]" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "final_test_acc") c = i; next }
             { if ($c == "" || $c < 0 || $c > 1) exit 1 }' "$out/runs.csv"
check "validation accuracy is recorded (validation: 100)" \
    [ -n "$(col "$out/runs.csv" final_val_acc | head -1)" ]
check "peak RSS is recorded per run" \
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "peak_rss_mib") c = i; next }
             { if ($c <= 0) exit 1 }' "$out/runs.csv"
check "config.yaml and manifest.yaml are written" [ -s "$out/config.yaml" -a -s "$out/manifest.yaml" ]
check "the manifest records the defaults used" grep -q '^  train.optimizer: "adam"' "$out/manifest.yaml"
check "the manifest records how run ids are made" grep -qx 'id_scheme: non-defaults' "$out/manifest.yaml"
check "... the digest of the schema's defaults" \
    grep -qx 'defaults_digest: [0-9a-f]\{16\}' "$out/manifest.yaml"
check "... and each declared default by its generic path" \
    grep -qx '  model.trunk\[conv\].k: "3"' "$out/manifest.yaml"
check "the build log prints one line per layer" \
    [ "$(grep -cE '^  [0-9]+ +(conv2d|batchnorm2d|relu|maxpool2d|head_pool|dense|flatten) ' "$tmp/stderr")" -ge 8 ]
check "the build log prints the totals" grep -q 'parameters' "$tmp/stderr"
if [ -n "${GNUPLOT-x}" ] && command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
    check "accuracy.png is a PNG" sh -c "head -c 8 '$out/accuracy.png' | od -An -c | grep -q 'P   N   G'"
    check "accuracy.svg is an SVG" grep -q '<svg' "$out/accuracy.svg"
else
    skip "accuracy.png is a PNG" "no gnuplot"
    skip "accuracy.svg is an SVG" "no gnuplot"
fi
check "no temporary files are left" [ -z "$(find "$out" -name '*.tmp*')" ]

# per-run manifest: everything needed to run one row again
id=$(col "$out/runs.csv" run_id | head -1)
rm_="$out/runs/$id/manifest.yaml"
for key in run_id config_sha256 seed threads variant status started finished exit gpool_version \
           git_commit git_dirty compiler cflags cpu_model cpus_online cpu_isa pool_tuning openblas \
           environment data; do
    check "the run manifest records $key" grep -q "^$key:" "$rm_"
done
check "the run's own config is saved next to its manifest" [ -s "$out/runs/$id/config.yaml" ]
# run's default spin for waiting OpenMP threads (experiments/cmd/main.c: short_spin_default)
if grep -q '^cflags:.*fopenmp' "$rm_"; then spin='"10000"'; else spin=null; fi
check "with no wait policy set, run's threads spin briefly (GOMP_SPINCOUNT: $spin)" \
    grep -qx "  GOMP_SPINCOUNT: $spin" "$rm_"
"$gpool" rerun -q "$out" "$id" -o "$tmp/rerun" >"$tmp/rerun.out" 2>&1
check "gpool rerun reproduces a recorded row (exit 0)" [ $? -eq 0 ]
check "... and says so" grep -q 'equals the recorded row' "$tmp/rerun.out"
OMP_WAIT_POLICY=passive "$gpool" rerun -q "$out" "$id" -o "$tmp/rerun-passive" >/dev/null 2>&1
check "a wait policy the user sets is kept, with no spin count added" \
    sh -c "grep -qx '  OMP_WAIT_POLICY: \"passive\"' '$tmp/rerun-passive/runs/$id/manifest.yaml' &&
           grep -qx '  GOMP_SPINCOUNT: null' '$tmp/rerun-passive/runs/$id/manifest.yaml'"
"$gpool" rerun -q "$out" 0123456789abcdef >/dev/null 2>&1
check "gpool rerun of an unknown run id fails (exit 1)" [ $? -eq 1 ]

ck=$(find "$out/runs" -type d -name checkpoint | head -1)
check "a checkpoint directory per run" [ "$(find "$out/runs" -type d -name checkpoint | wc -l)" -eq 3 ]
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    check "numpy reads the checkpoint's weights" /usr/bin/python3 -c "
import glob, numpy as np, sys
files = sorted(glob.glob('$ck/L*_conv2d.weight.npy'))
a = np.load(files[0])
sys.exit(0 if a.dtype == np.float32 and a.ndim == 4 and np.isfinite(a).all() and a.std() > 0 else 1)"
else
    skip "numpy reads the checkpoint's weights" "no numpy"
fi

"$gpool" run "$cfg" --out "$out" >/dev/null 2>"$tmp/err2"
rc=$?
check "an existing runs.csv is not overwritten without --force (exit 1)" \
    [ "$rc" -eq 1 ] && grep -q -- '--force' "$tmp/err2"

# --resume keeps finished runs and redoes the rest: drop the last row, resume,
# and the table is the same up to the timing columns (train_s, img_per_s, peak_rss_mib)
untimed_csv "$out/runs.csv" >"$tmp/full"
head -n 3 "$out/runs.csv" >"$tmp/cut" && mv "$tmp/cut" "$out/runs.csv"
"$gpool" run -q --resume "$cfg" --out "$out" >"$tmp/resume.out" 2>&1
rc=$?
check "--resume exits 0" [ "$rc" -eq 0 ]
check "--resume reran only the missing run" [ "$(grep -c '^\[' "$tmp/resume.out")" -eq 1 ]
untimed_csv "$out/runs.csv" >"$tmp/resumed"
check "--resume gives the same runs.csv up to timing columns" cmp -s "$tmp/full" "$tmp/resumed"
check "epochs.csv has every epoch once after --resume" [ "$(rows "$out/epochs.csv")" -eq 6 ]
"$gpool" run -q --resume --force "$cfg" --out "$out" >/dev/null 2>&1
check "--resume with --force is a usage error (exit 2)" [ $? -eq 2 ]

"$gpool" run --list "$cfg" >"$tmp/list"
check "--list prints one line per point" [ "$(wc -l <"$tmp/list")" -eq 3 ]

"$gpool" run >/dev/null 2>&1
check "a missing CONFIG is a usage error (exit 2)" [ $? -eq 2 ]
"$gpool" run --bogus "$cfg" >/dev/null 2>&1
check "an unknown option is a usage error (exit 2)" [ $? -eq 2 ]
"$gpool" run --help | grep -q 'Usage: gpool run'
check "--help shows the usage" [ $? -eq 0 ]

# evaluation at other input sizes: a head that cannot take them gets rows
# marked n/a with the reason, and the sweep still succeeds
"$gpool" run -q "$srcdir/tests/configs/evalsize.yaml" --out "$tmp/ev" >/dev/null 2>&1
check "a sweep with eval.sizes exits 0" [ $? -eq 0 ]
ev="$tmp/ev/evals.csv"
check "evals.csv has a row per run, size and method (2 x 3 x 3)" [ "$(rows "$ev")" -eq 18 ]
check "flatten_dense at another size is not applicable, with the reason" \
    grep -q "^[0-9a-f]*,flatten_dense,flatten_dense,0,12,16,resize,,,n/a,\"flatten_dense's dense layer takes 144 features" "$ev"
check "a canvas smaller than the image is not applicable" \
    grep -q ',gap,gap,0,12,8,canvas_center,,,n/a,canvas smaller than the 12x12 image' "$ev"
check "gap is evaluated at 16x16 by resizing and on a canvas" \
    [ "$(grep -c ',gap,gap,0,12,16,[a-z_]*,0\.[0-9]*,[0-9.]*,ok,$' "$ev")" -eq 3 ]
check "at the trained size, resize and centered canvas give the test accuracy of training" \
    [ "$(grep ',gap,gap,0,12,12,resize,' "$ev" | cut -d, -f8)" = \
      "$(col "$tmp/ev/runs.csv" final_test_acc | head -1)" ]

sed 's/type: maxpool, k: 2/type: maxpol, k: 2/' "$cfg" >"$tmp/bad.yaml"
"$gpool" run "$tmp/bad.yaml" --out "$tmp/bad" >/dev/null 2>"$tmp/err3"
rc=$?
check "a misspelt layer type is a config error (exit 2)" [ "$rc" -eq 2 ]
check "... that names file:line:column and the closest type" \
    grep -qE "bad.yaml:[0-9]+:[0-9]+: .*maxpool" "$tmp/err3"
sed 's/head: gap/head: gapp/' "$cfg" >"$tmp/bad2.yaml"
"$gpool" run "$tmp/bad2.yaml" --out "$tmp/bad2" >/dev/null 2>"$tmp/err4"
check "an unknown head is a config error naming the closest head" grep -q "gap" "$tmp/err4"

echo "1..$n"
