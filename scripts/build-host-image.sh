#!/usr/bin/env bash
# Builds the local systemd test-host image: Debian 12, or Debian 13 with OPENCLAW_OPS_HOST_SUITE=trixie (no registry is reachable,
# so the image is made with debootstrap and imported). Cached: the image tag is a
# hash of this recipe, so it is rebuilt only when the recipe or the machine's
# extra CA certificates change. Prints the image name on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/.cache/containers.conf}"
"$here/scripts/podman-conf.sh" >&2
PKGS="systemd,systemd-sysv,libpam-systemd,dbus,dbus-user-session,python3,python3-apt,sudo,ca-certificates,logrotate,iproute2,procps,xz-utils,openssh-server"
suite=${OPENCLAW_OPS_HOST_SUITE:-bookworm}
case "$suite" in bookworm) repo=localhost/openclaw-ops-host;; trixie) repo=localhost/openclaw-ops-host-trixie;;
  *) echo "OPENCLAW_OPS_HOST_SUITE must be bookworm or trixie" >&2; exit 2;; esac
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
cas=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-8)
tag=$( { sed -n '/^PKGS=/p;/^# recipe/,$p' "$0"; echo "$cas"; [ "$suite" = bookworm ] || echo "$suite"; } \
      | sha256sum | cut -c1-12)
image="$repo:${tag}"
if podman image exists "$image"; then echo "$image"; exit 0; fi
echo "building $image from $mirror" >&2
# recipe
rootfs=$(mktemp -d /var/tmp/openclaw-host.XXXXXX); trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include="$PKGS" "$suite" "$rootfs" "$mirror" >&2
: > "$rootfs/etc/machine-id"; rm -f "$rootfs/var/lib/dbus/machine-id"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates >&2
fi
# The production path (tests/integration/test_production_path.py): an ordinary `deploy` account that
# reaches root through sudo (passwordless here; the test switches one host to a sudo password), sshd
# with keys only. Host keys are made at each boot, so no two hosts share one.
chroot "$rootfs" useradd --create-home --shell /bin/bash --uid 1500 deploy
echo 'deploy ALL=(ALL:ALL) NOPASSWD: ALL' > "$rootfs/etc/sudoers.d/deploy"; chmod 0440 "$rootfs/etc/sudoers.d/deploy"
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n' \
  > "$rootfs/etc/ssh/sshd_config.d/openclaw-ops-test.conf"
rm -f "$rootfs"/etc/ssh/ssh_host_*
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
# (the unit's own `sshd -t` would fail before the keys exist: reset the list, keys first)
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' > "$rootfs/etc/systemd/system/ssh.service.d/host-keys.conf"
chroot "$rootfs" systemctl enable ssh.service >&2
# deploy's user manager lingers: in a podman host a stopping user manager hangs in final-sigkill until its stop
# timeout (the container's cgroup never reports empty), and an SSH login in that window waits for it (measured:
# a login 70 s after the last one, once ControlPersist had closed, hung past Ansible's 30 s timeout)
mkdir -p "$rootfs/var/lib/systemd/linger"; touch "$rootfs/var/lib/systemd/linger/deploy"
# drop package lists and their binary caches together, so apt modules know to update
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
# apt's cache_valid_time reads the lists directory's mtime: make the emptied lists look stale
touch -d @0 "$rootfs/var/lib/apt/lists"
tar -C "$rootfs" --numeric-owner -c . | podman import \
  --change 'CMD ["/sbin/init"]' --change 'ENV container=podman' \
  --change 'STOPSIGNAL SIGRTMIN+3' - "$image" >&2
podman tag "$image" "$repo:latest"
echo "$image"
