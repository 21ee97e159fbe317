#!/usr/bin/env bash
# Starts or removes local disposable systemd hosts (podman) named openclaw-sandbox-<i>.
# Usage: sandbox.sh up [N] | down [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/.cache/containers.conf}"
action=${1:-up}; n=${2:-1}
# inventory N DIR: an inventory for hosts 1..N in DIR (the sandbox group_vars with this checkout's paths), for benches
if [ "$action" = inventory ]; then
  inv=${3:?inventory directory}; rm -rf "$inv"; mkdir -p "$inv"
  cp -r "$here/inventories/sandbox/group_vars" "$inv/"
  sed -i "s|{{ inventory_dir }}/../..|$here|" "$inv/group_vars/openclaw/main.yml"
  { echo "openclaw:"; echo "  hosts:"; for i in $(seq 1 "$n"); do echo "    openclaw-sandbox-$i:"; done
    echo "  vars:"; echo "    ansible_connection: containers.podman.podman"
    echo "    ansible_python_interpreter: /usr/bin/python3"; } > "$inv/hosts.yml"
  exit 0
fi
# OPENCLAW_OPS_SANDBOX_IMAGE: another host image, e.g. a primed one (bench/fleet.sh)
image=${OPENCLAW_OPS_SANDBOX_IMAGE:-$("$here/scripts/build-host-image.sh")}
mkdir -p "$here/.cache/npm"
for i in $(seq 1 "$n"); do
  name="openclaw-sandbox-$i"
  case "$action" in
    up)
      if [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
        podman rm -f "$name" >/dev/null 2>&1 || true
        # the npm download cache is shared with the controller so hosts do not each fetch 650 MB
        podman run -d --name "$name" --hostname "$name" --systemd=always \
          -v "$here/.cache/npm:/var/cache/openclaw/npm" "$image" >/dev/null
      fi
      for _ in $(seq 1 50); do
        s=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
        case "$s" in running|degraded) break;; esac; sleep 0.2
      done
      echo "$name: $s";;
    down) podman rm -f "$name" >/dev/null 2>&1 && echo "$name: removed" || true;;
    *) echo "usage: $0 up|down [N]" >&2; exit 2;;
  esac
done
