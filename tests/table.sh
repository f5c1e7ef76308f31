#!/bin/sh
# table.sh - `gpool table` on the fixed results in tests/fixtures/heads-mini
# (hand-written runs.csv, epochs.csv and config.yaml: 2 heads x 2 batch
# sizes x 3 seeds, one run diverged): the exact markdown rows for means and
# sds worked out by hand, the excluded note, the LaTeX, grouping, columns,
# sorting and precision from the config's table: section, config errors
# with file:line:col, bad command lines, and the charts (each PNG decoded,
# each SVG parsed as XML). Emits TAP; writes only under a mktemp -d dir.
set -u

: "${top_builddir:=.}"
: "${top_srcdir:=.}"
abs_dir() { (cd "$1" && pwd); }
builddir=$(abs_dir "$top_builddir") || { echo "Bail out! no top_builddir"; exit 1; }
srcdir=$(abs_dir "$top_srcdir") || { echo "Bail out! no top_srcdir"; exit 1; }
gpool="$builddir/experiments/gpool"
[ -x "$gpool" ] || { echo "Bail out! $gpool is not built"; exit 1; }
fixture="$srcdir/tests/fixtures/heads-mini"
[ -r "$fixture/runs.csv" ] || { echo "Bail out! no $fixture/runs.csv"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpool-table.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

n=0
ok() { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$1"; }
not_ok() { n=$((n + 1)); printf 'not ok %d - %s\n' "$n" "$1"; }
skip() { n=$((n + 1)); printf 'ok %d - %s # SKIP %s\n' "$n" "$1" "$2"; }
check() { desc=$1; shift; if "$@"; then ok "$desc"; else not_ok "$desc"; fi; }
# has_line FILE LINE: FILE holds exactly LINE (a whole line, no regex)
has_line() { grep -Fqx -- "$2" "$1" || { echo "# missing line in $1: $2"; sed 's/^/#   /' "$1"; return 1; }; }
# fresh NAME: a writable copy of the fixture
fresh() { rm -rf "$tmp/$1"; cp -R "$fixture" "$tmp/$1" && chmod -R u+w "$tmp/$1"; }
# table DIR [OPTIONS]: run gpool table from an empty directory with a bare
# environment (no data set, no GPOOL_* variables); charts only when
# charts=1, and with GNUPLOT empty when nognuplot=1; status in $rc, output
# in $tmp/out and $tmp/err
mkdir "$tmp/cwd" || exit 1
charts=0 nognuplot=0
table() {
    flag=--no-charts
    [ "$charts" = 1 ] && flag=
    gp_env=
    if [ "$nognuplot" = 1 ]; then gp_env=GNUPLOT=; elif [ -n "${GNUPLOT+x}" ]; then gp_env="GNUPLOT=$GNUPLOT"; fi
    (cd "$tmp/cwd" && env -i PATH="$PATH" HOME="$tmp/cwd" $gp_env \
        "$gpool" table $flag "$@" >"$tmp/out" 2>"$tmp/err")
    rc=$?
}

# ------------------------------------------------ the default table
fresh res
charts=1
table "$tmp/res"
charts=0
cp "$tmp/err" "$tmp/first.err"
check "gpool table exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
md="$tmp/res/table.md"
check "table.md and table.tex are written" [ -s "$md" -a -s "$tmp/res/table.tex" ]
check "the markdown table is printed to stdout" cmp -s "$md" "$tmp/out"

# Default grouping: every swept path but train.seed -> (model.head, train.batch).
check "the header names the group keys and every column" has_line "$md" \
    "| model.head | train.batch | n | final test acc (%) | best test acc (%) | train-test gap (pp) | params | fwd MFLOPs/img | train memory (MiB) | time/epoch (s) | img/s | peak RSS (MiB) |"
# gap, 32 (seeds 0-2): test .85 .86 .87 -> 86.00, sd sqrt((1+0+1)/2) = 1.00;
# best .855 .865 .875 -> 86.50 +- 1.00; train .87 .88 .89, gap 2 2 2 -> 2.00 +- 0.00;
# params 1234 -> "1,234"; flops 2500000 -> 2.50 M; mem_total 3145728 B = 3.00 MiB;
# train_s 3.0 3.3 3.6 over 3 epochs -> 1.0 1.1 1.2 -> 1.10 +- 0.10;
# img/s 1000 1100 1200 -> 1100 +- 100; RSS 50 52 54 -> 52.0 +- 2.0
check "row gap/32: means and sds over 3 seeds" has_line "$md" \
    "| gap | 32 | 3 | 86.00 ± 1.00 | 86.50 ± 1.00 | 2.00 ± 0.00 | 1,234 | 2.50 | 3.00 | 1.10 ± 0.10 | 1100 ± 100 | 52.0 ± 2.0 |"
# gap, 64: test .80 .82 .84 -> 82.00, sd sqrt((4+0+4)/2) = 2.00; best .81 .83 .85 -> 83.00 +- 2.00;
# train .83 .84 .85 -> gaps 3 2 1 -> 2.00 +- 1.00; 5242880 B = 5.00 MiB;
# train_s 1.5 1.8 2.1 / 3 -> 0.5 0.6 0.7 -> 0.60 +- 0.10; img/s 2000 2200 2400 -> 2200 +- 200;
# RSS 60 61 62 -> 61.0 +- 1.0
check "row gap/64: means and sds over 3 seeds" has_line "$md" \
    "| gap | 64 | 3 | 82.00 ± 2.00 | 83.00 ± 2.00 | 2.00 ± 1.00 | 1,234 | 2.50 | 5.00 | 0.60 ± 0.10 | 2200 ± 200 | 61.0 ± 1.0 |"
# flatten_dense, 32: test .90 .905 .91 -> 90.50, sd sqrt((.25+0+.25)/2) = 0.50; best .91 .915 .92
# -> 91.50 +- 0.50; train .95 .96 .97 -> gaps 5 5.5 6 -> 5.50 +- 0.50; params 123456;
# flops 3000000 -> 3.00; 10485760 B = 10.00 MiB; train_s 6.0 6.0 6.3 / 3 -> 2.0 2.0 2.1 ->
# 2.0333, sd sqrt((2 x 0.0333^2 + 0.0667^2)/2) = 0.0577 -> 2.03 +- 0.06;
# img/s 500 510 520 -> 510 +- 10; RSS 100 100 100 -> 100.0 +- 0.0
check "row flatten_dense/32: means and sds over 3 seeds" has_line "$md" \
    "| flatten_dense | 32 | 3 | 90.50 ± 0.50 | 91.50 ± 0.50 | 5.50 ± 0.50 | 123,456 | 3.00 | 10.00 | 2.03 ± 0.06 | 510 ± 10 | 100.0 ± 0.0 |"
# flatten_dense, 64: seed 2 diverged, so n = 2: test .88 .89 -> 88.50, sd sqrt(2 x .5^2) = 0.71;
# best .885 .895 -> 89.00 +- 0.71; train .93 .95 -> gaps 5 6 -> 5.50 +- 0.71;
# 15728640 B = 15.00 MiB; train_s 3.0 3.6 / 3 -> 1.0 1.2 -> 1.10 +- 0.14;
# img/s 1000 900 -> 950 +- 71; RSS 110 112 -> 111.0 +- 1.4
# (with the diverged run's test .10 the mean would be 62.33)
check "row flatten_dense/64: the diverged run is left out (n = 2)" has_line "$md" \
    "| flatten_dense | 64 | 2 | 88.50 ± 0.71 | 89.00 ± 0.71 | 5.50 ± 0.71 | 123,456 | 3.00 | 15.00 | 1.10 ± 0.14 | 950 ± 71 | 111.0 ± 1.4 |"
check "one row per group (4), in runs.csv order" \
    [ "$(grep -E '^\| (gap|flatten_dense) \|' "$md" | cut -d'|' -f2,3 | tr -d ' ' | tr '\n' ' ')" \
      = "gap|32 gap|64 flatten_dense|32 flatten_dense|64 " ]
check "the excluded note counts the runs left out" has_line "$md" \
    "- Excluded from the means: 1 of 12 runs (status not ok):"
check "... and names the run, its status and its reason (quoted in runs.csv)" has_line "$md" \
    "  - model.head=flatten_dense train.batch=64 train.seed=2 (run 6cae59186f0f70ba): diverged: loss is nan at epoch 2, step 17"
check "best accuracy is said to be chosen on the validation split" \
    grep -q 'best test acc: at the epoch with the highest validation accuracy' "$md"

# ------------------------------------------------------------- LaTeX
tex="$tmp/res/table.tex"
check "LaTeX: a booktabs tabular, 2 key columns left, 10 numbers right" \
    has_line "$tex" '\begin{tabular}{llrrrrrrrrrr}'
check "LaTeX: toprule, midrule, bottomrule in that order" \
    [ "$(grep -E '^\\(toprule|midrule|bottomrule)$' "$tex" | tr '\n' ' ')" \
      = '\toprule \midrule \bottomrule ' ]
check "LaTeX: a header line and 4 rows, each ending the line" \
    [ "$(sed -n '/^\\toprule$/,/^\\bottomrule$/p' "$tex" | grep -c '\\\\$')" -eq 5 ]
check "LaTeX: the flatten_dense/64 row, underscores and thousands escaped" has_line "$tex" \
    'flatten\_dense & 64 & 2 & 88.50 $\pm$ 0.71 & 89.00 $\pm$ 0.71 & 5.50 $\pm$ 0.71 & 123{,}456 & 3.00 & 15.00 & 1.10 $\pm$ 0.14 & 950 $\pm$ 71 & 111.0 $\pm$ 1.4 \\'
check "LaTeX: no unescaped underscore outside comments" \
    [ -z "$(grep -v '^%' "$tex" | grep -E '(^|[^\\])_')" ]
check "LaTeX: every begin has its end" \
    [ "$(grep -o '\\begin{[a-z]*}' "$tex" | sort | sed 's/begin/x/')" \
      = "$(grep -o '\\end{[a-z]*}' "$tex" | sort | sed 's/end/x/')" ]
check "LaTeX: the excluded run is listed" \
    grep -q 'model.head=flatten\\_dense train.batch=64 train.seed=2 (run 6cae59186f0f70ba): diverged' "$tex"

# ------------------------------------------------------ only the CSVs
check "the fixture was only read (runs.csv, epochs.csv, config.yaml unchanged)" \
    sh -c "cmp -s '$fixture/runs.csv' '$tmp/res/runs.csv' && cmp -s '$fixture/epochs.csv' '$tmp/res/epochs.csv' && cmp -s '$fixture/config.yaml' '$tmp/res/config.yaml'"
check "nothing was written into the working directory" [ -z "$(ls -A "$tmp/cwd")" ]
check "no temporary files are left" [ -z "$(find "$tmp/res" -name '*.tmp*')" ]
fresh ro
chmod -R a-w "$tmp/ro"
table "$tmp/ro" --out "$tmp/ro-out"
check "a read-only results directory with --out DIR2 works (exit 0)" [ "$rc" -eq 0 ]
check "... and writes the same table into DIR2" cmp -s "$md" "$tmp/ro-out/table.md"
chmod -R u+w "$tmp/ro"
mkdir "$tmp/bare" && cp "$fixture/runs.csv" "$tmp/bare/"
table "$tmp/bare"
check "runs.csv alone is enough (no config.yaml, no epochs.csv: defaults)" [ "$rc" -eq 0 ]
check "... giving the same table" cmp -s "$tmp/bare/table.md" "$md"

# ---------------------------------------- settings from the config
fresh grouped
cat >>"$tmp/grouped/config.yaml" <<'EOF'
table:
  group_by: [model.head]
  columns: [n, final_test_acc, memory]
  sort: final_test_acc
  precision: 3
EOF
table "$tmp/grouped"
check "a configured grouping exits 0" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
check "the configured columns only" has_line "$tmp/grouped/table.md" \
    "| model.head | n | final test acc (%) | train memory (MiB) |"
# flatten_dense over both batches (5 ok runs): test 90 90.5 91 88 89 -> 448.5/5 = 89.700,
# deviations .3 .8 1.3 -1.7 -.7, squares sum 5.8, /4 = 1.45, sd 1.20416 -> 1.204;
# memory 10 10 10 15 15 MiB -> 12.00, squares 4+4+4+9+9 = 30, /4 = 7.5, sd 2.7386 -> 2.74
# (memory keeps its own 2 decimals; it varies inside the row, so it gets an sd)
check "grouped by model.head: flatten_dense over 5 runs, 3 decimals" has_line "$tmp/grouped/table.md" \
    "| flatten_dense | 5 | 89.700 ± 1.204 | 12.00 ± 2.74 |"
# gap (6 runs): test 85 86 87 80 82 84 -> 504/6 = 84.000, deviations 1 2 3 -4 -2 0,
# squares 34, /5 = 6.8, sd 2.60768 -> 2.608; memory 3 3 3 5 5 5 -> 4.00, squares 6, /5 = 1.2,
# sd 1.0954 -> 1.10
check "grouped by model.head: gap over 6 runs" has_line "$tmp/grouped/table.md" \
    "| gap | 6 | 84.000 ± 2.608 | 4.00 ± 1.10 |"
check "sorted by final test accuracy, largest first" \
    [ "$(grep -E '^\| (gap|flatten_dense) \|' "$tmp/grouped/table.md" | cut -d'|' -f2 | tr -d ' ' | tr '\n' ' ')" \
      = "flatten_dense gap " ]
cat >"$tmp/single.yaml" <<'EOF'
name: heads-mini-single
model: {trunk: [{type: relu}], head: gap}
table: {group_by: [model.head, train.batch, train.seed], columns: [n, final_test_acc]}
EOF
table "$tmp/res" --config "$tmp/single.yaml" --out "$tmp/single"
check "--config FILE takes the table section from FILE" [ "$rc" -eq 0 ]
check "one run per row: its sd is shown as -" has_line "$tmp/single/table.md" \
    "| gap | 32 | 0 | 1 | 85.00 ± - |"
check "a row whose only run diverged has n = 0 and no mean" has_line "$tmp/single/table.md" \
    "| flatten_dense | 64 | 2 | 0 | n/a |"
check "the title names the experiment of --config" grep -q '^\*\*heads-mini-single\*\*' "$tmp/single/table.md"

# ------------------------------------------------------ config errors
fresh badcol
line=$(($(wc -l <"$tmp/badcol/config.yaml") + 2))
printf 'table:\n  columns: [n, final_tst_acc]\n' >>"$tmp/badcol/config.yaml"
table "$tmp/badcol"
check "an unknown column is an error (exit 1)" [ "$rc" -eq 1 ]
check "... naming config.yaml:$line:16 and the closest column" \
    grep -q "badcol/config.yaml:$line:16: .*final_tst_acc.*did you mean 'final_test_acc'" "$tmp/err"
check "... and writing no table" [ ! -e "$tmp/badcol/table.md" ]
fresh badkey
line=$(($(wc -l <"$tmp/badkey/config.yaml") + 2))
printf 'table:\n  group_by: [model.hed]\n' >>"$tmp/badkey/config.yaml"
table "$tmp/badkey"
check "a group_by key that is no runs.csv column is an error (exit 1)" [ "$rc" -eq 1 ]
check "... naming config.yaml:$line:14 and the closest column" \
    grep -q "badkey/config.yaml:$line:14: .*model.hed.*did you mean 'model.head'" "$tmp/err"

# ----------------------------------------------------- input errors
table "$tmp/nonexistent"
check "a missing DIR is an error (exit 1) naming it" \
    sh -c "[ $rc -eq 1 ] && grep -q 'nonexistent' '$tmp/err'"
mkdir "$tmp/empty"
table "$tmp/empty"
check "a DIR without runs.csv is an error (exit 1) saying so" \
    sh -c "[ $rc -eq 1 ] && grep -q 'no runs.csv' '$tmp/err'"
fresh cols
awk -F, 'BEGIN { OFS = "," } { $11 = $12 = "" ; print }' "$fixture/runs.csv" |
    sed 's/,,,/,/' >"$tmp/cols/runs.csv"
table "$tmp/cols"
check "a runs.csv without params and flops is an error (exit 1)" [ "$rc" -eq 1 ]
check "... that names both missing columns" grep -q 'missing columns: params, flops' "$tmp/err"
fresh short
sed '3s/,ok,$/,ok/' "$fixture/runs.csv" >"$tmp/short/runs.csv"
table "$tmp/short"
check "a row with a missing field is an error naming runs.csv:3" \
    sh -c "[ $rc -eq 1 ] && grep -q 'runs.csv:3: ' '$tmp/err'"

# ------------------------------------------------------ command line
table
check "no DIR is a usage error (exit 2) with the usage" \
    sh -c "[ $rc -eq 2 ] && grep -q 'Usage: gpool table' '$tmp/err'"
table "$tmp/res" --bogus
check "an unknown option is a usage error (exit 2)" \
    sh -c "[ $rc -eq 2 ] && grep -q \"unknown option '--bogus'\" '$tmp/err'"
table "$tmp/res" --format html
check "--format html is a usage error (exit 2)" [ "$rc" -eq 2 ]
table "$tmp/res" "$tmp/res"
check "two DIRs are a usage error (exit 2)" [ "$rc" -eq 2 ]
table --help
check "--help exits 0 with the usage" sh -c "[ $rc -eq 0 ] && grep -q 'Usage: gpool table' '$tmp/out'"
table "$tmp/res" --format tex --out "$tmp/texonly"
check "--format tex writes only table.tex and prints it" \
    sh -c "[ $rc -eq 0 ] && [ -s '$tmp/texonly/table.tex' ] && [ ! -e '$tmp/texonly/table.md' ] && cmp -s '$tmp/texonly/table.tex' '$tmp/out'"

# ------------------------------------------------------------- charts
charts="accuracy-mean accuracy-vs-params throughput"
if [ -z "${GNUPLOT-x}" ] || ! command -v "${GNUPLOT:-gnuplot}" >/dev/null 2>&1; then
    for c in $charts; do skip "$c.png and $c.svg are drawn" "no gnuplot"; done
elif [ ! -x /usr/bin/python3 ]; then
    for c in $charts; do skip "$c.png and $c.svg are drawn" "no /usr/bin/python3"; done
else
    cat >"$tmp/check_png.py" <<'EOF'
# check_png.py FILE W H: a valid PNG of W x H pixels that is not one colour (stdlib only)
import struct, sys, zlib

path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = open(path, 'rb').read()
if data[:8] != b'\x89PNG\r\n\x1a\n':
    sys.exit('%s: no PNG signature' % path)
pos, idat, ihdr = 8, [], None
while pos < len(data):
    size, kind = struct.unpack('>I4s', data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + size]
    if zlib.crc32(kind + body) != struct.unpack('>I', data[pos + 8 + size:pos + 12 + size])[0]:
        sys.exit('%s: bad CRC in %r' % (path, kind))
    if kind == b'IHDR':
        ihdr = struct.unpack('>IIBBBBB', body)
    elif kind == b'IDAT':
        idat.append(body)
    pos += 12 + size
if not ihdr or not idat:
    sys.exit('%s: no IHDR or IDAT' % path)
w, h, depth, ctype, _, _, interlace = ihdr
if (w, h) != (want_w, want_h):
    sys.exit('%s: %dx%d, want %dx%d' % (path, w, h, want_w, want_h))
if depth != 8 or interlace or ctype not in (0, 2, 4, 6):
    sys.exit('%s: depth %d, colour type %d: not decoded here' % (path, depth, ctype))
bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
stride = w * bpp
raw = zlib.decompress(b''.join(idat))
if len(raw) != h * (stride + 1):
    sys.exit('%s: %d bytes of image data, want %d' % (path, len(raw), h * (stride + 1)))
prev, colours = bytearray(stride), set()
for y in range(h):
    kind = raw[y * (stride + 1)]
    row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if kind == 1:
        for i in range(bpp, stride):
            row[i] = (row[i] + row[i - bpp]) & 255
    elif kind == 2:
        row = bytearray((a + b) & 255 for a, b in zip(row, prev))
    elif kind == 3:
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            row[i] = (row[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:
        for i in range(stride):
            a = row[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    elif kind != 0:
        sys.exit('%s: row %d has filter %d' % (path, y, kind))
    colours.update(bytes(row[i:i + bpp]) for i in range(0, stride, bpp))
    prev = row
if len(colours) < 2:
    sys.exit('%s: blank (one colour)' % path)
EOF
    cat >"$tmp/check_svg.py" <<'EOF'
# check_svg.py FILE TEXT...: well-formed SVG XML whose text contains every TEXT
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
if not root.tag.endswith('svg'):
    sys.exit('%s: root element is %s' % (sys.argv[1], root.tag))
text = ' '.join(''.join(e.itertext()) for e in root.iter() if e.tag.endswith('text'))
for want in sys.argv[2:]:
    if want not in text:
        sys.exit('%s: no text %r in %r' % (sys.argv[1], want, text[:300]))
EOF
    # png_svg NAME TEXT...: both files drawn, the PNG decoded, the SVG parsed
    png_svg() {
        name=$1
        shift
        if ! /usr/bin/python3 "$tmp/check_png.py" "$tmp/res/$name.png" 1100 650 >"$tmp/py.err" 2>&1 ||
           ! /usr/bin/python3 "$tmp/check_svg.py" "$tmp/res/$name.svg" "$@" >>"$tmp/py.err" 2>&1; then
            sed 's/^/# /' "$tmp/py.err"
            return 1
        fi
    }
    # title names the experiment; axis labels with units; legend entries
    check "accuracy-mean.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-mean "heads-mini: test accuracy per epoch" "epoch" "test accuracy (%)" \
        "head=gap, batch=32" "head=flatten_dense, batch=64"
    check "accuracy-vs-params.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg accuracy-vs-params "heads-mini: final test accuracy against parameters" \
        "parameters (count, log scale)" "final test accuracy (%)" "head=gap, batch=64"
    check "throughput.png/svg: 1100x650, not blank; title, axes, legend" \
        png_svg throughput "heads-mini: training throughput per head, batch" \
        "training throughput (images/s)" "mean ± sd over seeds"
    # epoch 3 of gap/32 is the final accuracy: 86 +- 1 over 3 runs (see above)
    check "the per-epoch band data holds mean and sd over the seeds" \
        grep -qx '3 86.000000 1.000000 3' "$tmp/res/accuracy-mean.dat"
    check "no eval_size column: the accuracy-vs-size chart is skipped, and said so" \
        sh -c "[ ! -e '$tmp/res/accuracy-vs-size.png' ] && grep -q 'no eval_size column' '$tmp/first.err'"
    fresh sized
    awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0, "eval_size"; next }
             { print $0, ($4 == 32 ? 28 : 56) }' "$fixture/runs.csv" >"$tmp/sized/runs.csv"
    printf 'table:\n  group_by: [model.head]\n' >>"$tmp/sized/config.yaml"
    charts=1
    table "$tmp/sized"
    charts=0
    # gap at size 28 is the batch-32 runs: 86 +- 1; at 56 the batch-64 ones: 82 +- 2
    check "with an eval_size column, accuracy-vs-size has mean +- sd per size" \
        sh -c "[ $rc -eq 0 ] && grep -qx '28 86.000000 1.000000 3' '$tmp/sized/accuracy-vs-size.dat' && grep -qx '56 82.000000 2.000000 3' '$tmp/sized/accuracy-vs-size.dat'"
    check "... and is drawn" sh -c "[ -s '$tmp/sized/accuracy-vs-size.png' ] && /usr/bin/python3 '$tmp/check_svg.py' '$tmp/sized/accuracy-vs-size.svg' 'input size (pixels per side)' gap flatten_dense"
fi
charts=1 nognuplot=1
table "$tmp/res" --out "$tmp/nognuplot"
charts=0 nognuplot=0
check "GNUPLOT empty: tables still written, charts skipped with a note (exit 0)" \
    sh -c "[ $rc -eq 0 ] && [ -s '$tmp/nognuplot/table.md' ] && [ ! -e '$tmp/nognuplot/throughput.png' ] && grep -q 'no gnuplot' '$tmp/err'"

echo "1..$n"
