#!/bin/sh
# cmocka-tap.sh PROGRAM [ARGS...] - run a cmocka test with TAP output.
# cmocka reports a skipped test as "not ok N # SKIP", which TAP (and
# Automake's tap-driver.sh) reads as a failure; rewrite it as "ok N # SKIP".
# The program's exit status is kept.
CMOCKA_MESSAGE_OUTPUT=TAP
export CMOCKA_MESSAGE_OUTPUT
status_file=$(mktemp) || exit 99
{ "$@"; echo $? > "$status_file"; } | sed -e 's/^not ok \([0-9][0-9]*\) # SKIP/ok \1 # SKIP/'
status=$(cat "$status_file")
rm -f "$status_file"
exit "${status:-99}"
