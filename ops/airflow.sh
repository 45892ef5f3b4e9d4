#!/usr/bin/env bash
# Local Airflow 3.3 for MedKB: api-server, scheduler, dag-processor and triggerer as separate
# background processes, each its own process group with a PID file and a log in $AIRFLOW_HOME.
#
#   ops/airflow.sh up       migrate the metadata database (idempotent), start the four, wait for the UI
#   ops/airflow.sh down     stop each by its PID file (the whole process group: children too)
#   ops/airflow.sh status   one line per process, and whether the UI answers
#
# Settings come from ops/env.sh (AIRFLOW_HOME inside .local, metadata in the local Postgres database
# $MEDKB_AIRFLOW_DB, examples off, connections as AIRFLOW_CONN_*). The UI login is user `admin`
# with MEDKB_AIRFLOW_ADMIN_PASSWORD (local default below); Postgres must be up (`make services`).
# Kept small for a 2-core machine: parallelism 2 (MEDKB_AIRFLOW_PARALLELISM), one api worker,
# one parsing process; about 0.7 GB (PSS) for everything when idle.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=ops/env.sh
source "$ROOT/ops/env.sh"
export PATH="$ROOT/.venv/bin:$PATH"   # `airflow` and the children it spawns come from the venv

# Small on purpose: a 2-core machine. Each can be overridden from the environment (parallelism
# through MEDKB_AIRFLOW_PARALLELISM: LocalExecutor starts that many workers up front, ~140 MB each).
export AIRFLOW__CORE__PARALLELISM="${MEDKB_AIRFLOW_PARALLELISM:-2}"
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="${AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG:-2}"
export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES="${AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES:-1}"
export AIRFLOW__API__WORKERS="${AIRFLOW__API__WORKERS:-1}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$AIRFLOW__API__PORT/execution/}"
# Simple auth manager (Airflow 3's default): users come from this setting, passwords from a JSON
# file that the api-server fills with generated ones for users it lacks. We write ours first.
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS:-admin:admin}"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated}"
export MEDKB_AIRFLOW_ADMIN_PASSWORD="${MEDKB_AIRFLOW_ADMIN_PASSWORD:-medkb-local-admin}"

PROCS=(api-server scheduler dag-processor triggerer)
RUN="$AIRFLOW_HOME/run"
LOGS="$AIRFLOW_HOME/logs/processes"
URL="http://$AIRFLOW__API__HOST:$AIRFLOW__API__PORT"

say() { printf '%s\n' "$*"; }
fail() { printf 'ERROR [airflow]: %s\n' "$1" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_of() { [[ -f "$RUN/$1.pid" ]] && cat "$RUN/$1.pid"; }
alive() { local p; p=$(pid_of "$1") && kill -0 "$p" 2>/dev/null; }
tail_log() { say "---- last lines of $1 ----" >&2; tail -n 25 "$1" >&2 2>/dev/null || true; }
ui_answers() { curl -fsS -m 5 -o /dev/null "$URL/api/v2/monitor/health" 2>/dev/null; }

write_admin_password() {
  # Our admin password goes into the file the auth manager reads; users it lacks still get
  # generated passwords (printed in the api-server log). Kept 0600: it holds a password.
  python - "$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" <<'PY' || fail "could not write the passwords file"
import json, os, sys
path = sys.argv[1]
try:
    with open(path) as fh:
        passwords = json.loads(fh.read() or "{}")
except FileNotFoundError:
    passwords = {}
passwords["admin"] = os.environ["MEDKB_AIRFLOW_ADMIN_PASSWORD"]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as fh:
    fh.write(json.dumps(passwords) + "\n")
PY
}

up() {
  local t0; t0=$(now)
  command -v airflow >/dev/null || fail "the airflow command is missing: run 'make install'"
  mkdir -p "$RUN" "$LOGS"
  local running=0 p
  for p in "${PROCS[@]}"; do alive "$p" && running=$((running + 1)); done
  if ((running == ${#PROCS[@]})) && ui_answers; then
    say "airflow: already running (UI $URL)"; login_help; return 0
  fi
  if ! alive api-server && port_open "$AIRFLOW__API__PORT"; then
    fail "port $AIRFLOW__API__PORT is taken by another process; stop it or set AIRFLOW__API__PORT"
  fi
  local pg_port="${MEDKB_PG_PORT:-5432}"
  port_open "$pg_port" || fail "Postgres is not answering on 127.0.0.1:$pg_port (the metadata database $MEDKB_AIRFLOW_DB): run 'make services'"
  say "airflow: migrating the metadata database $MEDKB_AIRFLOW_DB (AIRFLOW_HOME=$AIRFLOW_HOME)"
  if ! airflow db migrate >"$LOGS/db-migrate.log" 2>&1; then
    tail_log "$LOGS/db-migrate.log"
    fail "airflow db migrate failed (see $LOGS/db-migrate.log); is the database $MEDKB_AIRFLOW_DB there? 'make services' creates it"
  fi
  write_admin_password
  for p in "${PROCS[@]}"; do
    if alive "$p"; then say "airflow: $p already running (pid $(pid_of "$p"))"; continue; fi
    # setsid: each process leads its own group, so `down` can stop it with all its children.
    # --skip-serve-logs: every process shares this machine's AIRFLOW_HOME, so the api-server reads
    # task logs from disk; the two log-serving children would only cost ~140 MB each.
    local args=("$p"); [[ "$p" == scheduler || "$p" == triggerer ]] && args+=(--skip-serve-logs)
    setsid airflow "${args[@]}" </dev/null >"$LOGS/$p.log" 2>&1 &
    echo $! >"$RUN/$p.pid"
  done
  local i
  for i in $(seq 1 240); do
    for p in "${PROCS[@]}"; do
      alive "$p" || { tail_log "$LOGS/$p.log"; down >/dev/null; fail "$p exited during start-up (log: $LOGS/$p.log); the others were stopped"; }
    done
    if ui_answers; then
      say "airflow: api-server, scheduler, dag-processor, triggerer running; UI ready on $URL in $(elapsed "$t0") s"
      login_help; return 0
    fi
    sleep 0.5
  done
  tail_log "$LOGS/api-server.log"; down >/dev/null
  fail "the UI did not answer on $URL after 120 s (log: $LOGS/api-server.log); all four were stopped"
}

login_help() {
  say "  UI:     $URL   (user admin, password \$MEDKB_AIRFLOW_ADMIN_PASSWORD; local default medkb-local-admin)"
  say "  token:  curl -s -X POST $URL/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"admin\",\"password\":\"…\"}'"
  say "  logs:   $LOGS/   stop: make airflow-down"
}

down() {
  local p pid any=0
  for p in "${PROCS[@]}"; do
    if alive "$p"; then
      pid=$(pid_of "$p"); any=1
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    fi
  done
  for p in "${PROCS[@]}"; do
    pid=$(pid_of "$p") || continue
    # wait for the whole group (the leader and every child it started), then finish off stragglers
    for _ in $(seq 1 60); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$RUN/$p.pid"
  done
  if ((any)); then say "airflow: stopped"; else say "airflow: not running"; fi
}

status() {
  local p rc=0
  for p in "${PROCS[@]}"; do
    if alive "$p"; then say "airflow $p: running (pid $(pid_of "$p"), log $LOGS/$p.log)"
    else say "airflow $p: down"; rc=1; fi
  done
  if ui_answers; then say "airflow UI: answering on $URL"; else say "airflow UI: not answering on $URL"; rc=1; fi
  return $rc
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  -h|--help|help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) fail "unknown action '${1}' (use up, down or status)" ;;
esac
