#!/bin/sh
# slurm.sh - the README's Slurm job array and merge job, run for real: a
# one-node Slurm cluster (munged, slurmctld, slurmd) configured, keyed and
# kept entirely in a temporary directory, the shards and the merge submitted
# with the README's two sbatch lines (a tiny config, three shards), and the
# merged runs.csv and epochs.csv checked against a single-process run up to
# the timing columns. Every daemon is stopped by the pid this test started
# it with. Skips when not root or when Debian's slurm-wlm and munge are
# missing or their daemons cannot start here. Emits TAP.
set -u

: "${top_srcdir:=.}"
# shellcheck source=tests/tap-lib.sh
. "$top_srcdir/tests/tap-lib.sh"
tap_locate
what="a Slurm job array and merge job on a one-node cluster"
[ "$(id -u)" -eq 0 ] || tap_skip_all "$what" "not root: slurmd runs jobs as their owner"
PATH="$PATH:/usr/sbin:/sbin"
for prog in munged slurmctld slurmd sbatch scontrol scancel squeue sinfo python3; do
    command -v "$prog" >/dev/null 2>&1 ||
        tap_skip_all "$what" "no $prog (sh scripts/setup.sh --tests installs slurm-wlm and munge)"
done
# a Slurm job or shell around `make check` must not steer this cluster's jobs
for var in $(env | sed -n 's/^\(S\(LURM\|BATCH\|QUEUE\)_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$var"
done

daemon_pids=
job_ids=
# stop_cluster: cancel what is still queued, then each daemon by its pid, TERM
# first and KILL after 10 s; safe to call twice (the EXIT trap calls it again)
stop_cluster() {
    watched=
    if [ -n "$job_ids" ]; then
        # shellcheck disable=SC2086 # one word per job id
        scancel $job_ids 2>/dev/null
        wait_for 10 sh -c "[ -z \"\$(squeue -h -o %i 2>/dev/null)\" ]"
        job_ids=
    fi
    for pid in $daemon_pids; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $daemon_pids; do
        wait_for 10 not_running "$pid" || kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    daemon_pids=
}
# not_running PID: PID has exited (a child of ours not yet waited for is a
# zombie, which kill -0 would still find)
not_running() {
    [ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat")" = Z ]
}
tap_mktemp slurm stop_cluster
# munged wants every directory above its socket searchable by all
chmod 711 "$tmp"

# wait_for SECONDS COMMAND...: COMMAND polled every half second until it
# succeeds (status 0) or SECONDS have passed or the daemon $watched (when set)
# has died (status 1)
watched=
wait_for() {
    limit=$(($1 * 2)); shift
    tries=0
    until "$@" >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -le "$limit" ] || return 1
        [ -z "$watched" ] || ! not_running "$watched" || return 1
        sleep 0.5
    done
}
# start_daemon NAME COMMAND...: COMMAND in the background, its output in
# NAME.out, its pid kept for stop_cluster and watched by wait_for
start_daemon() {
    name=$1; shift
    "$@" >"$tmp/$name.out" 2>&1 &
    watched=$!
    daemon_pids="$daemon_pids $watched"
}

# give_up DAEMON REASON: the daemons that did start are stopped, the log's
# tail shown as TAP comments, and the test is one skip
give_up() {
    [ -f "$tmp/$1.out" ] && tail -n 15 "$tmp/$1.out" | sed 's/^/# /'
    stop_cluster
    tap_skip_all "$what" "$2"
}

# two TCP ports free now on the loopback, for slurmctld and slurmd
free_ports() {
    python3 -c 'import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])'
}

