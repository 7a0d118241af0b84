#!/usr/bin/env bash
# Model-check the NR log protocol (nr-log.pml), the client slot epochs
# (clients.pml), the ordering of multi-log ops on parallel logs
# (cnr-order.pml) and the reuse of NrFS's shared pages (pages.pml) with
# spin. Each check compiles a verifier (pan) with its own bound and flags;
# a "pass" check must explore its whole state space
# with no error, a "find" check must report the named error (the bug it
# puts back into the model). Exits non-zero on any unexpected result.
#
#   model/run.sh          the CI set (about 90 s of CPU, spread over every core)
#   model/run.sh --full   also the large bounds (several minutes; numbers in docs/nr.md)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v spin >/dev/null || { echo "run.sh: spin is not installed (apt-get install spin)" >&2; exit 2; }
CC=${CC:-cc}
command -v "$CC" >/dev/null || { echo "run.sh: no C compiler ($CC)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# check NAME EXPECT MODE MODEL FLAGS...
#   EXPECT: pass | find:<text the error report must contain>
#   MODE:   safety (assertions, invalid end states) | live (non-progress cycles, weak fairness)
# Checks run in parallel, one per core (JOBS overrides); each writes its
# verdict line to results/NNN.out (printed in order at the end) and a
# results/NNN.fail marker if it did not end as expected.
results="$work/results"
mkdir -p "$results"
jobs_max=${JOBS:-$(nproc 2>/dev/null || echo 2)}
checks=0
check() {
  checks=$((checks + 1))
  local idx
  idx=$(printf '%03d' "$checks")
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  (run_check "$@" >"$results/$idx.out" 2>&1 || touch "$results/$idx.fail") &
}
run_check() {
  local name=$1 expect=$2 mode=$3 model=$4; shift 4
  local dir="$work/$name"
  mkdir -p "$dir"
  cp "$here/$model" "$dir/"
  local t0=$SECONDS out
  (cd "$dir" && spin -a "$@" "$model" >spin.log 2>&1) || { echo "FAIL $name: spin -a failed"; cat "$dir/spin.log"; return 1; }
  if [ "$mode" = live ]; then
    (cd "$dir" && "$CC" -O2 -DNP -DCOLLAPSE -o pan pan.c 2>cc.log) && out=$(cd "$dir" && ./pan -l -f -m2000000 -w24 2>&1) || true
  else
    (cd "$dir" && "$CC" -O2 -DSAFETY -DCOLLAPSE -o pan pan.c 2>cc.log) && out=$(cd "$dir" && ./pan -m2000000 -w24 2>&1) || true
  fi
  local stored matched depth errors
  stored=$(sed -nE 's/^ *([0-9.e+]+) states, stored.*/\1/p' <<<"$out" | head -1)
  matched=$(sed -nE 's/^ *([0-9.e+]+) states, matched.*/\1/p' <<<"$out" | head -1)
  depth=$(sed -nE 's/.*depth reached ([0-9]+).*/\1/p' <<<"$out" | head -1)
  errors=$(sed -nE 's/.*errors: ([0-9]+).*/\1/p' <<<"$out" | head -1)
  local secs=$((SECONDS - t0)) verdict
  if [ "$expect" = pass ]; then
    if [ "${errors:-x}" = 0 ] && ! grep -q "Search not completed\|max search depth too small" <<<"$out"; then
      verdict=ok
    else
      verdict=FAIL
    fi
  else
    local want=${expect#find:}
    if [ "${errors:-0}" != 0 ] && grep -q "$want" <<<"$out"; then verdict=ok; else verdict=FAIL; fi
  fi
  printf '%-4s %-26s %-5s %-30s stored %-10s matched %-10s depth %-5s %3ss  (%s %s)\n' \
    "$verdict" "$name" "$mode" "$expect" "${stored:-?}" "${matched:-?}" "${depth:-?}" "$secs" "$model" "$*"
  if [ "$verdict" != ok ]; then
    grep -E "violated|cycle|error|Warning" <<<"$out" | head -5
    [ -s "$dir/cc.log" ] && grep -m5 error "$dir/cc.log"
    return 1
  fi
  return 0
}

L=nr-log.pml
# Safety: assertions (no replica keeps or publishes state decoded from bytes
# that are not an entry; CTAIL <= TAIL, never decreasing; equal states at
# equal positions; every acknowledged write held by every replica that
# catches up; no op reported as not applied is applied) and no invalid end
# state (no process blocked forever outside an idle or stopped state).
check log-reader-writer-kill   pass safety $L -DK0=0 -DK=2
check log-writers-nokill       pass safety $L -DK0=1 -DK=2 -DNOKILL
check log-writers-kill-1       pass safety $L -DK0=1 -DK=1 -DVICTIM=1
# Liveness: no cycle without progress (an acknowledged write or a completed
# read) under weak fairness, with either replica stopped forever at any step.
check live-reader-writer-kill  pass live   $L -DK0=0 -DK=1
check live-writers-nokill      pass live   $L -DK0=1 -DK=1 -DNOKILL
# The checks have teeth: each flag puts one bug back.
check bug-lapped-reader        "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DLAPPED_BUG
check bug-late-seal            "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DLATE_SEAL_BUG
check bug-no-repair            "find:non-progress cycle" live   $L -DK0=1 -DK=1 -DVICTIM=0 -DNO_REPAIR
if [ -f "$here/clients.pml" ]; then
  C=clients.pml
  check clients                pass safety $C
  check live-clients           pass live   $C
  check bug-clients-no-epoch   "find:assertion violated" safety $C -DNO_EPOCH
fi

if [ -f "$here/cnr-order.pml" ]; then
  O=cnr-order.pml
  # Two logs, two multi-log appenders that may stop forever at any step, a
  # single-log writer per log, one replica; then two replicas (one appender).
  check cnr-order-kill         pass safety $O -DKILL
  check cnr-order-two-replicas pass safety $O -DNREP=2 -DMULTIS=1 -DKILL
  check bug-cnr-no-order       "find:assertion violated" safety $O -DNO_ORDER
  check bug-cnr-steal-early    "find:assertion violated" safety $O -DKILL -DSTEAL_EARLY
  check bug-cnr-no-drive       "find:assertion violated" safety $O -DNO_DRIVE
  check bug-cnr-no-wait        "find:assertion violated" safety $O -DNO_WAIT
fi

if [ -f "$here/pages.pml" ]; then
  P=pages.pml
  # NrFS's shared pages: a writer overwriting one page 4 times through a pool
  # of 3, a lagging reader that may be fenced and recover at any step.
  check pages                  pass safety $P
  check bug-pages-no-recheck   "find:assertion violated" safety $P -DNO_RECHECK
  check bug-pages-mark-early   "find:assertion violated" safety $P -DMARK_EARLY
  check bug-pages-head-passes  "find:assertion violated" safety $P -DHEAD_PASSES
fi

if [ "${1:-}" = --full ]; then
  check full-writers-kill      pass safety $L -DK=1
  check full-pages-k6          pass safety pages.pml -DK=6 -DREADS=4
  check full-writers-k2-nokill pass safety $L -DK=2 -DNOKILL
  check full-live-writers-kill pass live   $L -DK=1
  check full-three-replicas    pass safety $L -DNR=3 -DK0=0 -DK=1 -DNOKILL
  check bug-sv-after-cas       "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DSV_AFTER_CAS
  check bug-reread-intent      "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DREREAD_INTENT
  check bug-late-write         "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DLATE_WRITE
  check bug-slot-repair-records "find:assertion violated" safety $L -DK=2 -DNOKILL -DSLOT_REPAIR_RECORDS
  check bug-repair-record-at-0 "find:assertion violated" safety $L -DK=1 -DSLOT_REPAIR_RECORDS -DREPAIR0_BUG
  check bug-mutual-fence       "find:assertion violated" safety $L -DK0=1 -DK=2 -DNOKILL -DSTRICT_RECOVERY
fi

wait
cat "$results"/*.out
failures=$(find "$results" -name '*.fail' | wc -l)
if [ "$failures" -ne 0 ]; then
  echo "run.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "run.sh: all checks as expected"
