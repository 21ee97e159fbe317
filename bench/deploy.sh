#!/usr/bin/env bash
# Deploy wall time on fresh sandbox hosts: 1 host vs 4 hosts in one run.
# Prints first-deploy and idempotent re-run times and the 4-host/1-host ratios.
# The npm download cache (.cache/npm) is shared, so this measures the deploy, not the network.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd); cd "$here"
export CONTAINERS_CONF="$here/.cache/containers.conf" PATH="$here/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR=0
out="$here/bench/results"; mkdir -p "$out"
declare -A first rerun
now() { date +%s.%N; }
for n in 1 4; do
  scripts/sandbox.sh down 4 >/dev/null
  scripts/sandbox.sh up "$n" >/dev/null
  inv="$here/.cache/bench/inv-$n"; scripts/sandbox.sh inventory "$n" "$inv"
  t0=$(now); ansible-playbook deploy.yml -i "$inv" > "$out/deploy-$n-first.log" 2>&1; t1=$(now)
  ansible-playbook deploy.yml -i "$inv" > "$out/deploy-$n-rerun.log" 2>&1; t2=$(now)
  grep -q 'changed=0 ' "$out/deploy-$n-rerun.log" || { echo "re-run on $n hosts was not idempotent" >&2; exit 1; }
  first[$n]=$(echo "$t1 - $t0" | bc); rerun[$n]=$(echo "$t2 - $t1" | bc)
done
scripts/sandbox.sh down 4 >/dev/null
{
  echo "deploy bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores; openclaw 2026.9.6, node 24.21.0"
  printf '%-22s %10s %10s %8s\n' "" "1 host" "4 hosts" "4/1"
  printf '%-22s %9.1fs %9.1fs %7.2fx\n' "first deploy" "${first[1]}" "${first[4]}" "$(echo "${first[4]} / ${first[1]}" | bc -l)"
  printf '%-22s %9.1fs %9.1fs %7.2fx\n' "idempotent re-run" "${rerun[1]}" "${rerun[4]}" "$(echo "${rerun[4]} / ${rerun[1]}" | bc -l)"
} | tee "$out/deploy-latest.txt"
