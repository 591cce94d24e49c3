#!/usr/bin/env bash
# Builds the lab's Kubernetes, etcd and kwok binaries from the Go module proxy into a
# version-keyed cache directory. Called by toolchain.ts, which checks prerequisites first
# and turns failures into one-line messages; this script only does the builds.
#
# Usage: build-binaries.sh <kube-version> <etcd-version> <kwok-version> <out-dir>
#
# k8s.io/kubernetes cannot be built with `go install pkg@version`: its go.mod replaces the
# staging modules (k8s.io/api, ...) with ./staging paths that are not part of the module zip.
# So we build it from a throwaway wrapper module that requires it and pins every staging
# module to the matching v0.<minor>.<patch> release instead.
set -euo pipefail
KUBE_VERSION="$1" ETCD_VERSION="$2" KWOK_VERSION="$3" OUT="$4"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"
work="$(mktemp -d "${TMPDIR:-/tmp}/edgefleet-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$OUT"
export GOFLAGS="-buildvcs=false -mod=mod" CGO_ENABLED=0

step() { printf '[build] %s\n' "$*" >&2; }

build_kube() {
  local dir="$work/kube"
  mkdir -p "$dir"
  step "resolving k8s.io/kubernetes@$KUBE_VERSION"
  local kmod
  kmod="$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  local goline
  goline="$(grep -E '^go ' "$kmod")"
  {
    echo "module edgefleet.local/labbuild"
    echo "$goline"
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$kmod" | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}'
  } > "$dir/go.mod"
  printf 'package labbuild\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n' > "$dir/tools.go"
  (cd "$dir" && go mod tidy >&2)
  local pkg="k8s.io/component-base/version" cpkg="k8s.io/client-go/pkg/version"
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w"
  for p in "$pkg" "$cpkg"; do
    ld+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  for bin in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
    if [[ -x "$OUT/$bin" ]]; then continue; fi
    step "go build $bin $KUBE_VERSION"
    (cd "$dir" && go build -trimpath -ldflags "$ld" -o "$OUT/$bin.tmp" "k8s.io/kubernetes/cmd/$bin" >&2)
    mv "$OUT/$bin.tmp" "$OUT/$bin"
  done
}

build_etcd() {
  [[ -x "$OUT/etcd" ]] && return 0
  local dir="$work/etcd"
  mkdir -p "$dir"
  step "go build etcd $ETCD_VERSION"
  cat > "$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go mod init edgefleet.local/etcdbuild >&2 && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 && go mod tidy >&2 \
    && go build -trimpath -ldflags "-s -w" -o "$OUT/etcd.tmp" . >&2)
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

# kwok ships no stages in its binary: kwokctl passes its defaults as config. We take the same
# stage files from the kwok module (node init, lease heartbeat, pod ready/complete/delete).
kwok_stages() {
  [[ -d "$OUT/kwok-stages" ]] && return 0
  step "collecting kwok $KWOK_VERSION stages"
  local mod
  mod="$(cd "$work" && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  local st="$mod/kustomize/stage"
  rm -rf "$OUT/kwok-stages.tmp" && mkdir -p "$OUT/kwok-stages.tmp"
  cp "$st/node/fast/node-initialize.yaml" "$st/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$st/pod/fast/pod-ready.yaml" "$st/pod/fast/pod-complete.yaml" "$st/pod/fast/pod-delete.yaml" "$OUT/kwok-stages.tmp/"
  chmod 0644 "$OUT"/kwok-stages.tmp/*.yaml
  mv "$OUT/kwok-stages.tmp" "$OUT/kwok-stages"
}

build_kwok() {
  kwok_stages
  [[ -x "$OUT/kwok" ]] && return 0
  local dir="$work/kwok"
  mkdir -p "$dir"
  step "go build kwok $KWOK_VERSION"
  printf 'package kwokbuild\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n' > "$dir/tools.go"
  (cd "$dir" && go mod init edgefleet.local/kwokbuild >&2 && go get "sigs.k8s.io/kwok@$KWOK_VERSION" >&2 && go mod tidy >&2 \
    && go build -trimpath -ldflags "-s -w" -o "$OUT/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok >&2)
  mv "$OUT/kwok.tmp" "$OUT/kwok"
}

case "${5:-all}" in
  all) build_etcd; build_kwok; build_kube ;;
  kube) build_kube ;; etcd) build_etcd ;; kwok) build_kwok ;; kwok-stages) kwok_stages ;;
esac
step "done: $OUT"
