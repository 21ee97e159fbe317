#!/usr/bin/env bash
# Builds the execution environment image from execution-environment.yml with ansible-builder, on this machine, with
# no registry: the base image is Debian 13 made locally with debootstrap (Python 3.13, pip, an SSH client, this
# machine's CA certificates), and ansible-builder's dnf calls go to apt through a small shim in that base
# (/usr/local/sbin/ee-pkg, given to the build as PKGMGR). With a registry, build on the file's own base instead:
#   ansible-builder build -f execution-environment.yml -t <registry>/openclaw-ops-ee:<version>
# Cached: both images are tagged with a hash of what they are made from. Prints the EE image name on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$(realpath -m "${CONTAINERS_CONF:-$here/.cache/containers.conf}")"  # absolute: the build runs elsewhere
"$here/scripts/podman-conf.sh" >&2
builder=${ANSIBLE_BUILDER:-$here/.venv/bin/ansible-builder}
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
cas=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-8)

# --- the base image
PKGS="python3,python3-venv,openssh-client,ca-certificates"
base_tag=$( { sed -n '/^PKGS=/p;/^ *# base recipe/,/^ *# end of base recipe/p' "$0"; echo "$cas"; } | sha256sum | cut -c1-12)
base="localhost/openclaw-ops-ee-base:$base_tag"
if ! podman image exists "$base"; then
  echo "building $base from $mirror" >&2
  # base recipe
  rootfs=$(mktemp -d /var/tmp/openclaw-ee.XXXXXX); trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include="$PKGS" trixie "$rootfs" "$mirror" >&2
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >&2
  fi
  # The EE's Python is a venv over Debian's python3 (3.13), first on PATH: ansible-builder's pip_install runs
  # `ensurepip --root /`, which Debian disables for the system Python but not in a venv
  chroot "$rootfs" python3 -m venv /opt/ee >&2
  # pip trusts the system store (this machine's egress CA included), as the controller's pip does
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$rootfs/etc/pip.conf"
  # ansible-builder's scripts call `$PKGMGR install -y [dnf options] PKG...` and `$PKGMGR clean all`
  cat > "$rootfs/usr/local/sbin/ee-pkg" <<'SHIM'
#!/bin/sh
# dnf-style calls of ansible-builder's scripts, done with apt (openclaw-ops scripts/build-ee.sh)
set -e
cmd=$1; shift
case "$cmd" in
  install)
    pkgs=""; skip=0
    for a in "$@"; do
      if [ "$skip" = 1 ]; then skip=0; continue; fi
      case "$a" in -y|--nodocs|--enablerepo=*) ;; --setopt|--enablerepo) skip=1 ;; -*) ;; *) pkgs="$pkgs $a" ;; esac
    done
    missing=""
    for p in $pkgs; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"; done
    [ -z "$missing" ] && exit 0
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive exec apt-get install -y -qq --no-install-recommends $missing ;;
  clean) apt-get clean; rm -rf /var/lib/apt/lists/* ;;
  *) echo "ee-pkg: '$cmd' is not one of the calls ansible-builder makes (install, clean)" >&2; exit 2 ;;
esac
SHIM
  chmod 0755 "$rootfs/usr/local/sbin/ee-pkg"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/opt/ee/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$base" >&2
  # end of base recipe
fi

# --- the execution environment
ee_tag=$(cat "$here/execution-environment.yml" "$here/ee/requirements.txt" "$here/bindep.txt" <(echo "$base") |
         sha256sum | cut -c1-12)
ee="localhost/openclaw-ops-ee:$ee_tag"
if ! podman image exists "$ee"; then
  echo "building $ee on $base" >&2
  ctx=$(mktemp -d /var/tmp/openclaw-ee-ctx.XXXXXX)
  trap 'rm -rf "$ctx" "${rootfs:-}"' EXIT
  # the file's base image and Python are overridden for this base (Python 3.13 in the venv /opt/ee)
  "$builder" build -f "$here/execution-environment.yml" -c "$ctx" -t "$ee" --container-runtime podman -v 2 \
    --build-arg EE_BASE_IMAGE="$base" --build-arg PKGMGR=/usr/local/sbin/ee-pkg \
    --build-arg PYCMD=/opt/ee/bin/python3 --build-arg PYPKG=python3-venv >&2
  podman tag "$ee" localhost/openclaw-ops-ee:latest
fi
echo "$ee"
