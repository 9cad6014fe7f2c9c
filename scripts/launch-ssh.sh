#!/usr/bin/env bash
# Starts the same hsm-bench run on several hosts at one agreed moment (--start-at), collects each host's run
# directory and merges them into one run (hsm-bench merge). ssh does the work; hsm-bench speaks no protocol of its own.
#
#   scripts/launch-ssh.sh [options] HOST... -- SCALE-OR-BURN-IN-ARGS...
#
# A HOST is what ssh takes: [user@]host, or ssh://[user@]host[:port] (its run comes here under hosts/user@host_port).
#
# Options:
#   --lead SECONDS       how far ahead the start is, for every host's set-up (tokens, keys, trial calls); default 60,
#                        at most 604800 (7 days: hsm-bench refuses a start further ahead)
#                        (the run's --start-at and --out are this script's: refused after --)
#   --out DIR            local folder: hosts/HOST/RUN (each host's run) and the merged run; default reports
#   --remote-out DIR     parent folder of the run directory on each host; default hsm-bench-runs
#   --hsm-bench CMD      hsm-bench on the hosts; default hsm-bench
#   --local-hsm-bench CMD  hsm-bench here, for the merge; default hsm-bench
#   --merge "ARGS"       more arguments of the merge (thresholds, --junit …), split at spaces
#   --runner CMD         runs a command line on a host, as CMD HOST "COMMAND LINE"; default: ssh -o BatchMode=yes
#   --fetcher CMD        copies a host's run directory here, as CMD HOST REMOTE_DIR LOCAL_DIR; default: scp -rq
#
# Each host's PIN comes from its own environment (HSM_BENCH_PIN) or a --pin-file there: never from this command line.
# Hosts' clocks must be synchronized (NTP, chrony): each run.json says what its host's OS said of it.
# Exit: the merge's code (0, 4, 5 …); a host that made no run gives its own code (2 for a start already past, 3 …),
# 255 where ssh itself failed on a host (said as such); 3 where a run could not be copied back; 2 for a usage error.
set -euo pipefail

