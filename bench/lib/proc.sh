# shellcheck shell=bash
# Process helpers for bench/run: start pinned to a core, stop by PID, and
# read CPU time and resident memory from /proc. Sourced by bench/run.

started_pids=()

# Starts "$@" pinned to CORE with output in LOG, and sets last_pid.
# taskset and env exec the command, so last_pid is the server's own PID.
start_pinned() {
  local core=$1 log=$2
  shift 2
  taskset -c "$core" "$@" >"$log" 2>&1 &
  last_pid=$!
  started_pids+=("$last_pid")
}

# Stops PID with SIGTERM, then SIGKILL after 5 seconds, and reaps it.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# Stops every process start_pinned started, newest first.
stop_all() {
  local i
  for ((i = ${#started_pids[@]} - 1; i >= 0; i--)); do
    stop_pid "${started_pids[i]}"
  done
  started_pids=()
}

# Prints PID and the PIDs of its child processes (the nginx worker).
pid_tree() {
  echo "$1"
  pgrep -P "$1" || true
}

# Prints the user plus system CPU time, in clock ticks, of PID and its
# children. Fails when PID is gone.
cpu_ticks() {
  local total=0 pid stat fields
  kill -0 "$1" 2>/dev/null || return 1
  for pid in $(pid_tree "$1"); do
    stat=$(<"/proc/$pid/stat") || continue
    # Fields after the command name, which may contain spaces: the 12th and
    # 13th are utime and stime (fields 14 and 15 in proc(5)).
    read -ra fields <<<"${stat##*) }"
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}

# Prints the summed VmRSS, in KiB, of PID and its children.
rss_kib() {
  local total=0 pid rss
  kill -0 "$1" 2>/dev/null || return 1
  for pid in $(pid_tree "$1"); do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${rss:-0}))
  done
  echo "$total"
}

# Prints a free TCP port on 127.0.0.1. Another process could take it before
# the server binds it, which then shows up as a start failure.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
