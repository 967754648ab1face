#!/usr/bin/env bash
# Multi-node bring-up on the fake cluster (tests/cluster/cluster.sh, root needed): the whole command
# `dragon --hosts n1,n2,n3,n4 /bin/true` (bring-up, run, teardown) against `srun -N 4 /bin/true`, interleaved,
# medians of ROUNDS; and the round trip of a 64-byte message between two hosts through a pair of queues.
# Last line: nodes bringup_s=<ours> srun_s=<srun> ratio=<ours/srun>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
rounds=${1:-7}
cluster="$root/tests/cluster/cluster.sh"
trap 'bash "$cluster" down >/dev/null 2>&1 || true' EXIT
bash "$cluster" up >/dev/null
bash "$cluster" slurm-up >/dev/null
dragon="$root/artifacts/bin/dragon"
app="$root/artifacts/build/bin/Dragon.TestApp/release/Dragon.TestApp.dll"
bash "$cluster" head bash -c "
  set -e
  ours=(); peer=()
  for r in \$(seq 1 $rounds); do
    a=\$(date +%s%N); $dragon --hosts n1,n2,n3,n4 /bin/true; b=\$(date +%s%N)
    srun -N 4 /bin/true; c=\$(date +%s%N)
    ours+=(\$(( (b - a) / 1000 ))); peer+=(\$(( (c - b) / 1000 )))
  done
  median() { printf '%s\n' \"\$@\" | sort -n | awk '{v[NR]=\$1} END {print v[int((NR+1)/2)]}'; }
  mo=\$(median \"\${ours[@]}\"); mp=\$(median \"\${peer[@]}\")
  echo \"dragon --hosts n1..n4 /bin/true: median \$mo us (\${ours[*]})\"
  echo \"srun -N 4 /bin/true:             median \$mp us (\${peer[*]})\"
  $dragon --hosts n1,n2 $app roundtrip-probe 2000
  awk -v o=\$mo -v p=\$mp 'BEGIN {printf \"nodes bringup_s=%.3f srun_s=%.3f ratio=%.2f\n\", o/1e6, p/1e6, o/p}'
"
