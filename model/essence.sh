#!/usr/bin/env bash
# Print the essence of a spin trail: the steps that write shared words
# (and the assertion), one line each, as "step  replica  statement".
# usage: model/essence.sh model.pml [spin -D flags...]
set -euo pipefail
pml=$1; shift
spin -t -p "$@" "$pml" 2>&1 |
  grep -E '^ *[0-9]+:\s+proc +[0-9]+ \(Replica|Client|Node|Error' |
  sed -E 's/^ *([0-9]+):\s+proc +([0-9]+) \(([A-Za-z]+):[0-9]+\) [^ ]+ \(state [0-9]+\)\s+\[(.*)\]$/\1 \3#\2 \4/' |
  grep -E ' (HEAD|TAIL|CTAIL|seal|hdr|LTAIL|STATE|LOCK|STATUS|TPOS|intentPos|repairPos|killed|EPOCH|SERVED|RESP|REQ)[^=]* = |Error' |
  grep -vE '^[0-9]+ [A-Za-z]+#[0-9]+ (ok|sealed|st|dc|dop) ' || true
