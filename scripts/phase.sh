#!/usr/bin/env bash
# phase.sh NAME COMMAND...: runs COMMAND, prints how long it took, and records it in
# target/phases.txt so that `make test` can print every phase's time at the end.
set -uo pipefail
name=$1
shift
start=$EPOCHREALTIME
echo "==> $name"
"$@"
rc=$?
secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
mkdir -p target
printf '%-28s %7s s%s\n' "$name" "$secs" "$([ $rc -ne 0 ] && echo '  FAILED')" | tee -a target/phases.txt
exit $rc
