#!/bin/sh
# setup.sh - install gpool's Debian 12 build dependencies, then configure and
# build in the source tree. Run from the top of the checkout, as root or as a
# user with sudo.
#   sh scripts/setup.sh [--tests] [CONFIGURE-ARGUMENTS...]
# --tests also installs what only the tests and benchmarks use: PyTorch and
# numpy, for the step-by-step parity test against PyTorch (tests/parity.sh);
# Slurm and munge, for the job array on a one-node cluster (tests/slurm.sh);
# Snakemake and GNU parallel, for the workflow and the shards
# (tests/snakemake.sh, tests/gnu-parallel.sh); protobuf, to read TensorBoard
# files back (tests/tensorboard.sh); PyYAML and GNU time for
# scripts/bench-throughput.sh's peak-RSS epoch; clang, its libFuzzer and
# OpenMP runtimes, for the fuzz stage of .ci/run (./configure CC=clang
# --enable-fuzzing).
set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config autoconf-archive \
libyaml-dev zlib1g-dev libzip-dev libpng-dev libopenblas-openmp-dev libcmocka-dev gnuplot-nox \
binutils python3 dataset-fashion-mnist"
if [ "${1-}" = "--tests" ]; then
  shift
  PACKAGES="$PACKAGES python3-torch python3-numpy slurm-wlm munge snakemake parallel \
python3-protobuf python3-yaml time clang libclang-rt-14-dev libomp-dev"
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  echo "setup.sh: need root or sudo to install: $PACKAGES" >&2
  exit 1
fi

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup.sh: installing:$missing"
  $as_root apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends $missing
fi

autoreconf -fi
./configure "$@"
make -j"$(nproc)"
