#!/bin/sh
# Submit a sharded job to AWS Batch: an array job of shards (one child per
# shard index; AWS Batch sets AWS_BATCH_JOB_ARRAY_INDEX and
# AWS_BATCH_JOB_ARRAY_SIZE, which 'assign ... --shard auto' reads) and a
# merge job that depends on the whole array. For a run: the preassign
# shards, their merge into /data/quota/<date>, the run shards with that
# quota, their merge.
#
#   submit.sh preassign|run DATE DAYS SHARDS SNAPSHOT QUEUE
#
# Register the job definitions beside this script once:
#   for f in job-definition-*.json; do aws batch register-job-definition --cli-input-json "file://$f"; done
#
# Retries: each child of the array is retried on its own (retryStrategy:
# 4 attempts; exit status 2, a usage error, is not retried). AWS Batch has
# no backoff between attempts: a retried child goes back to the queue and
# starts when the compute environment has room. The merge starts only when
# every child has succeeded (a dependency on the array job); if a child
# fails for good, the merge job fails as a dependency failure.
set -eu
[ $# -eq 6 ] || { sed -n '2,12p' "$0" >&2; exit 2; }
mode=$1 date=$2 days=$3 n=$4 snap=$5 queue=$6
tag=$(echo "$date" | tr -d -)
submit() { aws batch submit-job --job-queue "$queue" --query jobId --output text "$@"; }

pre=$(submit --job-name "assign-pre-$tag" --job-definition assign-preassign-shard --array-properties "size=$n" \
  --parameters "snapshot=$snap,date=$date,days=$days,parts=/data/parts/$date/preassign")
merge=$(submit --job-name "assign-pre-merge-$tag" --job-definition assign-merge --depends-on "jobId=$pre" \
  --parameters "parts=/data/parts/$date/preassign,out=/data/quota/$date")
echo "preassign shards $pre, merge $merge"
[ "$mode" = run ] || exit 0

run=$(submit --job-name "assign-run-$tag" --job-definition assign-run-shard --array-properties "size=$n" --depends-on "jobId=$merge" \
  --parameters "snapshot=$snap,date=$date,days=$days,quota=/data/quota/$date,parts=/data/parts/$date/run")
rmerge=$(submit --job-name "assign-run-merge-$tag" --job-definition assign-merge --depends-on "jobId=$run" \
  --parameters "parts=/data/parts/$date/run,out=/data/runs/$date")
echo "run shards $run, merge $rmerge"
