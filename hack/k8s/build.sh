#!/usr/bin/env bash
# Builds the Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler)
# and etcd that the emulator runs inside its clusters, from the Go module proxy, into a cache
# outside the repository. What is already there is kept. The versions are those of go.mod here.
# Usage: hack/k8s/build.sh [DIR]
# DIR defaults to $STRATA_K8S_DIR, else ${XDG_CACHE_HOME:-~/.cache}/strata/k8s/<k8s version>.
set -euo pipefail
cd "$(dirname "$0")"

k8s_version=$(go list -m -f '{{.Version}}' k8s.io/kubernetes)
etcd_version=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
dir=${1:-${STRATA_K8S_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/strata/k8s/$k8s_version}}
mkdir -p "$dir"

minor=${k8s_version#v1.}
minor=${minor%%.*}
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s_version
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler)
missing=()
for name in "${binaries[@]}"; do
  [ -x "$dir/$name" ] || missing+=("$name")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "k8s: Kubernetes $k8s_version and etcd $etcd_version are in $dir"
  exit 0
fi
echo "k8s: building ${missing[*]} into $dir: the first build takes about 11 minutes on 2 cores and 3 GB of memory; later ones are kept"

# build NAME PACKAGE LDFLAGS builds one binary under a temporary name and renames it, so that
# an interrupted build leaves nothing that looks complete.
build() {
  local name=$1 pkg=$2 ldflags=$3
  [ -x "$dir/$name" ] && return
  local start=$SECONDS
  go build -trimpath -ldflags "$ldflags" -o "$dir/.$name.tmp" "$pkg"
  mv "$dir/.$name.tmp" "$dir/$name"
  echo "k8s: $name built in $((SECONDS - start)) s"
}

build etcd go.etcd.io/etcd/server/v3 "-s -w"
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
echo "k8s: Kubernetes $k8s_version and etcd $etcd_version are in $dir"
