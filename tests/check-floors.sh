#!/bin/sh
# check-floors.sh - the include rule of docs/ARCHITECTURE.md, read from the
# #include lines: experiments/ is built in floors, and a file may include
# only its own floor's headers and those of the floors below it:
#   cmd -> records -> core -> cfg -> util -> libgpool
# probe/ sits beside them: it may include util/ and libgpool, and only cmd/
# and records/ may include it. Nothing includes cmd/ but cmd/. libgpool
# (lib/) includes nothing of experiments/, and nothing outside lib/ includes
# its private headers (gpi*.h). Tests may include every floor but cmd/.
# An experiments header is always named by its floor ("core/data.h").
# TAP output: one test per source file.
: "${top_srcdir:=.}"

# rank of a floor; a file may include floors of lower or equal rank
rank() {
  case $1 in
    util) echo 0 ;; cfg) echo 1 ;; core) echo 2 ;; records) echo 3 ;; cmd) echo 4 ;;
    probe) echo P ;; tests) echo T ;; lib) echo L ;; *) echo '?' ;;
  esac
}

# may a file of floor $1 include a header of floor $2? (prints nothing if so)
verdict() {
  from=$1 to=$2
  if [ "$to" = lib ]; then
    [ "$from" = lib ] || echo "includes a private libgpool header"
    return
  fi
  case $from in
    lib) echo "libgpool includes experiments/$to/" ; return ;;
    tests) [ "$to" = cmd ] && echo "a test includes cmd/ (move what it needs to a lower floor)"
           return ;;
    probe) case $to in util|probe) ;; *) echo "probe/ includes $to/" ;; esac; return ;;
  esac
  if [ "$to" = probe ]; then
    case $from in cmd|records) ;; *) echo "$from/ includes probe/ (only cmd/ and records/ may)" ;; esac
    return
  fi
  rf=$(rank "$from") rt=$(rank "$to")
  if [ "$rt" = '?' ]; then echo "includes unknown floor $to/"; return; fi
  [ "$rt" -le "$rf" ] || echo "$from/ includes $to/, a higher floor"
}

# the floor a header name belongs to, or "" for libgpool's public headers
floor_of_header() {
  case $1 in
    */*) echo "${1%%/*}" ;;
    gpool.h|gpool_nn.h|autoconfig.h) echo "" ;;
    gpi*.h) echo lib ;;
    *) echo "bare" ;;
  esac
}

files=$(cd "$top_srcdir" && find lib experiments tests -name '*.[ch]' | sort)
count=$(printf '%s\n' "$files" | wc -l)
echo "1..$count"
i=0
for f in $files; do
  i=$((i + 1))
  case $f in
    lib/*) from=lib ;;
    tests/*) from=tests ;;
    experiments/*/*) from=${f#experiments/}; from=${from%%/*} ;;
    *) from=unknown ;;
  esac
  problems=""
  [ "$from" = unknown ] && problems="not in a floor directory of experiments/; "
  # shellcheck disable=SC2013
  for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$top_srcdir/$f"); do
    to=$(floor_of_header "$h")
    case $to in
      "") continue ;;
      bare)
        case $from in
          lib) [ -f "$top_srcdir/lib/$h" ] && continue ;;
          tests) [ -f "$top_srcdir/tests/$h" ] || [ -f "$top_srcdir/${f%/*}/$h" ] && continue ;;
        esac
        problems="$problems\"$h\" is not named by its floor; "; continue ;;
    esac
    why=$(verdict "$from" "$to")
    [ -n "$why" ] && problems="$problems\"$h\": $why; "
  done
  if [ -z "$problems" ]; then
    echo "ok $i - $f"
  else
    echo "not ok $i - $f: ${problems%; }"
  fi
done
