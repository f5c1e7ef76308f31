#!/bin/sh
# pool-mask-avx2.sh - rerun test_pool as if the CPU lacked avx2
# (GPOOL_CPU_MASK=avx2, which hides AVX-512 too), so that automatic dispatch takes the next narrower
# kernels and the variants that need avx2 are skipped. TAP passes through;
# cmocka's "not ok N # SKIP" is rewritten as the TAP skip "ok N # SKIP".
: "${top_builddir:=.}"
prog="$top_builddir/tests/test_pool"
if [ ! -x "$prog" ]; then
  echo "1..0 # SKIP $prog not built"
  exit 0
fi
GPOOL_CPU_MASK=avx2
CMOCKA_MESSAGE_OUTPUT=TAP
export GPOOL_CPU_MASK CMOCKA_MESSAGE_OUTPUT
status_file=$(mktemp) || exit 99
{ "$prog"; echo $? > "$status_file"; } | sed -e 's/^not ok \([0-9][0-9]*\) # SKIP/ok \1 # SKIP/'
status=$(cat "$status_file")
rm -f "$status_file"
exit "${status:-99}"
