#!/bin/sh
# Runs every test suite (Solidity and mocha, through `hardhat test`) and ends with the plain line
# "N passed, N failed" that CI reads. A run that fails before any test ran (a compile error, say) counts as one
# failure, so that it can never look like a green run of zero tests.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ node_modules/.bin/hardhat test "$@" 2>&1; echo $? > "$tmp/status"; } | tee "$tmp/log"
status=$(cat "$tmp/status")
# Hardhat closes with "N passing (...)" and "N failing (...)"; colours are stripped before reading them.
plain=$(sed 's/\x1b\[[0-9;]*m//g' "$tmp/log")
passed=$(printf '%s\n' "$plain" | sed -n 's/^ *\([0-9][0-9]*\) passing (.*/\1/p' | tail -n 1)
failed=$(printf '%s\n' "$plain" | sed -n 's/^ *\([0-9][0-9]*\) failing (.*/\1/p' | tail -n 1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo
echo "$passed passed, $failed failed"
exit "$status"
