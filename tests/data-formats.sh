#!/bin/sh
# data-formats.sh - the readers of CIFAR-10 batches, NumPy arrays and PNG
# folders (issue 18, item 3): each a colour set made by
# tests/make-image-data.py (not by gpool), trained end to end from a config
# above chance, where the class is in the colour only; and each format's
# broken files refused with an error naming the file (and the record or
# member). Emits TAP; everything is written under a mktemp -d directory.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_data_python "data formats"
tap_init data-formats
cd "$tmp" || tap_bail "cannot enter $tmp"
make_data() { "$PYTHON" "$srcdir/tests/make-image-data.py" "$@" || tap_bail "make-image-data.py $*"; }

# write_config FILE NAME DATA-LINES...: a small colour net on the data section given
write_config() {
    file=$1 name=$2; shift 2
    { echo "name: $name"
      echo "data:"
      for line in "$@"; do echo "  $line"; done
      cat <<EOC
model:
  trunk:
    - {type: conv, out: 8, k: 3, pad: 1}
    - {type: relu}
    - {type: maxpool, k: 2}
  head: gap
train: {epochs: 3, batch: 32, threads: 1, checkpoint: false, optimizer: adam, lr: 3e-3}
EOC
    } >"$file"
}

gpool_run() { "$gpool" run -q "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }

# value FILE NAME: the first row's value of column NAME of a CSV file
value() {
    awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                          { print $c; exit }' "$1"
}

# trains_above NAME CONFIG CHANCE: the config trains, ok, above CHANCE + 0.25
trains_above() {
    gpool_run --out "$tmp/$1" "$2"
    check "$1: trains (status $rc)" [ "$rc" -eq 0 ]
    [ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
    acc=$(value "$tmp/$1/runs.csv" final_test_acc)
    check "$1: test accuracy ${acc:-none} is above chance ($3) + 0.25" \
        awk -v a="${acc:-0}" -v c="$3" 'BEGIN { exit !(a > c + 0.25) }'
}

# refused NAME CONFIG PATTERN: gpool run --check fails with PATTERN in its message
refused() {
    gpool_run --check "$2"
    check "$1: refused (status $rc)" [ "$rc" -ne 0 ]
    check "... $(echo "$3" | sed 's/\\//g')" grep -q "$3" "$tmp/err"
    grep -q "$3" "$tmp/err" || sed 's/^/# /' "$tmp/err"
}

# ------------------------------------------------------------- CIFAR-10
make_data cifar cifar 600 200
write_config cifar.yaml cifar "source: cifar10" "dir: $tmp/cifar" "normalize: true"
trains_above cifar10 cifar.yaml 0.1
check "cifar10: the network takes 3 channels (conv 3 -> 8: 224 parameters + head 90)" \
    [ "$(value "$tmp/cifar10/runs.csv" params)" -eq 314 ]
check "cifar10: the manifest records the six batch files" \
    [ "$(grep -c 'path: .*_batch.*\.bin' "$tmp/cifar10/manifest.yaml")" -eq 6 ]

# broken copies of the set, one fault each
cifar_copy() { rm -rf bad && cp -r cifar bad; }
write_config bad.yaml bad "source: cifar10" "dir: $tmp/bad"
cifar_copy && rm bad/data_batch_3.bin
refused "cifar10, a batch missing" bad.yaml "bad: no readable data_batch_3.bin"
cifar_copy && head -c 10000 cifar/test_batch.bin >bad/test_batch.bin
refused "cifar10, a cut record" bad.yaml \
    "test_batch.bin: 10000 bytes is not a whole number of 3073-byte records.*record 3, at byte offset 9219"
cifar_copy && : >bad/data_batch_2.bin
refused "cifar10, an empty batch" bad.yaml "data_batch_2.bin: empty file"
cifar_copy && printf '\014' | dd of=bad/data_batch_4.bin bs=1 seek=$((3073 * 5)) conv=notrunc 2>/dev/null
refused "cifar10, a label of 12" bad.yaml \
    "data_batch_4.bin: record 5 (byte offset 15365): label 12 outside 0..9"
write_config missing.yaml missing "source: cifar10"
GPOOL_DATA=$tmp/nowhere gpool_run --check missing.yaml
check "cifar10 not found: refused naming the places searched (status $rc)" \
    grep -q "CIFAR-10 not found.*$tmp/nowhere/cifar-10-batches-bin" "$tmp/err"
mkdir -p "$tmp/gd" && cp -r cifar "$tmp/gd/cifar-10-batches-bin"
GPOOL_DATA=$tmp/gd gpool_run --check missing.yaml
check "cifar10 found under \$GPOOL_DATA/cifar-10-batches-bin (status $rc)" [ "$rc" -eq 0 ]

# ------------------------------------------------------------ PNG folders
make_data pngdir pngs 600 200
write_config png.yaml png "source: imagefolder" "dir: $tmp/pngs" "normalize: true"
trains_above imagefolder png.yaml 0.25
check "imagefolder: RGB, RGBA, 16-bit and palette files read as 3 channels (224 + 36 parameters)" \
    [ "$(value "$tmp/imagefolder/runs.csv" params)" -eq 260 ]
check "imagefolder: the manifest records the class order" \
    grep -q '^  class_names: "cat,dog,frog,ship"' "$tmp/imagefolder/manifest.yaml"
check "imagefolder: ... and the two roots, each with a hash" \
    [ "$(grep -c 'path: .*pngs/t[a-z]*"$' "$tmp/imagefolder/manifest.yaml")" -eq 2 ]
# more class names than the manifest's field holds: the whole names that
# fit, then how many more, never a name cut short
png=$(ls pngs/train/cat | head -n 1)
for k in $(seq -w 10 69); do
    for split in train test; do
        mkdir -p "many/$split/class-with-a-rather-long-folder-name-$k"
        cp "pngs/train/cat/$png" "many/$split/class-with-a-rather-long-folder-name-$k/"
    done
done
write_config many.yaml many "source: imagefolder" "dir: $tmp/many"
sed -i 's/epochs: 3/epochs: 1/' many.yaml
gpool_run --out "$tmp/many-out" many.yaml
names=$(sed -n 's/^  class_names: "\(.*\)"$/\1/p' "$tmp/many-out/manifest.yaml")
shown=$(printf '%s' "$names" | tr ',' '\n' | grep -c '^class-with-a-rather-long-folder-name-[0-9][0-9]$')
check "imagefolder, 60 long class names: whole names, then '... N more' (N = 60 - $shown)" \
    sh -c "[ $rc -eq 0 ] && [ $shown -gt 10 ] && printf '%s' '$names' | grep -q ', \.\.\. $((60 - shown)) more\$'"
# grey and grey+alpha files join a set read as one channel, and as three
for kind in grey greyalpha; do make_data png "pngs/train/cat/zz-$kind.png" "$kind" 12 12; done
write_config png1.yaml png1 "source: imagefolder" "train_images: pngs/train" \
    "test_images: pngs/test" "channels: 1"
gpool_run --check png1.yaml
check "imagefolder, channels: 1, grey files among colour ones: checked (status $rc)" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || sed 's/^/# /' "$tmp/err"
gpool_run --check png.yaml
check "imagefolder, channels 3, grey files among colour ones: checked (status $rc)" [ "$rc" -eq 0 ]

png_copy() { rm -rf badpng && cp -r pngs badpng; }
first_png() { ls "$1" | head -n 1; }   # first_png DIR: the name of DIR's first file
write_config bad.yaml bad "source: imagefolder" "dir: $tmp/badpng"
png_copy && PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import sys; sys.path.insert(0, sys.argv[1]); import importlib
m = importlib.import_module("make-image-data")
px = [[[7 * r + c, 40, 90] for c in range(9)] for r in range(12)]
open(sys.argv[2], "wb").write(m.png_of(px, "rgb"))' "$srcdir/tests" "badpng/train/dog/$(first_png pngs/train/dog)"
refused "imagefolder, an image of another size" bad.yaml \
    "badpng/train/dog/$(first_png pngs/train/dog): 12 x 9 pixels (height x width), the first image is 12 x 12"
f=$(first_png pngs/test/frog)
png_copy && head -c 100 "pngs/test/frog/$f" >"badpng/test/frog/$f"
refused "imagefolder, a truncated PNG" bad.yaml "badpng/test/frog/$f: .*truncated"
f=$(first_png pngs/train/ship)
png_copy && echo "not an image" >"badpng/train/ship/$f"
refused "imagefolder, not a PNG" bad.yaml "badpng/train/ship/$f: not a PNG file"
f=$(first_png pngs/test/cat)
png_copy && PYTHONDONTWRITEBYTECODE=1 "$PYTHON" -c '
import sys
raw = bytearray(open(sys.argv[1], "rb").read()); raw[40] ^= 0x21
open(sys.argv[1], "wb").write(raw)' "badpng/test/cat/$f"
refused "imagefolder, a corrupt chunk (CRC)" bad.yaml "badpng/test/cat/$f: .*CRC"
png_copy && rm -r badpng/test/frog
refused "imagefolder, a class folder missing from test/" bad.yaml \
    "badpng/test: no class folder frog, which .*badpng/train has"
png_copy && rm badpng/train/dog/*.png
refused "imagefolder, an empty class folder" bad.yaml \
    "badpng/train/dog: no .png file in this class folder"
png_copy && rm -r badpng/test
refused "imagefolder, no test/" bad.yaml "badpng/test: cannot open the folder"
write_config bad.yaml bad "source: imagefolder" "dir: $tmp/pngs" "channels: 2"
refused "imagefolder, channels: 2" bad.yaml "data.channels must be 1 (grey) or 3 (RGB), not 2"

# ----------------------------------------------------------- NumPy arrays
if "$PYTHON" -c 'import numpy' 2>/dev/null; then
make_data npz set.npz 600 200
write_config npz.yaml npz "source: npz" "file: $tmp/set.npz" "normalize: true"
trains_above npz npz.yaml 0.25
check "npz: the network takes 3 channels (conv 3 -> 8: 224 parameters + head 36)" \
    [ "$(value "$tmp/npz/runs.csv" params)" -eq 260 ]
mkdir f32 && make_data npy f32 400 100 nchw float32
write_config f32.yaml f32 "source: npy" "layout: nchw" "train_images: f32/x_train.npy" \
    "train_labels: f32/y_train.npy" "test_images: f32/x_test.npy" "test_labels: f32/y_test.npy"
trains_above "npy, float32 N x C x H x W" f32.yaml 0.25
mkdir grey && make_data npy grey 40 20 nhw uint8
write_config grey.yaml grey "source: npy" "layout: nhw" "train_images: grey/x_train.npy" \
    "train_labels: grey/y_train.npy" "test_images: grey/x_test.npy" "test_labels: grey/y_test.npy"
gpool_run --check grey.yaml
check "npy: uint8 N x H x W (one channel) with int32 and uint8 labels (status $rc)" [ "$rc" -eq 0 ]
write_config grey4.yaml grey "source: npy" "layout: nhwc" "train_images: grey/x_train.npy" \
    "train_labels: grey/y_train.npy" "test_images: grey/x_test.npy" "test_labels: grey/y_test.npy"
refused "npy, 3 dimensions read as nhwc" grey4.yaml \
    "grey/x_train.npy: images of data.layout nhwc have 4 dimensions, this array has 3"

# broken arrays, each written by numpy or cut from one it wrote
"$PYTHON" - <<'EOP' || tap_bail "numpy could not write the broken arrays"
import numpy as np, zipfile
x = np.load("grey/x_train.npy"); y = np.load("grey/y_train.npy")
np.save("bad-x-int.npy", x.astype(np.int32))
np.save("bad-y-float.npy", y.astype(np.float32))
np.save("bad-y-short.npy", y[:-3])
np.save("bad-y-neg.npy", np.where(np.arange(len(y)) == 7, -2, y).astype(np.int64))
np.save("bad-x-fortran.npy", np.asfortranarray(x))
np.save("bad-x-nan.npy", np.where(np.arange(x.size).reshape(x.shape) == 100, np.nan,
                                  x.astype(np.float32)).astype(np.float32))
with open("grey/x_train.npy", "rb") as f: raw = f.read()
open("bad-x-cut.npy", "wb").write(raw[:-5])
open("bad-x-long.npy", "wb").write(raw + b"\0\0")
open("bad-x-magic.npy", "wb").write(b"\x93NUMPX" + raw[6:])
d = np.load("set.npz")
np.savez("bad-missing.npz", x_train=d["x_train"], y_train=d["y_train"], x_test=d["x_test"])
np.savez("bad-dtype.npz", x_train=d["x_train"].astype(np.float64), y_train=d["y_train"],
         x_test=d["x_test"], y_test=d["y_test"])
y = d["y_test"].copy(); y[5] = 9   # the training labels take 4 classes
np.savez("bad-label.npz", x_train=d["x_train"], y_train=d["y_train"], x_test=d["x_test"], y_test=y)
with open("set.npz", "rb") as f: raw = f.read()
open("bad-cut.npz", "wb").write(raw[: len(raw) // 2])
with zipfile.ZipFile("bad-empty.npz", "w", zipfile.ZIP_STORED) as z:
    for k in d.files:
        z.writestr(k + ".npy", b"")
with zipfile.ZipFile("bad-crc.npz", "w", zipfile.ZIP_STORED) as z:
    for k in d.files:
        z.writestr(k + ".npy", open("grey/x_train.npy", "rb").read())
with open("bad-crc.npz", "rb") as f: raw = bytearray(f.read())
raw[200] ^= 0x55          # a byte of x_train.npy's data: its CRC-32 no longer matches
open("bad-crc.npz", "wb").write(raw)
EOP
bad_npy() { # bad_npy NAME X-FILE Y-FILE PATTERN
    write_config bad.yaml bad "source: npy" "layout: nhw" "train_images: $2" \
        "train_labels: $3" "test_images: grey/x_test.npy" "test_labels: grey/y_test.npy"
    refused "$1" bad.yaml "$4"
}
bad_npy "npy, int32 images" bad-x-int.npy grey/y_train.npy \
    "bad-x-int.npy: images must be uint8 or float32 (this array is int32)"
bad_npy "npy, float labels" grey/x_train.npy bad-y-float.npy \
    "bad-y-float.npy: labels must be integers"
bad_npy "npy, 37 labels for 40 images" grey/x_train.npy bad-y-short.npy \
    "bad-y-short.npy: 37 labels for 40 images"
bad_npy "npy, a negative label" grey/x_train.npy bad-y-neg.npy \
    "bad-y-neg.npy: label -2 at index 7 is negative"
bad_npy "npy, Fortran order" bad-x-fortran.npy grey/y_train.npy \
    "bad-x-fortran.npy: Fortran-order data not supported"
bad_npy "npy, a NaN pixel" bad-x-nan.npy grey/y_train.npy \
    "bad-x-nan.npy: element 100 (image 0) is nan"
bad_npy "npy, truncated" bad-x-cut.npy grey/y_train.npy \
    "bad-x-cut.npy: shape (40, 16, 16) of 1-byte elements needs 10240 bytes of data, the file has 10235.*truncated"
bad_npy "npy, trailing bytes" bad-x-long.npy grey/y_train.npy \
    "bad-x-long.npy: .*trailing bytes"
bad_npy "npy, bad magic" bad-x-magic.npy grey/y_train.npy "bad-x-magic.npy: not a .npy file"
bad_npy "npy, a file missing" nowhere.npy grey/y_train.npy "nowhere.npy: cannot open"
bad_npz() { # bad_npz NAME FILE PATTERN
    write_config bad.yaml bad "source: npz" "file: $2"
    refused "$1" bad.yaml "$3"
}
bad_npz "npz, a member missing" bad-missing.npz \
    "bad-missing.npz: no member y_test.npy.*this one holds: x_train.npy, y_train.npy, x_test.npy"
bad_npz "npz, float64 images" bad-dtype.npz \
    "bad-dtype.npz:x_train.npy: dtype '<f8' not supported"
bad_npz "npz, a test label outside the classes: the member named" bad-label.npz \
    "bad-label.npz:y_test.npy: label 9 at index 5 is outside \\[0, 4)"
bad_npz "npz, cut in half" bad-cut.npz "bad-cut.npz: cannot open as an .npz (zip) archive"
bad_npz "npz, empty members" bad-empty.npz "bad-empty.npz:x_train.npy: truncated header"
bad_npz "npz, a corrupt member (CRC)" bad-crc.npz "bad-crc.npz:x_train.npy: .*CRC"
bad_npz "npz, no such file" nowhere.npz "nowhere.npz: cannot open as an .npz"
write_config bad.yaml bad "source: npz"
refused "npz without data.file" bad.yaml "source npz needs data.file"
else
    skip "npz and npy sets" "python3-numpy is not installed (sh scripts/setup.sh --tests)"
fi

echo "1..$n"