lead=60
out=reports
remote_out=hsm-bench-runs
remote_bench=hsm-bench
local_bench=hsm-bench
merge_args=""
runner=""
fetcher=""
hosts=()
# ssh's URI form (man ssh): ssh://[user@]host[:port], the host a name, an IPv4 address or an [IPv6] one.
ssh_uri='^ssh://([^@/:[]+@)?([^@/:[]+|\[[0-9A-Fa-f:.]+\])(:([0-9]+))?$'
# Whether $1 is that URI, with a port (if any) from 1 to 65535.
uri_host() {
  [[ "$1" =~ $ssh_uri ]] || return 1
  local port="${BASH_REMATCH[4]}"
  [[ -z "$port" ]] || [[ ${#port} -le 5 && $((10#$port)) -ge 1 && $((10#$port)) -le 65535 ]]
}
# A host's name for its files here (logs, its run): no / or : (ssh://u@h:2222 is u@h_2222).
local_name() { local name="${1#ssh://}"; echo "${name//[^A-Za-z0-9._@-]/_}"; }
usage() { echo "usage: $0 [options] HOST HOST... -- scale|burn-in ARGS...  (two hosts or more; options at the head of $0)" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  # Every option takes a value: one missing is a usage error, not bash's "unbound variable".
  if [[ "$1" == --?* && $# -lt 2 ]]; then
    echo "launch-ssh: $1 needs a value" >&2
    usage
  fi
  case "$1" in
    --lead) lead="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --remote-out) remote_out="$2"; shift 2 ;;
    --hsm-bench) remote_bench="$2"; shift 2 ;;
    --local-hsm-bench) local_bench="$2"; shift 2 ;;
    --merge) merge_args="$2"; shift 2 ;;
    --runner) runner="$2"; shift 2 ;;
    --fetcher) fetcher="$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "launch-ssh: unknown option $1 (see the head of $0)" >&2; exit 2 ;;
    *)
      if [[ "$1" == */* ]] && ! uri_host "$1"; then
        echo "launch-ssh: host '$1' is not one ssh takes: give [user@]host or ssh://[user@]host[:port] (a port from 1 to 65535)" >&2
        exit 2
      fi
      # The same host twice would run two processes there and fetch one run over the other.
      for known in "${hosts[@]}"; do
        if [[ "$(local_name "$known")" == "$(local_name "$1")" ]]; then
          as=""
          [[ "$known" == "$1" ]] || as=" (as $known)"
          echo "launch-ssh: host $1 is given twice$as: each host runs once" >&2
          exit 2
        fi
      done
      hosts+=("$1"); shift ;;
  esac
done
if [[ ${#hosts[@]} -lt 2 || $# -eq 0 ]]; then
  usage
fi
if [[ ! "$lead" =~ ^[0-9]+$ ]]; then
  echo "launch-ssh: --lead takes whole seconds, not '$lead'" >&2
  exit 2
fi
# Compared as digits first: bash's arithmetic wraps past 2^63. Decimal whatever its leading zeros (08 is not octal).
digits="${lead#"${lead%%[!0]*}"}"
if [[ ${#digits} -gt 6 || 10#0$digits -gt 604800 || 10#0$digits -eq 0 ]]; then
  echo "launch-ssh: --lead $lead is not from 1 to 604800 seconds (7 days: hsm-bench refuses a start further ahead; 0 leaves no time for the set-up)" >&2
  exit 2
fi
lead=$((10#$digits))
# The script sets where each run goes and when it starts: a user's own would be overridden without a word.
for arg in "$@"; do
  case "$arg" in
    --out | --out=*)
      echo "launch-ssh: --out after -- is set by this script (each host writes under --remote-out, and the runs and their merge come here under --out): give --out or --remote-out before the hosts" >&2
      exit 2 ;;
    --start-at | --start-at=*)
      echo "launch-ssh: --start-at after -- is set by this script (one moment, --lead seconds from now, for every host): give --lead before the hosts" >&2
      exit 2 ;;
  esac
done

run_on() { if [[ -n "$runner" ]]; then $runner "$1" "$2"; else ssh -o BatchMode=yes "$1" "$2"; fi; }
fetch() {
  if [[ -n "$fetcher" ]]; then
    $fetcher "$1" "$2" "$3"
  elif [[ "$1" =~ $ssh_uri ]]; then
    # scp's host:path form has no port: it is -P.
    scp -rq ${BASH_REMATCH[4]:+-P "${BASH_REMATCH[4]}"} "${BASH_REMATCH[1]}${BASH_REMATCH[2]}:$2" "$3"
  else
    scp -rq "$1:$2" "$3"
  fi
}

# One moment for every host, in UTC, computed once here.
start_at=$(date -u -d "@$(($(date +%s) + lead))" +%Y-%m-%dT%H:%M:%SZ)
command_line="$remote_bench $(printf '%q ' "$@")--start-at $start_at --out $(printf '%q' "$remote_out")"
logs="$out/hosts/logs"
mkdir -p "$logs"
echo "launch-ssh: ${#hosts[@]} hosts start at $start_at: $command_line" >&2

pids=()
for host in "${hosts[@]}"; do
  name=$(local_name "$host")
  (
    set +e
    run_on "$host" "$command_line" >"$logs/$name.out" 2>"$logs/$name.err"
    echo $? >"$logs/$name.rc"
  ) &
  pids+=($!)
done
wait "${pids[@]}"

runs=()
for host in "${hosts[@]}"; do
  name=$(local_name "$host")
  rc=$(cat "$logs/$name.rc")
  dir=$(sed -n 's/^results: //p' "$logs/$name.err" | tail -n 1)
  if [[ -z "$dir" ]]; then
    # ssh's own failure (no connection, refused key) is 255: not a code of hsm-bench's.
    if [[ "$rc" == 255 ]]; then
      echo "launch-ssh: ssh failed on $host (exit 255: no connection, or the key refused); its last lines:" >&2
    else
      echo "launch-ssh: $host made no run (hsm-bench exit $rc); its last lines:" >&2
    fi
    tail -n 5 "$logs/$name.err" >&2
    exit "$((rc == 0 ? 3 : rc))"
  fi
  mkdir -p "$out/hosts/$name"
  if ! fetch "$host" "$dir" "$out/hosts/$name/"; then
    echo "launch-ssh: could not copy $host:$dir here (the fetcher failed): the run is still on $host" >&2
    exit 3
  fi
  runs+=("$out/hosts/$name/$(basename "$dir")")
  echo "launch-ssh: $host: exit $rc, run $dir" >&2
done

# shellcheck disable=SC2086 # --merge is a list of arguments split at spaces
exec $local_bench merge "${runs[@]}" --out "$out" $merge_args
