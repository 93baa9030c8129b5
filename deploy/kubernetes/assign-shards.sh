#!/bin/sh
# Render a sharded job from the recipes beside this script and apply it.
#
#   assign-shards.sh preassign|run DATE DAYS SHARDS SNAPSHOT [PARALLELISM]
#
# e.g. assign-shards.sh preassign 2026-03-09 28 16 snap-20260308-020000
# creates the Jobs assign-shards-20260309 and assign-merge-20260309 (run:
# assign-pre-, assign-pre-merge-, assign-run-, assign-run-merge-20260309).
# Print instead of applying with KUBECTL=cat.
set -eu
[ $# -ge 5 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
mode=$1 date=$2 days=$3 n=$4 snap=$5 par=${6:-$4}
case "$mode" in
  preassign) file=assign-shards.yaml ;;
  run) file=assign-shards-run.yaml ;;
  *) echo "assign-shards.sh: mode must be preassign or run, not $mode" >&2; exit 2 ;;
esac
tag=$(echo "$date" | tr -d -)
sed -e "s/20260302/$tag/g" \
    -e "s/value: \"2026-03-02\"/value: \"$date\"/" \
    -e "s/value: \"28\"/value: \"$days\"/" \
    -e "s/snap-20260301-020000/$snap/" \
    -e "s/completions: 16/completions: $n/" \
    -e "s/parallelism: 16/parallelism: $par/" \
    -e "s/\"--shard-count\", \"16\"/\"--shard-count\", \"$n\"/" \
    "$(dirname "$0")/$file" | ${KUBECTL:-kubectl apply -f -}
