#!/usr/bin/env bash
# Fleet scaling in one run: 1, 4 and 8 sandbox hosts, each running the real gateway, forks = host count.
# Per fleet size: first deploy, no-op deploy (changed=0), no-op `--check --diff`, and health.yml (deep check
# included); printed with the ratio to 1 host, plus the no-op deploy's task count and seconds per task per host
# (the controller-side cost). Hosts come from the primed image (Node.js + openclaw preinstalled) so the
# first deploy measures the converge, not eight parallel npm installs on two cores.
# Usage: bench/fleet.sh [SIZES...]   (default: 1 4 8; each gateway needs about 0.9 GB of memory)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd); cd "$here"
export CONTAINERS_CONF="$here/.cache/containers.conf" PATH="$here/.venv/bin:$PATH" ANSIBLE_FORCE_COLOR=0
sizes=("${@:-1 4 8}"); read -r -a sizes <<< "${sizes[*]}"
max=${sizes[-1]}
out="$here/bench/results"; mkdir -p "$out"
OPENCLAW_OPS_SANDBOX_IMAGE=$(scripts/build-primed-image.sh 2026.9.6); export OPENCLAW_OPS_SANDBOX_IMAGE
declare -A first noop check health tasks
now() { date +%s.%N; }
timed() { local log=$1; shift; local t0; t0=$(now); "$@" > "$log" 2>&1 || { echo "failed: $* (see $log)" >&2; exit 1; }
          echo "$(now) - $t0" | bc; }
for n in "${sizes[@]}"; do
  scripts/sandbox.sh down "$max" >/dev/null
  scripts/sandbox.sh up "$n" >/dev/null
  inv="$here/.cache/bench/fleet-$n"; scripts/sandbox.sh inventory "$n" "$inv"
  export ANSIBLE_FORKS=$n
  first[$n]=$(timed "$out/fleet-$n-first.log" ansible-playbook deploy.yml -i "$inv")
  noop[$n]=$(timed "$out/fleet-$n-noop.log" ansible-playbook deploy.yml -i "$inv")
  grep -qE 'changed=0 ' "$out/fleet-$n-noop.log" && ! grep -qE 'changed=[1-9]' "$out/fleet-$n-noop.log" \
    || { echo "no-op deploy on $n hosts changed something" >&2; exit 1; }
  check[$n]=$(timed "$out/fleet-$n-check.log" ansible-playbook deploy.yml -i "$inv" --check --diff)
  health[$n]=$(timed "$out/fleet-$n-health.log" ansible-playbook health.yml -i "$inv")
  # tasks that ran on the first host in the no-op run (ok + changed + skipped)
  tasks[$n]=$(grep -E '^openclaw-sandbox-1 ' "$out/fleet-$n-noop.log" | sed -E 's/.*ok=([0-9]+).*skipped=([0-9]+).*/\1 \2/' \
              | awk '{print $1 + $2}')
done
scripts/sandbox.sh down "$max" >/dev/null
{
  echo "fleet bench $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); openclaw 2026.9.6 (primed hosts)"
  printf '%-26s' ""; for n in "${sizes[@]}"; do printf '%10s' "$n host(s)"; done; printf '%10s\n' "$max/1"
  for row in first noop check health; do
    declare -n ref=$row
    label=$(case $row in first) echo "first deploy";; noop) echo "no-op deploy";; check) echo "no-op --check --diff";;
            health) echo "health.yml (deep)";; esac)
    printf '%-26s' "$label"; for n in "${sizes[@]}"; do printf '%9.1fs' "${ref[$n]}"; done
    printf '%9.2fx\n' "$(echo "${ref[$max]} / ${ref[${sizes[0]}]}" | bc -l)"
  done
  for n in "${sizes[@]}"; do
    printf 'no-op deploy, %d host(s): %d tasks a host, %.2f s a task (wall / tasks)\n' "$n" "${tasks[$n]}" \
      "$(echo "${noop[$n]} / ${tasks[$n]}" | bc -l)"
  done
} | tee "$out/fleet-latest.txt"
