#!/usr/bin/env bash
# Fills in a Kubernetes template of deploy/ and prints the manifest, for `kubectl apply -f -`:
#   deploy/k8s-render.sh TEMPLATE NAME SHARDS IMAGE
# NAME names the Jobs (fleetsim-NAME-sweep, -merge) and the results folder /results/NAME;
# SHARDS is the shard count, written only here; IMAGE is the image built from the Dockerfile.
set -euo pipefail
die() {
  echo "k8s-render: $*" >&2
  exit 2
}
[[ $# -eq 4 ]] || die "usage: deploy/k8s-render.sh TEMPLATE NAME SHARDS IMAGE"
template=$1 name=$2 shards=$3 image=$4
[[ -f $template ]] || die "$template: no such template"
[[ $name =~ ^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$ ]] ||
  die "NAME '$name': use 1-40 lower-case letters, digits and '-' (it names Jobs)"
[[ $shards =~ ^[1-9][0-9]{0,4}$ ]] || die "SHARDS '$shards': a whole number from 1 to 99999"
[[ $image =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]] || die "IMAGE '$image': not an image reference"
sed -e "s|@NAME@|$name|g" -e "s|@SHARDS@|$shards|g" -e "s|@IMAGE@|$image|g" "$template"
