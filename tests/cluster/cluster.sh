#!/bin/bash
# cluster.sh - a fake N-host cluster on one Linux machine, for the multi-node tests (run as root).
#
# Needs (Debian): iproute2, openssh-server, openssh-client, util-linux (nsenter, unshare), procps (pkill),
# and for slurm-up: slurm-wlm (slurmctld, slurmd, srun; auth/none, so no munge). Tested with Slurm 22.05.
#
#   up              down first, then: head namespace $H (bridge br0, $SUB.254) and hosts ${P}1..${P}N ($SUB.K),
#                   each with its own network, hostname, /etc/hosts, /etc/machine-id, boot_id and /dev/shm and
#                   one sshd; the rest of the filesystem (/work, /tmp, ...) is shared
#   slurm-up        slurmctld in the head namespace, one slurmd in each host (restarts Slurm if it was up)
#   down            stops every process in our namespaces, deletes them and their /etc/netns entries;
#                   idempotent, also after a failed or half-done up; exits 1 if something could not be removed
#   head CMD...     runs CMD in the head namespace, SLURM_CONF set     e.g.  cluster.sh head srun -N 4 hostname
#   on HOST CMD...  runs CMD inside HOST's namespaces without ssh (works while its link is down)
#   ssh HOST CMD... runs CMD on HOST through ssh from the head namespace
#   link-down HOST / link-up HOST   pulls / plugs HOST's cable (its veth on the head's bridge)
#   kill HOST PATTERN [SIGNAL]      signals (default KILL) the processes of HOST whose command line matches
#                                   PATTERN (pkill -f); prints them; exits 1 if none matched
#   env             prints the exports that make srun/sbatch/ssh usable:  eval "$(cluster.sh env)"
#   status          what is up
# Settings (environment): N=4 hosts, P=n host prefix, H=mnh head namespace, SUB=10.77.0 (a /24), W=/tmp/dragon-testbed,
#   TASK_PLUGIN=task/none (srun --cpu-bind=... is accepted, with a warning) or task/affinity.
#   CLUSTER_TRACE=1 makes down print its kill rounds.
# Inside the head namespace /etc/ssh/ssh_config is the test one, so `ssh n1 hostname` just works.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin   # ip, sshd, slurmd, slurmctld live there; a test runner may not have them
N=${N:-4}; P=${P:-n}; H=${H:-mnh}; SUB=${SUB:-10.77.0}; W=${W:-/tmp/dragon-testbed}
# task/affinity makes srun --cpu-bind real, but binds the tasks of every fake host to the same 2 real cores
TASK_PLUGIN=${TASK_PLUGIN:-task/none}
SLURM_CONF_FILE=$W/slurm/slurm.conf
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
# Daemons run under reaper.py: it reaps their orphans at once (see there why that matters for Slurm)
REAPER="$PYTHON $HERE/reaper.py"

