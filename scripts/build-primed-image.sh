#!/usr/bin/env bash
# Builds a "primed" test-host image: the base host image (build-host-image.sh) plus what the
# deploy's runtime and install phases would put on a fresh host, made with the same commands:
#   /opt/openclaw/node/v<node>          Node.js from the project's mirror tarball
#   /opt/openclaw/versions/<openclaw>   `npm install openclaw@<ver>` (same flags as the role)
# Nothing else (no service user, no `current` link, no config or unit): the role still runs every
# phase on such a host and finds those two trees installed, as on a host it deployed before. Tests
# that are not about installing use it so the 650 MB install runs once per machine instead of once
# per test host; Molecule `default` and the upgrade module's own install keep proving the install path
# on the base image. Cached by a hash of this script, the base image and the versions.
# Usage: build-primed-image.sh OPENCLAW_VERSION   (prints the image name on stdout)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/.cache/containers.conf}"
version=${1:?openclaw version}
node_version=$(sed -n 's/^NODE_VERSION := //p' "$here/Makefile")
base=$("$here/scripts/build-host-image.sh")
tag=$( { cat "$0"; echo "$base $node_version $version"; } | sha256sum | cut -c1-12)
image="localhost/openclaw-ops-host-primed-${version}:${tag}"
if podman image exists "$image"; then echo "$image"; exit 0; fi
tarball="$here/.cache/node-mirror/v${node_version}/node-v${node_version}-linux-x64.tar.xz"
test -s "$tarball" || { echo "missing $tarball: run make mirror first" >&2; exit 1; }
mkdir -p "$here/.cache/npm"
echo "building $image (node $node_version, openclaw $version)" >&2
name="openclaw-prime-$$"
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
# no systemd here: a plain process keeps the container up, so the committed layer holds only the two trees
podman run -d --name "$name" -v "$here/.cache/npm:/var/cache/openclaw/npm" \
  -v "$tarball:/mnt/node.tar.xz:ro" "$base" sleep infinity >/dev/null
podman exec "$name" bash -euo pipefail -c "
  umask 022
  node=/opt/openclaw/node/v${node_version}
  mkdir -p \$node.partial /opt/openclaw/versions
  tar -xJf /mnt/node.tar.xz -C \$node.partial --strip-components=1 --no-same-owner
  mv -T \$node.partial \$node
  dest=/opt/openclaw/versions/${version}
  PATH=\$node/bin:/usr/local/bin:/usr/bin:/bin HOME=/root NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm install --prefix \$dest.partial --registry https://registry.npmjs.org/ --cache /var/cache/openclaw/npm \
    --omit=dev --no-fund --no-audit --no-update-notifier --loglevel=error --fetch-retries=3 openclaw@${version}
  grep -q '\"version\": \"${version}\"' \$dest.partial/node_modules/openclaw/package.json
  mv -T \$dest.partial \$dest
  rm -rf /root/.npm /tmp/* /var/tmp/*
" >&2
podman stop -t 0 "$name" >/dev/null
podman commit -q --change 'CMD ["/sbin/init"]' "$name" "$image" >/dev/null
podman tag "$image" "localhost/openclaw-ops-host-primed-${version}:latest"
echo "$image"
