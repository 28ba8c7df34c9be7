#!/usr/bin/env bash
# End-to-end check of the Slurm route on a throwaway single-node cluster: installs Slurm and
# munge from the distribution's packages if they are missing (needs root and apt), starts
# munged, slurmctld and slurmd from a configuration generated for this host in a temporary
# folder, submits a small sweep through deploy/slurm-submit.sh with 4 shards, waits for the
# merge, and compares the merged folder file by file with one unsharded sweep. Then it
# resubmits one shard alone (--array=3), merges again, and checks that an array task id of 0
# is refused. It stops every daemon it started and removes its folder on exit.
#
#   deploy/check-slurm.sh            (FLEETSIM=/path/to/fleetsim to test a given binary)
#
# Nothing outside the temporary folder is configured: the daemons and the Slurm commands read
# SLURM_CONF, and munge's socket and key live in the folder too.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
say() { echo "check-slurm: $*"; }
fail() {
  echo "check-slurm: FAILED: $*" >&2
  exit 1
}
start=$SECONDS

# 1. Slurm and munge from the distribution.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  [[ $(id -u) -eq 0 ]] || fail "Slurm or munge is missing; install slurmctld slurmd slurm-client munge"
  say "installing slurmctld slurmd slurm-client munge from the distribution's packages"
  # Packages must not start their own daemons with the system configuration.
  added_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    slurmctld slurmd slurm-client munge >/dev/null
  [[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
fi
say "$(slurmctld -V), $(munged -V 2>&1 | awk '{print $1; exit}'), installed after $((SECONDS - start)) s"

# 2. The binary: the one given, or this checkout's debug build (cargo test has built it; the
# results do not depend on the profile, and a release build would cost minutes here).
if [[ -z ${FLEETSIM:-} ]]; then
  cargo build --quiet --bin fleetsim
  FLEETSIM=$REPO/target/debug/fleetsim
fi
export FLEETSIM

# 3. A cluster in a temporary folder, stopped and removed whatever happens.
T=$(mktemp -d /tmp/fleetsim-check-slurm.XXXXXX)
chmod 755 "$T"
pids=()
jobs_submitted=()
cleanup() {
  local rc=$?
  if ((${#jobs_submitted[@]})) && [[ -n ${SLURM_CONF:-} ]]; then
    scancel "${jobs_submitted[@]}" 2>/dev/null || true
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if ((rc != 0)); then
    for f in "$T"/log/* "$T"/results/logs/*; do
      [[ -f $f ]] && { echo "--- $f"; tail -n 30 "$f"; }
    done
  fi
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$T"/{etc,log,state,spool,munge}
chmod 700 "$T/munge"
# A free port pair for slurmctld and slurmd (the defaults may be taken on a shared host).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=16817
until port_free "$port" && port_free "$((port + 1))"; do
  port=$((port + 2))
  ((port < 16917)) || fail "no free port pair in 16817..16917"
done

mungekey --create --keyfile="$T/munge/munge.key" 2>/dev/null ||
  dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
MUNGE_SOCKET=$T/munge/munge.socket
munged --foreground --force --socket="$MUNGE_SOCKET" --key-file="$T/munge/munge.key" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/log/munged.log" \
  --seed-file="$T/munge/munged.seed" >"$T/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET" >/dev/null || fail "munge does not work"

# The node as slurmd itself sees it: CPUs, sockets, cores, threads and memory.
node=$(hostname -s)
hw=$(slurmd -C | head -n 1)
hw=${hw#NodeName=* }
export SLURM_CONF=$T/etc/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=fleetsimcheck
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=check Nodes=$node Default=YES MaxTime=60 State=UP
CONF
say "node $node: $hw"
slurmctld -D -c -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N "$node" -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
pids+=($!)
for i in $(seq 60); do
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [[ $state == idle ]] && break
  ((i < 60)) || fail "the node did not come up (state '$state')"
  sleep 1
done
say "single-node cluster up after $((SECONDS - start)) s"

# Waits (bounded) until the given jobs have left the queue.
wait_jobs() {
  local deadline=$((SECONDS + $1))
  shift
  while [[ -n $(squeue -h -j "$(
    IFS=,
    echo "$*"
  )" 2>/dev/null) ]]; do
    ((SECONDS < deadline)) || fail "jobs $* still queued or running after the time limit"
    sleep 1
  done
}
job_state() { scontrol show job "$1" | grep -o 'JobState=[A-Z_]*' | head -n 1 | cut -d= -f2; }

# Compares two sweep folders file by file; prints one line per file.
same_folder() {
  diff -r -q "$1" "$2" >/dev/null || {
    diff -r -q "$1" "$2" >&2 || true
    fail "$1 and $2 differ"
  }
  (cd "$1" && find . -type f | sort) | while read -r f; do
    cmp "$1/$f" "$2/$f" || fail "$f differs"
    printf '  identical: %-24s %8d bytes  sha256 %.16s\n' "${f#./}" "$(stat -c %s "$1/$f")" \
      "$(sha256sum "$1/$f" | cut -c1-64)"
  done
}

# 4. A small study through the submit script, as a user would run it.
STUDY=(-r 3 --set 'duration=2d,3d')
export FLEETSIM_RESULTS=$T/results
say "deploy/slurm-submit.sh scenarios/quickstart.toml 4 ${STUDY[*]}"
deploy/slurm-submit.sh scenarios/quickstart.toml 4 "${STUDY[@]}" </dev/null | tee "$T/submit.out"
array=$(sed -n 's/^shards: *job array \([0-9]*\).*/\1/p' "$T/submit.out")
merge=$(sed -n 's/^merge: *job \([0-9]*\).*/\1/p' "$T/submit.out")
[[ -n $array && -n $merge ]] || fail "no job ids in the submit script's output"
jobs_submitted+=("$array" "$merge")
t0=$SECONDS
wait_jobs 300 "$array" "$merge"
[[ $(job_state "$merge") == COMPLETED ]] || fail "merge job $merge ended $(job_state "$merge")"
say "4 shards and the merge finished in $((SECONDS - t0)) s; logs: $(cd "$T/results/logs" && echo *)"

# 5. The same study unsharded, from the same folder (the manifest records the scenario path).
(cd "$T/results" && "$FLEETSIM" sweep scenario.toml "${STUDY[@]}" --out "$T/unsharded" --quiet)
say "merged folder vs one unsharded sweep:"
same_folder "$T/results/merged" "$T/unsharded"
say "byte-identical: $(find "$T/unsharded" -type f | wc -l) files"

# 6. A failed shard resubmitted alone, then the merge again.
rm -rf "$T/results/shards/shard-3" "$T/results/merged"
again=$(sbatch --parsable --array=3 --output="$T/results/logs/shard-%a-%A.out" \
  deploy/slurm-sweep.sbatch "$T/results" 4)
again=${again%%;*}
remerge=$(sbatch --parsable --dependency="afterok:$again" --kill-on-invalid-dep=yes \
  --output="$T/results/logs/merge-%j.out" deploy/slurm-merge.sbatch "$T/results" 4)
remerge=${remerge%%;*}
jobs_submitted+=("$again" "$remerge")
wait_jobs 120 "$again" "$remerge"
[[ $(job_state "$remerge") == COMPLETED ]] || fail "merge after resubmission ended $(job_state "$remerge")"
diff -r -q "$T/results/merged" "$T/unsharded" >/dev/null || fail "the re-merged folder differs"
say "shard 3 resubmitted alone (--array=3) and merged again: still byte-identical"

# 7. A 0-based array is refused with a message, not run as a wrong shard.
zero=$(sbatch --parsable --array=0 --output="$T/results/logs/zero-%a-%A.out" \
  deploy/slurm-sweep.sbatch "$T/results" 4)
zero=${zero%%;*}
jobs_submitted+=("$zero")
wait_jobs 60 "$zero"
[[ $(job_state "$zero") == FAILED ]] || fail "array task 0 ended $(job_state "$zero"), not FAILED"
grep -q "array task id 0 is not a shard number" "$T"/results/logs/zero-0-*.out ||
  fail "array task 0 failed without saying why"
say "array task id 0 refused: $(cat "$T"/results/logs/zero-0-*.out)"
say "passed in $((SECONDS - start)) s"
