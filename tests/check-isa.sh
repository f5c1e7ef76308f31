#!/bin/sh
# check-isa.sh - only the per-ISA kernel objects may hold ymm/zmm instructions,
# so the library and the gpool command still run on a baseline x86-64 CPU.
# TAP output; one test per object file of the build.
: "${top_builddir:=.}"
objdump_prog=${OBJDUMP:-objdump}

case $(uname -m) in
  x86_64|i?86) ;;
  *) echo "1..0 # SKIP not an x86 machine"; exit 0 ;;
esac
if ! command -v "$objdump_prog" >/dev/null 2>&1; then
  echo "1..0 # SKIP objdump not found"; exit 0
fi

objects=$(find "$top_builddir/lib" "$top_builddir/experiments" -name '*.o' | sort)
if [ -z "$objects" ]; then
  echo "1..1"; echo "not ok 1 - no object files under $top_builddir/lib and experiments"; exit 0
fi

count=$(printf '%s\n' "$objects" | wc -l)
echo "1..$count"
i=0
for obj in $objects; do
  i=$((i + 1))
  name=$(basename "$obj")
  wide=$("$objdump_prog" -d --no-show-raw-insn "$obj" | grep -c '%[yz]mm[0-9]')
  case $name in
    *avx512*)
      # the AVX-512 files must really use zmm, or the flags did not reach them
      if [ "$wide" -gt 0 ]; then echo "ok $i - $name: $wide wide-vector instructions (kernel file)"
      else echo "not ok $i - $name: kernel file without ymm/zmm instructions"; fi ;;
    *avx2*)
      if [ "$wide" -gt 0 ]; then echo "ok $i - $name: $wide wide-vector instructions (kernel file)"
      else echo "not ok $i - $name: kernel file without ymm instructions"; fi ;;
    *)
      if [ "$wide" -eq 0 ]; then echo "ok $i - $name: baseline x86-64 only"
      else echo "not ok $i - $name: $wide ymm/zmm instructions outside the kernel files"; fi ;;
  esac
done
