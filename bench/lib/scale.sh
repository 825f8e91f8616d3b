# shellcheck shell=bash disable=SC2154  # workdir, upstream_port and last_pid come from bench/run.
# certgate with a policy of many identities (BENCH_SCALE_IDENTITIES): how
# long the policy takes to load, the same load modes as with the normal
# policy, and reloads while two generators keep requests going. Sourced by
# bench/run, which sets the variables used here.

scale_name=certgate-scale

# Writes DIR/gateway.toml as write_certgate_config does, plus an admin
# listener on ADMIN_PORT (for the reload metrics) and [policy] watch, and a
# policy of SCALE_IDENTITIES identities in DIR/policy.toml.
write_scale_config() {
  local dir=$1 port=$2 upstream=$3 pki=$4 admin_port=$5
  write_certgate_config "$dir" "$port" "$upstream" "$pki"
  sed -i 's/^file = "policy.toml"$/file = "policy.toml"\nwatch = true/' "$dir/gateway.toml"
  grep -q '^watch = true$' "$dir/gateway.toml" || {
    echo "no 'file = \"policy.toml\"' line to add [policy] watch after in $dir/gateway.toml" >&2
    return 1
  }
  printf '\n[admin]\nlisten = "127.0.0.1:%s"\n' "$admin_port" >>"$dir/gateway.toml"
  write_scale_policy "$dir/policy.toml" "$upstream" 1
}

# Prints the index of the client's CN in the policy with seed SEED: 5/8 of
# the list for seed 1, 6/8 for seed 2, never the first entry.
scale_client_index() {
  echo $((SCALE_IDENTITIES * (4 + $1) / 8))
}

# Writes the many-identity policy to FILE with fingerprint seed SEED. Each
# seed also puts the client's CN at another position.
write_scale_policy() {
  local file=$1 upstream=$2 seed=$3
  python3 bench/make_policy.py --upstream "127.0.0.1:$upstream" \
    --identities "$SCALE_IDENTITIES" --fingerprints "$SCALE_FINGERPRINTS" \
    --position "$(scale_client_index "$seed")" --seed "$seed" --out "$file"
}

# Logs MESSAGE and stores it where the report looks for a start failure.
scale_failed() {
  log "$scale_name: $1"
  echo "$1" >"$workdir/results/$scale_name-start.txt"
}

# Runs `certgate check-config` on CONFIG three times, pinned to the server
# core, and records "wall user sys" seconds of each run under meta KEY.
time_check_config() {
  local key=$1 config=$2 runs=() i TIMEFORMAT='%R %U %S' timing
  for ((i = 0; i < 3; i++)); do
    timing=$({ time taskset -c "$SERVER_CORE" "$BIN/certgate" check-config --config "$config" \
      >/dev/null 2>"$workdir/check-config.err"; } 2>&1) || {
      scale_failed "certgate check-config $config failed: $(tail -n 3 "$workdir/check-config.err")"
      return 1
    }
    runs+=("$timing")
  done
  meta "$key" "$(printf '%s;' "${runs[@]}")"
}

# Prints the value of the unlabelled or labelled metric NAME (for example
# 'certgate_reloads_total{result="success"}') from the admin endpoint, or 0.
admin_metric() {
  curl -s --max-time 2 "http://127.0.0.1:$scale_admin_port/metrics" |
    awk -v name="$1" '$1 == name {value = $2} END {print value == "" ? 0 : value}'
}

config_version_reached() {
  [[ $(admin_metric certgate_config_version) -ge $1 ]]
}

# Runs "$@" every 0.02 s until it succeeds or 30 s pass.
poll_until() {
  local i
  for ((i = 0; i < 1500; i++)); do
    "$@" && return 0
    sleep 0.02
  done
  return 1
}