die() { echo "cluster.sh: $*" >&2; exit 1; }
hosts() { seq -f "$P%g" 1 "$N"; }
anchor() { local f=$W/hosts/$1/anchor.pid; [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null || die "host $1 is not up"; cat "$f"; }
# wait_for SECONDS WHAT CMD...: polls CMD every 50 ms until it succeeds
wait_for() {
  local limit=$1 what=$2; shift 2; local deadline=$(( ${EPOCHREALTIME/./} + limit * 1000000 ))
  until "$@" >/dev/null 2>&1; do [ "${EPOCHREALTIME/./}" -lt $deadline ] || { echo "cluster.sh: timed out after ${limit}s waiting for $what" >&2; return 1; }; sleep 0.05; done
}
preflight() {
  [ "$(id -u)" = 0 ] || die "must run as root (creates network namespaces)"
  local missing=() c
  for c in ip nsenter unshare pkill ssh ssh-keygen /usr/sbin/sshd "$PYTHON" "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (scripts/install-deps installs them)"
}
hostsfile() { echo "127.0.0.1 localhost"; echo "$SUB.254 $H $(hostname -s)"; for i in $(seq 1 "$N"); do echo "$SUB.$i $P$i"; done; }
# Every namespace is recorded before it is made, with its inodes after, so down finds all of them even after a crash.
# ns.inodes is only trusted in the same boot (inode numbers are reused).
new_netns() {
  echo "$1" >> "$W/netns.list"; ip netns add "$1"
  [ -s "$W/ns.inodes" ] || cat /proc/sys/kernel/random/boot_id > "$W/ns.inodes"
  stat -L -c 'net:[%i]' "/run/netns/$1" >> "$W/ns.inodes"
}

net_up() {
  mkdir -p "$W/hosts"; [ -d /run/netns ] && mountpoint -q /run/netns || touch "$W/run-netns.ours"
  new_netns "$H"; ip -n "$H" link set lo up
  ip -n "$H" link add br0 type bridge; ip -n "$H" addr add "$SUB.254/24" dev br0; ip -n "$H" link set br0 up
  mkdir -p "/etc/netns/$H"; echo "$H" > "/etc/netns/$H/hostname"; hostsfile > "/etc/netns/$H/hosts"
  local i ns
  for i in $(seq 1 "$N"); do ns=$P$i
    new_netns "$ns"; ip -n "$ns" link set lo up
    ip -n "$ns" link add eth0 type veth peer name "ve-$ns" netns "$H"
    ip -n "$H" link set "ve-$ns" master br0 up
    ip -n "$ns" addr add "$SUB.$i/24" dev eth0; ip -n "$ns" link set eth0 up
    mkdir -p "/etc/netns/$ns"; echo "$ns" > "/etc/netns/$ns/hostname"; hostsfile > "/etc/netns/$ns/hosts"
    tr -d - < /proc/sys/kernel/random/uuid > "/etc/netns/$ns/machine-id"
  done
}

ssh_config_files() {
  local D=$1
  [ -f "$D/id_ed25519" ]   || ssh-keygen -q -t ed25519 -N '' -f "$D/id_ed25519"
  [ -f "$D/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$D/host_ed25519"
  cp "$D/id_ed25519.pub" "$D/authorized_keys"; chmod 644 "$D/authorized_keys"
  echo '# fake-host bashrc (keeps non-interactive ssh cheap)' > "$D/bashrc"
  cat > "$D/sshd_config" <<CFG
HostKey $D/host_ed25519
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $D/authorized_keys
StrictModes no
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_* DRAGON_*
MaxStartups 100:30:200
MaxSessions 100
CFG
  # ConnectTimeout: a host whose link is down fails in seconds instead of the kernel's two minutes. The key exchange
  # is the cheap classic one: the default (sntrup761) costs ~80 ms of CPU per connection on this 2-core machine.
  printf '%s\n' "Host *" "  User root" "  IdentityFile $D/id_ed25519" "  IdentitiesOnly yes" \
    "  StrictHostKeyChecking no" "  UserKnownHostsFile /dev/null" "  LogLevel ERROR" "  BatchMode yes" \
    "  ConnectTimeout 3" "  KexAlgorithms curve25519-sha256" > "$D/ssh_config"
}

hosts_up() {
  local D=$W/ssh i ns; [ -d /run/sshd ] || touch "$W/run-sshd.ours"
  mkdir -p "$D" /run/sshd; chmod 711 "$D"; rm -f "$D"/*.log
  ssh_config_files "$D"
  mkdir -p "/etc/netns/$H/ssh/ssh_config.d"; cp "$D/ssh_config" "/etc/netns/$H/ssh/ssh_config"   # ip netns exec: /etc/ssh = this dir
  for i in $(seq 1 "$N"); do ns=$P$i
    # A fake host = net ns + own UTS ns (hostname) + own private mount ns. nsenter --net (not ip netns exec) keeps the
    # machine's /sys (slurmd needs /sys/fs/cgroup); the /etc binds are done by hand. sshd's reaper is the host's anchor:
    # it holds the namespaces for `on`, `kill` and slurmd even if a test kills the sshd.
    mkdir -p "$W/hosts/$ns"; rm -f "$W/hosts/$ns"/*; cat /proc/sys/kernel/random/uuid > "$W/hosts/$ns/boot_id"
    nsenter --net="/run/netns/$ns" unshare --uts --mount --propagation private sh -c "set -e; hostname $ns
      for f in hosts hostname machine-id; do mount --bind /etc/netns/$ns/\$f /etc/\$f; done
      mount --bind $W/hosts/$ns/boot_id /proc/sys/kernel/random/boot_id
      mount --bind $D/bashrc /root/.bashrc
      mount --bind $D/ssh_config /etc/ssh/ssh_config
      mount -t tmpfs -o mode=1777,size=4g shm-$ns /dev/shm
      exec $REAPER $W/hosts/$ns/anchor.pid $W/hosts/$ns/reaper.log /usr/sbin/sshd -f $D/sshd_config -o ListenAddress=$SUB.$i -o PidFile=$D/sshd-$ns.pid -E $D/sshd-$ns.log" \
      || die "could not start host $ns"
  done
  # sshd writes its pid file after it listens; then one real ssh per host proves keys, config and network.
  for ns in $(hosts); do wait_for 10 "sshd on $ns" test -s "$D/sshd-$ns.pid" || { cat "$D/sshd-$ns.log" >&2; return 1; }; done
  local pids=() failed=0
  for ns in $(hosts); do ip netns exec "$H" ssh "$ns" true & pids+=($!); done
  for i in "${pids[@]}"; do wait "$i" || failed=1; done
  [ $failed = 0 ] || die "ssh from $H to the hosts failed (logs: $D/sshd-*.log)"
}

# ours PIDFILE...: the pids in those files that are still one of our daemons (a stale file may name a reused pid)
ours() { local f p; for f in "$@"; do [ -s "$f" ] || continue; p=$(cat "$f"); tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qF "$W/" && echo "$p"; done; return 0; }

slurm_stop() {
  local pids=()
  pids=($(ours "$W"/slurm/*.pid))
  [ ${#pids[@]} -eq 0 ] && return 0
  kill "${pids[@]}" 2>/dev/null || true
  wait_for 5 "Slurm daemons to stop" all_gone "${pids[@]}" || kill -9 "${pids[@]}" 2>/dev/null || true
}

slurm_up() {
  preflight slurmctld slurmd sinfo
  local D=$W/slurm ns
  for ns in $(hosts); do anchor "$ns" >/dev/null; done
  slurm_stop; rm -rf "$D"; mkdir -p "$D/state" "$D/log"
  for ns in $(hosts); do mkdir -p "$D/spool/$ns" "$D/tmp/$ns"; done
  cat > "$D/slurm.conf" <<CFG
ClusterName=mn
SlurmctldHost=$(hostname -s)($SUB.254)
SlurmctldPort=16827
SlurmdPort=16828
AuthType=auth/none
CredType=cred/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/%n
TmpFS=$D/tmp/%n
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
ProctrackType=proctrack/pgid
TaskPlugin=$TASK_PLUGIN
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# batch jobs are started by the main scheduling loop: every second, not every 3 s
SchedulerParameters=sched_interval=1
NodeName=$P[1-$N] NodeAddr=$SUB.[1-$N] CPUs=2 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CFG
  export SLURM_CONF=$D/slurm.conf
  nsenter --net="/run/netns/$H" $REAPER "$D/reaper-$H.pid" "$D/log/reaper-$H.log" slurmctld -f "$SLURM_CONF" -i \
    || die "slurmctld did not start (logs: $D/log/slurmctld.log $D/log/reaper-$H.log)"
  # slurmd joins the fake host's namespaces: same hostname, /etc, boot_id and /dev/shm as what ssh sees
  for ns in $(hosts); do
    nsenter -t "$(anchor "$ns")" -n -u -m $REAPER "$D/reaper-$ns.pid" "$D/log/reaper-$ns.log" slurmd -f "$SLURM_CONF" \
      || die "slurmd on $ns did not start (logs: $D/log/slurmd-$ns.log $D/log/reaper-$ns.log)"
  done
  wait_for 30 "$N idle Slurm nodes" nodes_idle || { nsenter --net="/run/netns/$H" sinfo >&2 || true; tail -n 20 "$D/log/slurmctld.log" >&2; return 1; }
}
nodes_idle() { [ "$(nsenter --net="/run/netns/$H" sinfo -h -t idle -o %D)" = "$N" ]; }

# all_gone PID...: true when none of them is alive (a zombie counts as gone: only its parent can reap it)
all_gone() { local p s; for p in "$@"; do s=$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null) || continue; [ "$s" = Z ] || return 1; done; }

# Every process in one of our network namespaces: the named ones, plus those recorded at up (covers a namespace whose
# name was deleted while processes still held it). Never this script or its callers.
our_pids() {
  local ns mine=" $$ " p=$$
  while [ "$p" -gt 1 ] 2>/dev/null; do p=$(cut -d' ' -f4 "/proc/$p/stat" 2>/dev/null) || break; mine+="$p "; done
  {
    for ns in $(known_netns); do ip netns pids "$ns" 2>/dev/null || true; done
    if [ -s "$W/ns.inodes" ] && [ "$(head -n 1 "$W/ns.inodes")" = "$(cat /proc/sys/kernel/random/boot_id)" ]; then
      find /proc/[0-9]*/ns/net -maxdepth 0 -printf '%l %p\n' 2>/dev/null \
        | grep -F -f <(tail -n +2 "$W/ns.inodes") | sed 's#.* /proc/\([0-9]*\)/.*#\1#' || true
    fi
  } | sort -un | while read -r p; do [[ $mine == *" $p "* ]] || echo "$p"; done
}
known_netns() {
  local existing; existing=" $(ip netns list 2>/dev/null | cut -d' ' -f1 | tr '\n' ' ') "
  { echo "$H"; hosts; [ -f "$W/netns.list" ] && cat "$W/netns.list"; } | sort -u | while read -r ns; do [[ $existing == *" $ns "* ]] && echo "$ns"; done
}

down() (
  set +e
  local all others reapers p ns round
  # The daemons first, so that their reapers still reap them (PID 1 here reaps late), the reapers when nothing else is
  # left; TERM first, then KILL; in rounds, because sshd and slurmd may fork while we kill.
  for round in 1 2 3 4 5 6; do
    all=$( { our_pids; ours "$W"/slurm/*.pid "$W"/ssh/sshd-*.pid "$W"/hosts/*/anchor.pid; } | sort -un)
    [ -n "$all" ] || break
    others=""; reapers=""
    for p in $all; do if grep -qF reaper.py "/proc/$p/cmdline" 2>/dev/null; then reapers+=" $p"; else others+=" $p"; fi; done
    [ -n "$others" ] || others=$reapers
    [ -z "${CLUSTER_TRACE:-}" ] || echo "cluster.sh down: $(date +%T.%N) round $round:$others" >&2
    # the daemons exit at once on TERM; slurmstepd does not (it signals its tasks and stays): 1 s is enough
    if [ $round = 1 ]; then kill -TERM $others 2>/dev/null; wait_for 1 "TERM" all_gone $others 2>/dev/null
    else kill -KILL $others 2>/dev/null; wait_for 3 "processes to exit" all_gone $others 2>/dev/null; fi
  done
  for ns in $(known_netns); do ip netns del "$ns" 2>/dev/null; done
  if [ -f "$W/netns.list" ]; then while read -r ns; do rm -rf "/etc/netns/$ns"; done < "$W/netns.list"; fi
  for ns in "$H" $(hosts); do rm -rf "/etc/netns/$ns"; done
  rmdir /etc/netns 2>/dev/null
  # /run/netns (ip's bind mount) and /run/sshd (sshd's privilege separation dir) go too if the cluster made them
  if [ -f "$W/run-netns.ours" ] && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null; rm -f "$W/run-netns.ours"; fi
  # (another cluster with other names, or a real sshd, may use /run/sshd still: it stays while any sshd runs)
  if [ -f "$W/run-sshd.ours" ] && ! pgrep -x sshd >/dev/null; then rmdir /run/sshd 2>/dev/null; rm -f "$W/run-sshd.ours"; fi
  rm -f "$W"/slurm/*.pid "$W"/ssh/*.pid "$W"/hosts/*/anchor.pid
  # what is left is an error, not a warning: the next test would run on a dirty machine
  local left; left="$(known_netns | tr '\n' ' ')$(our_pids | tr '\n' ' ')"
  if [ -n "${left// /}" ]; then echo "cluster.sh down: left behind: $left" >&2; return 1; fi
  rm -f "$W/netns.list" "$W/ns.inodes"
)

status() {
  local ns; echo "namespaces: $(known_netns | tr '\n' ' ')"
  for ns in $(hosts); do printf '%s: anchor %s sshd %s slurmd %s\n' "$ns" "$(cat "$W/hosts/$ns/anchor.pid" 2>/dev/null || echo -)" \
    "$(cat "$W/ssh/sshd-$ns.pid" 2>/dev/null || echo -)" "$(cat "$W/slurm/slurmd-$ns.pid" 2>/dev/null || echo -)"; done
  echo "slurmctld: $(cat "$W/slurm/slurmctld.pid" 2>/dev/null || echo -)"
}

# Commands run in the head namespace get our Slurm only: an outer job's SLURM_* would confuse srun.
clean_slurm_env() { local v; for v in $(compgen -e); do [[ $v == SLURM_* ]] && unset "$v"; done; export SLURM_CONF=$SLURM_CONF_FILE; }
host_arg() { [[ ${1:-} =~ ^$P[0-9]+$ ]] && [ "${1#"$P"}" -ge 1 ] && [ "${1#"$P"}" -le "$N" ] || die "no such host: '${1:-}' (hosts: $(hosts | tr '\n' ' '))"; }

cmd=${1:-}; shift || true
case "$cmd" in
  up)        preflight; down || die "could not clean up what the previous cluster left"; mkdir -p "$W"; net_up; hosts_up ;;
  slurm-up)  slurm_up ;;
  down)      down ;;
  head)      clean_slurm_env; exec ip netns exec "$H" "$@" ;;
  on)        host_arg "${1:-}"; a=$(anchor "$1"); shift; exec nsenter -t "$a" -n -u -m -- "$@" ;;
  ssh)       host_arg "${1:-}"; exec ip netns exec "$H" ssh "$@" ;;
  link-down) host_arg "${1:-}"; ip -n "$H" link set "ve-$1" down ;;
  link-up)   host_arg "${1:-}"; ip -n "$H" link set "ve-$1" up ;;
  kill)      host_arg "${1:-}"; [ -n "${2:-}" ] || die "kill HOST PATTERN [SIGNAL]"
             exec pkill -e -"${3:-KILL}" --ns "$(anchor "$1")" --nslist net -f -- "$2" ;;
  env)       printf 'export SLURM_CONF=%q\nexport CLUSTER_HEAD=%q\n' "$SLURM_CONF_FILE" "$H" ;;
  status)    status ;;
  *)         sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
esac
