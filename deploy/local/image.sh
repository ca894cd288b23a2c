#!/usr/bin/env bash
# Builds the installer image offline from static binaries with podman
# (daemonless; nothing is pulled: the image starts from scratch) and saves
# it as an OCI archive, which `ctr images import` and `podman load` take.
#   image.sh BIN_DIR IMAGE_NAME OUT.tar
set -euo pipefail
bin=$1 name=$2 out=$3
here=$(cd "$(dirname "$0")/.." && pwd)
command -v podman >/dev/null 2>&1 || { echo "image: podman is not installed (make deps installs it)" >&2; exit 1; }
for f in egress-router egress-ipconfig egress-route egress-nat macvlan ipvlan static egress-install egress-proxy; do
  [ -x "$bin/$f" ] || { echo "image: $bin/$f is missing (make build makes it)" >&2; exit 1; }
done
# A storage of its own, thrown away after: the machine's podman storage
# is left as it was.
store=$(mktemp -d /tmp/egress-image.XXXXXX)
trap 'podman --root "$store/root" --runroot "$store/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true; rm -rf "$store"' EXIT
pm=(podman --root "$store/root" --runroot "$store/run" --storage-driver vfs)
"${pm[@]}" build -q --pull=never -f "$here/Containerfile.local" -t "$name" "$bin" >/dev/null
rm -f "$out"
"${pm[@]}" save -q --format oci-archive -o "$out" "$name"
echo "image: $name in $out"