write_slurm_conf() {
    host=$(hostname -s 2>/dev/null || hostname)
    # shellcheck disable=SC2046 # two port numbers, two words
    set -- $(free_ports)
    [ $# -eq 2 ] || give_up slurmctld "no free TCP port on 127.0.0.1"
    mkdir -p "$tmp/state" "$tmp/spool"
    # jobs run as root with no cgroups, accounting or mail: all a container has
    cat >"$tmp/slurm.conf" <<EOF
ClusterName=gpooltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$1
SlurmdPort=$2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge.socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
DependencyParameters=kill_invalid_depend
NodeName=gpoolnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=gpooltest Nodes=gpoolnode Default=YES MaxTime=INFINITE State=UP
EOF
}

start_cluster() {
    head -c 1024 /dev/urandom >"$tmp/munge.key" && chmod 600 "$tmp/munge.key"
    start_daemon munged munged -F --socket="$tmp/munge.socket" --key-file="$tmp/munge.key" \
        --pid-file="$tmp/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munged.seed"
    wait_for 15 test -S "$tmp/munge.socket" || give_up munged "munged did not start"
    write_slurm_conf
    export SLURM_CONF="$tmp/slurm.conf"
    start_daemon slurmctld slurmctld -D -f "$SLURM_CONF"
    wait_for 30 sh -c 'scontrol ping | grep -q UP' || give_up slurmctld "slurmctld did not start"
    start_daemon slurmd slurmd -D -f "$SLURM_CONF" -N gpoolnode
    # shellcheck disable=SC2016 # the inner shell expands it, at each try
    wait_for 30 sh -c '[ "$(sinfo -h -n gpoolnode -o %t)" = idle ]' ||
        give_up slurmd "slurmd did not register its node as idle"
    watched=
}

# job_states JOB: the state of each of JOB's jobs (an array's tasks), one a line
job_states() {
    scontrol -o show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'
}
job_done() { # job_done JOB: none of its jobs is pending, running or completing
    states=$(job_states "$1")
    [ -n "$states" ] && ! echo "$states" | grep -q 'PENDING\|RUNNING\|COMPLETING\|CONFIGURING'
}
all_completed() { # all_completed JOB COUNT: JOB's COUNT jobs all completed
    [ "$(job_states "$1" | grep -c '^COMPLETED$')" -eq "$2" ]
}

start_cluster
echo "1..10"
ok "munged, slurmctld and slurmd started; the node is idle"

cfg="$srcdir/tests/configs/resume.yaml"
"$gpool" run -q "$cfg" --out "$tmp/single" >"$tmp/single.out" 2>&1
check "the single-process sweep finishes" [ $? -eq 0 ]

tap_checkout_top slurm

sh scripts/slurm/shards.sbatch "$cfg" >/dev/null 2>&1
check "shards.sbatch outside a job array refuses to run (exit 2)" [ $? -eq 2 ]

jid=$(sbatch --parsable --array=1-3 scripts/slurm/shards.sbatch "$cfg" 2>"$tmp/sbatch.err")
case $jid in ''|*[!0-9]*) jid=; not_ok "sbatch takes the job array"; sed 's/^/# /' "$tmp/sbatch.err" ;;
    *) job_ids=$jid; ok "sbatch takes the job array (job $jid)" ;; esac
# as the README writes it ($jid is a number by now)
# shellcheck disable=SC2086
out=$(sbatch --dependency=afterok:$jid scripts/slurm/merge.sbatch results/resume-test 3 2>"$tmp/sbatch.err")
mid=${out##* }
case $mid in ''|*[!0-9]*) mid=; not_ok "sbatch takes the merge job"; sed 's/^/# /' "$tmp/sbatch.err" ;;
    *) job_ids="$job_ids $mid"; ok "sbatch takes the merge job (job $mid)" ;; esac

# a shard that fails cancels the merge job (kill_invalid_depend): no wait to the limit
[ -n "$jid" ] && [ -n "$mid" ] && wait_for 300 job_done "$mid"
jobs_completed() { [ -n "$mid" ] && all_completed "$jid" 3 && all_completed "$mid" 1; }
if jobs_completed; then
    ok "the three shards and the merge job complete within 5 minutes"
else
    not_ok "the three shards and the merge job complete within 5 minutes"
    for j in $jid $mid; do
        scontrol -o show job "$j" | sed -n 's/^\(JobId=[0-9]*\).* \(JobState=[A-Z_]*\).*/# \1 \2/p'
    done
fi
[ -f "results/resume-test/runs.csv" ] ||
    for f in slurm-*.out; do [ -f "$f" ] && sed "s|^|# $f: |" "$f"; done
check "each array task ran its own shard" \
    sh -c "grep -q 'shard 1/3' slurm-${jid}_1.out && grep -q 'shard 2/3' slurm-${jid}_2.out &&
           grep -q 'shard 3/3' slurm-${jid}_3.out"
check_same_results "$tmp/single" results/resume-test
check "the merge job drew the merged table" [ -s results/resume-test/table.md ]

started=$daemon_pids
stop_cluster
alive=
for pid in $started; do
    not_running "$pid" || alive="$alive $pid"
done
check "every daemon the test started has stopped" [ -z "$alive" ]
