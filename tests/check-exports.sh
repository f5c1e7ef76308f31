#!/bin/sh
# check-exports.sh - libgpool exports only gp_ symbols, and never calls exit().
: "${top_builddir:=.}"
lib=$(find "$top_builddir/lib/.libs" -name 'libgpool.so.*' -type f 2>/dev/null | head -n 1)
if [ -z "$lib" ] || ! command -v nm >/dev/null 2>&1; then
  echo "1..0 # SKIP no shared libgpool or no nm"; exit 0
fi
echo "1..3"
foreign=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^gp_/ {print $3}')
if [ -z "$foreign" ]; then echo "ok 1 - only gp_ symbols exported"
else echo "not ok 1 - exported without gp_ prefix: $(echo $foreign)"; fi
count=$(nm -D --defined-only "$lib" | awk '$3 ~ /^gp_/' | wc -l)
if [ "$count" -ge 10 ]; then echo "ok 2 - $count gp_ symbols exported"
else echo "not ok 2 - only $count gp_ symbols exported"; fi
if nm -D --undefined-only "$lib" | grep -qw 'exit\|_exit\|abort'; then
  echo "not ok 3 - libgpool references exit/abort"
else echo "ok 3 - libgpool never calls exit or abort"; fi
