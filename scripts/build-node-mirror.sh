#!/usr/bin/env bash
# Assembles a Node.js distribution mirror in the official layout
#   <dir>/v<ver>/node-v<ver>-linux-<arch>.tar.xz + <dir>/v<ver>/SHASUMS256.txt
# from npm-registry packages, because the official distribution site is not
# reachable from this machine. `node-linux-<arch>` carries the node binary,
# the `npm` package carries npm. The tarball is laid out like upstream's
# (bin/node, bin/npm, bin/npx, lib/node_modules/npm), so the nodejs role
# installs it exactly as it would install the real one.
# Usage: build-node-mirror.sh DIR NODE_VERSION NPM_VERSION [ARCH]
set -euo pipefail
dir=${1:?mirror dir}; node_ver=${2:?node version}; npm_ver=${3:?npm version}; arch=${4:-x64}
name="node-v${node_ver}-linux-${arch}"
out="${dir}/v${node_ver}"
if [ -s "${out}/SHASUMS256.txt" ] && [ -s "${out}/${name}.tar.xz" ] \
   && (cd "$out" && sha256sum --quiet -c SHASUMS256.txt); then
  echo "node mirror: ${out}/${name}.tar.xz present and verified"; exit 0
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-${arch}@${node_ver}" "npm@${npm_ver}" >/dev/null)
mkdir -p "$work/x" "$work/y" "$work/${name}/bin" "$work/${name}/lib/node_modules"
tar -C "$work/x" -xzf "$work/node-linux-${arch}-${node_ver}.tgz"
tar -C "$work/y" -xzf "$work/npm-${npm_ver}.tgz"
cp -a "$work/x/package/bin/node" "$work/${name}/bin/node"
cp -a "$work/x/package/LICENSE" "$work/${name}/LICENSE"
mv "$work/y/package" "$work/${name}/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/${name}/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/${name}/bin/npx"
"$work/${name}/bin/node" --version >/dev/null
mkdir -p "$out"
XZ_OPT="-T0 -2" tar -C "$work" --owner=0 --group=0 -cJf "$work/${name}.tar.xz" "$name"
mv "$work/${name}.tar.xz" "$out/${name}.tar.xz.part" && mv "$out/${name}.tar.xz.part" "$out/${name}.tar.xz"
(cd "$out" && sha256sum "${name}.tar.xz" > SHASUMS256.txt.part && mv SHASUMS256.txt.part SHASUMS256.txt)
echo "node mirror: built ${out}/${name}.tar.xz"
