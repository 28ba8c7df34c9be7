#!/usr/bin/env bash
# Checks deploy/parallel-sweep.sh end to end: 4 shards run on this machine, then the same 4
# shards over ssh to an sshd listening on 127.0.0.1 only (started here with throwaway keys,
# standing in for a remote server: scenario copied in, shard folders copied back with rsync),
# and each merged folder is compared byte for byte with one unsharded sweep. GNU parallel,
# openssh and rsync come from the distribution's packages when missing (root and apt). Stops
# the sshd it started and removes its folder on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
say() { echo "check-parallel: $*"; }
fail() {
  echo "check-parallel: FAILED: $*" >&2
  exit 1
}
start=$SECONDS
missing=()
command -v parallel >/dev/null || missing+=(parallel)
command -v rsync >/dev/null || missing+=(rsync)
command -v ssh >/dev/null || missing+=(openssh-client)
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || fail "missing ${missing[*]}"
  say "installing ${missing[*]} from the distribution's packages"
  added_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  [[ -n $added_policy ]] && rm -f /usr/sbin/policy-rc.d
fi
say "$(parallel --version | head -n 1), $(ssh -V 2>&1), ready after $((SECONDS - start)) s"

if [[ -z ${FLEETSIM:-} ]]; then
  cargo build --quiet --bin fleetsim
  FLEETSIM=$REPO/target/debug/fleetsim
fi
export FLEETSIM
T=$(mktemp -d /tmp/fleetsim-check-parallel.XXXXXX)
chmod 755 "$T"
sshd_pid=
made_run_sshd=
cleanup() {
  local rc=$?
  [[ -n $sshd_pid ]] && { kill "$sshd_pid" 2>/dev/null || true; wait "$sshd_pid" 2>/dev/null || true; }
  [[ -n $made_run_sshd ]] && rmdir /run/sshd 2>/dev/null
  ((rc == 0)) || { [[ -f $T/sshd.log ]] && tail -n 20 "$T/sshd.log"; }
  rm -rf "$T"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

STUDY=(-r 3 --set 'duration=2d,3d')
mkdir -p "$T/ref"
cp scenarios/quickstart.toml "$T/ref/scenario.toml"
(cd "$T/ref" && "$FLEETSIM" sweep scenario.toml "${STUDY[@]}" --out "$T/unsharded" --quiet)

# 1. No ssh login file: every shard here.
FLEETSIM_RESULTS=$T/local deploy/parallel-sweep.sh scenarios/quickstart.toml 4 "${STUDY[@]}" </dev/null
diff -r "$T/local/merged" "$T/unsharded" || fail "the local run's merged folder differs"
say "local: 4 shards merged, byte-identical to one unsharded sweep"

# 2. Over ssh, to this machine's loopback address.
ssh-keygen -q -t ed25519 -N '' -f "$T/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$T/user_key"
cp "$T/user_key.pub" "$T/authorized_keys"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=12222
until port_free "$port"; do
  port=$((port + 1))
  ((port < 12322)) || fail "no free port in 12222..12322"
done
cat >"$T/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $T/host_key
AuthorizedKeysFile $T/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PidFile $T/sshd.pid
CONF
if [[ ! -d /run/sshd ]]; then
  mkdir -p /run/sshd
  made_run_sshd=1
fi
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
sshd_pid=$!
cat >"$T/ssh_config" <<CONF
Host fleetsim-node
  HostName 127.0.0.1
  Port $port
  User $(id -un)
  IdentityFile $T/user_key
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
CONF
for i in $(seq 50); do
  ssh -F "$T/ssh_config" fleetsim-node true 2>/dev/null && break
  ((i < 50)) || fail "cannot ssh to the sshd on 127.0.0.1:$port"
  sleep 0.2
done
echo "2/fleetsim-node" >"$T/hosts.txt"
mkdir -p "$T/remote"
PARALLEL_SSH="ssh -F $T/ssh_config" SSHLOGINFILE=$T/hosts.txt FLEETSIM_REMOTE=$FLEETSIM \
  FLEETSIM_REMOTE_WD=$T/remote FLEETSIM_RESULTS=$T/ssh \
  deploy/parallel-sweep.sh scenarios/quickstart.toml 4 "${STUDY[@]}" </dev/null
diff -r "$T/ssh/merged" "$T/unsharded" || fail "the ssh run's merged folder differs"
left=
[[ -d $T/remote ]] && left=$(find "$T/remote" -mindepth 1)
[[ -z $left ]] || fail "files left in the remote work folder: $left"
say "over ssh (127.0.0.1:$port): 4 shards copied back and merged, byte-identical to one" \
  "unsharded sweep; nothing left in the remote work folder"
say "passed in $((SECONDS - start)) s"
