#!/usr/bin/env bash
# Builds, once, into a cache folder, the Kubernetes parts the tests run:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy and kubectl v1.36.3 from k8s.io/kubernetes, and the Multus
# thin plugin v4.3.0.
# A cold build takes several minutes; a warm run returns at once.
# The proxy here refuses version lists, so everything is pinned in scratch
# modules (the staging modules with replace directives).
set -euo pipefail
OUT=${1:?usage: kube-build.sh CACHE_DIR}
K8S=1.36.3
MULTUS=4.3.0
STAMP="k8s=$K8S multus=$MULTUS with kube-proxy"
if [ "$(cat "$OUT/versions" 2>/dev/null)" = "$STAMP" ]; then
  exit 0
fi
command -v jq >/dev/null 2>&1 || { echo "kube-build: jq is needed (make deps installs it)" >&2; exit 1; }
goline="go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')"
rm -f "$OUT/versions"
mkdir -p "$OUT/src/k8s" "$OUT/src/multus"

cd "$OUT/src/k8s"
mod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@v$K8S" | jq -r .GoMod)
{
  echo "module egress-router/kube-build"
  echo "$goline"
  echo "require k8s.io/kubernetes v$K8S"
  echo "replace ("
  for m in $(grep -E '=> \./staging' "$mod" | awk '{print $1}' | grep -v sample-cli-plugin); do
    echo "	$m => $m v0.${K8S#1.}"
  done
  echo ")"
} > go.mod
echo "kube-build: building Kubernetes v$K8S and Multus v$MULTUS into $OUT (once; several minutes cold)" >&2
ver="-X k8s.io/component-base/version.gitVersion=v$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${K8S#1.}"
go build -mod=mod -trimpath -ldflags "-s -w $ver" -o "$OUT/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy \
  k8s.io/kubernetes/cmd/kubectl

cd "$OUT/src/multus"
printf 'module egress-router/multus-build\n%s\nrequire gopkg.in/k8snetworkplumbingwg/multus-cni.v4 v%s\n' "$goline" "$MULTUS" > go.mod
go build -mod=mod -trimpath -ldflags "-s -w" -o "$OUT/multus" gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus

echo "$STAMP" > "$OUT/versions"
