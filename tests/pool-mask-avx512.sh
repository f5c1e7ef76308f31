#!/bin/sh
# pool-mask-avx512.sh - run test_pool again as if the CPU lacked avx512
# (GPOOL_CPU_MASK=avx512), so that automatic dispatch takes the next
# narrower kernels and the variants that need avx512 are skipped.
: "${top_builddir:=.}" "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_slow "test_pool again, under a CPU mask"
GPOOL_CPU_MASK=avx512
export GPOOL_CPU_MASK
exec sh "$top_srcdir/tests/cmocka-tap.sh" "$top_builddir/tests/test_pool"
