#!/usr/bin/env bash
# Submits a fleetsim sweep to Slurm: SHARDS array tasks, then a merge that runs once every
# shard succeeded.
#
#   deploy/slurm-submit.sh SCENARIO SHARDS [sweep options]
#   deploy/slurm-submit.sh scenarios/quickstart.toml 16 -r 64 \
#     --set zones.ap-guangzhou-3.quota.postpaid=100,200,400
#
# The study is the scenario (with its [sweep] table, if any) plus the sweep options given here
# (--set, -r/--replications, --seed); both are saved in the results folder, which every task
# reads. The folder (FLEETSIM_RESULTS, default output/<scenario>-slurm) must be on a file
# system the compute nodes share and must not exist yet. It gets:
#   scenario.toml, sweep-options   the study
#   logs/                          shard-K-<job>.out and merge-<job>.out
#   shards/shard-K/                each shard's sweep.csv and manifest
#   merged/                        the merged sweep, as one unsharded run would write it
#
# Environment: FLEETSIM, the binary (default: `fleetsim` on PATH, after `cargo install
# --path .`), passed to the jobs as an absolute path; FLEETSIM_SBATCH, extra sbatch options
# for both jobs (e.g. "--partition=short --cpus-per-task=8 --mem=4G").
set -euo pipefail

die() {
  echo "slurm-submit: $*" >&2
  exit 2
}
[[ $# -ge 2 ]] || die "usage: deploy/slurm-submit.sh SCENARIO SHARDS [sweep options]"
SCENARIO=$1
SHARDS=$2
shift 2
[[ -f $SCENARIO && -r $SCENARIO ]] || die "$SCENARIO: no such scenario file"
[[ $SHARDS =~ ^[1-9][0-9]*$ ]] || die "SHARDS must be a positive whole number, got '$SHARDS'"
for opt in "$@"; do
  case $opt in
  --shard | --shard=* | --out | --out=* | -j* | --threads | --threads=*)
    die "$opt: this script sets --shard, --out and --threads itself; give only the study" \
      "(--set, -r/--replications, --seed)"
    ;;
  *$'\n'*) die "a sweep option holds a line break: '$opt'" ;;
  esac
done

FLEETSIM=$(command -v "${FLEETSIM:-fleetsim}") ||
  die "cannot find the fleetsim binary: run 'cargo install --path .' in the fleetsim" \
    "checkout (on a home folder the compute nodes share), or set FLEETSIM to its absolute path"
FLEETSIM=$(readlink -f "$FLEETSIM")
export FLEETSIM
command -v sbatch >/dev/null || die "sbatch not found: run this on a Slurm login node"
DEPLOY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

stem=$(basename "$SCENARIO")
stem=${stem%.toml}
RESULTS=${FLEETSIM_RESULTS:-output/$stem-slurm}
[[ -e $RESULTS ]] && die "$RESULTS already exists: remove it or set FLEETSIM_RESULTS to a new folder"
mkdir -p "$RESULTS/logs" "$RESULTS/shards"
RESULTS=$(cd "$RESULTS" && pwd)
cp "$SCENARIO" "$RESULTS/scenario.toml"
if (($#)); then printf '%s\n' "$@"; fi >"$RESULTS/sweep-options"

# Check the study before queueing anything, so a bad --set path or scenario fails here and
# not in every task: the last of 2^32-1 shards holds no job, so this only plans the sweep.
plan=$(mktemp -d)
if ! (cd "$RESULTS" && "$FLEETSIM" sweep scenario.toml "$@" \
  --shard 4294967295/4294967295 --out "$plan/check" --quiet); then
  rm -rf "$plan" "$RESULTS"
  die "the study above does not plan: nothing submitted"
fi
rm -rf "$plan"
read -ra extra <<<"${FLEETSIM_SBATCH:-}"

array=$(sbatch --parsable --array="1-$SHARDS" \
  --output="$RESULTS/logs/shard-%a-%A.out" "${extra[@]}" \
  "$DEPLOY/slurm-sweep.sbatch" "$RESULTS" "$SHARDS")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes \
  --output="$RESULTS/logs/merge-%j.out" "${extra[@]}" \
  "$DEPLOY/slurm-merge.sbatch" "$RESULTS" "$SHARDS")
merge=${merge%%;*}

env_prefix="FLEETSIM=$FLEETSIM "
cat <<MSG
results: $RESULTS
shards:  job array $array (tasks 1-$SHARDS), logs in $RESULTS/logs
merge:   job $merge, runs when every shard succeeded; the sweep lands in $RESULTS/merged
watch:   squeue -j $array,$merge
If a shard fails, Slurm cancels the merge. Rerun that shard (here 3), then the merge:
  ${env_prefix}sbatch --parsable --array=3 --output=$RESULTS/logs/shard-%a-%A.out $DEPLOY/slurm-sweep.sbatch $RESULTS $SHARDS
  ${env_prefix}sbatch --dependency=afterok:<that job id> --kill-on-invalid-dep=yes --output=$RESULTS/logs/merge-%j.out $DEPLOY/slurm-merge.sbatch $RESULTS $SHARDS
MSG
