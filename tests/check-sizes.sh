#!/bin/sh
# check-sizes.sh - the size rules of docs/ARCHITECTURE.md, so that a file or
# a function that grows past them is noticed when it does:
#   - no .c file of lib/ or experiments/ over 1,000 lines, but the per-ISA
#     kernel files (*_avx2.c, *_avx512.c), whose loops are unrolled by hand;
#   - no function of lib/ or experiments/ over 80 lines, counted from the line
#     of its opening brace to the line of its closing one (the code's style
#     puts both in column 0).
# TAP output: one test per source file.
: "${top_srcdir:=.}"
MAX_FILE_LINES=1000
MAX_FUNCTION_LINES=80

files=$(cd "$top_srcdir" && find lib experiments -name '*.c' | sort)
count=$(printf '%s\n' "$files" | wc -l)
echo "1..$count"
i=0
for f in $files; do
  i=$((i + 1))
  path="$top_srcdir/$f"
  lines=$(wc -l < "$path")
  problems=""
  case $f in
    *_avx2.c|*_avx512.c) ;;
    *) [ "$lines" -gt "$MAX_FILE_LINES" ] && problems="$lines lines (at most $MAX_FILE_LINES); " ;;
  esac
  long=$(awk -v max="$MAX_FUNCTION_LINES" '
    /^[A-Za-z_].*\(/ { sig = $0; sub(/\(.*/, "", sig); n = split(sig, w, /[ *]+/); name = w[n] }
    /^\{/ { start = NR }
    /^\}/ && start { len = NR - start + 1; if (len > max) printf "%s() %d lines (line %d); ", name, len, start; start = 0 }
  ' "$path")
  problems="$problems$long"
  if [ -z "$problems" ]; then
    echo "ok $i - $f ($lines lines)"
  else
    echo "not ok $i - $f: ${problems%; }"
  fi
done
