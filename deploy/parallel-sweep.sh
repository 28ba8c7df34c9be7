#!/usr/bin/env bash
# Runs a fleetsim sweep on a few servers with GNU parallel over ssh, no scheduler: each shard
# runs on one of the hosts, its folder comes back here, and the shards are merged here.
#
#   deploy/parallel-sweep.sh SCENARIO SHARDS [sweep options]
#   SSHLOGINFILE=hosts.txt deploy/parallel-sweep.sh scenarios/quickstart.toml 8 -r 64
#
# SSHLOGINFILE is GNU parallel's --sshloginfile: one host per line (user@host, or
# "8/user@host" to cap jobs there; ":" is this machine). Without it every shard runs here, one
# after another. Each host runs one shard at a time on all its cores; use more shards than
# hosts so a fast host is not left idle. Each shard runs in its own temporary folder on the
# host (parallel's --wd ..., or the folder FLEETSIM_REMOTE_WD names), gets the scenario
# copied in, and its shard folder copied back with rsync as a tar file; then both are
# removed there.
#
# Needs: GNU parallel here, ssh access without a password prompt (keys, ssh-agent), rsync on
# both ends, and fleetsim on every host: FLEETSIM_REMOTE names it there (default: fleetsim on
# the PATH a non-interactive ssh shell gets, which often lacks ~/.cargo/bin: give the full
# path, e.g. FLEETSIM_REMOTE='~/.cargo/bin/fleetsim'). FLEETSIM is the local binary that plans
# and merges (default: fleetsim on PATH). The results folder FLEETSIM_RESULTS (default
# output/<scenario>-parallel) must not exist yet; it gets scenario.toml, sweep-options,
# shards/shard-K/ and merged/, the folder one unsharded sweep would have written.
set -euo pipefail

die() {
  echo "parallel-sweep: $*" >&2
  exit 2
}
[[ $# -ge 2 ]] || die "usage: deploy/parallel-sweep.sh SCENARIO SHARDS [sweep options]"
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
  esac
done
command -v parallel >/dev/null || die "GNU parallel not found (apt-get install parallel)"
FLEETSIM=$(command -v "${FLEETSIM:-fleetsim}") ||
  die "cannot find the fleetsim binary: run 'cargo install --path .' or set FLEETSIM"
REMOTE=${FLEETSIM_REMOTE:-fleetsim}

stem=$(basename "$SCENARIO")
stem=${stem%.toml}
RESULTS=${FLEETSIM_RESULTS:-output/$stem-parallel}
[[ -e $RESULTS ]] && die "$RESULTS already exists: remove it or set FLEETSIM_RESULTS to a new folder"
logins=(-S :)
remote=()
if [[ -n ${SSHLOGINFILE:-} ]]; then
  [[ -f $SSHLOGINFILE ]] || die "SSHLOGINFILE $SSHLOGINFILE: no such file"
  logins=(--sshloginfile "$(readlink -f "$SSHLOGINFILE")")
  remote=(--wd "${FLEETSIM_REMOTE_WD:-...}" --transferfile scenario.toml
    --return 'shard-{}.tar' --cleanup)
else
  REMOTE=$(printf %q "$FLEETSIM")
fi
mkdir -p "$RESULTS/shards"
cp "$SCENARIO" "$RESULTS/scenario.toml"
cd "$RESULTS"
if (($#)); then printf '%s\n' "$@"; fi >sweep-options

# Plan the study here first (the last of 2^32-1 shards holds no job), so a bad option fails
# before any host starts.
plan=$(mktemp -d)
if ! "$FLEETSIM" sweep scenario.toml "$@" --shard 4294967295/4294967295 \
  --out "$plan/check" --quiet; then
  rm -rf "$plan"
  die "the study does not plan: nothing started"
fi
rm -rf "$plan"

# One shell command per shard: the study's words quoted for the (remote) shell, so --set
# values with quotes or spaces arrive intact; FLEETSIM_REMOTE as written (~ expands there).
# The shard folder travels back as one tar file, which parallel's --cleanup can remove.
cmd="$REMOTE sweep scenario.toml $(printf '%q ' "$@")--shard {}/$SHARDS --out shards/shard-{} --quiet"
cmd+=" && tar -cf shard-{}.tar shards/shard-{} && rm -rf shards/shard-{}"
cmd+=" && { rmdir shards 2>/dev/null || true; }"
started=$SECONDS
parallel "${logins[@]}" --jobs 1 --halt now,fail=1 --tag --line-buffer "${remote[@]}" "$cmd" \
  ::: $(seq 1 "$SHARDS") ||
  die "a shard failed (see above): rerun the script with a new FLEETSIM_RESULTS"
shards=()
for ((k = 1; k <= SHARDS; k++)); do
  tar -xf "shard-$k.tar" && rm "shard-$k.tar"
  shards+=("shards/shard-$k")
done
"$FLEETSIM" merge "${shards[@]}" --out merged --quiet
echo "parallel-sweep: $SHARDS shards in $((SECONDS - started)) s, merged into $(pwd)/merged"
