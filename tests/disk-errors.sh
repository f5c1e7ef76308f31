#!/bin/sh
# disk-errors.sh - a read-only or full results disk is a clear error: exit
# status 1, a message that names the file and the system's reason, the rows
# already written left as they were, no temporary files left behind, and a
# later --resume on a healthy disk finishes the sweep. The disk is a small
# tmpfs in a private mount namespace (unshare -m), remounted read-only or
# filled up; that needs root (file modes do not stop root), so the test is
# skipped, with the reason, where it cannot mount. Emits TAP; mktemp -d only.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_locate

if [ -z "${GPOOL_DISK_TEST_NS:-}" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "1..0 # SKIP needs root to mount a tmpfs (read-only modes do not bind root)"
        exit 0
    fi
    if ! unshare -m sh -c 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" &&
                           umount "$d" && rmdir "$d"' 2>/dev/null; then
        echo "1..0 # SKIP cannot mount a tmpfs in a private mount namespace (unshare -m)"
        exit 0
    fi
    GPOOL_DISK_TEST_NS=1 exec unshare -m sh "$0" "$@"
fi

tap_mktemp disk 'umount "${disk:-}" 2>/dev/null'
disk="$tmp/disk"
mkdir "$disk"
mount -t tmpfs -o size=8m tmpfs "$disk" || { echo "Bail out! mount tmpfs"; exit 1; }

no_temp_files() { [ -z "$(find "$1" -name '*.tmp*')" ]; }
# every line of file $1 is a line of file $2
lines_kept() { awk 'NR == FNR { want[$0] = 1; next } ($0 in want) { delete want[$0] }
                    END { exit length(want) > 0 }' "$1" "$2"; }
free_kib() { df -k "$disk" | awk 'NR == 2 { print $4 }'; }
export GNUPLOT=   # charts are not what this test is about

cfg="$srcdir/tests/configs/resume.yaml"           # 4 runs
more="$tmp/more.yaml"                              # the same 4 and 2 more
sed 's/^  train.seed: \[0, 1\]$/  train.seed: [0, 1, 2]/' "$cfg" >"$more"
grep -q 'train.seed: \[0, 1, 2\]' "$more" || { echo "Bail out! could not widen the sweep"; exit 1; }
exp="$disk/exp"

"$gpool" run -q "$cfg" --out "$exp" >/dev/null 2>&1
check "a first sweep fills the tmpfs results directory (exit 0)" [ $? -eq 0 ]
cp "$exp/runs.csv" "$tmp/runs.before"
cp "$exp/epochs.csv" "$tmp/epochs.before"
kept() {
    check "... runs.csv is byte for byte what the first sweep wrote" cmp -s "$tmp/runs.before" "$exp/runs.csv"
    check "... and so is epochs.csv" cmp -s "$tmp/epochs.before" "$exp/epochs.csv"
}

# read-only
mount -o remount,ro "$disk" || { echo "Bail out! remount ro"; exit 1; }
for mode in --force --resume; do
    "$gpool" run -q $mode "$more" --out "$exp" >/dev/null 2>"$tmp/err"
    check "run $mode on a read-only disk exits 1" [ $? -eq 1 ]
    check "... saying which file and why" grep -q "cannot write $exp/.*Read-only file system" "$tmp/err"
    kept
done
"$gpool" table "$exp" >/dev/null 2>"$tmp/err"
check "table on a read-only disk exits 1" [ $? -eq 1 ]
check "... saying which file and why" grep -q "cannot write $exp/.*Read-only file system" "$tmp/err"
mount -o remount,rw "$disk" || { echo "Bail out! remount rw"; exit 1; }

# full: not a byte free, then too little for a run's checkpoints (~100 KiB)
for left in 0 40; do
    dd if=/dev/zero of="$disk/filler" bs=1k count=$(($(free_kib) - left)) 2>/dev/null
    "$gpool" run -q --resume "$more" --out "$exp" >/dev/null 2>"$tmp/err"
    check "run --resume with $left KiB free exits 1" [ $? -eq 1 ]
    check "... saying why" sh -c "grep -q 'No space left on device' '$tmp/err' ||
                                  grep -q 'No space left on device' '$exp/runs.csv'"
    check "... keeping every row of the first sweep" lines_kept "$tmp/runs.before" "$exp/runs.csv"
    check "... and every epoch row" lines_kept "$tmp/epochs.before" "$exp/epochs.csv"
    check "... and leaving no temporary files" no_temp_files "$exp"
    rm -f "$disk/filler"
done

"$gpool" run -q --resume "$more" --out "$exp" >/dev/null 2>&1
check "with space again, --resume finishes the sweep (exit 0)" [ $? -eq 0 ]
check "... with all 6 runs ok" [ "$(awk -F, 'NR > 1 && $0 ~ /,ok,/' "$exp/runs.csv" | wc -l)" -eq 6 ]
check "... and the first sweep's rows unchanged" lines_kept "$tmp/runs.before" "$exp/runs.csv"

# gpool migrate cut short by a full disk (the run folders renamed, no file
# rewritten yet): run again with space, it finishes as if never cut
prev="$srcdir/tests/fixtures/prev-release"
mig="$disk/prev"
cp -R "$prev" "$mig" && chmod -R u+w "$mig" || { echo "Bail out! copy $prev"; exit 1; }
dd if=/dev/zero of="$disk/filler" bs=1k count="$(free_kib)" 2>/dev/null
"$gpool" migrate "$mig" >/dev/null 2>"$tmp/err"
check "migrate on a full disk exits 1" [ $? -eq 1 ]
check "... saying why" grep -q 'No space left on device' "$tmp/err"
check "... and leaving no temporary files" no_temp_files "$mig"
old0=$(awk -F, 'NR == 2 { print $1 }' "$prev/runs.csv")
new0=$("$gpool" run --list "$cfg" | awk 'NR == 1 { print $1 }')
check "... half done: run 0's folder renamed, runs.csv not yet rewritten" \
    sh -c "[ -d '$mig/runs/$new0' ] && grep -q '^$old0,' '$mig/runs.csv'"
rm -f "$disk/filler"
"$gpool" migrate "$mig" >/dev/null 2>&1
check "with space again, migrate finishes the directory (exit 0)" [ $? -eq 0 ]
cp -R "$prev" "$tmp/whole" && chmod -R u+w "$tmp/whole"
"$gpool" migrate -q "$tmp/whole" >/dev/null 2>&1
for d in "$mig" "$tmp/whole"; do
    sed -i '/^ids_migrated_at: /d' "$d/manifest.yaml"
done
check "... to the files of a migrate never cut short" diff -r "$mig" "$tmp/whole"

echo "1..$n"