# Triggers one reload by CAUSE (sighup, or watch: a new policy renamed
# over the watched file) and waits until certgate_config_version reaches
# VERSION. Records the cause, the time from the trigger until the new
# version was seen on /metrics, the duration the gateway reports and
# whether the version was reached.
reload_once() {
  local cause=$1 version=$2 dir=$3 start_ns end_ns reached=1
  if [[ $cause == watch ]]; then
    # Written beside the policy under another name, which the watch ignores.
    write_scale_policy "$dir/policy.next.toml" "$upstream_port" 2
    start_ns=$(date +%s%N)
    mv "$dir/policy.next.toml" "$dir/policy.toml"
  else
    start_ns=$(date +%s%N)
    kill -HUP "$server_pid"
  fi
  poll_until config_version_reached "$version" || reached=0
  end_ns=$(date +%s%N)
  printf '%s\t%s\t%s\t%s\n' "$cause" "$(((end_ns - start_ns) / 1000000))" \
    "$(admin_metric certgate_reload_duration_seconds)" "$reached" >>"$workdir/reloads.tsv"
}

# Drives keepalive and request traffic for RELOAD_DURATION seconds, with a
# SIGHUP reload after a third of it and a policy-file reload after two
# thirds, and records the reload counters before and after.
measure_reload_under_load() {
  local dir=$1 out=$workdir/results/$scale_name-reload half pids=() mode pid third
  half=$((CONCURRENCY / 2 > THREADS ? CONCURRENCY / 2 : THREADS))
  meta reload_failures_before "$(admin_metric 'certgate_reloads_total{result="failure"}')"
  meta reload_successes_before "$(admin_metric 'certgate_reloads_total{result="success"}')"
  for mode in keepalive request; do
    generator $((RELOAD_DURATION + 120)) "$mode" --concurrency "$half" \
      --duration "$RELOAD_DURATION" --threads "$THREADS" >"$out-$mode.json" 2>"$out-$mode.txt" &
    pids+=($!)
    started_pids+=($!)
  done
  third=$(awk -v d="$RELOAD_DURATION" 'BEGIN {print d / 3}')
  sleep "$third"
  reload_once sighup 1 "$dir"
  sleep "$third"
  reload_once watch 2 "$dir"
  for pid in "${pids[@]}"; do
    wait "$pid" || true
  done
  meta reload_failures_after "$(admin_metric 'certgate_reloads_total{result="failure"}')"
  meta reload_successes_after "$(admin_metric 'certgate_reloads_total{result="success"}')"
}

# Starts certgate with the many-identity policy on the server core, checks
# the access policy, times loading, measures SCALE_MODES and the reloads.
bench_policy_scale() {
  local dir=$workdir/$scale_name mode start_ns i
  mkdir -p "$dir"
  server_port=$(free_port)
  scale_admin_port=$(free_port)
  log "$scale_name: writing a policy of $SCALE_IDENTITIES identities"
  if ! write_scale_config "$dir" "$server_port" "$upstream_port" "$pki" "$scale_admin_port" \
    2>"$workdir/scale-config.err"; then
    scale_failed "writing the configuration failed: $(tail -n 3 "$workdir/scale-config.err")"
    return 1
  fi
  meta scale_policy_bytes "$(stat -c %s "$dir/policy.toml")"
  meta scale_client_index "$(scale_client_index 1)"
  time_check_config check_config_normal "$workdir/certgate/gateway.toml" || return 1
  time_check_config check_config_scale "$dir/gateway.toml" || return 1

  start_ns=$(date +%s%N)
  start_pinned "$SERVER_CORE" "$dir/server.log" "$BIN/certgate" serve --config "$dir/gateway.toml"
  server_pid=$last_pid
  for ((i = 0; i < 1500; i++)); do
    grep -q "certgate listening" "$dir/server.log" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.02
  done
  meta scale_startup_ms "$((($(date +%s%N) - start_ns) / 1000000))"
  if ! check_policy "$scale_name" "$server_port"; then
    log "$scale_name: GET /secret did not return 200; see the report"
    tail -n 5 "$dir/server.log" >"$workdir/results/$scale_name-start.txt" || true
    stop_pid "$server_pid"
    return 1
  fi
  for mode in $SCALE_MODES; do
    log "$scale_name: $mode for $DURATION s"
    measure_mode "$scale_name" "$mode" || log "$scale_name: $mode failed"
  done
  log "$scale_name: two reloads during $RELOAD_DURATION s of keepalive and request traffic"
  measure_reload_under_load "$dir"
  stop_pid "$server_pid"
}
