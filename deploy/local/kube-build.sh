#!/usr/bin/env bash
# Builds kube-apiserver v1.36.3 from the Go module proxy into a cache
# folder, once: the ipConfig tests run it (with Debian's etcd) in a test
# namespace. A cold build takes a few minutes; a warm run returns at once.
# The proxy here refuses version lists, so the staging modules are pinned
# with replace directives in a scratch module.
set -euo pipefail
OUT=${1:?usage: kube-build.sh CACHE_DIR}
VER=1.36.3
if [ -x "$OUT/kube-apiserver" ] && [ "$(cat "$OUT/kube-apiserver.version" 2>/dev/null)" = "$VER" ]; then
  exit 0
fi
command -v jq >/dev/null 2>&1 || { echo "kube-build: jq is needed (deps installs it)" >&2; exit 1; }
mkdir -p "$OUT/build"
cd "$OUT/build"
mod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@v$VER" | jq -r .GoMod)
{
  echo "module egress-router/kube-build"
  echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
  echo "require k8s.io/kubernetes v$VER"
  echo "replace ("
  for m in $(grep -E '=> \./staging' "$mod" | awk '{print $1}' | grep -v sample-cli-plugin); do
    echo "	$m => $m v0.${VER#1.}"
  done
  echo ")"
} > go.mod
echo "kube-build: building kube-apiserver v$VER into $OUT (once; a few minutes cold)" >&2
go build -mod=mod -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$VER -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${VER#1.}" \
  -o "$OUT/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
echo "$VER" > "$OUT/kube-apiserver.version"
