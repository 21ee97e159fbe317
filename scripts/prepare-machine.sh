#!/usr/bin/env bash
# Installs what this controller needs to run disposable systemd test hosts and
# validate rendered files (see docs/test-hosts.md facts). Idempotent: a package
# already present is not reinstalled, and apt runs only when something is missing.
set -euo pipefail
PKGS=(podman runc debootstrap uidmap fuse-overlayfs slirp4netns logrotate
      xz-utils curl ca-certificates bc
      openssh-client  # the production-path tests reach their hosts over SSH
      age         # decrypts backups made with openclaw_backup encrypt_recipients (the identity stays here)
      catatonit   # podman's init for compose `init: true` (the compose Molecule scenario)
      prometheus  # promtool checks the alert rules
      chromium)   # renders the HTML fleet report in tests/integration/test_fleet_report.py (headless)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "prepare-machine: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "prepare-machine: all machine packages present"
fi

# Rootless podman (tests/integration/test_compose_rootless.py) needs /dev/net/tun for its slirp4netns network. Debian
# makes it 0666; this sandbox's is 0600 (root only), so rootless containers could not publish a port.
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
  echo "prepare-machine: /dev/net/tun -> 0666 (Debian's default; rootless podman's network needs it)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO chmod 0666 /dev/net/tun
fi
